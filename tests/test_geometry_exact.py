"""The window arithmetic, exactly: every number below is the lecture's formula
(W - F + 2P)/S + 1 (with dilation: (W + P_lo + P_hi - D*(F - 1) - 1)/S + 1) worked by hand,
or, for the suggested fixes, a brute-force search written here from the formula alone.

The fixes' docstrings promise the *nearest* padding and stride and the *smallest/largest*
input or kernel that tiles; the searches below check exactly that over small grids (all
combinations, deterministic), not only that a suggestion fits.
"""

from __future__ import annotations

import itertools

import pytest

from sizecalc.core import geometry as g
from sizecalc.core.errors import LayerError


def tiles(w, k, s, lo, hi, d=1):
    """The lecture's condition, written independently of sizecalc: windows fit and tile."""
    num = w + lo + hi - d * (k - 1) - 1
    return num >= 0 and num % s == 0


def refused(*args, **kw) -> LayerError:
    with pytest.raises(LayerError) as err:
        g.window_out(*args, **kw)
    return err.value


# --- the formula and how it is shown -----------------------------------------------------

def test_arithmetic_is_written_as_the_lecture_writes_it():
    assert g.arithmetic(7, 3, 2, 1, 1) == "(7 - 3 + 2*1)/2 + 1"
    assert g.arithmetic(7, 3, 2, 0, 1) == "(7 - 3 + 0 + 1)/2 + 1"
    assert g.arithmetic(7, 3, 1, 1, 1, 2) == "(7 + 2*1 - 2*(3 - 1) - 1)/1 + 1"
    assert g.arithmetic(7, 3, 1, 0, 2, 2) == "(7 + 0 + 2 - 2*(3 - 1) - 1)/1 + 1"


def test_decimals_show_the_remainder():
    assert g._decimal(6, 3) == "2"
    assert g._decimal(29, 2) == "14.5"  # (32 - 5)/2 + 1
    assert g._decimal(7, 3) == "2.33"
    assert g._decimal(2001, 1000) == "2.001"
    assert g._decimal(3001, 3000) == "1.0003"  # four places once two would show 1.00 and hide the remainder
    assert g._decimal(1_000_001, 1_000_000) == "1.000001"
    assert g._decimal(10 ** 7 + 1, 10 ** 7) == "1 + 1/10000000"


def test_fits_is_the_lecture_condition():
    assert g.fits(7, 3, 2, 0, 0)  # (7 - 3)/2 + 1 = 3
    assert not g.fits(7, 3, 3, 0, 0)  # 2.33
    assert g.fits(3, 3, 1, 0, 0)  # the kernel covers the input exactly: 1 output
    assert not g.fits(2, 3, 1, 0, 0)  # the kernel is larger than the input
    assert g.fits(5, 3, 1, 0, 0, 2)  # dilation 2 covers 5: one output
    assert not g.fits(5, 3, 1, 0, 0, 3)  # dilation 3 covers 7 > 5
    assert g.fits(4, 3, 1, 0, 0)  # the default dilation is 1: (4 - 3)/1 + 1 = 2


# --- window_out: each rounding rule ------------------------------------------------------

def test_exact_output():
    ext = g.window_out(7, 3, 1, 0, 0)
    assert (ext.out, ext.explain, ext.dropped, ext.padded) == (5, "(7 - 3 + 2*0)/1 + 1 = 5", 0, 0)
    assert g.window_out(227, 11, 4, 0, 0).out == 55  # AlexNet: (227 - 11)/4 + 1
    assert g.window_out(3, 3, 1, 0, 0).out == 1  # kernel = padded input


def test_dilated_output_shows_the_dilated_formula():
    # dilation 2 makes a 3-tap kernel cover 5: (7 + 0 - 2*2 - 1)/1 + 1 = 3
    ext = g.window_out(7, 3, 1, 0, 0, 2)
    assert (ext.out, ext.explain) == (3, "(7 + 2*0 - 2*(3 - 1) - 1)/1 + 1 = 3")
    assert g.window_out(8, 3, 2, 2, 2, 2, "floor").out == 4  # (8 + 4 - 4 - 1)/2 + 1 = 4.5 -> 4


