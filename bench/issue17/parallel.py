import time, numpy as np, numba, sys
from numba import prange
dt = np.dtype(sys.argv[1])
def body(p, g, m, v, coef, shrink, decay, beta1, c1, beta2, c2, step_size, root, eps, write):
    bad = 0
    for i in prange(p.shape[0]):
        gi = g[i] * coef
        pi = p[i] * shrink
        if decay != 0:
            gi = gi + decay * pi
        mi = beta1 * m[i] + c1 * gi
        vi = beta2 * v[i] + c2 * gi * gi
        pi = pi - step_size * mi / (np.sqrt(vi) / root + eps)
        if write:
            p[i] = pi; m[i] = mi; v[i] = vi
        else:
            bad += not (np.isfinite(pi) and np.isfinite(mi) and np.isfinite(vi))
    return bad == 0
par = numba.njit(error_model="numpy", parallel=True)(body)
ser = numba.njit(error_model="numpy")(body)
from glassnet.core import compiled
from glassnet.core.optimizers import Adam
n = 669706
rng = np.random.default_rng(0)
p = rng.standard_normal(n).astype(dt); g = rng.standard_normal(n).astype(dt); m = np.zeros(n, dt); v = np.zeros(n, dt)
s = compiled.scalars(Adam(0.001).loop_scalars(1, 1.0), dt)
def best(f, k=40):
    ts = []
    for _ in range(k):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return round(min(ts) * 1e3, 3), round(np.median(ts) * 1e3, 3)
for f in (par, ser): f(p, g, m, v, *s, False); f(p, g, m, v, *s, True)
p2 = p.copy(); m2 = m.copy(); v2 = v.copy()
par(p, g, m, v, *s, True); ser(p2, g, m2, v2, *s, True); print("same", np.array_equal(p, p2))
for _ in range(2):
    print("parallel", best(lambda: (par(p, g, m, v, *s, False), par(p, g, m, v, *s, True))))
    print("serial  ", best(lambda: (ser(p, g, m, v, *s, False), ser(p, g, m, v, *s, True))))
# after a GEMM (OpenBLAS threads spinning)
A = rng.standard_normal((256, 784)).astype(dt); W = rng.standard_normal((784, 512)).astype(dt); Z = np.empty((256, 512), dt)
print("gemm+parallel", best(lambda: (np.matmul(A, W, Z), par(p, g, m, v, *s, False), par(p, g, m, v, *s, True))))
print("gemm+serial  ", best(lambda: (np.matmul(A, W, Z), ser(p, g, m, v, *s, False), ser(p, g, m, v, *s, True))))
print("gemm         ", best(lambda: np.matmul(A, W, Z)))
print(numba.threading_layer())
