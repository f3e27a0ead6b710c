"""The tutorial's example: one neuron with two inputs, a sigmoid and the squared error."""

from __future__ import annotations

from ..engine import Value

__all__ = ["seed_neuron", "SEED_PARAMETERS"]

SEED_PARAMETERS = ("w1", "w2", "b")


def seed_neuron(*, fused: bool = True) -> Value:
    """The seed tutorial's 2-input sigmoid neuron with MSE loss, after ``backward()``.

    x1 = 1.5, x2 = -0.5, w1 = 0.25, w2 = -0.75, b = 0.1, target y = 1:

        z    = w1*x1 + w2*x2 + b      = 0.85
        yhat = sigmoid(z)             = 0.7006
        loss = (yhat - y)**2          = 0.08966   (MSE over one sample)

    Returns ``loss``; every value of the graph is labelled and holds its gradient, e.g.
    dloss/dw1 = dloss/dyhat * dyhat/dz * dz/dw1 = 2*(yhat - y) * yhat*(1 - yhat) * x1.
    ``fused=True`` computes z with one ``Value.linear`` node (as a Neuron does), so dz/dw1 = x1
    sits on one edge; ``fused=False`` builds it from products and sums.
    """
    x1, x2 = Value(1.5, "x1"), Value(-0.5, "x2")
    w1, w2, b = Value(0.25, "w1"), Value(-0.75, "w2"), Value(0.1, "b")
    y = Value(1.0, "y")
    if fused:
        z = Value.linear([w1, w2], [x1, x2], b)
    else:
        z = w1 * x1 + w2 * x2 + b
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "yhat"
    loss = (yhat - y) ** 2
    loss.label = "loss"
    loss.backward()
    return loss
