"""One variable per weight, and a copy-paste slip: hidden neuron 3's delta uses neuron 2's output.

The bug: `d3 = d_o * v3 * h2 * (1 - h2)` was copied from the line above and still says `h2`; the
slope of neuron 3 is `h3 * (1 - h3)`. Only the three parameters of neuron 3 (`w13`, `w23`, `b3`) get
wrong gradients; the other ten are right. Neuron 3 learns with the wrong slope, and the total error
stays near 0.66 where the fixed script brings it below 0.001.

The fix: `d3 = d_o * v3 * h3 * (1 - h3)`.

Run it: python copy_paste_neuron.py    Diagnose it: glassnet doctor copy_paste_neuron.py
"""

import math
import random

# hidden neuron j has weights w1j (from input 1) and w2j (from input 2) and bias bj;
# v1, v2, v3 connect the hidden neurons to the output, c is the output's bias
random.seed(2)
w11, w21, b1 = random.uniform(-1, 1), random.uniform(-1, 1), 0.0
w12, w22, b2 = random.uniform(-1, 1), random.uniform(-1, 1), 0.0
w13, w23, b3 = random.uniform(-1, 1), random.uniform(-1, 1), 0.0
v1, v2, v3, c = random.uniform(-1, 1), random.uniform(-1, 1), random.uniform(-1, 1), 0.0
rate = 0.5

data = [(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]


def sig(z):
    return 1 / (1 + math.exp(-z))


for epoch in range(10000):
    total_error = 0
    g_w11 = g_w21 = g_b1 = 0
    g_w12 = g_w22 = g_b2 = 0
    g_w13 = g_w23 = g_b3 = 0
    g_v1 = g_v2 = g_v3 = g_c = 0
    for x1, x2, t in data:
        h1 = sig(w11 * x1 + w21 * x2 + b1)
        h2 = sig(w12 * x1 + w22 * x2 + b2)
        h3 = sig(w13 * x1 + w23 * x2 + b3)
        o = sig(v1 * h1 + v2 * h2 + v3 * h3 + c)
        total_error += (t - o) ** 2

        d_o = (o - t) * o * (1 - o)
        d1 = d_o * v1 * h1 * (1 - h1)
        d2 = d_o * v2 * h2 * (1 - h2)
        d3 = d_o * v3 * h2 * (1 - h2)

        g_v1 += d_o * h1
        g_v2 += d_o * h2
        g_v3 += d_o * h3
        g_c += d_o
        g_w11 += d1 * x1
        g_w21 += d1 * x2
        g_b1 += d1
        g_w12 += d2 * x1
        g_w22 += d2 * x2
        g_b2 += d2
        g_w13 += d3 * x1
        g_w23 += d3 * x2
        g_b3 += d3

    w11 -= rate * g_w11
    w21 -= rate * g_w21
    b1 -= rate * g_b1
    w12 -= rate * g_w12
    w22 -= rate * g_w22
    b2 -= rate * g_b2
    w13 -= rate * g_w13
    w23 -= rate * g_w23
    b3 -= rate * g_b3
    v1 -= rate * g_v1
    v2 -= rate * g_v2
    v3 -= rate * g_v3
    c -= rate * g_c

    if epoch % 1000 == 0:
        print("epoch", epoch, "total error", total_error)
