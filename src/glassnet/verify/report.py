"""The report every check in ``glassnet.verify`` returns: one :class:`Finding` per parameter.

A :class:`Report` prints as a table, converts to plain data with :meth:`Report.to_dict` (for JSON),
shows as an HTML table in a notebook (``_repr_html_``), and says whether everything passed (``.ok``).
``gradcheck``, ``doctor.check_gradients`` and ``doctor.check_step`` all build one.

Next read: ``numeric.py`` (central differences), then ``gradcheck.py`` (glassnet's own networks).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Finding:
    """What one check found about one parameter tensor.

    Attributes
    ----------
    param : str
        The parameter's name (``"0.W"`` for glassnet networks, the user's own names for the doctor).
    verdict : str
        A short code: ``ok``, ``acceptable``, ``kink``, ``suspect``, ``wrong``, ``unchecked`` (gradcheck); ``ok``,
        ``scaled``, ``sign``, ``zero``, ``transposed``, ``partial``, ``shape``, ``mutated``, ``stale``, ``symmetric``,
        ``wrong`` (doctor gradients); ``ok``, ``uphill``, ``still``, ``rate``, ``direction``, ``shape`` (doctor step).
    message : str
        The diagnosis in words.
    ok : bool
        Whether this parameter passed (a loss scale shared by most parameters counts as passed).
    details : dict
        Numbers behind the verdict (errors, factors, entries), all JSON-able.
    line, source : int and str, optional
        For the doctor of a script as written: the line of the user's file (1-based) where the wrong thing
        happens, and that line's text.
    """

    param: str
    verdict: str
    message: str
    ok: bool
    details: dict[str, Any] = field(default_factory=dict)
    line: int | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"param": self.param, "verdict": self.verdict, "message": self.message, "ok": self.ok,
               "details": dict(self.details)}
        if self.line is not None or self.source is not None:
            out.update(line=self.line, source=self.source)
        return out


@dataclass
class Report:
    """The findings of one check, plus notes that concern the whole check (not one parameter).

    ``columns`` names the numeric ``details`` shown in the table, in order (e.g. ``max_abs_error``).
    """

    title: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every finding passed."""
        return all(f.ok for f in self.findings)

    def __getitem__(self, param: str) -> Finding:
        """The finding about ``param`` (the first one when a report holds several checks)."""
        for finding in self.findings:
            if finding.param == param:
                return finding
        raise KeyError(f"no finding about {param!r}; this report covers {[f.param for f in self.findings]}")

    def failed(self) -> list[Finding]:
        """The findings that did not pass."""
        return [f for f in self.findings if not f.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "ok": self.ok, "notes": list(self.notes),
                "findings": [f.to_dict() for f in self.findings]}

    def _rows(self) -> list[list[str]]:
        return [[f.param, f.verdict, *(_fmt(f.details.get(c)) for c in self.columns), f.message] for f in self.findings]

    def __str__(self) -> str:
        header = ["parameter", "verdict", *self.columns, "diagnosis"]
        rows = self._rows()
        # Every column but the last is padded; the diagnosis runs on to the end of the line.
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        lines = [f"{self.title}: {'OK' if self.ok else 'PROBLEMS FOUND'}"]
        for row in [header, *rows]:
            lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        bad = ", ".join(f"{f.param}: {f.verdict}" for f in self.failed())
        return f"<Report {self.title!r}: {len(self.findings)} findings, {'ok' if self.ok else 'failed (' + bad + ')'}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in ["parameter", "verdict", *self.columns, "diagnosis"])
        body = "".join(
            f"<tr style='color:{'inherit' if f.ok else '#b00020'}'>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
            for f, row in zip(self.findings, self._rows())
        )
        notes = "".join(f"<p>note: {esc(n)}</p>" for n in self.notes)
        status = "OK" if self.ok else "PROBLEMS FOUND"
        return f"<div><b>{esc(self.title)}: {status}</b><table><tr>{head}</tr>{body}</table>{notes}</div>"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2e}"
    return str(value)
