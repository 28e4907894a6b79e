"""The README's first Python examples (the 2-3-1 network, one explained step) run as written and print
what their comments say; every file its "Where each concept lives" table names exists."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def python_blocks(heading: str) -> list[str]:
    """The Python code blocks of the README section that starts with ``heading`` (up to the next ``## ``)."""
    section = README.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_2_3_1_tour_prints_the_history_it_shows(tmp_path, monkeypatch, capsys):
    block = python_blocks("## The 2-3-1 network in Python")[0]
    shown = re.search(r"print\(history\)\s+# (History\(.*\))", block)
    assert shown is not None
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert shown[1] in out.splitlines()
    assert set(namespace["grads"]) == {"0.W", "0.b", "1.W", "1.b"}
    for key, p in namespace["net"].parameters().items():
        assert (namespace["same"].parameters()[key] == p).all()


def test_the_textbook_network_gives_the_worked_examples_outputs(capsys):
    # Mazur's "A Step by Step Backpropagation Example" computes out_o1 = 0.75136507, out_o2 = 0.772928465 by hand.
    block = python_blocks("## The 2-3-1 network in Python")[1]
    namespace: dict = {"gn": __import__("glassnet")}
    exec(compile(block, str(README), "exec"), namespace)
    shown = re.search(r"# (\[\[.*\]\]), as in", block)
    assert shown is not None and shown[1] in capsys.readouterr().out
    assert abs(namespace["mazur"].forward([[.05, .10]]) - [[0.75136507, 0.772928465]]).max() < 1e-8


def test_the_explained_step_prints_the_formulas_it_shows(tmp_path, monkeypatch, capsys):
    (block,) = python_blocks("## Every number of one training step")
    # The commented formulas after print(trace.to_text()); a line starting with "=" continues the one before.
    shown: list[str] = []
    for line in re.findall(r"^#\s+(.*)$", block, flags=re.M):
        if line.startswith("= ") and shown:
            shown[-1] += " " + line
        else:
            shown.append(line)
    assert len(shown) == 3
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"gn": __import__("glassnet")}
    exec(compile(block, str(README), "exec"), namespace)
    out = [line.strip() for line in capsys.readouterr().out.splitlines()]
    for formula in shown:
        assert formula in out, formula
    assert (tmp_path / "net.png").stat().st_size > 0


def test_every_file_in_the_where_each_concept_lives_table_exists():
    root = README.parent
    table = README.read_text().split("## Where each concept lives", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line.split("|")[-2]]
    assert len(rows) > 20
    for row in rows:
        folder = None
        for name in re.findall(r"`([^`]+)`", row.split("|")[-2]):
            if name.startswith(("src/", "examples/", "tests/")):
                path = root / name
                folder = path if name.endswith("/") else folder
            else:  # a file named after its folder: `src/glassnet/viz/` (`report.py`, ...)
                assert folder is not None, row
                path = folder / name
            assert path.exists(), (row, name)


def test_writing_your_own_layer_runs_as_shown(tmp_path, monkeypatch, capsys):
    """The custom layer of "Writing your own layer" passes gradcheck, trains, loads back and is explained."""
    import numpy as np

    from glassnet.core.layers import LAYERS

    (block,) = python_blocks("## Writing your own layer")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    try:
        exec(compile(block, str(README), "exec"), namespace)
    finally:
        for key in [k for k, cls in LAYERS.by_name.items() if cls is namespace.get("FeatureScale")]:
            del LAYERS.by_name[key]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "True"
    net, same = namespace["net"], namespace["same"]
    assert type(same.layers[0]).__name__ == "FeatureScale"
    assert not np.array_equal(net.parameters()["0.s"], np.ones(2))  # the layer's own parameters learned
    for key, p in net.parameters().items():
        np.testing.assert_array_equal(same.parameters()[key], p)


def test_the_command_line_examples_run_as_typed(tmp_path, monkeypatch, cli):
    import shlex
    import warnings

    section = README.read_text().split("## The command line", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    commands = [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines()]
    monkeypatch.chdir(tmp_path)
    rows = ["a,b,c,d,label"] + [f"{i % 5},{i % 3},{i % 7},{i % 2},{('lily', 'rose', 'tulip')[i % 3]}" for i in range(30)]
    (tmp_path / "my.csv").write_text("\n".join(rows) + "\n")  # the "my.csv" the examples read: 4 features, 3 classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the health monitor's notes
        for argv in commands:
            assert argv[0] == "glassnet"
            try:
                code, out, err = cli(*argv[1:])
            except SystemExit as exc:  # --help
                code, out, err = exc.code, "", ""
            assert code == 0, (argv, err)
            if argv[1] == "predict" and "my.csv" in argv:
                assert "probability" in out and "tulip" in out
