"""`sizecalc solve`: every expected value below is worked out by hand from
(W - F + 2P)/S + 1 (or (W + P_lo + P_hi - D*(F - 1) - 1)/S + 1 with dilation)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sizecalc.cli import main
from sizecalc.tools.solve import solve


def run(*args):
    result = CliRunner().invoke(main, ["solve", *map(str, args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def settings(answer, *quantities):
    """The solutions' values of the named quantities (a bare value when only one is named)."""
    rows = [tuple(s.value(q) for q in quantities) for s in answer.solutions]
    return [r[0] for r in rows] if len(quantities) == 1 else rows


def formula(w, f, s, lo, hi, d=1):
    """The lecture's formula, written out again here as the independent check."""
    num = w + lo + hi - d * (f - 1) - 1
    return num / s + 1


# --- something fits -------------------------------------------------------------------

def test_same_size_five_by_five_needs_stride_one_padding_two():
    # (32 - 5 + 2*2)/1 + 1 = 32; stride 2 would need 2P = 31*2 + 5 - 32 = 35 (odd)
    answer = solve(32, size=32, kernel=5)
    assert answer.fits
    assert settings(answer, "stride", "pad") == [(1, (2, 2))]
    assert answer.solutions[0].arithmetic == "(32 - 5 + 2*2)/1 + 1 = 32"


def test_cli_same_size_exit_zero():
    result = run("--in", 32, "--kernel", 5, "--out", 32)
    assert result.exit_code == 0
    assert "stride 1, padding 2" in result.output
    assert "(32 - 5 + 2*2)/1 + 1 = 32" in result.output


def test_padding_alone():
    # (32 - 3 + 2P)/1 + 1 = 32 -> P = 1
    assert settings(solve(32, size=32, kernel=3, stride=1), "pad") == [(1, 1)]


def test_alexnet_conv1_stride_is_four():
    # (227 - 11 + 0)/S + 1 = 55 -> S = 216/54 = 4
    assert settings(solve(55, size=227, kernel=11, pad=0), "stride") == [4]


def test_alexnet_conv1_input_is_227():
    # (W - 11 + 0)/4 + 1 = 55 -> W = 54*4 + 11 = 227
    assert settings(solve(55, kernel=11, stride=4, pad=0), "in") == [227]


def test_kernel_alone():
    # (32 - F + 0)/1 + 1 = 28 -> F = 5
    assert settings(solve(28, size=32, stride=1, pad=0), "kernel") == [5]


def test_dilation_alone():
    # (32 + 0 - D*(3 - 1) - 1)/1 + 1 = 28 -> 2D = 4 -> D = 2
    assert settings(solve(28, size=32, kernel=3, stride=1, pad=0, dilation=None), "dilation") == [2]


def test_input_and_padding_pairs_for_stride_two():
    # (W - 3 + 2P)/2 + 1 = 112 -> W = 111*2 + 3 - 2P: P = 0, 1, 2 (up to F - 1) -> 225, 223, 221
    answer = solve(112, kernel=3, stride=2)
    assert sorted(settings(answer, "in", "pad")) == [(221, (2, 2)), (223, (1, 1)), (225, (0, 0))]


def test_kernel_and_dilation_pairs():
    # (32 + 0 - D*(F - 1) - 1)/1 + 1 = 28 -> D*(F - 1) = 4: (F, D) = (2, 4), (3, 2), (5, 1)
    answer = solve(28, size=32, stride=1, pad=0, dilation=None)
    assert settings(answer, "kernel", "dilation") == [(2, 4), (3, 2), (5, 1)]


def test_one_window_fits_any_stride():
    # (7 - 7 + 0)/S + 1 = 1 for every S; listed up to the window, 7
    assert settings(solve(1, size=7, kernel=7, pad=0), "stride") == list(range(1, 8))


def test_everything_given_is_a_check():
    result = run("--in", 32, "--kernel", 5, "--stride", 1, "--pad", 2, "--out", 32)
    assert result.exit_code == 0
    assert "fits: (32 - 5 + 2*2)/1 + 1 = 32" in result.output


# --- the lecture's case: nothing fits ---------------------------------------------------

def test_lecture_stride_two_has_no_symmetric_padding():
    # (32 - 5 + 2P)/2 + 1 = 16 -> 27 + 2P = 30: 27 + 2P is odd for every P
    answer = solve(16, size=32, kernel=5, stride=2)
    assert not answer.fits
    assert "27 + 2*P is odd for every P" in answer.reason[0]
    assert "P = 1.5" in answer.reason[0]


def test_lecture_alternatives_are_the_ones_a_person_finds():
    alternatives = {a.label: a.setting for a in solve(16, size=32, kernel=5, stride=2).alternatives}
    # floor: (32 - 5 + 2*2)/2 + 1 = 16.5 -> 16, one input row never read
    floor = alternatives["padding 2, floor rounding"]
    assert (floor.rounding, floor.out, floor.dropped) == ("floor", 16, 1)
    # asymmetric 1 + 2: (32 - 5 + 3)/2 + 1 = 16, what TensorFlow's "same" does (ceil(32/2) = 16)
    assert alternatives["padding 1 + 2"].pad == (1, 2)
    # inputs: (31 - 5 + 2*2)/2 + 1 = 16 and (33 - 5 + 2*1)/2 + 1 = 16
    assert alternatives["input 31, padding 2"].out == 16
    assert alternatives["input 33, padding 1"].out == 16


