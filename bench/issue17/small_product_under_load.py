import sys, time, numpy as np
if sys.argv[1] == "numba":
    import numba
rng = np.random.default_rng(0)
X = rng.random((64, 64)); W = rng.random((64, 128)); Z = np.empty((64, 128))
ts = []
for _ in range(200):
    t = time.perf_counter(); np.matmul(X, W, Z); ts.append(time.perf_counter() - t)
print(sys.argv[1], "min %.1f us median %.1f us" % (min(ts) * 1e6, np.median(ts) * 1e6))
