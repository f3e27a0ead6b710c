"""Three interleaved spirals, separated by an MLP trained with softmax cross-entropy.

One output per class (the logits z_c); the loss of a sample of class t is
-log softmax(z)_t = logsumexp(z) - z_t, whose gradient is softmax(z) - onehot(t). Adam, full
batch. No straight line separates the arms, so the hidden layers have to bend the plane.

Run: python examples/spiral.py [--plot DIR]   (the plot option saves the pictures)
"""

import argparse
import sys
import time

from micrograd_nn.datasets import make_spiral
from micrograd_nn.nn import MLP
from micrograd_nn.train import accuracy, fit


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python examples/spiral.py",
                                     description="three spiral arms separated by MLP(2, [16, 16, "
                                                 "3]) with softmax cross-entropy and Adam")
    parser.add_argument("--plot", metavar="DIR", help="save the loss curve and the decision "
                                                      "boundary to DIR")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)   # before any work: --help prints the usage and exits
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

    if args.plot:
        from micrograd_nn.plots import plot_decision_boundary, plot_loss

        print("wrote", plot_loss(history, f"{args.plot}/spiral_loss.png"))
        print("wrote", plot_decision_boundary(model, X, y, f"{args.plot}/spiral_boundary.png"))
    return final


if __name__ == "__main__":
    main(sys.argv[1:])
