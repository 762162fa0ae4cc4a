"""The shape of the CLI and of the renderers: no import cycles anywhere in the package,
commands found lazily by name (`sizecalc table` imports no other command module), and every
output format found through the one registry, report/formats.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sizecalc.cli import COMMANDS, main
from sizecalc.report import formats

PACKAGE = Path(__file__).resolve().parents[1] / "sizecalc"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, known: set[str]) -> set[str]:
    """The sizecalc modules `path` imports, lazily inside functions too (not for type checking only)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(sub) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for sub in ast.walk(node)}
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module or ""
            # `from . import x` imports the module x where there is one, else the package
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found & known


def test_no_module_imports_back_into_one_that_imports_it():
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: imported(path, set(paths)) for name, path in paths.items()}
    cycles = []

    def visit(name, trail):
        if name in trail:
            cycles.append(" -> ".join(trail[trail.index(name):] + [name]))
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, trail + [name])
        done.add(name)
    done: set[str] = set()
    for name in sorted(graph):
        visit(name, [])
    assert not cycles, "\n".join(cycles)


def test_table_imports_no_other_command_module():
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "sizecalc", "table", "vgg16"],
                         capture_output=True, text=True, check=True).stderr
    loaded = {line.rsplit("|", 1)[1].strip() for line in out.splitlines() if line.startswith("import time:")}
    assert "sizecalc.cli.table" in loaded  # importtime sees the lazily imported command module
    assert not loaded & {"sizecalc.cli.check", "sizecalc.cli.lint", "sizecalc.cli.tools"}
    assert not any(m == "torch" or m.startswith("torch.") for m in loaded)


def test_help_lists_every_command_with_its_short_help():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1].splitlines()
    shown = {line.split()[0]: " ".join(line.split()[1:]) for line in listed if line.strip()}
    assert set(shown) == set(COMMANDS)
    assert shown["table"].startswith("Print the layer table of SPEC")
    assert shown["check"].startswith("Cross-check SPEC against torch")
    assert all(shown.values())


def test_every_registered_command_is_a_click_command_of_that_name():
    for name in COMMANDS:
        command = main.get_command(click.Context(main), name)
        assert isinstance(command, click.Command) and command.name == name


TABLES = {"table": formats.TABLE, "layer": formats.LAYER, "list": formats.LIST, "fit": formats.FIT,
          "compare": formats.COMPARE, "solve": formats.SOLVE, "inputs": formats.INPUTS, "lint": formats.LINT}


@pytest.mark.parametrize("command", sorted(TABLES))
def test_format_choices_are_the_registry(command):
    cmd = main.get_command(click.Context(main), command)
    (option,) = [p for p in cmd.params if p.name == "fmt"]
    assert tuple(option.type.choices) == tuple(TABLES[command])


@pytest.mark.parametrize("command", sorted(TABLES))
def test_every_format_has_a_renderer(command):
    for name, fmt in TABLES[command].items():
        assert callable(formats.renderer(TABLES[command], name))
        if fmt.terminal:
            assert callable(formats.renderer(TABLES[command], name, terminal=True))


def test_a_terminal_format_is_plain_text_elsewhere():
    import sizecalc
    report = sizecalc.analyze("lenet5")
    text = formats.render(formats.TABLE, "rich", report, "hwc", False, report.rows, False)
    assert isinstance(text, str) and "LeNet-5" in text
    table = formats.render(formats.TABLE, "rich", report, "hwc", False, report.rows, False, terminal=True)
    assert not isinstance(table, str)
    # a format without a terminal renderer is its text everywhere
    assert formats.render(formats.TABLE, "csv", report, "hwc", False, report.rows, False, terminal=True) \
        == formats.render(formats.TABLE, "csv", report, "hwc", False, report.rows, False)
