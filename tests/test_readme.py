"""The README's quick start never drifts: every `$ sizecalc ...` block between the
quickstart markers is run again and must print exactly what the README shows.
After an intended change of output: `python tests/readme_examples.py`."""

from __future__ import annotations

import pytest

from readme_examples import EXAMPLES, README, blocks, run

TEXT = README.read_text(encoding="utf-8")
BLOCKS = blocks(TEXT)


def test_the_quickstart_holds_every_example():
    assert [command for command, _ in BLOCKS] == [command for _, command in EXAMPLES]


@pytest.mark.parametrize("command,shown", BLOCKS, ids=[c for c, _ in BLOCKS])
def test_readme_output_is_what_the_command_prints(command, shown):
    assert run(command).rstrip("\n") == shown.rstrip("\n"), (
        f"README.md is out of date for `{command}`: run `python tests/readme_examples.py`")
