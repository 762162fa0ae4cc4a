"""Bad input: one line each, naming file:line:col and the layer, exit 1 or 2, no traceback."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from sizecalc.cli import main

LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): error: ")


def run(*args):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def spec(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


CASES = [
    # (spec text, line, column, layer, rule)
    ("input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernel: 3\n  - relu\n", 5, 1, None, "yaml-syntax"),
    ("input: [3, 32, 32]\nlayers:\n  - relu\n  - {convv: 8, kernel: 3}\n", 4, 6, "layer 2", "unknown-op"),
    ("input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernal: 3}\n", 3, 15, "conv1", "unknown-key"),
    ("name: x\nlayers:\n  - {conv: 8, kernel: 3}\n", 1, 1, None, "missing-key"),
    ("input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernel: three}\n", 3, 23, "conv1", "type"),
    ("input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernel: 3, stride: -1}\n", 3, 34, "conv1", "bad-stride"),
    ("input: [3, 32, 32]\nlayers:\n  - {id: c, conv: 5, kernel: 5, stride: 2}\n", 3, 41, "c", "non-integer-output"),
]


@pytest.mark.parametrize("text,line,col,layer,rule", CASES)
def test_one_line_with_location_and_layer(tmp_path, text, line, col, layer, rule):
    path = spec(tmp_path, text)
    result = run("table", path)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines() if hasattr(result, "stderr") else result.output.strip().splitlines()
    assert len(lines) == 1, lines
    m = LINE.match(lines[0])
    assert m and (int(m["line"]), int(m["col"])) == (line, col), lines[0]
    assert lines[0].endswith(f"[{rule}]")
    if layer:
        assert f"error: {layer}: " in lines[0]
    assert "fix: " in lines[0]


def test_misspelt_key_suggests_the_right_one(tmp_path):
    out = run("table", spec(tmp_path, "input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernal: 3}\n")).output
    assert "did you mean 'kernel'" in out


def test_torch_spelling_is_an_alias(tmp_path):
    result = run("table", spec(tmp_path, "input: [3, 32, 32]\nlayers:\n  - {conv2d: 8, kernel_size: 3, padding: 1}\n"),
                 "--format", "csv")
    assert result.exit_code == 0
    assert "32x32x8" in result.output


def test_missing_file_is_exit_2(tmp_path):
    result = run("table", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_directory_is_exit_2(tmp_path):
    assert run("table", str(tmp_path)).exit_code == 2


def test_bad_usage_is_exit_2():
    assert run("table", "vgg16", "--batch", "0").exit_code == 2
    assert run("table", "vgg16", "--dtype", "fp8").exit_code == 2
    assert run("layer", "conv", "--in", "32xx3", "--filters", "3", "--kernel", "3").exit_code == 2


def test_unknown_network_name_suggests(tmp_path):
    result = run("table", "vgg61")
    assert result.exit_code == 2
    assert "did you mean 'vgg16'" in result.output or "did you mean 'vgg19'" in result.output


def test_error_in_a_block_names_the_use_site(tmp_path):
    text = """input: [3, 32, 32]
blocks:
  down:
    params: {f: int}
    layers:
      - {conv: $f, kernel: 3, stride: 2}
layers:
  - {id: d1, use: down, with: {f: 8}}
"""
    out = run("table", spec(tmp_path, text)).output.strip()
    assert out.startswith(f"{tmp_path / 'net.yaml'}:6:39: error: d1.conv1: (32 - 3 + 2*0)/2 + 1 = 15.5")
    assert f"used at {tmp_path / 'net.yaml'}:8:5" in out


def test_layer_command_geometry_error_is_exit_1():
    result = run("layer", "conv", "--in", "7x7x1", "--filters", "1", "--kernel", "3", "--stride", "3")
    assert result.exit_code == 1
    assert "(7 - 3 + 2*0)/3 + 1 = 2.33" in result.output


def test_internal_errors_are_one_line(monkeypatch):
    import sizecalc.engine.walk

    def boom(*a, **k):
        raise ZeroDivisionError("simulated")
    monkeypatch.setattr(sizecalc.engine.walk, "analyze", boom)
    result = run("table", "vgg16")
    assert result.exit_code == 2
    assert "internal error" in result.output and "bug" in result.output
