""".ci/run tests what a newcomer runs first, then everything with every extra.

These read the script rather than run it (it builds two venvs and takes minutes): the order of
its steps and the environment of each stage are what keep it honest."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
COMMANDS = [line.strip() for line in SCRIPT.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def first_line(pattern: str) -> int:
    """Index of the first command of .ci/run matching ``pattern`` (a regex)."""
    for i, line in enumerate(COMMANDS):
        if re.search(pattern, line):
            return i
    raise AssertionError(f"no command matching {pattern!r} in .ci/run")


def test_the_readme_test_command_runs_first_with_ci_unset():
    newcomer = first_line(r'bash -c "\$test_cmd"')
    assert "env -u CI" in COMMANDS[newcomer]
    for step in (r"pip install", r"apt-get", r"python3 -m venv", r"-m pytest"):
        assert first_line(step) > newcomer, f"{step!r} runs before the README's own command"
    assert first_line(r"rm -rf \.venv$") < newcomer      # the line makes its venv from nothing


def test_the_second_stage_installs_every_extra_and_runs_under_ci():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    extras = set(config["options.extras_require"])
    (spec,) = re.findall(r"pip install --quiet -e '\.\[([a-z,]+)\]'", SCRIPT)
    assert set(spec.split(",")) == extras
    suite = first_line(r"CI=true .*-m pytest")
    assert suite > first_line(r"pip install --quiet -e")
    assert suite > first_line(r"apt-get install")


def test_the_readme_quick_start_line_two_is_the_test_command():
    block = re.search(r"^## Quick start\n+```\n(.*?)```", (ROOT / "README.md").read_text(
        encoding="utf-8"), re.S | re.M).group(1)
    line = block.splitlines()[1]
    assert line.startswith("python3 -m venv .venv && ") and "-m pytest" in line
