"""The doctor for a training script as the learner wrote it: no functions to add, no lines to change.

Reading order: ``source.py`` (finding the loop in the text) -> ``state.py`` (the script's variables at the
loop) -> ``runner.py`` (running the script to the loop, then one watched pass of its body) ->
``analysis.py`` (parameters, cost, steps, true gradient) -> ``causes.py`` (findings in words) ->
``isolate.py`` (all of it in a subprocess with a time limit, for ``glassnet doctor FILE.py``).
"""

from glassnet.verify.script.analysis import diagnose_source

__all__ = ["diagnose_source"]
