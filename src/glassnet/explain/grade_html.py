"""A graded worksheet as one standalone HTML page: a table of verdicts in colour, with the diagnoses.

No external assets (styles inline in the page), every text escaped. Made by ``Grading.to_html()``.

Next read: ``glassnet/interfaces/cli/grade.py``.
"""

from __future__ import annotations

from html import escape
from typing import Any

COLOURS = {"right": "#d9f2d9", "carried": "#fff1c2", "wrong": "#f8d0d0", "blank": "#eeeeee", "unreadable": "#e6d9f2"}
WORDS = {"right": "right", "carried": "right given your earlier numbers", "wrong": "wrong", "blank": "not answered",
         "unreadable": "not a number"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
code { font-family: ui-monospace, monospace; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { display: inline-block; padding: 0.1em 0.6em; margin-right: 0.5em; border: 1px solid #bbb; }
"""


def grading_html(grading: Any) -> str:
    """The page of ``grading`` (a :class:`~glassnet.explain.grade.Grading`)."""
    sheet = grading.sheet
    shown = sheet.digits_shown
    rows = []
    for b in grading.blanks:
        key = "" if b.key is None else f"{b.key:.{shown}g}"
        ecf = "" if b.ecf is None or b.verdict != "carried" else f"{b.ecf:.{shown}g}"
        where = grading._where(b)
        notes = "<br>".join(escape(x) for x in (b.diagnosis, b.note) if x)
        first = " <strong>(first wrong)</strong>" if grading.first_wrong is b else ""
        rows.append(
            f'<tr style="background:{COLOURS[b.verdict]}"><td class="num">{b.number}</td>'
            f"<td><code>{escape(b.symbol)}</code>{escape(where)}</td>"
            f"<td><code>{escape(b.answer) if b.answer is not None else ''}</code>{escape(b.read_as())}</td>"
            f'<td class="num">{escape(key)}</td><td>{escape(WORDS[b.verdict])}{first}</td>'
            f'<td class="num">{escape(ecf)}</td><td>{notes}</td></tr>')
    legend = "".join(f'<span style="background:{c}">{escape(WORDS[v])}</span>' for v, c in COLOURS.items())
    first = ""
    if grading.first_wrong is not None:
        fw = grading.first_wrong
        first = (f"<p>Where the trouble starts: blank {fw.number}, <code>{escape(fw.symbol)}</code>"
                 + (f": {escape(fw.diagnosis)}" if fw.diagnosis else "") + "</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Graded worksheet</title><style>{STYLE}</style></head>
<body>
<h1>Graded worksheet</h1>
<p>{escape(grading.summary())}. Right means agreeing with the key to {sheet.digits_asked} significant digits.</p>
{first}
<p class="legend">{legend}</p>
<table>
<thead><tr><th>#</th><th>blank</th><th>your answer</th><th>key</th><th>verdict</th>
<th>from your numbers</th><th>why</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""
