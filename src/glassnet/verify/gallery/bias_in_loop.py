"""The biases are changed inside the row loop, while the gradients are being summed: the cost sticks at 0.5.

The bug: in the row loop, `bias_11 += error_neural_11` (and the same for `bias_12`, `bias_13` and
`bias_output`) adds each row's bias gradient to the bias itself, with learning rate 1 and a plus sign,
instead of to `bias_11_gradient`. The biases climb the cost four times per epoch while the weights
descend it, and `bias_11_gradient` stays 0, so `bias_11 -= learning_rate * bias_11_gradient` after the
loop does nothing. The printed cost rises to about 0.5 and stays there.

The fix: `bias_11_gradient += error_neural_11` (and the same for the other biases) in the row loop; the
updates after the loop then subtract them like the weights' gradients.

Run it: python bias_in_loop.py    Diagnose it: glassnet doctor bias_in_loop.py
"""

import numpy as np

inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
targets = np.array([0, 1, 1, 0])

np.random.seed(1)
weights_11 = np.random.uniform(size=2)
weights_12 = np.random.uniform(size=2)
weights_13 = np.random.uniform(size=2)
weights_output = np.random.uniform(size=3)
bias_11 = np.random.uniform()
bias_12 = np.random.uniform()
bias_13 = np.random.uniform()
bias_output = np.random.uniform()
learning_rate = 0.1


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


for epoch in range(20000):
    cost = 0
    weights_11_gradient = np.zeros(2)
    weights_12_gradient = np.zeros(2)
    weights_13_gradient = np.zeros(2)
    weights_output_gradient = np.zeros(3)
    bias_11_gradient = 0
    bias_12_gradient = 0
    bias_13_gradient = 0
    bias_output_gradient = 0
    for row in range(len(inputs)):
        x = inputs[row]
        neural_11 = sigmoid(np.dot(x, weights_11) + bias_11)
        neural_12 = sigmoid(np.dot(x, weights_12) + bias_12)
        neural_13 = sigmoid(np.dot(x, weights_13) + bias_13)
        hidden = np.array([neural_11, neural_12, neural_13])
        output = sigmoid(np.dot(hidden, weights_output) + bias_output)
        cost += (output - targets[row]) ** 2
        error_output = (output - targets[row]) * output * (1 - output)
        error_neural_11 = error_output * weights_output[0] * neural_11 * (1 - neural_11)
        error_neural_12 = error_output * weights_output[1] * neural_12 * (1 - neural_12)
        error_neural_13 = error_output * weights_output[2] * neural_13 * (1 - neural_13)
        weights_output_gradient += error_output * hidden
        bias_output += error_output
        weights_11_gradient += error_neural_11 * x
        weights_12_gradient += error_neural_12 * x
        weights_13_gradient += error_neural_13 * x
        bias_11 += error_neural_11
        bias_12 += error_neural_12
        bias_13 += error_neural_13
    weights_output -= learning_rate * weights_output_gradient
    weights_11 -= learning_rate * weights_11_gradient
    weights_12 -= learning_rate * weights_12_gradient
    weights_13 -= learning_rate * weights_13_gradient
    bias_output -= learning_rate * bias_output_gradient
    bias_11 -= learning_rate * bias_11_gradient
    bias_12 -= learning_rate * bias_12_gradient
    bias_13 -= learning_rate * bias_13_gradient
    if epoch % 2000 == 0:
        print(epoch, cost / len(inputs))
