# ruff: noqa
# Softmax regression with manual gradients, float32 throughout; rows are samples, weights (num_classes, num_features).
import numpy as np

##########################
### DATASET
##########################

# stand-in for two iris columns: three seeded 2-D blobs of 50 points, labels 0/1/2
rng = np.random.default_rng(123)
centers = np.array([[3.4, 0.25], [2.8, 1.3], [3.0, 2.0]], dtype=np.float32)
X = np.concatenate([rng.normal(c, [0.35, 0.2], size=(50, 2)) for c in centers]).astype(np.float32)
y = np.repeat(np.arange(3), 50).astype(np.int32)

# Shuffling & train/test split
shuffle_idx = rng.permutation(y.shape[0])
X, y = X[shuffle_idx], y[shuffle_idx]
percent80 = int(shuffle_idx.shape[0]*0.8)
X_train, X_test = X[:percent80], X[percent80:]
y_train, y_test = y[:percent80], y[percent80:]

# Normalize (mean zero, unit variance)
mu, sigma = X_train.mean(axis=0), X_train.std(axis=0)
X_train = (X_train - mu) / sigma
X_test = (X_test - mu) / sigma


def to_onehot(y, num_classes):
    y_onehot = np.zeros((y.shape[0], num_classes), dtype=np.float32)
    y_onehot[np.arange(y.shape[0]), y] = 1
    return y_onehot

def softmax(z):
    return (np.exp(z.T) / np.sum(np.exp(z), axis=1)).T

def cross_entropy(softmax, y_target):
    return -np.sum(np.log(softmax) * (y_target), axis=1)


class SoftmaxRegression1():
    def __init__(self, num_features, num_classes):
        self.num_features = num_features
        self.num_classes = num_classes
        self.weights = np.zeros((num_classes, num_features), dtype=np.float32)
        self.bias = np.zeros(num_classes, dtype=np.float32)

    def forward(self, x):
        logits = np.add(np.dot(x, self.weights.T), self.bias)
        probas = softmax(logits)
        return logits, probas

    def backward(self, x, y, probas):
        grad_loss_out = y - probas # 120 x 3 dimensional
        grad_loss_w = -np.dot(x.T, grad_loss_out).T
        grad_loss_b = -np.sum(grad_loss_out, axis=0)
        return grad_loss_w, grad_loss_b

    def predict_labels(self, x):
        logits, probas = self.forward(x)
        labels = np.argmax(probas, axis=1)
        return labels

    def evaluate(self, x, y):
        labels = self.predict_labels(x).astype(np.float32)
        accuracy = np.sum(labels.reshape(-1) == y.astype(np.float32)) / y.shape[0]
        return accuracy

    def train(self, x, y, num_epochs, learning_rate=0.01):
        epoch_cost = []
        for e in range(num_epochs):

            y_onehot = to_onehot(y, num_classes=self.num_classes)

            #### Compute outputs ####
            logits, probas = self.forward(x)

            #### Compute gradients ####
            grad_w, grad_b = self.backward(x, y_onehot, probas)

            #### Update weights ####
            self.weights -= learning_rate * grad_w / y.shape[0]
            self.bias -= learning_rate * grad_b / y.shape[0]

            #### Logging ####
            logits, probas = self.forward(x)
            cost = np.mean(cross_entropy(probas, y_onehot))
            print('Epoch: %03d' % (e+1), end="")
            print(' | Train ACC: %.3f' % self.evaluate(x, y), end="")
            print(' | Cost: %.3f' % cost)
            epoch_cost.append(cost)
        return epoch_cost


model1 = SoftmaxRegression1(num_features=2, num_classes=3)
epoch_cost = model1.train(X_train, y_train,
                          num_epochs=50,
                          learning_rate=0.1)

print('\nModel parameters:')
print('  Weights: %s' % model1.weights)
print('  Bias: %s' % model1.bias)
