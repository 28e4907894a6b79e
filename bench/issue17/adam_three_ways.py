import time, numpy as np, numexpr as ne, sys
from glassnet.core import compiled
from glassnet.core.optimizers import Adam
dt = np.dtype(sys.argv[1])
n = 669706
rng = np.random.default_rng(0)
p = rng.standard_normal(n).astype(dt); g = rng.standard_normal(n).astype(dt); m = np.zeros(n, dt); v = np.zeros(n, dt)
opt = Adam(0.001); loop = compiled.kernel(Adam.update_loop); s = compiled.scalars(opt.loop_scalars(1, 1.0), dt)
tmp = np.empty(n, dt); tmp2 = np.empty(n, dt)
b1, c1, b2, c2, step, root, eps = [dt.type(x) for x in (0.9, 0.1, 0.999, 0.001, 0.01, 0.0316, 1e-8)]
def numexpr_adam():
    ne.evaluate("b1 * m + c1 * g", out=m)
    ne.evaluate("b2 * v + c2 * g * g", out=v)
    ne.evaluate("p - step * m / (sqrt(v) / root + eps)", out=p)
    return ne.evaluate("sum(where((p - p) == 0, 0, 1))")  # a finiteness check: another pass
def numba_adam():
    loop(p, g, m, v, *s, False); loop(p, g, m, v, *s, True)
def numpy_adam():
    opt.update_into(p, g, {"m": m, "v": v}, 1, tmp, tmp2)
def best(f, k=30):
    ts = []
    for _ in range(k):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return round(min(ts) * 1e3, 3), round(float(np.median(ts)) * 1e3, 3)
for f in (numexpr_adam, numba_adam, numpy_adam): f()
for _ in range(2):
    for f in (numexpr_adam, numba_adam, numpy_adam):
        print(dt, f.__name__, best(f))
print("numexpr threads", ne.nthreads)
# bitwise?
p0 = rng.standard_normal(n).astype(dt); g0 = rng.standard_normal(n).astype(dt)
pa = p0.copy(); ma = np.zeros(n, dt); va = np.zeros(n, dt)
ne.evaluate("b1 * ma + c1 * g0", out=ma); ne.evaluate("b2 * va + c2 * g0 * g0", out=va); ne.evaluate("pa - step * ma / (sqrt(va) / root + eps)", out=pa)
pb = p0.copy(); mb = np.zeros(n, dt); vb = np.zeros(n, dt)
mb = b1 * mb + c1 * g0; vb = b2 * vb + c2 * g0 * g0; pb = pb - step * mb / (np.sqrt(vb) / root + eps)
print("numexpr bitwise vs numpy:", np.array_equal(pa, pb), np.max(np.abs(pa - pb)))