def test_exact_refuses_a_remainder_with_the_arithmetic():
    err = refused(7, 3, 3, 0, 0)
    assert err.rule == "non-integer-output" and err.key == "stride"
    assert err.message == "(7 - 3 + 2*0)/3 + 1 = 2.33 is not a whole number (the windows do not tile the input)"


def test_floor_drops_the_rows_no_window_reads():
    # windows start at 0 and 3 and cover rows 0..5: row 6 is never read
    ext = g.window_out(7, 3, 3, 0, 0, 1, "floor")
    assert (ext.out, ext.dropped, ext.padded) == (2, 1, 0)
    assert ext.explain == "(7 - 3 + 2*0)/3 + 1 = 2.33, floored to 2"


def test_ceil_counts_the_rows_read_past_the_end():
    # ceil: windows start at 0, 3 and 6; the last covers rows 6, 7, 8 of a 7-row input: 2 past the end
    ext = g.window_out(7, 3, 3, 0, 0, 1, "ceil")
    assert (ext.out, ext.dropped, ext.padded) == (3, 0, 2)
    assert ext.explain == "(7 - 3 + 2*0)/3 + 1 = 2.33, ceil to 3"
    # 6 rows, padding 1 each side, kernel 3 stride 2: windows at 0, 2, 4, 6 of 8 padded rows: 1 past
    ext = g.window_out(6, 3, 2, 1, 1, 1, "ceil")
    assert (ext.out, ext.padded) == (4, 1)


def test_ceil_never_starts_a_window_in_the_right_padding():
    # torch's rule: 5 rows, kernel 2, stride 2, padding 1: ceil would give 4 windows, but the
    # 4th would start at (4 - 1)*2 = 6 >= 5 + 1, inside the right padding: 3 windows
    ext = g.window_out(5, 2, 2, 1, 1, 1, "ceil")
    assert (ext.out, ext.dropped, ext.padded) == (3, 1, 0)
    assert ext.explain == ("(5 - 2 + 2*1)/2 + 1 = 3.5, ceil to 4 but the last window would start in the "
                           "right padding, so 3")


def test_stride_below_one_is_refused():
    err = refused(7, 3, 0, 0, 0)
    assert (err.rule, err.key, err.message) == ("bad-stride", "stride", "stride 0 must be at least 1")
    assert err.fix == "use stride 1 or more"


def test_kernel_larger_than_the_input():
    err = refused(2, 3, 1, 0, 0)
    assert (err.rule, err.key) == ("kernel-exceeds-input", "kernel")
    assert err.message == "kernel 3 is larger than the padded input 2 + 0 = 2: (2 - 3 + 2*0)/1 + 1 = 0"
    # the three fixes, each worked by hand: kernel 2 gives 1, padding 1 gives (2 - 3 + 2)/1 + 1 = 2,
    # an input of 3 gives 1
    assert err.fix == ("kernel 2 ((2 - 2 + 2*0)/1 + 1 = 1); or padding 1 ((2 - 3 + 2*1)/1 + 1 = 2); "
                       "or an input of 3 to this layer ((3 - 3 + 2*0)/1 + 1 = 1)")
    err = refused(2, 5, 2, 1, 1)
    assert err.message == "kernel 5 is larger than the padded input 2 + 2 = 4: (2 - 5 + 2*1)/2 + 1 = 0.5"


def test_dilated_kernel_larger_than_the_input():
    err = refused(3, 2, 1, 0, 0, 3)
    assert err.message == ("kernel 2 (dilation 3: covers 4) is larger than the padded input 3 + 0 = 3: "
                           "(3 + 2*0 - 3*(2 - 1) - 1)/1 + 1 = 0")
    # a kernel 1 covers 1 row whatever the dilation; padding 1: (3 + 2 - 3 - 1)/1 + 1 = 2;
    # input 4: (4 - 3 - 1)/1 + 1 = 1
    assert err.fix == ("kernel 1 ((3 + 2*0 - 3*(1 - 1) - 1)/1 + 1 = 3); or padding 1 "
                       "((3 + 2*1 - 3*(2 - 1) - 1)/1 + 1 = 2); or an input of 4 to this layer "
                       "((4 + 2*0 - 3*(2 - 1) - 1)/1 + 1 = 1)")


