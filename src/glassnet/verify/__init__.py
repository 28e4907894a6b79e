"""Checks that a gradient is right: for glassnet's own networks and for the user's own NumPy code.

Reading order: ``report.py`` (what every check returns) -> ``numeric.py`` (central differences) ->
``gradcheck.py`` (glassnet networks) -> ``doctor.py`` (the user's hand-written backprop, diagnosed in
words) -> ``health.py`` (warnings during ``fit``) -> ``gallery/`` (classic backprop bugs, runnable).
"""

from glassnet.verify import doctor
from glassnet.verify.gradcheck import gradcheck
from glassnet.verify.report import Finding, Report

__all__ = ["Finding", "Report", "doctor", "gradcheck"]
