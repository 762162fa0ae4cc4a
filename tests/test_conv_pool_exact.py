"""Conv and pool layers, and the receptive field through them, checked against numbers worked
by hand: the lecture's formula, params (F*F*C/groups + 1)*K, MACs = outputs x taps, the
receptive-field recurrence r' = r + (k - 1)*j, j' = j*s, p0' = p0 + p*j, and PyTorch's
documented rules (adaptive windows span [floor(i*W/out), ceil((i+1)*W/out)); AvgPool3d
refuses a kernel larger than its input; pool stride defaults to the kernel).

mutmut 3 cannot see code that runs at import time: the pool kinds' `infer` functions and
field lists are made by factories (`_pool`, `_window_fields`) when the module loads. The
tests marked "factory" call those factories again and check that they rebuild exactly what
is registered, so that a mutant in them is noticed; the hand-worked numbers are checked on
the registered kinds.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import sizecalc
from sizecalc.core.errors import LayerError, SpecError
from sizecalc.core.receptive import ReceptiveField, merge
from sizecalc.layers import pool
from sizecalc.layers.base import REGISTRY, REQUIRED, Layer, Window
from sizecalc.layers.conv import infer_conv


def layer(kind: str, **args) -> Layer:
    values = {f.name: f.default for f in REGISTRY[kind].fields}
    values.update(args)
    assert REQUIRED not in values.values()
    return Layer("x", REGISTRY[kind], values, [-1])


def error(infer, lay, ins) -> LayerError:
    with pytest.raises(LayerError) as err:
        infer(lay, ins)
    return err.value


def rows(text: str, **options):
    return sizecalc.analyze(text, **options).rows


# --- conv --------------------------------------------------------------------------------

def test_conv_params_macs_and_arithmetic():
    # 32x32x3, five 5x5 filters: 28x28x5; (5*5*3 + 1)*5 = 380 params; 3920 outputs x 75 taps
    s = infer_conv(layer("conv", filters=5, kernel=5), [(3, 32, 32)])
    assert (s.output, s.weights, s.biases, s.macs, s.other_macs) == ((5, 28, 28), 375, 5, 3920 * 75, 3920)
    # the weight tensor 5x3x5x5 = 375; im2col: 5*5*3 = 75 rows x 28*28 = 784 columns, W_row 5 x 75
    assert s.explain == ["(32 - 5 + 2*0)/1 + 1 = 28", "params (5*5*3 + 1)*5 = 380",
                         "weights 5x3x5x5 (filters x channels x kernel) = 375",
                         "im2col: X_col 75 x 784 (5*5*3 x 28*28), W_row 5 x 75, W_row X_col 5 x 784 -> 28x28x5"]


def test_conv_without_bias_has_no_bias_adds():
    s = infer_conv(layer("conv", filters=64, kernel=3, bias=False), [(3, 8, 8)])
    assert (s.weights, s.biases, s.other_macs) == (3 * 9 * 64, 0, 0)
    assert "params (3*3*3)*64 = 1,728" in s.explain
    # --macs all on a bias-free conv adds nothing: 6x6x64 outputs x 27 taps
    (row,) = rows("input: [3, 8, 8]\nlayers:\n  - {conv: 64, kernel: 3, bias: false}\n", macs="all")
    assert row.macs == 36 * 64 * 27


def test_conv_notes_the_rows_floor_drops():
    # 8 rows, kernel 3, stride 2: (8 - 3)/2 + 1 = 3.5, floored to 3: the last row is never read
    s = infer_conv(layer("conv", filters=1, kernel=3, stride=2, rounding="floor"), [(1, 8, 8)])
    assert s.output == (1, 3, 3)
    assert s.notes == [("rounding-drops-input", "floor rounding leaves the last 1 input row(s) unread", "rounding")]


def test_grouped_conv():
    # 8 channels in 2 groups, 16 filters of 3x3x4: (3*3*4 + 1)*16 = 592
    s = infer_conv(layer("conv", filters=16, kernel=3, padding=1, groups=2), [(8, 6, 6)])
    assert (s.output, s.weights + s.biases, s.macs) == ((16, 6, 6), 592, 16 * 36 * 36)
    assert "params (3*3*(8/2) + 1)*16 = 592" in s.explain


def test_depthwise_conv_with_a_multiplier():
    # groups = C = 4, filters = 4 * 3 = 12 of 3x3x1: 12*9 weights, 12 biases
    s = infer_conv(layer("conv", filters=None, kernel=3, depthwise=True, multiplier=3), [(4, 5, 5)])
    assert (s.output, s.weights, s.biases, s.macs) == ((12, 3, 3), 108, 12, 12 * 9 * 9)
    s = infer_conv(layer("conv", filters=8, kernel=1, depthwise=True), [(4, 5, 5)])
    assert (s.output, s.weights) == ((8, 5, 5), 8)


def test_dilated_conv_shows_the_dilated_arithmetic():
    # 3 taps with dilation 2 cover 5: (9 + 2 - 4 - 1)/1 + 1 = 7; the receptive field is 5
    (row,) = rows("input: [1, 9, 9]\nlayers:\n  - {conv: 1, kernel: 3, dilation: 2, padding: 1}\n")
    assert row.output == (1, 7, 7)
    assert row.explain[0] == "(9 + 2*1 - 2*(3 - 1) - 1)/1 + 1 = 7"
    assert row.receptive_field == ReceptiveField((5, 5), (1, 1), (1, 1))


def test_conv_refusals_name_the_field_and_the_fix():
    err = error(infer_conv, layer("conv", filters=None, kernel=3), [(3, 8, 8)])
    assert (err.rule, err.message, err.key, err.fix) == (
        "missing-value", "conv needs a number of filters", None, "write {conv: 64} (64 filters)")
    err = error(infer_conv, layer("conv", filters=6, kernel=3, groups=4), [(6, 8, 8)])
    assert (err.rule, err.message, err.key, err.fix) == (
        "groups", "groups 4 does not divide the 6 input channels", "groups", "use a divisor of 6 as groups")
    err = error(infer_conv, layer("conv", filters=6, kernel=3, groups=4), [(8, 8, 8)])
    assert (err.rule, err.message, err.key, err.fix) == (
        "groups", "groups 4 does not divide the 6 filters", "filters", "use a multiple of 4 filters")
    err = error(infer_conv, layer("conv", filters=6, kernel=3), [(48,)])
    assert err.message == "conv needs a volume with spatial dimensions, but its input is a vector of 48"


# --- pools -------------------------------------------------------------------------------

# factory: called inside each test (mutmut activates a mutant only while the tests run)
MAX, AVG = "max pool", "average pool"


def both(kind: str, what: str, ins, **args):
    """The registered kind and the factory's rebuild give the same sizing; returns it."""
    lay = layer(kind, **args)
    s = REGISTRY[kind].infer(lay, ins)
    assert pool._pool(what)(lay, ins) == s
    return s


