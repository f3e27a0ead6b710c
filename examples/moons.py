"""micrograd's two-moons demo on micrograd_nn: the training loop written out.

MLP(2, [16, 16, 1]) (ReLU, ReLU, linear score), hinge loss max(0, 1 - t s) with t = +-1 plus
1e-4 * sum p**2, full-batch SGD with lr = 1.0 - 0.9 k / 100 for k = 0..99, on 100 moons
points with noise 0.1. ``micrograd_nn.train.fit`` runs the same loop in one call (see the end).

Run: python examples/moons.py [--plot DIR]   (the plot option saves the decision boundary)
"""

import argparse
import sys

from micrograd_nn.datasets import make_moons
from micrograd_nn.losses import hinge, l2
from micrograd_nn.nn import MLP
from micrograd_nn.optim import SGD, LinearDecay
from micrograd_nn.train import accuracy, fit


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python examples/moons.py",
                                     description="micrograd's two-moons demo: 100 SGD steps "
                                                 "of MLP(2, [16, 16, 1]) with hinge loss")
    parser.add_argument("--plot", metavar="DIR", help="save the decision boundary to DIR")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)   # before any work: --help prints the usage and exits
    X, y = make_moons(n_samples=100, noise=0.1, seed=1)
    inputs = X.tolist()
    targets = (2 * y - 1).tolist()  # labels 0/1 -> -1/+1 for the hinge loss

    model = MLP(2, [16, 16, 1], seed=1337)
    print(model)
    optimizer = SGD(model.parameters(), lr=1.0)
    schedule = LinearDecay(optimizer, start=1.0, end=0.1, steps=100)  # lr = 1.0 - 0.9 k/100

    for k in range(100):
        scores = [model(x) for x in inputs]
        data_loss = hinge(scores, targets)                  # mean of max(0, 1 - t s)
        loss = data_loss + 1e-4 * l2(model.parameters())    # plus L2 regularisation
        optimizer.zero_grad()
        loss.backward()
        lr = optimizer.lr
        optimizer.step()                                     # p <- p - lr * dloss/dp
        schedule.step()                                      # the lr of the next step
        if k % 10 == 0 or k == 99:
            acc = sum((s.data > 0) == (t > 0) for s, t in zip(scores, targets)) / len(targets)
            print(f"step {k:3d}  lr {lr:.3f}  loss {loss.data:.4f}  accuracy {acc:.0%}")

    final = accuracy(model, X, y)
    print(f"training accuracy after 100 steps: {final:.1%}")

    # The same recipe in one call
    again = MLP(2, [16, 16, 1], seed=1337)
    history = fit(again, X, y, loss="hinge", optimizer="sgd", lr=1.0, schedule="linear",
                  l2=1e-4, epochs=100, progress=False)
    print(f"fit(...) with the same settings: loss {history.loss[-1]:.4f}, "
          f"accuracy {accuracy(again, X, y):.1%}")

    if args.plot:
        from micrograd_nn.plots import plot_decision_boundary

        print("wrote", plot_decision_boundary(model, X, y, f"{args.plot}/moons_boundary.png"))
    return final


if __name__ == "__main__":
    main(sys.argv[1:])