def test_lecture_cli_exit_one_and_names_the_ways_out():
    result = run("--in", 32, "--kernel", 5, "--stride", 2, "--out", 16)
    assert result.exit_code == 1
    for text in ("nothing fits exactly", "floored to 16", "padding 1 + 2", "TensorFlow",
                 "input 31, padding 2", "input 33, padding 1"):
        assert text in result.output


def test_seven_by_seven_stride_three_check():
    # (7 - 3 + 0)/3 + 1 = 2.33; padding 1: (7 - 3 + 2)/3 + 1 = 3; stride 2: (7 - 3)/2 + 1 = 3
    answer = solve(3, size=7, kernel=3, stride=3, pad=0)
    assert not answer.fits
    assert "(7 - 3 + 2*0)/3 + 1 = 2.33" in answer.reason[0]
    labels = [a.label for a in answer.alternatives]
    assert "padding 1" in labels and "stride 2" in labels


def test_every_alternative_checks_by_hand():
    for answer in (solve(16, size=32, kernel=5, stride=2), solve(16, size=32, kernel=3),
                   solve(16, size=32, kernel=5, pad=0), solve(40, size=32, kernel=5)):
        for a in answer.alternatives:
            s = a.setting
            value = formula(s.size, s.kernel, s.stride, *s.pad, s.dilation)
            assert (int(value) if s.rounding == "floor" else value) == answer.out, a.label


# --- givens that cannot be met ----------------------------------------------------------

def test_output_larger_than_possible():
    # stride 1 and the most padding, F - 1 = 4: (32 - 5 + 8)/1 + 1 = 36 < 40
    answer = solve(40, size=32, kernel=5)
    assert not answer.fits
    assert "the most is 36" in answer.reason[0]


def test_output_too_small_needs_negative_padding():
    # (32 - 5 + 2P)/1 + 1 = 10 -> 2P = -18
    answer = solve(10, size=32, kernel=5, stride=1)
    assert "needs P = -9, but padding must be at least 0" in answer.reason[0]
    # a way out: stride 3, (32 - 5 + 0)/3 + 1 = 10
    assert any(a.setting.stride == 3 and a.setting.pad == (0, 0) for a in answer.alternatives)


def test_stride_not_whole():
    # (32 - 5 + 0)/S + 1 = 16 -> S = 27/15
    assert solve(16, size=32, kernel=5, pad=0).reason == ["needs S = 27/15 = 1.8, not a whole number"]


@pytest.mark.parametrize("args,option,accepted", [
    (("--in", 32, "--kernel", 5, "--stride", 0, "--out", 16), "--stride", "from 1"),
    (("--in", 32, "--kernel", 5, "--pad", -1, "--out", 16), "--pad", "from 0"),
    (("--in", 32, "--kernel", 0, "--out", 16), "--kernel", "from 1"),
    (("--in", "x", "--kernel", 3, "--out", 16), "--in", "whole number"),
    (("--in", 32, "--kernel", 3, "--out", 0), "--out", "from 1"),
    (("--in", 32, "--out", 16), "--kernel", "at least three"),
])
def test_bad_values_are_usage_errors(args, option, accepted):
    result = run(*args)
    assert result.exit_code == 2
    assert option in result.output and accepted in result.output


def test_missing_out_and_input():
    # without --out the settings that tile are listed (tests/test_solve_all.py); without --in too,
    # every input would tile with some padding: a usage error that names both
    result = run("--kernel", 5, "--stride", 1)
    assert result.exit_code == 2 and "--out" in result.output and "--in" in result.output


def test_json():
    result = run("--in", 32, "--kernel", 5, "--out", 32, "--format", "json")
    data = json.loads(result.output)
    assert data["fits"] is True
    assert [(s["stride"], s["pad"]) for s in data["solutions"]] == [(1, [2, 2])]


def test_json_nothing_fits():
    result = run("--in", 32, "--kernel", 5, "--stride", 2, "--out", 16, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["fits"] is False and data["solutions"] == []
    assert any(a["pad"] == [1, 2] for a in data["alternatives"])


# --- against the formula, on many settings ---------------------------------------------

def test_solving_finds_the_padding_of_every_setting_that_tiles():
    # for every small setting that tiles, solving for its padding gives that padding back
    for w in range(5, 40, 3):
        for f in (1, 2, 3, 5, 7):
            for s in (1, 2, 3, 4):
                for p in range(0, f):
                    out = formula(w, f, s, p, p)
                    if out != int(out) or out < 1 or f > w + 2 * p:
                        continue
                    found = settings(solve(int(out), size=w, kernel=f, stride=s), "pad")
                    assert found == [(p, p)], (w, f, s, p)


def test_solving_pairs_finds_every_setting_within_the_bounds():
    # stride up to the kernel and padding up to F - 1: each tiling setting is among the pairs,
    # and solving for the stride or the input alone gives it back
    for w in range(6, 34, 5):
        for f in (2, 3, 5):
            for s in range(1, f + 1):
                for p in range(0, f):
                    out = formula(w, f, s, p, p)
                    if out != int(out) or out < 1:
                        continue
                    out = int(out)
                    assert (s, (p, p)) in settings(solve(out, size=w, kernel=f), "stride", "pad")
                    assert s in settings(solve(out, size=w, kernel=f, pad=p), "stride") or out == 1
                    assert settings(solve(out, kernel=f, stride=s, pad=p), "in") == [w]