def test_kernel_fix_of_a_pool_keeps_padding_within_half_the_kernel():
    # 2 rows, pool kernel 4 stride 4: kernel 2 covers them (one window); padding may be at most
    # 4 // 2 = 2, and padding 1 gives (2 - 4 + 2)/4 + 1 = 1; an input of 4 gives 1
    err = refused(2, 4, 4, 0, 0, pool=True)
    assert err.fix == ("kernel 2 ((2 - 2 + 2*0)/4 + 1 = 1); or padding 1 ((2 - 4 + 2*1)/4 + 1 = 1); "
                       "or an input of 4 to this layer ((4 - 4 + 2*0)/4 + 1 = 1)")


def test_kernel_fixes_count_both_paddings():
    # 2 rows padded by 1 and 1, kernel 5: kernel 4 covers the 4 padded rows (one output);
    # padding 2: (2 - 5 + 4)/1 + 1 = 2; input 3: (3 - 5 + 2)/1 + 1 = 1
    assert refused(2, 5, 1, 1, 1).fix == ("kernel 4 ((2 - 4 + 2*1)/1 + 1 = 1); or padding 2 "
                                          "((2 - 5 + 2*2)/1 + 1 = 2); or an input of 3 to this layer "
                                          "((3 - 5 + 2*1)/1 + 1 = 1)")


def test_kernel_fixes_of_dilated_conv_and_pool():
    # conv, kernel 3 dilation 3 (covers 7) on 1 row: padding 3 gives (1 + 6 - 6 - 1)/1 + 1 = 1
    # (more than half the kernel: a conv may, a pool may not)
    assert refused(1, 3, 1, 0, 0, 3).fix == (
        "kernel 1 ((1 + 2*0 - 3*(1 - 1) - 1)/1 + 1 = 1); or padding 3 ((1 + 2*3 - 3*(3 - 1) - 1)/1 + 1 = 1); "
        "or an input of 7 to this layer ((7 + 2*0 - 3*(3 - 1) - 1)/1 + 1 = 1)")
    # pool kernel 5 (stride 5) on 1 row: padding 2 = 5 // 2 is allowed: (1 - 5 + 4)/5 + 1 = 1
    assert refused(1, 5, 5, 0, 0, pool=True).fix == (
        "kernel 1 ((1 - 1 + 2*0)/5 + 1 = 1); or padding 2 ((1 - 5 + 2*2)/5 + 1 = 1); "
        "or an input of 5 to this layer ((5 - 5 + 2*0)/5 + 1 = 1)")
    # max pool kernel 4, dilation 2 (covers 7), padding 2 on 1 row: a kernel of 3 would cover the
    # 5 padded rows but may pad only 1; padding 3 is over 4 // 2: only a larger input fits
    assert refused(1, 4, 1, 2, 2, 2, pool=True).fix == (
        "an input of 3 to this layer ((3 + 2*2 - 2*(4 - 1) - 1)/1 + 1 = 1)")


def test_fit_fix_lists_nearest_padding_stride_inputs_and_floor():
    # 7 rows, kernel 3, stride 3: 2P = 3 - 7 (mod 3) -> P = 1: (7 - 3 + 2)/3 + 1 = 3;
    # stride 2: (7 - 3)/2 + 1 = 3; inputs 6 (2 outputs) and 9 (3 outputs); floor drops 4 % 3 = 1 row
    assert refused(7, 3, 3, 0, 0).fix == (
        "padding 1 ((7 - 3 + 2*1)/3 + 1 = 3); or stride 2 ((7 - 3 + 2*0)/2 + 1 = 3); "
        "or an input of 6 or 9 to this layer; "
        "or `rounding: floor` (what PyTorch does: the last 1 input row(s) are never read)")


def test_fit_fix_of_a_dilated_layer():
    # 8 rows, kernel 3, dilation 2 (covers 5), stride 2: (8 - 5)/2 + 1 = 2.5
    # padding: 2P = 5 - 8 = 1 (mod 2) has no solution; stride 1 or 3: (8 - 5)/1 + 1 = 4;
    # inputs 7 and 9; floor drops 3 % 2 = 1 row
    assert refused(8, 3, 2, 0, 0, 2).fix == (
        "stride 1 ((8 + 2*0 - 2*(3 - 1) - 1)/1 + 1 = 4); or an input of 7 or 9 to this layer; "
        "or `rounding: floor` (what PyTorch does: the last 1 input row(s) are never read)")


