"""A bug hunt for every student: a seed's learner-style training program with one of the doctor's bugs planted.

``glassnet.hunt(seed)`` returns a :class:`Hunt`: ``.program`` (the script to hand out), ``.key`` (the teacher's
key: the bug's class, its line as planted, the fix and why) and ``.check(source_or_path)`` (is the student's
fixed program right). The same seed gives the same program on every machine; neighbouring seeds give
different bug classes, styles, names and data, so students sitting side by side rarely share a program.

Reading order: ``generator.py`` (the correct programs, drawn from the seed) -> ``bugs.py`` (each bug class a
mutation of named lines) -> ``key.py`` (planting, and the key as the exact difference) -> ``check.py`` (the
verdict on a student's program). The CLI is ``glassnet hunt`` (``interfaces/cli/hunt.py``).
"""

from __future__ import annotations

import math
import os
from functools import cached_property
from typing import Any

from glassnet.errors import ConfigError, GlassnetTypeError, OutputFileError
from glassnet.verify.hunt.bugs import BUGS
from glassnet.verify.hunt.check import TIME_LIMIT, Checked, check, loss_of, trusted_state
from glassnet.verify.hunt.key import Key, plant

__all__ = ["Checked", "Hunt", "Key", "bug_classes", "hunt"]


class Hunt:
    """One seed's bug hunt: the program to hand out, its key, and the check of a student's fix.

    Parameters
    ----------
    seed : int
        0 or more; the same seed always gives the same program.
    secret : str, optional
        The teacher's word, mixed into the seed: another secret gives other programs for the same seeds, so a
        student who knows their seed cannot print the key. The same secret must be given to check it.
    """

    def __init__(self, seed: int, secret: str | None = None) -> None:
        self._planted = plant(seed, secret)
        self.seed = self._planted.key.seed

    @property
    def program(self) -> str:
        """The learner-style program with its one bug (source text, ~40-80 lines, NumPy only)."""
        return self._planted.program

    @property
    def key(self) -> Key:
        """The teacher's key: ``.bug``, ``.title``, ``.line``, ``.hunks`` (planted and fixed lines), ``.why``."""
        return self._planted.key

    @property
    def bug(self) -> str:
        """The bug class planted (a name of the doctor's gallery)."""
        return self._planted.key.bug

    @cached_property
    def expected(self) -> dict[str, Any]:
        """The correct program's trained parameters and data (W1, b1, W2, b2, X, y as nested lists), run here."""
        return trusted_state(self._planted.spec, self._planted.correct)

    @property
    def expected_loss(self) -> float:
        """The final loss of the correct program's trained parameters (the teacher's; ``check`` never shows it)."""
        return loss_of(self._planted.spec, self.expected)

    def check(self, source_or_path: str | os.PathLike[str], *, isolate: bool = True,
              timeout: float = TIME_LIMIT) -> Checked:
        """Check a student's fixed program (its source text, or the path of its file).

        Parameters
        ----------
        source_or_path : str or path
            The program's text (anything with a newline), or the file it is in.
        isolate : bool
            Run the doctor in its own subprocess with the time limit (default). ``False`` runs it in this
            process (faster; only for programs you trust not to hang). The program itself always runs in a
            subprocess with the time limit.
        timeout : float
            Seconds each run may take.

        Returns
        -------
        Checked
            ``.ok`` (trains and doctor clean), ``.trains``, ``.doctor_clean``, ``.wrong_params``,
            ``.changed_lines``, ``.fixed_planted_line``, ``.rewritten``, ``.diff``; ``to_text(hints=)`` and
            ``to_dict(hints=)`` (``"some"``: no line or fix; ``"full"``: the doctor's findings too).
        """
        source = _source(source_or_path)
        if not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
            raise ConfigError(f"the time limit must be a positive number of seconds, got {timeout!r}")
        name = os.fspath(source_or_path) if source is not source_or_path else f"hunt_{self.seed}.py"
        result = check(self._planted, source, self.expected, isolate=isolate, timeout=float(timeout), name=name)
        # A secret changes every program: a check with the wrong one (or none) reads as a rewrite. Say which.
        header_says = "--secret ..." in "\n".join(source.splitlines()[:4])
        if not result.ok and header_says != self._planted.spec.secret:
            result.problems.append(
                "this program's header says it was made with the teacher's secret: check it with the same --secret"
                if header_says else "this program's header has no --secret: it was made without one; check it without")
        elif not result.ok and result.rewritten:
            result.problems.append(f"if this is the program as handed out, check the seed (--seed {self.seed}) and the "
                                   "secret it was made with")
        return result

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the program to ``path`` atomically (a half-written file never replaces an old one)."""
        from glassnet.io import atomic_write

        with atomic_write(path, "w", OutputFileError) as handle:
            handle.write(self.program)

    def __repr__(self) -> str:
        return f"<Hunt seed={self.seed}: {len(self.program.splitlines())} lines, one bug (see .key)>"


def hunt(seed: int, secret: str | None = None) -> Hunt:
    """The bug hunt of ``seed``: ``hunt(7).program`` to hand out, ``.key`` for the teacher, ``.check(path)``
    (``secret``: the teacher's word mixed into the seed; see :class:`Hunt`)."""
    return Hunt(seed, secret)


def bug_classes() -> dict[str, str]:
    """Every bug class a hunt plants: name (as in the doctor's gallery) -> the class in one sentence."""
    return {bug.name: bug.title for bug in BUGS}


def _source(source_or_path: object) -> str:
    if isinstance(source_or_path, os.PathLike) or (isinstance(source_or_path, str) and "\n" not in source_or_path):
        path = os.fspath(source_or_path)  # type: ignore[arg-type]
        if not os.path.isfile(path):
            raise ConfigError(f"{path} is not a file; give the path of the student's program (or its text)")
        try:
            with open(path, encoding="utf-8-sig") as handle:  # an editor's byte-order mark is not code
                return handle.read()
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not a text file in UTF-8; give the student's .py program") from None
    if isinstance(source_or_path, str):
        return source_or_path
    raise GlassnetTypeError(f"check() takes the program's text or the path of its file, got "
                            f"{type(source_or_path).__name__}")
