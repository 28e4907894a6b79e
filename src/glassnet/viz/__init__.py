"""Pictures: ``glassnet.viz.plots`` (matplotlib, ``pip install "glassnet[plot]"``). Imported on demand only,
so ``import glassnet`` never imports matplotlib."""
