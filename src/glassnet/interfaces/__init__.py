"""Interfaces: the command line, and later the scikit-learn estimators and the PyTorch bridge."""
