import time, numpy as np, sys
dt = sys.argv[1] if len(sys.argv) > 1 else "float32"
rng = np.random.default_rng(0)
def best(f, n=30):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)
N = 2048
A = rng.standard_normal((N, N)).astype(dt); B = rng.standard_normal((N, N)).astype(dt); C = np.empty((N, N), dt)
sq = 2 * N**3 / best(lambda: np.matmul(A, B, out=C), 5) / 1e9
Xb = rng.standard_normal((256, 784)).astype(dt)
W1 = rng.standard_normal((784, 512)).astype(dt); W2 = rng.standard_normal((512, 512)).astype(dt); W3 = rng.standard_normal((512, 10)).astype(dt)
A1 = np.empty((256, 512), dt); A2 = np.empty((256, 512), dt); A3 = np.empty((256, 10), dt)
d3 = rng.standard_normal((256, 10)).astype(dt); d2 = np.empty((256, 512), dt); d1 = np.empty((256, 512), dt)
g1 = np.empty_like(W1); g2 = np.empty_like(W2); g3 = np.empty_like(W3)
ops = [("X@W1", lambda: np.matmul(Xb, W1, out=A1), 256*784*512), ("A1@W2", lambda: np.matmul(A1, W2, out=A2), 256*512*512),
       ("A2@W3", lambda: np.matmul(A2, W3, out=A3), 256*512*10), ("A2.T@d3", lambda: np.matmul(A2.T, d3, out=g3), 256*512*10),
       ("d3@W3.T", lambda: np.matmul(d3, W3.T, out=d2), 256*512*10), ("A1.T@d2", lambda: np.matmul(A1.T, d2, out=g2), 256*512*512),
       ("d2@W2.T", lambda: np.matmul(d2, W2.T, out=d1), 256*512*512), ("X.T@d1", lambda: np.matmul(Xb.T, d1, out=g1), 256*784*512)]
tot_t, tot_f = 0, 0
for name, f, fl in ops:
    t = best(f); tot_t += t; tot_f += 2*fl
    print(f"{name:<10}{t*1e3:7.3f} ms {2*fl/t/1e9:7.1f} GF/s")
print(f"square {sq:.1f} GF/s; products {tot_t*1e3:.2f} ms = {tot_f/tot_t/1e9:.1f} GF/s = {tot_f/tot_t/1e9/sq:.2f} of peak; 75% needs step <= {tot_f/(0.75*sq*1e9)*1e3:.2f} ms")
