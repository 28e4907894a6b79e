"""Checks that a gradient is right: for glassnet's own networks and for the user's own NumPy code.

Reading order: ``report.py`` (what every check returns) -> ``numeric.py`` (central differences) ->
``gradcheck.py`` (glassnet networks) -> ``usercode.py`` (running the user's functions and scripts) ->
``diagnose.py`` (the patterns of backprop bugs) -> ``doctor.py`` (``check_gradients``, ``check_step``,
``check_script``) -> ``script/`` (the doctor for a training script as written: its ``__init__`` gives the order)
-> ``stack.py`` (rebuilding a dense stack from a script's parameters, and the gradient each known bug gives) ->
``intermediates.py`` (checking dZ2, dA1, ... tensor by tensor) -> ``notebook.py`` (``%%doctor``, ``watch()``) ->
``inside.py`` (each layer's gradient norm and update ratio during ``fit``) -> ``health.py`` (warnings during
``fit``) -> ``gallery/`` (classic bugs as runnable scripts, each with its fix).
"""

from glassnet.verify import doctor
from glassnet.verify.gradcheck import gradcheck
from glassnet.verify.report import Finding, Report

__all__ = ["Finding", "Report", "doctor", "gradcheck"]
