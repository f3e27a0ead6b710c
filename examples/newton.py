"""Newton's method with gradients of gradients.

Newton's step for a minimum is x <- x - f''(x)^-1 f'(x): it needs the second derivative, which
`grad(..., create_graph=True)` gives by differentiating the first derivative's own graph.

    python examples/newton.py
"""

import argparse

from micrograd_nn import Value, grad, hessian


def newton_1d(f, x0: float, steps: int = 20, tol: float = 1e-12) -> float:
    """Minimise a function of one variable; prints each iterate, stops once |f'(x)| <= tol."""
    x = x0
    for k in range(steps):
        xv = Value(x, label="x")
        (d1,) = grad(f(xv), [xv], create_graph=True)  # f'(x) as a Value with its own graph
        (d2,) = grad(d1, [xv])                          # f''(x) as a float
        print(f"  step {k}: x = {x:+.12f}   f'(x) = {d1.data:+.3e}   f''(x) = {d2:+.4f}")
        if abs(d1.data) <= tol:
            break
        if d2 <= 0:
            raise ValueError(f"f''({x}) = {d2} <= 0: Newton's step would not go downhill")
        x = x - d1.data / d2
    return x


def newton_2d(f, x0: tuple[float, float], steps: int = 20,
              tol: float = 1e-12) -> tuple[float, float]:
    """Minimise a function of two variables with the full 2x2 Hessian; prints each iterate,
    stops once |df/dx| + |df/dy| <= tol."""
    x, y = x0
    for k in range(steps):
        xv, yv = Value(x), Value(y)
        gx, gy = grad(f(xv, yv), [xv, yv])
        (hxx, hxy), (hyx, hyy) = hessian(f, [x, y])
        det = hxx * hyy - hxy * hyx
        print(f"  step {k}: (x, y) = ({x:+.10f}, {y:+.10f})   |grad| = {abs(gx) + abs(gy):.3e}")
        if abs(gx) + abs(gy) <= tol:
            break
        # solve H [dx, dy] = [gx, gy] by Cramer's rule
        dx = (gx * hyy - hxy * gy) / det
        dy = (hxx * gy - hyx * gx) / det
        x, y = x - dx, y - dy
    return x, y


def main() -> None:
    print("1-D: f(x) = x**4 - 3*x**2 + x, from x = 2 (a local minimum near 1.13)")
    x = newton_1d(lambda v: v ** 4 - 3 * v ** 2 + v, 2.0)
    print(f"  minimum at x = {x:.12f}\n")

    print("2-D: Rosenbrock f(x, y) = (1 - x)**2 + 100 (y - x**2)**2, from (-1.2, 1); minimum (1, 1)")
    x, y = newton_2d(lambda a, b: (1 - a) ** 2 + 100 * (b - a ** 2) ** 2, (-1.2, 1.0))
    print(f"  minimum at (x, y) = ({x:.12f}, {y:.12f})")


if __name__ == "__main__":
    # no options; --help prints what this is and exits
    argparse.ArgumentParser(prog="python examples/newton.py",
                            description=__doc__.splitlines()[0]).parse_args()
    main()
