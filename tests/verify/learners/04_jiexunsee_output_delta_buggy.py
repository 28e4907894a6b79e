# ruff: noqa
# 3-4-8-1 sigmoid network as a class; weights (n_in, n_out); whole batch at once; no learning rate (step = 1).
from numpy import exp, array, random, dot


class NeuralNetwork():
    def __init__(self):
        random.seed(1)

        # format is (no. of nodes in previous layer) x (no. of nodes in next following layer)
        self.synaptic_weights1 = 2 * random.random((3, 4)) - 1
        self.synaptic_weights2 = 2 * random.random((4, 8)) - 1
        self.synaptic_weights3 = 2 * random.random((8, 1)) - 1

    def __sigmoid(self, x):
        return 1 / (1 + exp(-x))

    # derivative of sigmoid function, indicates confidence about existing weight
    def __sigmoid_derivative(self, x):
        return x * (1 - x)

    # train neural network, adjusting synaptic weights each time
    def train(self, training_set_inputs, training_set_outputs, number_of_training_iterations):
        for iteration in range(number_of_training_iterations):

            # a2 means the activations fed to second layer
            a2 = self.__sigmoid(dot(training_set_inputs, self.synaptic_weights1))
            a3 = self.__sigmoid(dot(a2, self.synaptic_weights2))
            output = self.__sigmoid(dot(a3, self.synaptic_weights3))

            # calculate error
            del4 = training_set_outputs - output

            # find errors in each layer
            del3 = dot(self.synaptic_weights3, del4.T) * (self.__sigmoid_derivative(a3).T)
            del2 = dot(self.synaptic_weights2, del3) * (self.__sigmoid_derivative(a2).T)

            # get adjustments (gradients) for each layer
            adjustment3 = dot(a3.T, del4)
            adjustment2 = dot(a2.T, del3.T)
            adjustment1 = dot(training_set_inputs.T, del2.T)

            # adjust weights
            self.synaptic_weights1 += adjustment1
            self.synaptic_weights2 += adjustment2
            self.synaptic_weights3 += adjustment3

    def forward_pass(self, inputs):
        a2 = self.__sigmoid(dot(inputs, self.synaptic_weights1))
        a3 = self.__sigmoid(dot(a2, self.synaptic_weights2))
        output = self.__sigmoid(dot(a3, self.synaptic_weights3))
        return output


if __name__ == "__main__":
    neural_network = NeuralNetwork()

    print("Random starting synaptic weights: ")
    print(neural_network.synaptic_weights1)

    # the training set.
    training_set_inputs = array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]])
    training_set_outputs = array([[0, 1, 1, 0]]).T

    neural_network.train(training_set_inputs, training_set_outputs, 10000)

    print("\nNew synaptic weights (layer 1) after training: ")
    print(neural_network.synaptic_weights1)
    print("\nNew synaptic weights (layer 2) after training: ")
    print(neural_network.synaptic_weights2)
    print("\nNew synaptic weights (layer 3) after training: ")
    print(neural_network.synaptic_weights3)

    print("\nConsidering new situation [1,0,0] -> ?")
    print(neural_network.forward_pass(array([1, 0, 0])))
