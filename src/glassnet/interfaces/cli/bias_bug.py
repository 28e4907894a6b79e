"""``glassnet demo --bias-bug``: the learner's bug, its symptom, the doctor's diagnosis, the fix.

Runs the gallery program ``bias_in_loop.py`` (a hand-written 2-3-1 sigmoid network whose per-row loop
adds the bias deltas straight into the biases), shows the cost stuck near 0.5, asks
``glassnet.doctor.check_step`` what is wrong, then runs the same loop with the fix and shows it learn.
"""

from __future__ import annotations

import os

from glassnet.verify import gallery
from glassnet.verify.doctor import check_step
from glassnet.verify.usercode import load_script

STORY = """A learner wrote a 2-3-1 sigmoid network by hand, with a per-row loop over the XOR rows. With the
bias updates un-commented, the cost sticks near 0.5. The loop ({path}) does, for every row:

    p["bias_out"] += delta_out          # added straight into the parameter, inside the loop
    p["bias_hidden"] += delta_hidden

Training it for {epochs} epochs:"""

FIX = """The fix: accumulate the bias gradients like the weight gradients and subtract them after the loop:

    d_bias_out += delta_out             # inside the row loop
    p["bias_out"] -= lr * d_bias_out    # after it

Training the fixed loop from the same start:"""


def run_bias_bug(epochs: int = 5000) -> int:
    """Tell the story end to end; returns 0 when the fixed loop learns XOR and the doctor found the bias."""
    path = gallery.path("bias_in_loop")
    script = load_script(path)
    module = script.module
    every = max(1, epochs // 5)
    print(STORY.format(path=os.path.basename(path), epochs=epochs))
    broken = module.train(module.step, module.params(), epochs=epochs, every=every)

    print(f"\nThe cost is stuck at {broken[-1]:.4f}. Asking glassnet's doctor about one step of this loop:\n")
    report = check_step(module.step, module.params(), module.loss, lr=module.lr)
    print(report)

    print("\n" + FIX)
    p = module.params()
    fixed = module.train(module.fixed_step, p, epochs=epochs, every=every)
    outputs = [float(module.forward(p, x)[1]) for x in module.X]
    print("\npredictions of the fixed network:")
    for x, t, o in zip(module.X, module.T, outputs):
        print(f"  x = {x.astype(int).tolist()}  target {int(t)}  output {o:.4f}")
    learned = all((o > 0.5) == bool(t) for o, t in zip(outputs, module.T))
    found = {f.param for f in report.findings if f.verdict == "uphill"} == {"bias_hidden", "bias_out"}
    print(f"\ncost: broken loop {broken[-1]:.4f}, fixed loop {fixed[-1]:.4f}"
          f" ({'XOR learned' if learned else 'not learned yet: try more epochs'})")
    return 0 if learned and found else 1