def test_fit_fix_of_a_pool_only_offers_padding_up_to_half_the_kernel():
    # 8 rows, kernel 3, stride 3: a conv could take padding 2 ((8 - 3 + 4)/3 + 1 = 4), a pool may
    # not (at most 3 // 2 = 1); stride 1 ((8 - 3)/1 + 1 = 6) is the nearest (2 and 4 leave 1)
    conv = refused(8, 3, 3, 0, 0).fix
    pool = refused(8, 3, 3, 0, 0, pool=True).fix
    assert conv.startswith("padding 2 ((8 - 3 + 2*2)/3 + 1 = 4); or stride 1")
    assert pool.startswith("stride 1 ((8 - 3 + 2*0)/1 + 1 = 6); or an input of 6 or 9 to this layer")


def test_fit_fix_paddings_at_the_limits():
    # 2 rows padded 4 + 4, kernel 3, stride 5: (2 + 8 - 3)/5 + 1 is not whole; paddings that tile
    # are 3, 8, ... (2 + 6 - 3 = 5): 3, the most a conv of 3 may take
    assert refused(2, 3, 5, 4, 4).fix.startswith("padding 3 ((2 - 3 + 2*3)/5 + 1 = 2); ")
    # 1 row padded 5 + 5, kernel 3, stride 6: paddings 1, 4, 7 tile; 4 is nearer 5 but over 3
    assert refused(1, 3, 6, 5, 5).fix.startswith("padding 1 ((1 - 3 + 2*1)/6 + 1 = 1); ")
    # 5 rows padded 2 + 1, kernel 5, stride 2: padding 2 each side: (5 - 5 + 4)/2 + 1 = 3
    assert refused(5, 5, 2, 2, 1).fix.startswith("padding 2 ((5 - 5 + 2*2)/2 + 1 = 3); ")
    # dilation 2 (covers 5) on 9 rows, stride 3: padding 1: (9 + 2 - 4 - 1)/3 + 1 = 3
    assert refused(9, 3, 3, 0, 0, 2).fix.startswith("padding 1 ((9 + 2*1 - 2*(3 - 1) - 1)/3 + 1 = 3); ")
    # dilation 3 (covers 7) on 8 rows, stride 3: padding 1: (8 + 2 - 6 - 1)/3 + 1 = 2
    assert refused(8, 3, 3, 0, 0, 3).fix.startswith("padding 1 ((8 + 2*1 - 3*(3 - 1) - 1)/3 + 1 = 2); ")
    # a pool of 2, stride 3, on 6 rows may pad 1 = 2 // 2: (6 - 2 + 2)/3 + 1 = 3
    assert refused(6, 2, 3, 0, 0, pool=True).fix.startswith("padding 1 ((6 - 2 + 2*1)/3 + 1 = 3); ")


def test_fit_fix_counts_uneven_padding_in_stride_and_floor():
    # 6 rows padded 1 before: stride 1 gives (6 + 1 - 2)/1 + 1 = 6
    assert "; or stride 1 ((6 - 2 + 1 + 0)/1 + 1 = 6); " in refused(6, 2, 2, 1, 0).fix
    # 7 rows + 1 row of padding on either side, kernel 3, stride 3: (8 - 3) % 3 = 2 rows unread
    for lo, hi in ((1, 0), (0, 1)):
        assert refused(7, 3, 3, lo, hi).fix.endswith("the last 2 input row(s) are never read)")


def test_fit_fix_with_uneven_padding_counts_both_sides():
    # 6 rows, padding 0 before and 1 after, kernel 2, stride 2: (6 + 1 - 2)/2 + 1 = 3.5;
    # even padding 0 fits ((6 - 2)/2 + 1 = 3), stride 1 gives 6, inputs 5 and 7 tile
    assert refused(6, 2, 2, 0, 1).fix == (
        "padding 0 ((6 - 2 + 2*0)/2 + 1 = 3); or stride 1 ((6 - 2 + 0 + 1)/1 + 1 = 6); "
        "or an input of 5 or 7 to this layer; "
        "or `rounding: floor` (what PyTorch does: the last 1 input row(s) are never read)")


