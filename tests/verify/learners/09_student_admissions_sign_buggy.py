# ruff: noqa
# Single sigmoid unit (no bias) on the graduate-admissions table; one record at a time into del_w, one update per epoch.
import numpy as np

# stand-in for binary.csv (admit, gre, gpa, rank): 400 seeded rows, gre/800, gpa/4, rank one-hot
_rng = np.random.default_rng(42)
_gre = np.clip(_rng.normal(590, 115, 400), 220, 800)
_gpa = np.clip(_rng.normal(3.39, 0.38, 400), 2.26, 4.0)
_rank = _rng.integers(1, 5, 400)
_logit = -3.5 + 2.0 * (_gre / 800) + 2.5 * (_gpa / 4) - 0.6 * (_rank - 1)
_admit = (_rng.random(400) < 1 / (1 + np.exp(-_logit))).astype(float)
_data = np.column_stack([_gre / 800, _gpa / 4, np.eye(4)[_rank - 1]])
features, targets = _data[:360], _admit[:360]
features_test, targets_test = _data[360:], _admit[360:]


# Activation (sigmoid) function
def sigmoid(x):
    return 1 / (1 + np.exp(-x))
def sigmoid_prime(x):
    return sigmoid(x) * (1-sigmoid(x))
def error_formula(y, output):
    return - y*np.log(output) - (1 - y) * np.log(1-output)


# TODO: Write the error term formula
def error_term_formula(y, output):
    return -(y - output) * output * (1 - output)


# Neural Network hyperparameters
epochs = 1000
learnrate = 0.5

# Training function
def train_nn(features, targets, epochs, learnrate):

    # Use to same seed to make debugging easier
    np.random.seed(42)

    n_records, n_features = features.shape
    last_loss = None

    # Initialize weights
    weights = np.random.normal(scale=1 / n_features**.5, size=n_features)

    for e in range(epochs):
        del_w = np.zeros(weights.shape)
        for x, y in zip(features, targets):
            # Activation of the output unit
            output = sigmoid(np.dot(x, weights))

            # The error, the target minus the network output
            error = error_formula(y, output)

            # The error term
            error_term = error_term_formula(y, output)

            # The gradient descent step, the error times the gradient times the inputs
            del_w += error_term * x

        # Update the weights here. The learning rate times the
        # change in weights, divided by the number of records to average
        weights += learnrate * del_w / n_records

        # Printing out the mean square error on the training set
        if e % (epochs / 10) == 0:
            out = sigmoid(np.dot(features, weights))
            loss = np.mean((out - targets) ** 2)
            print("Epoch:", e)
            if last_loss and last_loss < loss:
                print("Train loss: ", loss, "  WARNING - Loss Increasing")
            else:
                print("Train loss: ", loss)
            last_loss = loss
            print("=========")
    print("Finished training!")
    return weights

weights = train_nn(features, targets, epochs, learnrate)

# Calculate accuracy on test data
tes_out = sigmoid(np.dot(features_test, weights))
predictions = tes_out > 0.5
accuracy = np.mean(predictions == targets_test)
print("Prediction accuracy: {:.3f}".format(accuracy))
