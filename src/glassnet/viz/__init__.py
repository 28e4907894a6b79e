"""Pictures of networks and of training: the self-contained HTML training report (``report.py``,
recorded by ``snapshots.py``)."""