# --- the searches, against brute force ---------------------------------------------------

GRID = list(itertools.product(range(1, 13), range(1, 6), range(1, 5), range(1, 3)))  # W, F, S, D


def test_nearest_padding_is_the_nearest():
    for w, k, s, d in GRID:
        for want, limit in ((0, 5), (2, 5), (4, 3), (1, 0)):
            ok = [p for p in range(limit + 1) if tiles(w, k, s, p, p, d)]
            expected = min(ok, key=lambda p: (abs(p - want), p)) if ok else None
            assert g.nearest_padding(w, k, s, d, want, limit) == expected, (w, k, s, d, want, limit)


def test_nearest_stride_is_the_nearest_other_stride():
    for w, k, s, d in GRID:
        for lo, hi in ((0, 0), (1, 0), (0, 2)):
            ok = [t for t in range(1, s + 3) if t != s and tiles(w, k, t, lo, hi, d)]
            expected = min(ok, key=lambda t: (abs(t - s), t)) if ok else None
            assert g.nearest_stride(w, k, s, lo, hi, d) == expected, (w, k, s, lo, hi, d)


def test_nearest_stride_goes_no_further_than_two_above():
    # kernel 1 on 14 rows: 13 = (14 - 1) is divided by 1 and 13 only; 13 is 3 above stride 10
    assert g.nearest_stride(14, 1, 10, 0, 0, 1) == 1


def test_nearest_stride_search_is_bounded():
    # kernel 1 on 1001 rows: (1001 - 1)/S + 1 is whole for S = 1000, 1000 strides below 2000
    assert g.nearest_stride(1001, 1, 2000, 0, 0, 1) == 1000
    # on 1000 rows the nearest is 999 (999 = 3^3 * 37), 1001 below: past the 1000 tried
    assert g.nearest_stride(1000, 1, 2000, 0, 0, 1) is None


def test_next_and_previous_inputs_are_the_nearest_that_tile():
    for w, k, s, d in GRID:
        for lo, hi in ((0, 0), (1, 0), (0, 2), (1, 1)):
            above = next(v for v in itertools.count(w + 1) if tiles(v, k, s, lo, hi, d))
            below = max((v for v in range(1, w) if tiles(v, k, s, lo, hi, d)), default=None)
            assert g.next_input(w, k, s, lo, hi, d) == above, (w, k, s, lo, hi, d)
            assert g.previous_input(w, k, s, lo, hi, d) == below, (w, k, s, lo, hi, d)