def test_max_pool_stride_defaults_to_the_kernel():
    # 2x2 windows, stride 2 on 8x8x3: 4x4x3; all MACs: 48 windows x 4
    s = both("maxpool", MAX, [(3, 8, 8)], kernel=2)
    assert (s.output, s.other_macs, s.weights) == ((3, 4, 4), 48 * 4, 0)
    assert s.explain == ["(8 - 2 + 2*0)/2 + 1 = 4"]
    assert s.windows == [Window(2, 2, 0), Window(2, 2, 0)]
    s = both("maxpool", MAX, [(3, 8, 8)], kernel=3, stride=1, padding=1, dilation=2)
    # dilation 2: windows of 5, (8 + 2 - 4 - 1)/1 + 1 = 6
    assert (s.output, s.windows[0]) == ((3, 6, 6), Window(5, 1, 1))


def test_average_pool_ignores_nothing_and_has_no_dilation():
    s = both("avgpool", AVG, [(2, 7, 7)], kernel=3, stride=2, padding=1)
    assert (s.output, s.other_macs) == ((2, 4, 4), 2 * 16 * 9)  # (7 - 3 + 2)/2 + 1 = 4


def test_ceil_mode_notes_the_rows_read_past_the_end():
    # 7 rows, kernel 3, stride 3, ceil: windows at 0, 3, 6; the last reads 2 rows past the end
    s = both("maxpool", MAX, [(1, 7, 7)], kernel=3, rounding="ceil")
    assert s.output == (1, 3, 3)
    assert s.notes == [("rounding-pads-input", "ceil rounding reads 2 row(s) past the end of the input", "rounding")]
    s = both("maxpool", MAX, [(1, 7, 7)], kernel=3, rounding="floor")
    assert s.notes == [("rounding-drops-input", "floor rounding leaves the last 1 input row(s) unread", "rounding")]


