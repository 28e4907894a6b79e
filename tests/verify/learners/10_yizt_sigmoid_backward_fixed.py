# ruff: noqa
# -*- coding: utf-8 -*-
# Layer functions (fc / sigmoid / loss) plus a small class that keeps weights, neurons and gradients in dicts.
import numpy as np


def fc_forward(z, W, b):
    """
    全连接层的前向传播
    :param z: 当前层的输出,形状 (N,ln)
    """
    return np.dot(z, W) + b


def fc_backward(next_dz, W, z):
    """
    全连接层的反向传播
    """
    N = z.shape[0]
    dz = np.dot(next_dz, W.T)  # 当前层的梯度
    dw = np.dot(z.T, next_dz)  # 当前层权重的梯度
    db = np.sum(next_dz, axis=0)  # 当前层偏置的梯度, N个样本的梯度求和
    return dw / N, db / N, dz


def sigmoid_forward(z):
    """
    sigmoid激活前向过程
    """
    return 1/(1+np.exp(-z))


def sigmoid_backward(next_dz, z):
    """
    sigmoid激活反向过程
    """
    return sigmoid_forward(z) * (1 - sigmoid_forward(z)) * next_dz


def mean_squared_loss(y_predict, y_true):
    """
    均方误差损失函数
    """
    loss = np.mean(np.sum(np.square(y_predict - y_true), axis=-1))  # 损失函数值
    dy = y_predict - y_true  # 损失函数关于网络输出的梯度
    return loss, dy


class Net(object):
    def __init__(self):
        weight_scale = 1
        self.weights = {}
        self.weights["W1"] = weight_scale * np.random.randn(2, 16)
        self.weights["b1"] = np.zeros(16)

        self.weights["W2"] = weight_scale * np.random.randn(16, 1)
        self.weights["b2"] = np.zeros(1)

        # 存放神经元的值
        self.nurons = {}

        # 存放梯度
        self.gradients = {}

    def forward(self, train_data):
        self.nurons["z2"] = fc_forward(train_data, self.weights["W1"], self.weights["b1"])
        self.nurons["z2_sigmoid"] = sigmoid_forward(self.nurons["z2"])
        self.nurons["y"] = fc_forward(self.nurons["z2_sigmoid"], self.weights["W2"], self.weights["b2"])
        return self.nurons["y"]

    def backward(self, train_data, y_true):
        loss, self.gradients["y"] = mean_squared_loss(self.nurons["y"], y_true)
        self.gradients["W2"], self.gradients["b2"], self.gradients["z2_sigmoid"] = fc_backward(self.gradients["y"],
                                                                                               self.weights["W2"],
                                                                                               self.nurons["z2_sigmoid"])
        self.gradients["z2"] = sigmoid_backward(self.gradients["z2_sigmoid"], self.nurons["z2"])
        self.gradients["W1"], self.gradients["b1"], _ = fc_backward(self.gradients["z2"],
                                                                    self.weights["W1"],
                                                                    train_data)
        return loss


np.random.seed(0)
# 产生训练样本: y = x1 * x2 on [-1, 1]^2
x_data = np.random.uniform(-1, 1, (200, 2))
y_data = (x_data[:, 0] * x_data[:, 1]).reshape(200, 1)

net = Net()
lr = 0.5
for i in range(1, 3001):
    net.forward(x_data)
    loss = net.backward(x_data, y_data)
    for key in ["W1", "b1", "W2", "b2"]:
        net.weights[key] -= lr * net.gradients[key]
    if i % 300 == 0:
        print("\n迭代{}次，当前loss:{}".format(i, loss))
