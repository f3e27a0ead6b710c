"""docs/playground.png: the playground's default page after 100 steps, in headless Chromium.

    python docs/make_playground_picture.py [--out docs/playground.png]

Needs playwright and a chromium on PATH.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from micrograd_nn.playground import playground_html  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "playground.png"))
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--select", type=int, default=3, help="the example shown in the graph")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        page_path = playground_html(Path(folder) / "playground.html")
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(page_path.as_uri())
        page.wait_for_function("window.playground !== undefined")
        page.evaluate(f"playground.step({args.steps}); playground.select({args.select})")
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    try:   # 256 colours: a third of the size, the same picture to the eye
        from PIL import Image
        Image.open(args.out).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
            args.out, optimize=True)
    except ImportError:
        pass
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
