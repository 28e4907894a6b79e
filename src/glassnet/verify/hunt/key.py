"""Planting a seed's bug, and the teacher's key: the bug's class, its line, the line as planted, the fix and why.

:func:`plant` picks the seed's bug class and program (``generator.draw`` narrowed by the class), renders the
correct program, applies the class's mutation, and diffs the two: every difference is a :class:`Hunk` of the
key (the planted lines and the correct lines that replace them), so the key is exact by construction and
:meth:`Key.apply` turns the planted program back into the correct one.

The class of a seed: the seeds are taken in blocks of ``len(BUGS)``, and each block is a shuffled order of
all the classes, so any ``len(BUGS)`` consecutive seeds of one block give every class once, and neighbours
never share a class within a block (blocks start at seed 1: a teacher handing out seeds 1, 2, 3, ...
gets every class before any repeats).

Next read: ``check.py`` (is a student's fixed program right).
"""

from __future__ import annotations

import difflib
import hashlib
import random
from dataclasses import dataclass
from typing import Any

from glassnet.errors import ConfigError
from glassnet.verify.hunt.bugs import BUGS, Bug
from glassnet.verify.hunt.generator import Line, Spec, draw, names, render, text


@dataclass(frozen=True)
class Hunk:
    """One difference between the planted and the correct program.

    ``start`` is the first planted line (1-based) it replaces; with no planted lines (the fix adds lines),
    the fix goes before planted line ``start``.
    """

    start: int
    planted: tuple[str, ...]
    fixed: tuple[str, ...]

    @property
    def lines(self) -> range:
        """The planted line numbers of this hunk (empty when the fix only adds lines)."""
        return range(self.start, self.start + len(self.planted))


@dataclass(frozen=True)
class Key:
    """The teacher's key for one seed."""

    seed: int
    bug: str     # the class, as the gallery names it (``glassnet doctor --gallery NAME``)
    title: str   # the class in one sentence
    why: str     # what goes wrong and the fix, in words with this program's names
    hunks: tuple[Hunk, ...]
    params: tuple[str, ...] = ()  # the parameters whose steps the bug makes wrong, as the program names them

    @property
    def line(self) -> int:
        """The first planted line (1-based)."""
        return next(h.start for h in self.hunks if h.planted)

    @property
    def planted_lines(self) -> set[int]:
        return {n for h in self.hunks for n in h.lines}

    def apply(self, program: str) -> str:
        """``program`` (the planted one) with the key's fix made: the correct program."""
        lines = program.splitlines()
        for hunk in sorted(self.hunks, key=lambda h: -h.start):
            lines[hunk.start - 1:hunk.start - 1 + len(hunk.planted)] = list(hunk.fixed)
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "bug": self.bug, "title": self.title, "line": self.line, "why": self.why,
                "params": list(self.params),
                "planted": "\n".join(h.planted[0].strip() for h in self.hunks if h.planted),
                "fix": "\n".join(line.strip() for h in self.hunks for line in h.fixed),
                "hunks": [{"line": h.start, "planted": [s.strip() for s in h.planted],
                           "fixed": [s.strip() for s in h.fixed]} for h in self.hunks]}

    def to_text(self) -> str:
        out = [f"Seed {self.seed}: {self.bug} (glassnet doctor --gallery {self.bug} shows the classic example)",
               f"  {self.title}"]
        for hunk in self.hunks:
            if hunk.planted:
                span = f"line {hunk.start}" + (f"-{hunk.lines[-1]}" if len(hunk.planted) > 1 else "")
                out.append(f"  {span} as planted: " + " / ".join(f"`{s.strip()}`" for s in hunk.planted))
                out.append("    the fix: " + (" / ".join(f"`{s.strip()}`" for s in hunk.fixed) if hunk.fixed
                                              else "delete it here"))
            else:
                out.append(f"  before line {hunk.start}, the fix puts: "
                           + " / ".join(f"`{s.strip()}`" for s in hunk.fixed))
        out.append("  Why: " + self.why)
        return "\n".join(out)


def salt_of(secret: str | None) -> int:
    """A teacher's secret as a number mixed into every draw (0 without one): the same seed with another secret is
    another program, so a student cannot print the key of their own seed without the word."""
    if secret is None:
        return 0
    if not isinstance(secret, str) or not secret:
        raise ConfigError(f"a hunt's secret must be a non-empty word (--secret WORD), got {secret!r}")
    return int.from_bytes(hashlib.sha256(secret.encode("utf-8")).digest()[:8], "big") | 1


def bug_of(seed: int, salt: int = 0) -> Bug:
    """The bug class planted for ``seed`` (``salt``: from the teacher's secret; see :func:`salt_of`)."""
    block, place = divmod(seed - 1, len(BUGS))  # blocks 1-15, 16-30, ...: a class numbered from 1
    order = list(range(len(BUGS)))
    random.Random(block * 7919 + 1 + salt).shuffle(order)
    return BUGS[order[place]]


def check_seed(seed: object) -> int:
    """``seed`` as a non-negative int, or a ConfigError saying how to give one."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"a hunt's seed must be a whole number 0 or more (e.g. --seed 7), got {seed!r}")
    return seed


@dataclass(frozen=True)
class Planted:
    """What :func:`plant` makes for a seed."""

    spec: Spec
    bug: Bug
    program: str   # with the bug
    correct: str   # the same program without it
    key: Key


def plant(seed: int, secret: str | None = None) -> Planted:
    """The seed's program with its one bug, the correct program, and the key (``secret``: the teacher's word)."""
    seed = check_seed(seed)
    salt = salt_of(secret)
    bug = bug_of(seed, salt)
    spec = draw(seed, bug.allowed, salt=salt)
    attempt = 0
    while bug.fits is not None and not bug.fits(spec):
        attempt += 1
        spec = draw(seed, bug.allowed, attempt, salt)
    lines = render(spec)
    at = {line.tag: line for line in lines if line.tag}
    mutation, words = bug.mutate(spec, at, random.Random(seed * 31 + 7 + salt))
    planted: list[Line] = []
    for line in lines:
        if line.tag in mutation:
            planted += [Line(line.indent, t) for t in mutation[line.tag]]
        else:
            planted.append(line)
    program, correct = text(planted), text(lines)
    a, b = program.splitlines(), correct.splitlines()
    hunks = tuple(Hunk(i1 + 1, tuple(a[i1:i2]), tuple(b[j1:j2]))
                  for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
                  if tag != "equal")
    key = Key(seed, bug.name, bug.title, bug.why.format(**{**names(spec), **words}), hunks, tuple(words["params"].split(",")))
    return Planted(spec, bug, program, correct, key)
