"""Task 8: the tutorial's perceptron, by hand.

One neuron with two inputs and a sigmoid, trained with the squared error:

    z = w1*x1 + w2*x2 + b        yhat = sigmoid(z)        loss = (yhat - y)**2

The chain rule writes dloss/dw1 as a product of three factors:

    dloss/dw1 = dloss/dyhat * dyhat/dz * dz/dw1

Fill in the three factors. The tutorial's point is x1 = 1.5, x2 = -0.5, w1 = 0.25,
w2 = -0.75, b = 0.1, y = 1; the checker tries other points too.

Check your work: python -m micrograd_nn exercises check DIR --task 8
"""

import math


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def chain_rule_factors(x1, x2, w1, w2, b, y):
    """(dloss/dyhat, dyhat/dz, dz/dw1) at the given point."""
    z = w1 * x1 + w2 * x2 + b
    yhat = sigmoid(z)
    dloss_dyhat = 2 * (yhat - y)        # d (yhat - y)**2 / dyhat
    dyhat_dz = yhat * (1 - yhat)         # sigmoid'(z) = sigmoid(z) (1 - sigmoid(z)), at z
    dz_dw1 = x1                          # z = w1*x1 + ...: w1's coefficient
    return dloss_dyhat, dyhat_dz, dz_dw1
