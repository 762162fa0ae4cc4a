"""`sizecalc solve` without --out (issue #13, point 10): every padding (or stride) that tiles,
each with its arithmetic, and the notes' "dilation 0" explained. Every number below is worked
out by hand from (W - F + 2P)/S + 1, as the comments show."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from sizecalc.cli import main
from sizecalc.engine.walk import analyze
from sizecalc.spec import loads
from sizecalc.tools.solve import solve


def run(*args):
    result = CliRunner().invoke(main, [*map(str, args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def listed(answer, quantity):
    return [(s.value(quantity), s.out) for s in answer.solutions]


def test_every_padding_of_a_five_by_five_at_stride_one():
    # (32 - 5 + 2P)/1 + 1 = 28 + 2P, whole for every P; sizecalc lists P up to the window - 1 = 4
    # (more padding gives windows that read only zeros): 28, 30, 32, 34, 36
    answer = solve(None, size=32, kernel=5, stride=1)
    assert answer.fits
    assert listed(answer, "pad") == [((0, 0), 28), ((1, 1), 30), ((2, 2), 32), ((3, 3), 34), ((4, 4), 36)]
    assert [s.arithmetic for s in answer.solutions][:3] == [
        "(32 - 5 + 2*0)/1 + 1 = 28", "(32 - 5 + 2*1)/1 + 1 = 30", "(32 - 5 + 2*2)/1 + 1 = 32"]
    # PyTorch's pools take P <= F//2 = 2: padding 3 and 4 are for a convolution only
    assert answer.notes == ["padding 3 and 4: a convolution only; a pool (MaxPool, AvgPool) takes P <= F//2 "
                            "(PyTorch's rule)"]


def test_cli_lists_every_padding_with_exit_zero():
    result = run("solve", "--in", 32, "--kernel", 5, "--stride", 1)
    assert result.exit_code == 0
    assert result.output.splitlines()[:4] == [
        "(32 - 5 + 2*P)/1 + 1: every padding P that tiles (P up to the window - 1 = 4):",
        "  padding 0   (32 - 5 + 2*0)/1 + 1 = 28",
        "  padding 1   (32 - 5 + 2*1)/1 + 1 = 30",
        "  padding 2   (32 - 5 + 2*2)/1 + 1 = 32",
    ]


def test_every_listed_padding_is_a_valid_layer():
    # each setting listed sizes as a conv layer without an error, with the output listed
    for s in solve(None, size=32, kernel=5, stride=1).solutions:
        spec = {"input": [1, 32], "layers": [{"conv": {"filters": 1, "kernel": 5, "stride": 1, "padding": s.pad[0]}}]}
        report = analyze(loads(yaml.safe_dump(spec)))
        assert report.rows[-1].output == (1, s.out)


def test_no_padding_tiles_a_five_by_five_at_stride_two():
    # (32 - 5 + 2P)/2 + 1: 27 + 2P is odd for every P, and stride 2 needs it even: none tiles
    answer = solve(None, size=32, kernel=5, stride=2)
    assert not answer.fits
    assert answer.reason == ["32 - 5 + 2*P = 27 + 2*P is odd for every P, but stride 2 needs a multiple of 2"]
    ways = {a.label: a.setting.out for a in answer.alternatives}
    # strides that tile: 1 (27/1), 3 (27/3 = 9, out 10); kernels of even width: 4 (28/2 = 14, out 15),
    # 6 (26/2 = 13, out 14); inputs 31 (26/2, out 14) and 33 (28/2, out 15)
    assert ways["stride 1, padding 0"] == 28
    assert ways["stride 3, padding 0"] == 10
    assert ways["kernel 4, padding 0"] == 15
    assert ways["kernel 6, padding 0"] == 14
    assert ways["input 31, padding 0"] == 14
    assert ways["input 33, padding 0"] == 15
    result = run("solve", "--in", 32, "--kernel", 5, "--stride", 2)
    assert result.exit_code == 1
    assert "no padding P tiles" in result.output and "27 + 2*P is odd for every P" in result.output


def test_every_stride_that_tiles():
    # (7 - 3 + 2*0)/S + 1 = 4/S + 1: S = 1 gives 5, S = 2 gives 3; S = 3 leaves 4/3 (S up to the window 3)
    answer = solve(None, size=7, kernel=3, pad=0)
    assert listed(answer, "stride") == [(1, 5), (2, 3)]
    # (227 - 11 + 0)/S + 1 = 216/S + 1: the divisors of 216 up to 11 are 1, 2, 3, 4, 6, 8, 9
    answer = solve(None, size=227, kernel=11, pad=0)
    assert listed(answer, "stride") == [(1, 217), (2, 109), (3, 73), (4, 55), (6, 37), (8, 28), (9, 25)]
    result = run("solve", "--in", 227, "--kernel", 11, "--pad", 0, "--format", "json")
    data = json.loads(result.output)
    assert data["out"] is None and [s["stride"] for s in data["solutions"]] == [1, 2, 3, 4, 6, 8, 9]


def test_everything_given_and_no_out_is_a_check():
    # (7 - 3)/2 + 1 = 3 tiles; (7 - 3)/3 + 1 = 2.33 does not (exit 1)
    assert run("solve", "--in", 7, "--kernel", 3, "--stride", 2, "--pad", 0).exit_code == 0
    result = run("solve", "--in", 7, "--kernel", 3, "--stride", 3, "--pad", 0)
    assert result.exit_code == 1 and "2.33 is not a whole number" in result.output


def test_the_notes_dilation_zero_is_explained():
    # the notes count dilation 0 as a plain convolution; PyTorch (and sizecalc) count it as 1
    result = run("solve", "--in", 8, "--kernel", 3, "--dilation", 0, "--out", 6)
    assert result.exit_code == 2
    assert "counts dilation as PyTorch does" in result.output and "use --dilation 1" in result.output
    result = run("layer", "conv", "--in", "8x8x3", "--filters", 2, "--kernel", 3, "--dilation", 0)
    assert result.exit_code == 1
    assert "the notes' dilation 0 is PyTorch's 1" in result.output and "fix: use dilation: 1" in result.output
    # with dilation 1 the same layer is a plain 3x3: (8 - 3)/1 + 1 = 6
    assert "8x8x3 -> 6x6x2" in run("layer", "conv", "--in", "8x8x3", "--filters", 2, "--kernel", 3,
                                   "--dilation", 1).output