def test_smaller_kernel_is_the_largest_that_tiles():
    for w, k, s, d in itertools.product(range(1, 13), range(1, 6), range(1, 4), range(1, 4)):
        for lo, hi in ((0, 0), (1, 0), (1, 1), (2, 2)):
            for pool in (False, True):
                ok = [f for f in range(1, k) if tiles(w, f, s, lo, hi, d) and (not pool or max(lo, hi) <= f // 2)]
                expected = max(ok, default=None)
                assert g.smaller_kernel(w, k, s, lo, hi, d, pool) == expected, (w, k, s, lo, hi, d, pool)


def test_exact_pad_hi_is_the_padding_that_makes_rounding_exact():
    assert g.exact_pad_hi(7, 3, 3, 0, 3) == 2  # ceil: 3 windows of 3, stride 3 reach row 8: 2 past 7
    assert g.exact_pad_hi(7, 3, 3, 0, 2) is None  # floor: 2 windows reach row 5, one row short
    assert g.exact_pad_hi(5, 3, 1, 0, 3) == 0  # already exact
    assert g.exact_pad_hi(7, 3, 1, 0, 3, 2) == 0  # (3 - 1)*1 + 5 - 7
    assert g.exact_pad_hi(8, 3, 1, 0, 3, 2) is None
    assert g.exact_pad_hi(6, 2, 2, 1, 4) == 1  # (4 - 1)*2 + 2 - 6 - 1
    assert g.exact_pad_hi(6, 3, 2, 0, 3) == 1  # default dilation 1: 2*2 + 3 - 6


# --- fixes for every dimension at once ---------------------------------------------------

def test_fit_every_dim_changes_only_the_dimension_that_does_not_tile():
    # H: 7 rows, kernel 3, stride 3 (2.33); W: 9 rows (3): padding 1, stride 2, kernel 1 or
    # input 9 fix H, and W keeps its own value
    dims = [(7, 3, 3, 0, 0, 1), (9, 3, 3, 0, 0, 1)]
    assert g.fit_every_dim(dims) == [("padding", [(1, 1), (0, 0)]), ("stride", [2, 3]),
                                     ("kernel", [1, 3]), ("input", [9, 9])]


def test_fit_every_dim_of_a_pool():
    # 8 rows, kernel 3, stride 3: padding 2 is over half the kernel, so no padding fix;
    # stride 1 ((8 - 3)/1 + 1), kernel 2 ((8 - 2)/3 + 1 = 3), input 9
    assert g.fit_every_dim([(8, 3, 3, 0, 0, 1)], pool=True) == [("stride", [1]), ("kernel", [2]), ("input", [9])]
    # kernel 1 with padding 1 tiles but a pool may pad at most 1 // 2 = 0: only padding 0 fixes it
    assert g.fit_every_dim([(6, 1, 1, 1, 1, 1)], pool=True) == [("padding", [(0, 0)])]
    # padding 1 = 2 // 2 is allowed: the second dimension stays as it is
    assert g.fit_every_dim([(7, 3, 3, 0, 0, 1), (6, 2, 2, 1, 1, 1)], pool=True) == [
        ("padding", [(1, 1), (1, 1)]), ("stride", [2, 2]), ("kernel", [1, 2]), ("input", [9, 6])]
    # a pool of 2 may pad 1: 6 rows, stride 3: padding 1 ((6 + 2 - 2)/3 + 1 = 3), stride 2, input 8
    assert g.fit_every_dim([(6, 2, 3, 0, 0, 1)], pool=True) == [("padding", [(1, 1)]), ("stride", [2]),
                                                                ("input", [8])]
    # the dilated max pool above: only a larger input
    assert g.fit_every_dim([(1, 4, 1, 2, 2, 2)], pool=True) == [("input", [3])]
    # the same layer as a conv is fine as it is
    assert g.fit_every_dim([(6, 1, 1, 1, 1, 1)]) == [("padding", [(1, 1)]), ("stride", [1]), ("kernel", [1]),
                                                     ("input", [6])]


def test_fit_every_dim_of_dilated_and_padded_convs():
    # kernel 2 dilation 2 (covers 3) on 5 rows, stride 2: (5 - 3)/2 + 1 = 2 already tiles
    assert g.fit_every_dim([(5, 2, 2, 0, 0, 2)]) == [("padding", [(0, 0)]), ("stride", [2]), ("kernel", [2]),
                                                     ("input", [5])]
    # kernel 3 dilation 3 (covers 7) on 1 row: padding 3 (more than the pool limit), kernel 1, input 7;
    # no stride helps a kernel larger than the input
    assert g.fit_every_dim([(1, 3, 1, 0, 0, 3)]) == [("padding", [(3, 3)]), ("kernel", [1]), ("input", [7])]
    # 1 row padded 5 + 5, kernel 3, stride 6: (1 + 10 - 3)/6 + 1 is not whole; paddings that tile
    # are 1, 4, 7, ... and a conv may pad at most 3: 1; stride 4; input 5 ((5 + 10 - 3)/6 + 1 = 3)
    # 2 rows padded 4 + 4, kernel 3, stride 5: padding 3 (= the effective kernel, a conv's limit),
    # stride 7 ((2 + 8 - 3)/7 + 1 = 2), input 5
    assert g.fit_every_dim([(2, 3, 5, 4, 4, 1)]) == [("padding", [(3, 3)]), ("stride", [7]), ("input", [5])]
    assert g.fit_every_dim([(1, 3, 6, 5, 5, 1)]) == [("padding", [(1, 1)]), ("stride", [4]), ("input", [5])]


# --- one record per dimension, errors as data ----------------------------------------------

def test_extent_holds_the_window_the_numerator_and_whether_it_tiles():
    # W = 7, F = 3, D = 2: the kernel covers 2*(3 - 1) + 1 = 5; 7 + 1 + 1 - 5 = 4 = 2*2, so out = 3
    e = g.extent(7, 3, 2, 1, 1, 2)
    assert (e.effective, e.numerator, e.tiles, e.remainder, e.out) == (5, 4, True, 0, 3)
    # W = 8, F = 3, S = 2: 8 - 3 = 5 = 2*2 + 1, one row left over
    e = g.extent(8, 3, 2, 0, 0)
    assert (e.effective, e.numerator, e.tiles, e.remainder, e.out) == (3, 5, False, 1, 3)
    assert not g.extent(2, 3, 1, 0, 0).tiles  # the kernel does not fit at all


def test_window_out_fills_the_record_it_computed_once():
    e = g.window_out(8, 3, 2, 0, 0, rounding="ceil")  # (8 - 3)/2 + 1 = 3.5, ceil to 4: one row read past the end
    assert (e.out, e.dropped, e.padded, e.effective) == (4, 0, 1, 3)
    e = g.window_out(8, 3, 2, 0, 0, rounding="floor")
    assert (e.out, e.dropped, e.padded) == (3, 1, 0)


def test_a_layer_error_carries_its_dimension_arithmetic_and_fixes_as_data():
    from sizecalc.layers.window import slide
    args = {"kernel": 3, "stride": 2, "padding": 0, "dilation": 1, "rounding": "exact"}
    with pytest.raises(LayerError) as caught:
        slide(args, [9, 8])  # H: (9 - 3)/2 + 1 = 4 tiles; W: (8 - 3)/2 + 1 = 3.5 does not
    err = caught.value
    assert (err.rule, err.dim, err.key) == ("non-integer-output", "W", "stride")
    assert err.arithmetic == "(8 - 3 + 2*0)/2 + 1 = 3.5"
    assert err.message == "W: (8 - 3 + 2*0)/2 + 1 = 3.5 is not a whole number (the windows do not tile the input)"
    # no symmetric padding fits (8 - 3 + 2P is odd for every P); stride 1 gives (8 - 3)/1 + 1 = 6
    assert err.fixes[0] == "stride 1 ((8 - 3 + 2*0)/1 + 1 = 6)"
    assert err.fix == "; or ".join(err.fixes) and len(err.fixes) == 3


def test_a_finding_makes_its_fix_text_from_its_options():
    from sizecalc.core.errors import Finding
    f = Finding("r", "m", fixes=("padding 1", "stride 1"))
    assert f.fix == "padding 1; or stride 1" and f.line() == "error: m; fix: padding 1; or stride 1 [r]"
    assert Finding("r", "m", fix="one way").fixes == ("one way",)
    assert Finding("r", "m").fix is None


def test_a_frozen_record_refuses_assignment():
    from sizecalc.core.receptive import ReceptiveField
    rf = ReceptiveField((1,), (1,), (0,))
    with pytest.raises(AttributeError):
        rf.size = (3,)
    assert rf.size == (1,) and hash(rf) == hash(ReceptiveField((1,), (1,), (0,)))


# torch 2.13's MaxPool1d(kernel, stride, padding, ceil_mode=True) on lengths 1..5 (AvgPool1d gives the
# same); None where torch refuses ("Invalid computed output size: 0"). A window may start on the input
# and read past its end: M5's last pool takes a length below its kernel of 4 to 1.
CEIL_POOLS = {(4, 4, 0): [1, 1, 1, 1, 2], (3, 2, 0): [None, 1, 1, 2, 2], (3, 2, 1): [1, 2, 2, 3, 3],
              (4, 2, 1): [1, 1, 2, 2, 3]}


def test_ceil_pools_shorter_than_their_kernel_as_torch():
    for (k, s, p), outs in CEIL_POOLS.items():
        for length, want in enumerate(outs, start=1):
            if want is None:
                with pytest.raises(LayerError):
                    g.window_out(length, k, s, p, p, rounding="ceil", pool=True)
            else:
                assert g.window_out(length, k, s, p, p, rounding="ceil", pool=True).out == want, (length, k, s, p)
