import time, math, numpy as np, numba, sys
dt = np.dtype(sys.argv[1])
@numba.njit(error_model="numpy")
def adam_undo(p, g, m, v, kept, coef, shrink, decay, beta1, c1, beta2, c2, step_size, root, eps):
    finite = True
    for i in range(p.shape[0]):
        kept[0, i] = p[i]; kept[1, i] = m[i]; kept[2, i] = v[i]
        gi = g[i] * coef
        pi = p[i] * shrink
        if decay != 0:
            gi = gi + decay * pi
        mi = beta1 * m[i] + c1 * gi
        vi = beta2 * v[i] + c2 * gi * gi
        pi = pi - step_size * mi / (np.sqrt(vi) / root + eps)
        p[i], m[i], v[i] = pi, mi, vi
        finite &= np.isfinite(pi) & np.isfinite(mi) & np.isfinite(vi)
    return finite
import glassnet as gn
from glassnet.core import compiled
from glassnet.core.optimizers import Adam
loop = compiled.kernel(Adam.update_loop)
n = 669706
rng = np.random.default_rng(0)
p = rng.standard_normal(n).astype(dt); g = rng.standard_normal(n).astype(dt); m = np.zeros(n, dt); v = np.zeros(n, dt)
kept = np.empty((3, n), dt)
opt = Adam(0.001)
s = compiled.scalars(opt.loop_scalars(1, 1.0), dt)
def best(f, k=40):
    ts = []
    for _ in range(k):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts) * 1e3, np.median(ts) * 1e3
adam_undo(p, g, m, v, kept, *s); loop(p, g, m, v, *s, False)
for _ in range(2):
    print("undo one pass", best(lambda: adam_undo(p, g, m, v, kept, *s)))
    print("check+write", best(lambda: (loop(p, g, m, v, *s, False), loop(p, g, m, v, *s, True))))