def test_average_pool_3d_takes_a_kernel_equal_to_its_input():
    # AvgPool3d(2) on 2x2x2 gives 1x1x1; a kernel of 3 on a 2-deep input is refused by PyTorch
    s = both("avgpool", AVG, [(1, 2, 2, 2)], kernel=2)
    assert s.output == (1, 1, 1, 1)
    s = both("avgpool", AVG, [(1, 2, 4, 4)], kernel=[2, 3, 3], stride=1, padding=[0, 1, 1])
    assert s.output == (1, 1, 4, 4)
    lay = layer("avgpool", kernel=3, stride=1, padding=1)
    for infer in (REGISTRY["avgpool"].infer, pool._pool(AVG)):
        err = error(infer, lay, [(1, 2, 4, 4)])
        # each fix sized again (issue #13, point 5): kernel 2 in D pads 1 <= 2 // 2 and fits the
        # 2-deep input, (2 - 2 + 2*1)/1 + 1 = 3; or a 3-deep input takes the kernel of 3,
        # (3 - 3 + 2*1)/1 + 1 = 3; H and W stay (4 - 3 + 2*1)/1 + 1 = 4
        assert (err.rule, err.key) == ("kernel-exceeds-input", "kernel")
        assert err.fixes == (
            "kernel [2, 3, 3] (D: (2 - 2 + 2*1)/1 + 1 = 3; H: (4 - 3 + 2*1)/1 + 1 = 4; W: (4 - 3 + 2*1)/1 + 1 = 4)",
            "an input of 3x4x4 to this layer (D: (3 - 3 + 2*1)/1 + 1 = 3; H: (4 - 3 + 2*1)/1 + 1 = 4; "
            "W: (4 - 3 + 2*1)/1 + 1 = 4)")
        assert err.message == ("kernel 3x3x3 is larger than the input 2x4x4: PyTorch's AvgPool3d refuses that, "
                               "padding or not")
    # a max pool (and a 2-D average pool) with the same padding takes it
    assert both("maxpool", MAX, [(1, 2, 4, 4)], kernel=3, stride=1, padding=1).output == (1, 2, 4, 4)
    assert both("avgpool", AVG, [(1, 2, 4)], kernel=3, stride=1, padding=1).output == (1, 2, 4)


def test_pool_padding_is_at_most_half_the_kernel():
    # PyTorch: pad should be at most half of the effective kernel size
    lay = layer("maxpool", kernel=2, padding=2)
    for infer in (REGISTRY["maxpool"].infer, pool._pool(MAX)):
        err = error(infer, lay, [(1, 8, 8)])
        assert (err.rule, err.message) == (
            "pool-padding", "padding 2 is more than half the pooling kernel 2 (PyTorch allows at most 1)")


def test_pool_on_a_vector_is_refused_by_name():
    for kind, what in (("maxpool", MAX), ("avgpool", AVG)):
        err = error(pool._pool(what), layer(kind, kernel=2), [(48,)])
        assert err.message == f"{what} needs a volume with spatial dimensions, but its input is a vector of 48"
        assert err.fix == f"move the {what} before the flatten/fc layers"


