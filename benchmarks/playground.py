"""How fast the playground page trains and redraws, in headless Chromium.

    python benchmarks/playground.py              # MLP(2, [16, 16, 1]) on 200 points
    python benchmarks/playground.py --hidden 8,8 --points 100 --rounds 3

Two measurements, each repeated ``--rounds`` times, reported as min / median / max:

* steps a second: ``playground.step(40)`` timed inside the page (40 full-batch steps, then one
  redraw of everything), so the browser's protocol is not counted;
* while playing (the play button, ``--speed`` steps a frame) for ``--seconds``: the steps
  taken and the decision boundary's redraws (51 x 51 model outputs each) a second.

Needs playwright and a chromium on PATH. It measures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from micrograd_nn import MLP  # noqa: E402
from micrograd_nn.datasets import make_moons  # noqa: E402
from micrograd_nn.playground import playground_html  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def summary(xs: list) -> str:
    return f"{min(xs):.1f} / {statistics.median(xs):.1f} / {max(xs):.1f}"


def measure(page, args) -> dict:
    steps, play_steps, redraws = [], [], []
    for _ in range(args.rounds):
        page.evaluate("playground.play(false)")
        seconds = page.evaluate("""() => { const t = performance.now(); playground.step(40);
                                          return (performance.now() - t) / 1000; }""")
        steps.append(40 / seconds)
        page.select_option("#speed", str(args.speed))
        before = page.evaluate("[playground.history().length, playground.fieldDraws()]")
        page.evaluate("playground.play(true)")
        t0 = page.evaluate("performance.now()")
        page.wait_for_timeout(args.seconds * 1000)
        after = page.evaluate("[playground.history().length, playground.fieldDraws(), "
                              "performance.now()]")
        page.evaluate("playground.play(false)")
        elapsed = (after[2] - t0) / 1000
        play_steps.append((after[0] - before[0]) / elapsed)
        redraws.append((after[1] - before[1]) / elapsed)
    return {"steps": steps, "play_steps": play_steps, "redraws": redraws}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", default="16,16", help="hidden widths (default 16,16)")
    parser.add_argument("--points", type=int, default=200, help="data points (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="repeats (default 5)")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of play a round")
    parser.add_argument("--speed", type=int, default=5, choices=[1, 2, 5, 20],
                        help="steps a frame while playing (default 5)")
    args = parser.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs playwright: pip install -e '.[test]'", file=sys.stderr)
        return 1
    chromium = shutil.which("chromium")
    if chromium is None:
        print("needs a chromium on PATH", file=sys.stderr)
        return 1
    hidden = [int(w) for w in args.hidden.split(",") if w]
    X, y = make_moons(args.points, noise=0.1, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        path = playground_html(Path(folder) / "playground.html", MLP(2, hidden + [1], seed=0),
                               X, y, lr=0.1)
        size = path.stat().st_size / 1024
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(path.as_uri())
            page.wait_for_function("window.playground !== undefined")
            results = measure(page, args)
            browser.close()
    print(f"MLP(2, {hidden + [1]}) on {args.points} points, full batch; page {size:.0f} KB; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':36}min / median / max over {args.rounds} rounds")
    print(f"{'step(40), steps a second':36}{summary(results['steps'])}")
    print(f"{'playing: steps a second':36}{summary(results['play_steps'])}")
    print(f"{'playing: boundary redraws a second':36}{summary(results['redraws'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
