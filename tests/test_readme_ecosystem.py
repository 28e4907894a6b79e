"""The README's data/plots/scikit-learn/PyTorch examples run as written."""

import re
import warnings
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_ecosystem_blocks_run(tmp_path, monkeypatch, capsys):
    text = README.read_text()
    section = text.split("## Data, plots, scikit-learn and PyTorch", 1)[1].split("\n## ", 1)[0]  # up to the next section
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my.csv").write_text("a,b,species\n1,2,cat\n3,,dog\n5,6,dog\n7,8,cat\n")
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    assert (tmp_path / "neurons.png").exists() and (tmp_path / "curves.png").exists()
    assert namespace["data"].classes == ["cat", "dog"] and len(namespace["data"]) == 3
    assert namespace["net"].predict(namespace["X_te"]).shape == (100,)
    assert "Total parameters: 82" in capsys.readouterr().out