def test_pool_fields_factory_rebuilds_the_registered_fields():
    assert pool._window_fields(True) == REGISTRY["maxpool"].fields
    assert pool._window_fields(False) == REGISTRY["avgpool"].fields
    include = REGISTRY["avgpool"].field("count_include_pad")
    assert (include.type, include.default) == ("bool", True)  # PyTorch's default


def test_adaptive_windows_follow_torch():
    # [floor(i*W/out), ceil((i+1)*W/out)): 10 -> 4: [0,3) [2,5) [5,8) [7,10): at most 3 wide,
    # starting floor(i*10/4) = floor(i*5/2): the jump is W/out = 5/2 (the longest window: conservative)
    # ("adaptive": the window's index map, for the field measured unit by unit, is torch's own)
    assert pool.adaptive_window(10, 4) == Window(3, Fraction(5, 2), 0, "adaptive")
    assert pool.adaptive_window(5, 3) == Window(3, Fraction(5, 3), 0, "adaptive")  # [0,2) [1,4) [3,5)
    assert pool.adaptive_window(3, 5) == Window(2, Fraction(3, 5), 0, "adaptive")  # [0,1) [0,2) [1,2) [1,3) [2,3)
    assert pool.adaptive_window(7, 7) == Window(1, 1, 0, "adaptive")
    assert pool.adaptive_window(8, 1) == Window(8, 8, 0, "adaptive")
    from sizecalc.core.receptive import span
    lo, hi = span(pool.adaptive_window(10, 4))
    assert [(lo(i), hi(i) + 1) for i in range(4)] == [(0, 3), (2, 5), (5, 8), (7, 10)]
    lo, hi = span(pool.adaptive_window(3, 5))
    assert [(lo(i), hi(i) + 1) for i in range(5)] == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]


def test_receptive_field_through_an_adaptive_pool():
    # 10x6 -> 4x3: windows of at most 3 (jump 10/4) and 2 ([0,2) [2,4) [4,6), jump 6/3 = 2)
    (row,) = rows("input: [2, 10, 6]\nlayers:\n  - {adaptive_avgpool: [4, 3]}\n", macs="all")
    assert row.output == (2, 4, 3)
    assert row.receptive_field == ReceptiveField((3, 2), (Fraction(5, 2), 2), (0, 0))
    assert row.explain == ["fixed output 4x3 from 10x6"]
    assert row.macs == 2 * 10 * 6  # every input element is read once
    with pytest.raises(SpecError, match="output has 3 values but the input has 2 spatial dimensions"):
        rows("input: [2, 10, 6]\nlayers:\n  - {adaptive_maxpool: [4, 3, 1]}\n")
    with pytest.raises(SpecError, match="adaptive pool needs a volume with spatial dimensions"):
        rows("input: [2, 10, 6]\nlayers:\n  - flatten\n  - {adaptive_maxpool: 1}\n")


def test_global_pool_sees_the_whole_input():
    # after conv 3x3 stride 2 pad 1 on 7x7 (field 3, jump 2, padding 1), a global pool over the
    # 4x4 map: 3 + 3*2 = 9, jump 2, padding 1: pixels -1 to 7, the whole image and its padding
    text = "input: [1, 7, 7]\nlayers:\n  - {conv: 2, kernel: 3, stride: 2, padding: 1}\n  - gap\n"
    conv, gap = rows(text, macs="all")
    assert conv.receptive_field == ReceptiveField((3, 3), (2, 2), (1, 1))
    assert gap.receptive_field == ReceptiveField((9, 9), (2, 2), (1, 1), whole=True)
    assert (gap.output, gap.macs, gap.explain) == ((2, 1, 1), 2 * 16, ["one value per channel: 4x4 -> 1"])
    with pytest.raises(SpecError, match="global pool needs a volume with spatial dimensions"):
        rows("input: [2, 4, 4]\nlayers:\n  - flatten\n  - gap\n")


