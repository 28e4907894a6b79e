# ruff: noqa
# Sigmoid network kept as lists (index 0 is an empty slot for the input layer); columns are samples.
import numpy as np


class NeuralNetwork:
    def __init__(self, layers):
        np.random.seed(2)
        # I'm using an empty weight at 0 so its easier to match the layer's activations, zs and weights
        self.weights = [None]
        self.biases = [None]
        for n_in, n_out in zip(layers[:-1], layers[1:]):
            self.weights.append(np.random.randn(n_out, n_in) * 0.01)
            self.biases.append(np.zeros((n_out, 1)))

    def sigmoid(self, z):
        return 1. / (1. + np.exp(-z))

    def forward(self, X):
        activations = [X]
        zs = [None]
        a = X
        for d in range(1, len(self.weights)):
            z = self.weights[d].dot(a) + self.biases[d]
            a = self.sigmoid(z)
            zs.append(z)
            activations.append(a)
        return a, activations, zs

    def cost(self, X, Y):
        h, _, _ = self.forward(X)
        return float(-np.mean(Y * np.log(h) + (1 - Y) * np.log(1 - h)))

    def gradients(self, X, Y):
        dws = []
        dbs = []
        h, activations, zs = self.forward(X)
        da = - (np.divide(Y, h) - np.divide(1 - Y, 1 - h)) #dJ/dOutput
        for d in np.arange(1, len(self.weights))[::-1]:
            a = activations[d] #output for layer d
            z = zs[d] #linear for layer d
            w = self.weights[d] #weights for layer w

            dz = da * a * (1-a)
            m = w.shape[1]
            dw = 1./m * dz.dot(activations[d-1].T)
            db = 1./m * np.sum(dz, axis=1, keepdims=True)
            da = w.T.dot(dz)
            dws.insert(0, dw)
            dbs.insert(0, db)
        dws.insert(0, None)
        dbs.insert(0, None)
        return dws, dbs

    def train(self, X, Y, epochs, alpha):
        for epoch in range(epochs):
            dws, dbs = self.gradients(X, Y)
            for d in range(1, len(self.weights)):
                self.weights[d] -= alpha * dws[d]
                self.biases[d] -= alpha * dbs[d]
            print("epoch", epoch, "cost", self.cost(X, Y))


X = np.array([[-3.], [-2.], [3.], [2.]]).T
Y = np.array([[0.], [0.], [1.], [1.]]).T

nn = NeuralNetwork([1, 1])
nn.train(X, Y, epochs=30, alpha=0.3)
print(nn.forward(X)[0])
