"""``glassnet.plots``: the public name of :mod:`glassnet.viz.plots` (training curves, decision boundaries,
per-neuron maps, confusion matrices). Needs matplotlib: ``pip install "glassnet[plot]"``."""

from glassnet.viz.plots import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    plot_layer_stats,
    plot_lr_finder,
    plot_neurons,
    save_figure,
)

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_decision_boundary", "plot_history", "plot_lr_finder",
           "plot_layer_stats", "plot_neurons",
           "save_figure"]