def test_adaptive_average_pool_to_one_saves_nothing():
    # PyTorch averages to 1x1 with mean(), which keeps nothing; to 2x1 it keeps its input (2x4x4)
    base = "input: [3, 4, 4]\nlayers:\n  - {conv: 2, kernel: 1}\n  - {adaptive_avgpool: %s}\n"
    assert sizecalc.analyze(base % "1").memory.saved_bytes == 3 * 16 * 4
    assert sizecalc.analyze(base % "[1, 1]").memory.saved_bytes == 3 * 16 * 4
    assert sizecalc.analyze(base % "[2, 1]").memory.saved_bytes == (3 * 16 + 2 * 16) * 4
    assert sizecalc.analyze(base % "[1, 2]").memory.saved_bytes == (3 * 16 + 2 * 16) * 4


def test_max_pools_keep_their_input_and_int64_indices():
    # conv keeps 3x16; max pool 2: its input (2x16) and 2x4 int64 indices; global max: 2x16 and 2
    text = "input: [3, 4, 4]\nlayers:\n  - {conv: 2, kernel: 1}\n  - {maxpool: 2}\n"
    assert sizecalc.analyze(text, batch=2).memory.saved_bytes == 2 * ((48 + 32) * 4 + 8 * 8)
    text = "input: [3, 4, 4]\nlayers:\n  - {conv: 2, kernel: 1}\n  - global_maxpool\n"
    assert sizecalc.analyze(text, batch=2).memory.saved_bytes == 2 * ((48 + 32) * 4 + 2 * 8)


# --- the receptive field -----------------------------------------------------------------

def test_receptive_field_recurrence_with_strides():
    # conv 3 s1 p1: r 3, j 1, p 1; conv 3 s2 p1: r 5, j 2, p 2; conv 3 s1 p1: r 5 + 2*2 = 9,
    # j 2, p 2 + 1*2 = 4 (the padding of a layer counts in units of the jump before it)
    f = ReceptiveField.of_input(2)
    assert f == ReceptiveField((1, 1), (1, 1), (0, 0))
    for k, s, p in ((3, 1, 1), (3, 2, 1), (3, 1, 1)):
        f = f.through([Window(k, s, p), Window(k, s, p)])
    assert f == ReceptiveField((9, 9), (2, 2), (4, 4))
    assert ReceptiveField.of_input(3) == ReceptiveField((1, 1, 1), (1, 1, 1), (0, 0, 0))


def test_pointwise_and_mismatched_windows_leave_the_field():
    f = ReceptiveField((5, 3), (2, 1), (1, 0))
    assert f.through(None) is f
    assert f.through([]) is f
    assert f.through([Window(3, 1, 1)]) is f  # one window for two dimensions: unchanged


def test_merge_takes_the_largest_field_per_dimension():
    a, b = ReceptiveField((5, 3), (2, 1), (1, 0)), ReceptiveField((3, 7), (1, 4), (0, 2))
    assert merge([a, b]) == ReceptiveField((5, 7), (2, 4), (1, 2))
    assert merge([b, a]) == ReceptiveField((5, 7), (2, 4), (1, 2))
    grid = ReceptiveField((1, 1), (8, 8), (3, 3))
    assert merge([a, b], grid=grid) == ReceptiveField((5, 7), (8, 8), (3, 3))
    assert merge([a, a]) is a
    assert merge([a, a], grid=grid) == ReceptiveField((5, 3), (8, 8), (3, 3))


def test_a_gate_from_a_one_by_one_map_takes_the_grid_of_the_full_map():
    # squeeze-excitation: the gate (global pool of the map, then a 1x1 conv) sees the whole 8x8
    # input (3 + 7*1 = 10 pixels from -1 to 8: global); the product keeps the full map's jump and
    # padding (1 and 1 after a 3x3 pad-1 conv)
    text = """
input: [2, 8, 8]
layers:
  - {id: map, conv: 2, kernel: 3, padding: 1}
  - {id: squeeze, gap: {}}
  - {id: gate, conv: 2, kernel: 1}
  - {mul: [map, gate]}
"""
    out = rows(text)[-1]
    assert out.receptive_field == ReceptiveField((10, 10), (1, 1), (1, 1), whole=True)
