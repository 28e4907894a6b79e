"""Renderers: text, Markdown, LaTeX and JSON show the same numbers; the JSON follows its schema; LaTeX compiles."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import jsonschema
import numpy as np
import pytest
from explain_helpers import latex_numbers, mazur_network, numbers

import glassnet as gn
from glassnet.explain.schema import load_schema


def traces():
    X, y = gn.datasets.xor()
    yield gn.explain(mazur_network(), [0.05, 0.10], [0.01, 0.99], optimizer="sgd", lr=0.5)
    yield gn.explain(gn.Network.from_sizes([2, 3, 1], seed=0, l2=0.01), X, y, optimizer=gn.SGD(0.5, momentum=0.9))
    yield gn.explain(gn.Network.from_sizes([2, 3, 3], activation="tanh", loss="cross_entropy", seed=2),
                     X[:2], [0, 2], optimizer="adam", lr=0.01)
    yield gn.explain(gn.Network.from_sizes([3, 4, 2], activation="relu", loss="bce", seed=3),
                     np.arange(6.0).reshape(2, 3) / 5, [[0, 1], [1, 1]], neurons={1: [1, 3]})


def text_formulas(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("  ") and not line.strip().startswith("#")]


def markdown_formulas(md: str) -> list[str]:
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| quantity")]
    out = []
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        out.append(f"{cells[1].strip('`')} = {cells[2]}" if cells[2] else cells[0])
    return out


def latex_formulas(tex: str) -> list[str]:
    return re.findall(r"^\\item \$(.*?)\$", tex, flags=re.M)


@pytest.mark.parametrize("trace", list(traces()), ids=["mazur", "xor-l2-momentum", "softmax-adam", "bce-compact"])
def test_all_renderers_show_the_same_numbers(trace):
    data = json.loads(trace.to_json())
    plain = {
        "text": text_formulas(trace.to_text()),
        "markdown": markdown_formulas(trace.to_markdown()),
        "json": [r["formula"] for r in data["records"]],
    }
    tex = latex_formulas(trace.to_latex())
    assert len(tex) == len(trace.records)
    for name, formulas in plain.items():
        assert len(formulas) == len(trace.records), name
    for i, record in enumerate(trace.records):
        if record.value is None:  # a summary line of compact mode
            continue
        expected = numbers(plain["json"][i])
        assert expected, plain["json"][i]
        assert numbers(plain["text"][i]) == expected, (plain["text"][i], plain["json"][i])
        assert numbers(plain["markdown"][i]) == expected, (plain["markdown"][i], plain["json"][i])
        assert latex_numbers(tex[i]) == pytest.approx(expected, rel=1e-12), (tex[i], plain["json"][i])
        # the value shown is the engine's value to the shown digits
        assert expected[-1] == pytest.approx(record.value, rel=1e-5, abs=1e-12)
        assert data["records"][i]["value"] == record.value


@pytest.mark.parametrize("trace", list(traces())[:2], ids=["mazur", "xor-l2-momentum"])
def test_rich_tables_show_the_same_formulas(trace):
    import io

    from rich.console import Console

    buffer = io.StringIO()
    trace.print(Console(file=buffer, width=1000, color_system=None))
    lines = buffer.getvalue().splitlines()
    at = 0
    for r in trace.records:  # in order: each record's row comes after the previous one's
        right = " = ".join(r.right()[:-1])
        at = next(i for i in range(at, len(lines)) if lines[i].startswith(r.symbol + " ") and right in lines[i]) + 1
        assert numbers(lines[at - 1]) == numbers(r.formula), (lines[at - 1], r.formula)


@pytest.mark.parametrize("trace", list(traces()), ids=["mazur", "xor-l2-momentum", "softmax-adam", "bce-compact"])
def test_json_follows_the_schema(trace):
    data = json.loads(trace.to_json())
    jsonschema.validate(data, load_schema())
    assert data["schema"] == "glassnet-trace" and data["version"] == 2
    for key, g in trace.gradients.items():
        assert np.array_equal(np.array(data["gradients"][key]), g)
    assert data["network"]["sizes"] == trace.network["sizes"]
    assert np.array_equal(np.array(data["inputs"]), trace.inputs)
    for entry, rec in zip(data["layers"], trace.step.layers):
        assert np.array_equal(np.array(entry["a"]), rec.A) and np.array_equal(np.array(entry["delta"]), rec.dZ)
    # a broken document is rejected: the schema is not vacuous
    broken = dict(data, records=[dict(data["records"][0], kind="nonsense")])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, load_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in data.items() if k != "params_before"}, load_schema())


def test_json_record_fields_for_a_consumer():
    trace = next(traces())
    records = json.loads(trace.to_json())["records"]
    w = next(r for r in records if r["symbol"] == "dL/dw^(1)_{2,1}")
    # "0.W"[1, 0] is w^(1)_{2,1}: layer as in symbols, indices 0-based into the array under key
    assert (w["layer"], w["neuron"], w["indices"], w["key"], w["phase"]) == (1, 0, [1, 0], "0.W", "gradient")
    assert w["latex_symbol"] == r"\frac{\partial L}{\partial w^{(1)}_{2,1}}"
    z = next(r for r in records if r["symbol"] == "z^(2)_1")
    assert z["sample"] == 0 and z["kind"] == "z" and z["formula"].startswith("z^(2)_1 = ")
    update = next(r for r in records if r["kind"] == "update")
    assert update["op"] == "<-" and "\\leftarrow" in update["latex"]


def test_latex_symbols_and_numbers():
    from glassnet.explain.records import to_latex

    assert to_latex("z^(1)_2") == "z^{(1)}_{2}"
    assert to_latex("w^(1)_{1,2}*a^(0)_1") == r"w^{(1)}_{1,2} \cdot a^{(0)}_{1}"
    assert to_latex("delta^(2)_1") == r"\delta^{(2)}_{1}"
    assert to_latex("1.5e-05") == r"1.5 \times 10^{-5}"
    assert to_latex("sqrt(v[w^(1)_{1,1}])") == r"\sqrt{v[w^{(1)}_{1,1}]}"


def test_latex_document_compiles_with_pdflatex(tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (CI installs texlive-latex-base in .ci/run)")
    X, y = gn.datasets.xor()
    trace = gn.explain(gn.Network.from_sizes([2, 3, 1], seed=0, l2=0.01), X, y, optimizer="adam", lr=0.01)
    sheet = gn.worksheet(mazur_network(), [0.05, 0.10], [0.01, 0.99])
    for name, source in {"trace": trace.to_latex(document=True), "sheet": sheet.to_latex()}.items():
        (tmp_path / f"{name}.tex").write_text(source)
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-3000:]
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000
        assert "Overfull" not in done.stdout or name == "sheet", done.stdout[-2000:]


def test_save_picks_the_format_from_the_suffix(tmp_path):
    trace = next(traces())
    for suffix, check in {".md": "# One training step", ".tex": r"\documentclass", ".json": '"glassnet-trace"',
                          ".txt": "Forward pass\n------------"}.items():
        trace.save(tmp_path / f"step{suffix}")
        assert check in (tmp_path / f"step{suffix}").read_text()
    with pytest.raises(gn.ConfigError, match="format"):
        trace.render("html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step.json", "step.md", "step.tex", "step.txt"]  # no temp files
