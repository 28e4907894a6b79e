"""The doctor and gradcheck commands: exit codes, the user's traceback, gallery listing."""

import json
import re
from pathlib import Path

import glassnet as gn


def test_doctor_gallery_list_and_one_entry(cli):
    code, out, _ = cli("doctor", "--gallery")
    assert code == 0 and "bias_in_loop" in out and "zero_init" in out
    code, out, _ = cli("doctor", "--gallery", "gradient_never_accumulated")
    assert code == 1 and "never_accumulated" in out and "PROBLEMS FOUND" in out and "The fix:" in out
    code, _, err = cli("doctor", "--gallery", "bias_in_lop")
    assert code == 2 and "Did you mean 'bias_in_loop'" in err


def test_doctor_on_a_correct_script_passes_and_prints_json(cli, tmp_path):
    script = tmp_path / "mine.py"
    script.write_text(
        "import numpy as np\n"
        "X = np.array([[1.0, 2.0], [3.0, 4.0]]); y = np.array([1.0, -1.0]); lr = 0.1\n"
        "def params(): return {'w': np.array([0.1, -0.2])}\n"
        "def loss(p): return float(np.mean((X @ p['w'] - y) ** 2))\n"
        "def gradients(p): return {'w': 2 * X.T @ (X @ p['w'] - y) / len(y)}\n"
        "def step(p): p['w'] -= lr * gradients(p)['w']\n"
    )
    code, out, err = cli("doctor", str(script), "--json")
    assert code == 0, out + err
    assert json.loads(out)["ok"] is True


def test_doctor_script_missing_functions_or_raising(cli, tmp_path):
    script = tmp_path / "half.py"
    script.write_text("def params(): return {}\n")
    code, _, err = cli("doctor", str(script))
    # neither the earlier form (params, loss, gradients/step) nor a training loop: the doctor says what to point at
    assert code == 2 and "found no training loop" in err and "--loop LINE" in err
    script = tmp_path / "boom.py"
    script.write_text("import numpy as np\n\ndef params():\n    return {'w': np.ones(2)}\n\n"
                      "def loss(p):\n    return undefined_name * 2\n\ndef gradients(p):\n    return p\n")
    code, _, err = cli("doctor", str(script))
    assert code == 2
    assert "Traceback" in err and "boom.py\", line 7, in loss" in err and "undefined_name" in err
    assert "glassnet/verify" not in err and "your loss function raised NameError" in err


def test_gradcheck_command_on_saved_and_fresh_networks(cli, tmp_path):
    path = tmp_path / "net.npz"
    gn.Network.from_sizes([2, 3, 1], "tanh", loss="bce", seed=0).save(path)
    code, out, _ = cli("gradcheck", str(path), "--data", "xor")
    assert code == 0 and "0.b" in out and "OK" in out.splitlines()[0]
    code, out, _ = cli("gradcheck", "--layers", "2,3,1", "--activation", "leaky_relu", "--loss", "mse",
                       "--data", "xor", "--json")
    assert code == 0 and len(json.loads(out)["findings"]) == 4
    code, _, err = cli("gradcheck", "--data", "xor")
    assert code == 2 and "--layers" in err


def test_demo_bias_bug_tells_the_whole_story(cli):
    code, out, err = cli("demo", "--bias-bug")
    assert code == 0, err
    assert 0.45 < float(re.search(r"The cost is stuck at (\d\.\d+)", out).group(1)) < 0.55
    for bias in ("bias_11", "bias_12", "bias_13", "bias_output"):
        assert re.search(rf"{bias} +changed_in_loop", out), out
    assert "with learning rate 1 instead of `learning_rate`" in out
    assert "- bias_11 += error_neural_11" in out and "+ bias_11_gradient += error_neural_11" in out
    fixed = float(re.search(r"the fixed twin (\d\.\d+)", out).group(1))
    assert fixed < 0.01 and "XOR learned" in out


def test_readme_doctor_example_is_a_correct_script(cli, tmp_path):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    code_block = readme.split("# my_net.py\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "my_net.py"
    script.write_text(code_block)
    code, out, err = cli("doctor", str(script), "--json")
    assert code == 0, out + err
    assert {f["param"] for f in json.loads(out)["findings"] if f["ok"]} == {"W1", "b1", "W2", "b2"}
    # the change the README describes is found on its line
    script.write_text(code_block.replace("b1 -= lr * d_h.sum(axis=0)", "b1 += d_h.sum(axis=0)"))
    code, out, err = cli("doctor", str(script), "--json")
    bad = [f for f in json.loads(out)["findings"] if not f["ok"]]
    assert code == 1 and [(f["param"], f["verdict"], f["source"]) for f in bad] == [("b1", "uphill", "b1 += d_h.sum(axis=0)")]


def test_gradcheck_command_fails_with_exit_1_on_a_broken_backward(cli, monkeypatch):
    from glassnet.core.activations import Tanh

    monkeypatch.setattr(Tanh, "backward", lambda self, Z, A, dA: dA * (1 - A))  # should be 1 - A**2
    code, out, _ = cli("gradcheck", "--layers", "2,3,1", "--activation", "tanh", "--loss", "bce", "--data", "xor")
    assert code == 1 and "PROBLEMS FOUND" in out
    assert "0.W" in out and "wrong" in out.split("0.W", 1)[1].split("\n")[0]


def test_doctor_sample_option(cli, tmp_path):
    # --sample is for scripts written for the earlier doctor (params(), loss(), gradients()): one whose bias
    # gradient is never accumulated
    script = tmp_path / "old_style.py"
    script.write_text(
        "import numpy as np\n"
        "X = np.arange(12.0).reshape(3, 4) / 10; y = np.array([1.0, -1.0, 0.5])\n"
        "def params(): return {'w': np.array([0.1, -0.2, 0.3, 0.4]), 'b': np.array(0.3)}\n"
        "def loss(p): return float(np.mean((X @ p['w'] + p['b'] - y) ** 2))\n"
        "def gradients(p):\n"
        "    r = 2 * (X @ p['w'] + p['b'] - y) / len(y)\n"
        "    return {'w': X.T @ r, 'b': np.array(0.0)}\n"
    )
    code, out, _ = cli("doctor", str(script), "--sample", "2")
    assert code == 1 and "sampled at most 2 entries per tensor" in out and "never accumulated" in out
