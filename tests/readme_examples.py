"""The README's quick start: the lecture's worked examples as commands, each with the exact
output it gives. Regenerate the section after changing any output it shows:

    python tests/readme_examples.py

It rewrites README.md between `<!-- quickstart:start -->` and `<!-- quickstart:end -->`;
tests/test_readme.py re-runs every `$ ` command found there and compares the output.
Commands run in-process (click's CliRunner) with COLUMNS fixed, stdout not a terminal, so
`table` prints its plain-text form.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- quickstart:start -->", "<!-- quickstart:end -->"
COLUMNS = "100"

INTRO = """## Quick start for homework

The lecture's worked examples, as commands to copy, with the output they give."""

EXAMPLES = [
    ("Ten 5x5 filters, stride 1, pad 2 on a 32x32x3 input: the volume, params and arithmetic.",
     "sizecalc layer conv --in 32x32x3 --filters 10 --kernel 5 --stride 1 --pad 2"),
    ("AlexNet's conv1 as a matrix multiply (the notes' im2col): X_col, W_row and the weight tensor.",
     "sizecalc layer conv --in 227x227x3 --filters 96 --kernel 11 --stride 4"),
    ("A 3x3 filter at stride 3 on a 7x7 input does not fit; the error shows why and what would.",
     "sizecalc layer conv --in 7x7x1 --filters 1 --kernel 3 --stride 3"),
    ("1x1 convolutions: 32 filters on 56x56x64 keep the map and mix the channels.",
     "sizecalc layer conv --in 56x56x64 --filters 32 --kernel 1"),
    ("Which stride and padding keep 32x32 with 5x5 filters?",
     "sizecalc solve --in 32 --kernel 5 --out 32"),
    ("Halving 32 with a 5x5 filter at stride 2: no symmetric padding works; the ways out (exit 1).",
     "sizecalc solve --in 32 --kernel 5 --stride 2 --out 16"),
    ("The lecture's AlexNet table (227x227x3 input).",
     "sizecalc table alexnet-cs231n"),
    ("VGG16, one row per stage: activations early, params late.",
     "sizecalc table vgg16 --bars --depth 1"),
    ("Which input sizes VGG16 takes: its pools halve five times exactly, and the lecture's fc6 is pinned to "
     "7x7x512 (torchvision's vgg16_bn, with an adaptive pool, takes every multiple of 32).",
     "sizecalc inputs vgg16 --range 200:256:8"),
]

_BLOCK = re.compile(r"^```\n\$ (?P<command>[^\n]*)\n(?P<output>.*?)^```$", re.S | re.M)


def run(command: str) -> str:
    """What `command` prints (stdout and stderr, as a terminal shows them)."""
    from click.testing import CliRunner

    from sizecalc.cli import main
    args = shlex.split(command)
    if args[0] != "sizecalc":
        raise ValueError(f"not a sizecalc command: {command}")
    return CliRunner(env={"COLUMNS": COLUMNS}).invoke(main, args[1:], prog_name="sizecalc").output


def section() -> str:
    parts = [INTRO, ""]
    for caption, command in EXAMPLES:
        parts += [caption, "", "```", f"$ {command}", run(command).rstrip("\n"), "```", ""]
    return "\n".join(parts)


def quickstart(text: str) -> str:
    """The README text between the quickstart markers."""
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end]


def blocks(text: str) -> list[tuple[str, str]]:
    """(command, output) for every fenced block whose first line is `$ command`."""
    return [(m["command"], m["output"]) for m in _BLOCK.finditer(quickstart(text))]


def write(path: Path = README) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(START) + len(START), text.index(END)
    path.write_text(text[:start] + "\n" + section() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else README)
