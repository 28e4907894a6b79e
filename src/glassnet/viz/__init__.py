"""Pictures: ``glassnet.viz.plots`` (matplotlib, ``pip install "glassnet[plot]"``) and the self-contained HTML
training report (``report.py``, recorded by ``snapshots.py``; no extra library). Imported on demand only,
so ``import glassnet`` never imports matplotlib."""
