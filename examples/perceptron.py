"""The tutorial's perceptron, made right, and its chain rule checked by the engine.

Part 1 is the tutorial's own program (one neuron, 3 input features, sigmoid, MSE, trained by
``fit(X, y, epochs)``) with every bug fixed, then the same neuron trained by micrograd_nn: both
follow the same path, because the derivatives written by hand are the ones the engine finds.
Part 2 is the tutorial's 2-input sigmoid neuron: dloss/dw1 = dloss/dyhat * dyhat/dz * dz/dw1,
each factor by hand, next to the engine's ``w1.grad``.

What was wrong in the tutorial's code, and what this file does instead:

 1. ``init`` returns ``W, b`` but ``fit`` unpacks ``W, b, lr = init()``: a ValueError, and the
    learning rate is lost. -> ``init`` returns all three.
 2. ``mse_loss`` reads ``y_hat`` but its argument is ``yhat``: a NameError. -> one name, yhat.
 3. ``np.subtract(y - yhat)`` passes one argument (the difference) to a function that needs
    two: a TypeError. -> ``y - yhat``.
 4. ``^`` is bitwise XOR in Python (a TypeError on floats), not a power. -> ``** 2``.
 5. MSE with a minus sign, ``-1/n * sum(...)``: minimising it would make the errors grow, and
    the "mean" was of the wrong expression. -> ``np.mean((y - yhat) ** 2)``.
 6. ``np.maximum(yhat, 1e-8)`` guards a log, which MSE does not take (it belongs to
    cross-entropy). -> dropped.
 7. ``forward`` and ``back_propogation`` read a global ``y`` that does not exist. -> ``y`` is
    passed in.
 8. The function is defined as ``back_propogation`` but called as ``back_propagation``: a
    NameError. -> one spelling, ``back_propagation``.
 9. dloss/dyhat lacks the factor 2/n of d/dyhat mean((yhat - y)**2). -> ``2 * (yhat - y) / n``.
10. The sigmoid derivative is applied to ``yhat`` instead of ``z``: dyhat/dz is
    sigmoid'(z) = sigmoid(z) (1 - sigmoid(z)), not sigmoid(yhat) (1 - sigmoid(yhat)).
    -> ``forward`` returns ``z`` too and the derivative uses it.
11. ``dl_wrt_z.dot(X.T)`` multiplies (n, 1) by (3, n): a shape error. dz/dw_i = x_i, summed
    over the samples, is ``X.T.dot(dl_wrt_z)``, of shape (3, 1) like W.
12. The bias is never updated (dz/db = 1, so dloss/db is the sum of dl_wrt_z), and ``W``
    inside ``back_propogation`` is read before it is assigned (an UnboundLocalError). -> W and
    b are passed in and both new values are returned.
13. ``fit`` never returns anything, so the training is lost. -> it returns W, b and the loss
    per epoch.
14. lr = 0.001 would need thousands of epochs for a sigmoid trained with MSE, whose gradient
    is small. -> lr = 2.0 (full batch, 300 epochs, well under a second).
15. ``np.random.seed`` sets global state, and pandas/matplotlib were imported but unused. ->
    ``np.random.default_rng(seed)``, numpy only.

Run: python examples/perceptron.py
"""

import argparse

import numpy as np

from micrograd_nn.engine import Value
from micrograd_nn.losses import mse
from micrograd_nn.nn import Neuron
from micrograd_nn.train import accuracy, fit as train_fit

# -------------------------------------------------------------------------------------------------
# Part 1: the tutorial's program, fixed


def init(n_features=3, seed=1):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n_features, 1))  # one weight per feature, one output
    b = rng.random(1)
    lr = 2.0
    return W, b, lr


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def mse_loss(y, yhat):
    return np.mean((y - yhat) ** 2)


def forward(X, y, W, b):
    z = X.dot(W) + b
    yhat = sigmoid(z)
    return z, yhat, mse_loss(y, yhat)


def gradients(X, y, z, yhat):
    """dloss/dW and dloss/db by the chain rule, for loss = mean((yhat - y)**2)."""
    n = len(y)
    dl_wrt_yhat = 2 * (yhat - y) / n                  # dloss/dyhat
    dl_wrt_z = dl_wrt_yhat * sigmoid(z) * (1 - sigmoid(z))  # * dyhat/dz = sigmoid'(z)
    dl_wrt_w = X.T.dot(dl_wrt_z)                      # * dz/dw_i = x_i, summed over samples
    dl_wrt_b = dl_wrt_z.sum(axis=0)                   # * dz/db = 1
    return dl_wrt_w, dl_wrt_b


def back_propagation(X, y, z, yhat, W, b, lr):
    dl_wrt_w, dl_wrt_b = gradients(X, y, z, yhat)
    return W - lr * dl_wrt_w, b - lr * dl_wrt_b


def fit(X, y, epochs):
    W, b, lr = init(X.shape[1])
    losses = []
    for _ in range(epochs):
        z, yhat, loss = forward(X, y, W, b)
        W, b = back_propagation(X, y, z, yhat, W, b, lr)
        losses.append(loss)
    return W, b, losses


