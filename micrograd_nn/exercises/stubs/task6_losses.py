"""Task 6: the MSE and cross-entropy losses, built on micrograd_nn's Value.

mse(predictions, targets): the mean of (prediction - target)**2 over the pairs; predictions
are Values, targets numbers.
cross_entropy(logits, target): -log softmax(logits)[target], for a list of logit Values and a
class index target; softmax(x)_i = exp(x_i) / sum_j exp(x_j).
Both return a Value, so loss.backward() reaches the predictions.

Check your work: python -m micrograd_nn exercises check DIR --task 6
"""

from micrograd_nn import Value


def mse(predictions, targets):
    raise NotImplementedError("task 6: mse")


def cross_entropy(logits, target):
    raise NotImplementedError("task 6: cross_entropy")
