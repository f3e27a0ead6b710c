"""Three interleaved spirals, separated by an MLP trained with softmax cross-entropy.

One output per class (the logits z_c); the loss of a sample of class t is
-log softmax(z)_t = logsumexp(z) - z_t, whose gradient is softmax(z) - onehot(t). Adam, full
batch. No straight line separates the arms, so the hidden layers have to bend the plane.

Run: python examples/spiral.py [--plot DIR]   (the plot option saves the pictures)
"""

import sys
import time

from micrograd_nn.datasets import make_spiral
from micrograd_nn.nn import MLP
from micrograd_nn.train import accuracy, fit


def main(argv):
    X, y = make_spiral(n_samples=300, n_classes=3, noise=0.2, seed=0)
    model = MLP(2, [16, 16, 3], seed=0)
    print(f"{len(y)} points in 3 spiral arms; {model}")
    start = time.perf_counter()
    history = fit(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.03, epochs=120,
                  progress=True)
    seconds = time.perf_counter() - start
    for epoch in (1, 10, 25, 50, 100, 120):
        print(f"epoch {epoch:3d}  loss {history.loss[epoch - 1]:.4f}  "
              f"accuracy {history.accuracy[epoch - 1]:.1%}")
    final = accuracy(model, X, y)
    print(f"training accuracy after {history.epochs} epochs: {final:.1%} ({seconds:.1f} s)")

    if len(argv) == 2 and argv[0] == "--plot":
        from micrograd_nn.plots import plot_decision_boundary, plot_loss

        print("wrote", plot_loss(history, f"{argv[1]}/spiral_loss.png"))
        print("wrote", plot_decision_boundary(model, X, y, f"{argv[1]}/spiral_boundary.png"))
    return final


if __name__ == "__main__":
    main(sys.argv[1:])