def make_data(n=200, seed=0):
    """3 features; the label is 1 on one side of a plane, so one neuron can learn it."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = (X.dot([1.5, -2.0, 0.5]) + 0.3 > 0).astype(float).reshape(-1, 1)
    return X, y


def engine_neuron(W, b):
    """A micrograd_nn sigmoid Neuron holding the weights W (3, 1) and bias b (1,)."""
    neuron = Neuron(3, activation="sigmoid")
    for w, value in zip(neuron.w, W[:, 0]):
        w.data = float(value)
    neuron.b.data = float(b[0])
    return neuron


def part1(epochs=300):
    X, y = make_data()
    print("Part 1: the tutorial's perceptron (3 features, sigmoid, MSE), fixed")

    # The gradient at the starting point: by hand (numpy) and by the engine
    W0, b0, lr = init()
    z, yhat, loss = forward(X, y, W0, b0)
    dl_wrt_w, dl_wrt_b = gradients(X, y, z, yhat)
    neuron = engine_neuron(W0, b0)
    engine_loss = mse([neuron(row) for row in X.tolist()], y[:, 0].tolist())
    engine_loss.backward()
    print(f"  starting loss: numpy {loss:.6f}, engine {engine_loss.data:.6f}")
    print("  gradient        numpy (by hand)    engine (backward)")
    for i, w in enumerate(neuron.w):
        print(f"  dloss/dw{i + 1}    {dl_wrt_w[i, 0]: .12f}   {w.grad: .12f}")
    print(f"  dloss/db     {dl_wrt_b[0]: .12f}   {neuron.b.grad: .12f}")
    engine_w = [w.grad for w in neuron.w]
    if not np.allclose(dl_wrt_w[:, 0], engine_w, rtol=1e-9, atol=1e-12):
        raise SystemExit("the hand-derived gradient and the engine's disagree")

    # Training: the fixed numpy program, then the engine from the same start
    W, b, losses = fit(X, y, epochs)
    _, yhat, final = forward(X, y, W, b)
    numpy_acc = np.mean((yhat > 0.5) == (y > 0.5))
    neuron = engine_neuron(W0, b0)
    history = train_fit(neuron, X, y[:, 0].astype(int), loss="mse", optimizer="sgd", lr=lr,
                        epochs=epochs, progress=False)
    engine_acc = accuracy(neuron, X, y[:, 0].astype(int), loss="mse")
    W_engine = np.array([[w.data] for w in neuron.w])
    _, _, engine_final = forward(X, y, W_engine, np.array([neuron.b.data]))
    print(f"  after {epochs} epochs (lr {lr}): numpy loss {final:.6f}, accuracy {numpy_acc:.1%}"
          f" | engine loss {engine_final:.6f}, accuracy {engine_acc:.1%}")
    print(f"  largest difference between the two trained weight vectors: "
          f"{np.max(np.abs(W_engine - W)):.2e}")
    print(f"  loss per epoch: {losses[0]:.4f} -> {losses[len(losses) // 2]:.4f} -> "
          f"{losses[-1]:.4f} (engine history {history.loss[0]:.4f} -> {history.loss[-1]:.4f})")
    return numpy_acc, engine_acc


# -------------------------------------------------------------------------------------------------
# Part 2: the chain rule on the tutorial's 2-input sigmoid neuron


def part2():
    print("\nPart 2: the 2-input sigmoid neuron, loss = (yhat - y)**2")
    # the numbers of micrograd_nn.viz.seed_neuron(), drawn by `python -m micrograd_nn graph`
    x1, x2 = Value(1.5, "x1"), Value(-0.5, "x2")
    w1, w2, b = Value(0.25, "w1"), Value(-0.75, "w2"), Value(0.1, "b")
    y = 1.0
    z = w1 * x1 + w2 * x2 + b
    yhat = z.sigmoid()
    loss = (yhat - y) ** 2
    loss.backward()

    dloss_dyhat = 2 * (yhat.data - y)        # d/dyhat (yhat - y)**2
    dyhat_dz = yhat.data * (1 - yhat.data)   # sigmoid'(z) = sigmoid(z) (1 - sigmoid(z))
    dz_dw1 = x1.data                         # z = w1 x1 + w2 x2 + b
    by_hand = dloss_dyhat * dyhat_dz * dz_dw1
    print(f"  z = {z.data:.6f}, yhat = sigmoid(z) = {yhat.data:.6f}, loss = {loss.data:.6f}")
    print(f"  dloss/dyhat = 2 (yhat - y)      = {dloss_dyhat: .6f}")
    print(f"  dyhat/dz    = yhat (1 - yhat)   = {dyhat_dz: .6f}")
    print(f"  dz/dw1      = x1                = {dz_dw1: .6f}")
    print(f"  product (dloss/dw1 by hand)     = {by_hand: .12f}")
    print(f"  engine: w1.grad                 = {w1.grad: .12f}")
    print(f"  and dloss/dw2 = {dloss_dyhat * dyhat_dz * x2.data:.6f} (engine {w2.grad:.6f}), "
          f"dloss/db = {dloss_dyhat * dyhat_dz:.6f} (engine {b.grad:.6f})")
    if abs(by_hand - w1.grad) > 1e-12 * max(1.0, abs(by_hand)):
        raise SystemExit("the chain rule by hand and the engine's w1.grad disagree")
    lr = 0.1
    print(f"  one update with lr = {lr}: w1_new = w1 - lr * dloss/dw1 = "
          f"{w1.data - lr * w1.grad:.6f}, w2_new = {w2.data - lr * w2.grad:.6f}, "
          f"b_new = {b.data - lr * b.grad:.6f}")
    return by_hand, w1.grad


if __name__ == "__main__":
    # no options; --help prints what this is and exits
    argparse.ArgumentParser(prog="python examples/perceptron.py",
                            description=__doc__.splitlines()[0]).parse_args()
    part1()
    part2()
