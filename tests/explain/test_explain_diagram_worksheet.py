"""plot_network draws what the network holds; the worksheet has a blank per quantity and the real answers."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from explain_helpers import mazur_network, numbers
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle

import glassnet as gn

matplotlib.use("Agg")


def artists(fig):
    ax = fig.axes[0]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    squares = [p for p in ax.patches if isinstance(p, Rectangle)]
    edges = [line for line in ax.lines if isinstance(line, Line2D)]
    texts = [t.get_text() for t in ax.texts]
    return circles, squares, edges, texts


def test_diagram_draws_every_neuron_bias_and_weight():
    net = gn.Network.from_sizes([2, 3, 1], seed=0)
    W = net.parameters()
    fig = gn.plot_network(net)
    circles, squares, edges, texts = artists(fig)
    assert len(circles) == 2 + 3 + 1
    assert len(squares) == 2  # one bias node per layer
    assert len(edges) == (2 * 3 + 3) + (3 * 1 + 1)  # weights plus bias edges
    # every weight is written on its edge; colour follows the sign, width the magnitude
    for value in W["0.W"].ravel().tolist() + W["1.W"].ravel().tolist():
        assert f"{value:.4g}" in texts
    weights = [float(W["0.W"][i, j]) for j in range(3) for i in range(2)]
    widths = [edges[j * 3 + i].get_linewidth() for j in range(3) for i in range(2)]  # edges drawn per target j: 2 + bias
    assert np.argmax(widths) == np.argmax(np.abs(weights))
    for e, w in zip([edges[j * 3 + i] for j in range(3) for i in range(2)], weights):
        assert matplotlib.colors.to_hex(e.get_color()) == ("#1f77b4" if w > 0 else "#d62728")
    assert {matplotlib.colors.to_hex(edges[j * 3 + 2].get_color()) for j in range(3)} == {"#b0b0b0"}  # zero biases


def test_diagram_with_trace_shows_the_samples_numbers(tmp_path):
    net = mazur_network()
    trace = gn.explain(net, [0.05, 0.10], [0.01, 0.99], optimizer="sgd", lr=0.5)
    fig = gn.plot_network(net, trace, sample=0, path=tmp_path / "net.png")
    _, _, _, texts = artists(fig)
    joined = "\n".join(texts)
    # the hand values of the worked example (see test_explain_worked_example.py), to 4 significant digits
    for expected in ("a=0.5933", "a=0.5969", "a=0.7514", "a=0.7729", "z=0.3775", "δ=0.1385", "δ=-0.0381", "x=0.05"):
        assert expected in joined, expected
    assert "0.4 (∂ 0.08217)" in texts  # w^(2)_{1,1} and dL/dw^(2)_{1,1} = 0.082167041
    assert (tmp_path / "net.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gn.plot_network(net, trace, path=tmp_path / "net.svg")
    svg = (tmp_path / "net.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    with pytest.raises(gn.ConfigError, match="sample"):
        gn.plot_network(net, trace, sample=1)
    with pytest.raises(gn.ConfigError, match="suffix|png"):
        gn.plot_network(net, path=tmp_path / "net.bmp")
    with pytest.raises(gn.ConfigError, match="trace"):
        gn.plot_network(gn.Network.from_sizes([2, 3, 2]), trace)


def test_worksheet_has_blanks_and_the_real_answers():
    net = mazur_network()
    sheet = gn.worksheet(net, [0.05, 0.10], [0.01, 0.99], optimizer="sgd", lr=0.5)
    md = sheet.to_markdown()
    questions, answers = md.split("## Answer key")
    assert questions.count("________") == len(sheet.questions) == 43  # 47 records less 2 inputs, 2 targets
    assert "`w^(1)_{2,1} = 0.2`" in questions and "`x_1`" not in questions
    assert "z^(1)_1 = w^(1)_{1,1}*a^(0)_1 + w^(1)_{2,1}*a^(0)_2 + b^(1)_1 = ________" in questions
    # no answer leaks into the questions: the value of a^(2)_1 (0.75136507 in the published example) is absent
    assert "0.751365" not in questions and "0.751365" in answers
    assert "w^(2)_{1,1} <- w^(2)_{1,1} - lr*dL/dw^(2)_{1,1} = 0.4 - 0.5*0.082167 = 0.358916" in answers
    assert numbers(answers.splitlines()[-1])[-1] == pytest.approx(0.6 + 0.5 * 0.038098236, abs=1e-6)  # b^(2)_2
    assert "Answer key" not in sheet.to_markdown(answers=False)
    tex = sheet.to_latex()
    assert tex.count(r"\underline{\hspace{2.5cm}}") == 43 and r"\begin{document}" in tex
    assert "Answer key" not in sheet.to_latex(answers=False)
    # the network is untouched
    assert net.parameters()["1.W"][0, 0] == 0.40
