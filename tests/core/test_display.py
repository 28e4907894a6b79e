"""Notebook display: Network.summary / _repr_html_, History._repr_html_."""

import glassnet as gn


def test_summary_lists_layers_shapes_and_counts(capsys):
    net = gn.Network.from_sizes([4, 8, 3], "relu", loss="cross_entropy", seed=0)
    text = net.summary()
    assert capsys.readouterr().out.strip() == text.strip()
    lines = text.splitlines()
    assert lines[0] == "Network: inputs (batch, 4), loss cross_entropy, l2 0, float64"
    row0 = next(line for line in lines if line.startswith("0  "))
    row1 = next(line for line in lines if line.startswith("1  "))
    # by hand: 4*8 + 8 = 40 and 8*3 + 3 = 27 parameters
    assert "Dense(4 -> 8)" in row0 and "relu" in row0 and "(batch, 8)" in row0 and "40  (W (4, 8), b (8,))" in row0
    assert "Dense(8 -> 3)" in row1 and "softmax" in row1 and "27  (W (8, 3), b (3,))" in row1
    assert lines[-1] == "Total parameters: 67"
    assert net.summary(print_it=False) == text and capsys.readouterr().out == ""


def test_network_html_is_an_escaped_table():
    html = gn.Network.from_sizes([2, 3, 1], seed=0)._repr_html_()
    assert html.count("<tr>") == 3 and "<th>activation</th>" in html and "Dense(2 -&gt; 3)" in html
    assert "Total parameters: 13" in html and "'mse'" not in html  # quotes are escaped


def test_history_html_has_a_loss_sparkline():
    history = gn.History(loss=[1.0, 0.5, 0.25], accuracy=[0.5, 0.75, 1.0], epochs=3)
    html = history._repr_html_()
    assert "History(3 epochs, loss 1 -&gt; 0.25, accuracy 1.000)" in html
    points = html.split("points='")[1].split("'")[0].split()
    assert points == ["0.0,4.0", "100.0,38.7", "200.0,56.0"]  # x spread over 200 px, y: high loss at the top
    assert "<svg" not in gn.History(loss=[1.0], epochs=1)._repr_html_()
