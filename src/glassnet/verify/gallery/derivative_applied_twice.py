"""The hidden layer's sigmoid derivative is multiplied in twice: once into the error, once more after.

The bug: `hidden_errors` already includes the slope of the hidden sigmoid (`* dsigmoid(hidden)`),
and `hidden_gradients = hidden_errors * dsigmoid(hidden)` multiplies by it again. The slope is at
most 0.25, so the hidden weights and biases get gradients at least 4 times too small, by a different
factor for every example: they learn slowly and not along the gradient. The output layer is right.

The fix: `hidden_errors = self.weights_ho.T @ output_gradients` (the derivative then comes in once,
on the next line).

Run it: python derivative_applied_twice.py    Diagnose it: glassnet doctor derivative_applied_twice.py
"""

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def dsigmoid(y):
    # y is already sigmoid(x)
    return y * (1 - y)


class NeuralNetwork:
    def __init__(self, n_inputs, n_hidden, n_outputs, learning_rate=0.5):
        rng = np.random.default_rng(1)
        self.weights_ih = rng.uniform(-1, 1, (n_hidden, n_inputs))
        self.weights_ho = rng.uniform(-1, 1, (n_outputs, n_hidden))
        self.bias_h = rng.uniform(-1, 1, n_hidden)
        self.bias_o = rng.uniform(-1, 1, n_outputs)
        self.learning_rate = learning_rate

    def feedforward(self, inputs):
        hidden = sigmoid(self.weights_ih @ inputs + self.bias_h)
        outputs = sigmoid(self.weights_ho @ hidden + self.bias_o)
        return hidden, outputs

    def train(self, inputs, targets):
        hidden, outputs = self.feedforward(inputs)
        output_errors = targets - outputs
        output_gradients = output_errors * dsigmoid(outputs)
        hidden_errors = (self.weights_ho.T @ output_gradients) * dsigmoid(hidden)
        hidden_gradients = hidden_errors * dsigmoid(hidden)
        self.weights_ho += self.learning_rate * np.outer(output_gradients, hidden)
        self.bias_o += self.learning_rate * output_gradients
        self.weights_ih += self.learning_rate * np.outer(hidden_gradients, inputs)
        self.bias_h += self.learning_rate * hidden_gradients

    def loss(self, X, Y):
        return np.mean([(t - self.feedforward(x)[1]) ** 2 for x, t in zip(X, Y)])


X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([[0.0], [1.0], [1.0], [0.0]])

brain = NeuralNetwork(2, 4, 1)
for epoch in range(5000):
    for x, t in zip(X, Y):
        brain.train(x, t)
    if epoch % 500 == 0:
        print(epoch, brain.loss(X, Y))

for x in X:
    print(x, brain.feedforward(x)[1])
