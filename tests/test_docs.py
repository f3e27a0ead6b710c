"""Every ```python snippet of README.md and docs/*.md runs on its own: each in a fresh Python
process, in an empty temporary folder, with nothing defined beforehand. A snippet that needs
torch is skipped without it (it fails under CI, which installs torch)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from needs import missing

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def snippets() -> list:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(pytest.param(match.group(1), id=f"{page.relative_to(ROOT)}:{line}"))
    return found


SNIPPETS = snippets()


def test_the_readme_and_the_docs_have_snippets():
    ids = [p.id for p in SNIPPETS]
    assert any(i.startswith("README.md:") for i in ids)
    assert len(ids) >= 5


def test_the_readme_is_a_learning_path_of_at_most_350_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 350, len(lines)
    quick = lines.index("## Quick start")
    block = lines.index("```", quick)
    assert lines[block + 2].endswith("python -m pytest -q")   # the line CI runs


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in readme, page.name


@pytest.mark.parametrize("code", SNIPPETS)
def test_snippet_runs_on_its_own(code, tmp_path):
    if re.search(r"^\s*import torch|^\s*from torch", code, re.M):
        try:
            import torch  # noqa: F401
        except ImportError:
            missing("torch is not installed: pip install -e '.[torch]'")
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
