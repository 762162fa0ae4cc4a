"""The rest of the layer contract of conv and the pools, checked exactly: the TorchModule each
builder describes (no torch needed: it is data), and what `saved` / `workspace` return.

The expected modules are written out by hand from PyTorch's documented signatures:
Conv2d(in, out, kernel_size, stride, padding, dilation, groups, bias), MaxPool2d(kernel_size,
stride, padding, dilation, ceil_mode), AvgPool2d(kernel_size, stride, padding, ceil_mode,
count_include_pad), ZeroPad2d((left, right, top, bottom)) -- F.pad's order, the last dimension
first, low then high. Torch pools and convolutions pad evenly only: uneven padding (or ceil
rounding's rows past the end) becomes an explicit pad in front, which keeps a padded copy.
"""

from __future__ import annotations

import pytest

from sizecalc.core.errors import LayerError
from sizecalc.layers import conv, pool
from sizecalc.layers.base import REGISTRY, Layer, Saved, TorchModule

INPUT = (Saved("input"),)


def layer(kind: str, **args) -> Layer:
    values = {f.name: f.default for f in REGISTRY[kind].fields}
    values.update(args)
    return Layer("x", REGISTRY[kind], values, [-1])


def conv2d(c_in, c_out, kernel, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=True, n=2):
    return TorchModule(f"Conv{n}d", (c_in, c_out), {"kernel_size": kernel, "stride": stride, "padding": padding,
                                                    "dilation": dilation, "groups": groups, "bias": bias})


def contract(kind: str, ins, **args):
    """(torch module, saved, workspace) of one layer, its output from its own infer."""
    lay = layer(kind, **args)
    k = REGISTRY[kind]
    out = k.infer(lay, ins).output
    return out, k.torch(lay, ins, out), k.saved(lay, ins, out), k.workspace(lay, ins, out)


def kwargs_in_order(module: TorchModule) -> list:
    return list(module.kwargs.items())


# --- conv --------------------------------------------------------------------------------

def test_conv_with_even_padding_is_one_conv():
    # 3x8x8, 16 filters 3x3, stride 2, padding 1: (8 - 3 + 2)/2 + 1 = 4.5 -> floor 4
    out, module, saved, work = contract("conv", [(3, 8, 8)], filters=16, kernel=3, stride=2, padding=1,
                                        rounding="floor")
    assert out == (16, 4, 4)
    assert module == conv2d(3, 16, (3, 3), stride=(2, 2), padding=(1, 1))
    assert [k for k, _ in kwargs_in_order(module)] == ["kernel_size", "stride", "padding", "dilation", "groups",
                                                       "bias"]
    assert (saved, work) == (INPUT, ())  # keeps its input, pads inside the convolution


def test_conv_per_dimension_arguments_1d_and_3d():
    # Conv1d: 4 channels, 10 long, kernel 3 dilation 2 (covers 5), pad 2: 10 + 4 - 5 + 1 = 10
    _, module, _, _ = contract("conv", [(4, 10)], filters=6, kernel=3, dilation=2, padding=2, bias=False)
    assert module == conv2d(4, 6, (3,), stride=(1,), padding=(2,), dilation=(2,), bias=False, n=1)
    # Conv3d with a kernel per dimension: 2x4x6x8 -> (4-1+1, 6-3+1, 8-5+1) = 4x4x4
    out, module, _, _ = contract("conv", [(2, 4, 6, 8)], filters=2, kernel=[1, 3, 5], stride=[1, 1, 2],
                                 rounding="floor")
    assert out == (2, 4, 4, 2)  # W: (8 - 5)/2 + 1 = 2.5 -> 2
    assert module == conv2d(2, 2, (1, 3, 5), stride=(1, 1, 2), padding=(0, 0, 0), dilation=(1, 1, 1), n=3)


def test_grouped_and_depthwise_conv_state_their_groups():
    _, module, _, _ = contract("conv", [(8, 6, 6)], filters=16, kernel=3, padding=1, groups=2)
    assert module == conv2d(8, 16, (3, 3), padding=(1, 1), groups=2)
    # depthwise: groups = C = 4, filters 4 * 2; the `groups` field (1) is not what counts
    _, module, _, _ = contract("conv", [(4, 5, 5)], filters=None, kernel=3, depthwise=True, multiplier=2)
    assert module == conv2d(4, 8, (3, 3), groups=4)


def test_conv_same_padding_uses_torchs_own():
    # kernel 3, 'same': 2 rows of padding, one each side: torch pads inside, no copy
    _, module, saved, work = contract("conv", [(2, 5, 5)], filters=3, kernel=3, padding="same")
    assert module == conv2d(2, 3, (3, 3), padding="same")
    assert (saved, work) == (INPUT, ())
    # kernel 3, dilation 2: covers 5, 4 rows of padding, still even: no copy
    _, _, saved, work = contract("conv", [(2, 5, 5)], filters=3, kernel=3, dilation=2, padding="same")
    assert (saved, work) == (INPUT, ())


def test_conv_same_padding_with_an_even_kernel_pads_a_copy():
    # kernel 4, 'same': 3 rows of padding per dimension, odd: torch pads a copy one row larger
    # at the end of each dimension (2 x 6 x 6 = 72 elements) and keeps it for backward
    _, module, saved, work = contract("conv", [(2, 5, 5)], filters=3, kernel=4, padding="same")
    assert module == conv2d(2, 3, (4, 4), padding="same")
    assert saved == work == (Saved("own", elems=72),)
    # kernel [3, 4]: only W's padding (3) is odd: a copy of 2 x 5 x 6 = 60
    _, _, saved, work = contract("conv", [(2, 5, 5)], filters=3, kernel=[3, 4], padding="same")
    assert saved == work == (Saved("own", elems=60),)
    # kernel 2, dilation 3: covers 4, 3 rows of padding, odd again: 2 x 6 x 6
    _, _, saved, _ = contract("conv", [(2, 5, 5)], filters=3, kernel=2, dilation=3, padding="same")
    assert saved == (Saved("own", elems=72),)


def test_conv_with_uneven_padding_pads_in_front():
    # padding H (0, 1), W (1, 2) on 3x4x5, kernel 2: H 4 + 1 - 2 + 1 = 4, W 5 + 3 - 2 + 1 = 7;
    # ZeroPad2d takes (left, right, top, bottom) = (W lo, W hi, H lo, H hi) = (1, 2, 0, 1)
    out, module, saved, work = contract("conv", [(3, 4, 5)], filters=8, kernel=2, padding=[[0, 1], [1, 2]])
    assert out == (8, 4, 7)
    assert module == TorchModule("Sequential", (TorchModule("ZeroPad2d", ((1, 2, 0, 1),)),
                                                conv2d(3, 8, (2, 2), padding=0)))
    # the padded copy, 3 x (4 + 0 + 1) x (5 + 1 + 2) = 3 x 5 x 8 = 120 elements, is what the
    # convolution keeps, and is alive while it runs
    assert saved == work == (Saved("own", elems=120),)


def test_conv_ceil_rounding_pads_the_rows_it_reads_past_the_end():
    # 1-D, 8 long, kernel 3, stride 2, ceil: windows at 0, 2, 4, 6; the last reads row 8, one
    # past the end: ZeroPad1d((0, 1)) then an unpadded Conv1d; the copy is 2 x 9 = 18
    out, module, saved, work = contract("conv", [(2, 8)], filters=1, kernel=3, stride=2, rounding="ceil")
    assert out == (1, 4)
    assert module == TorchModule("Sequential", (TorchModule("ZeroPad1d", ((0, 1),)),
                                                conv2d(2, 1, (3,), stride=(2,), padding=0, dilation=(1,), n=1)))
    assert saved == work == (Saved("own", elems=18),)


def test_conv_3d_uneven_padding_order():
    # D (1, 0), H (0, 0), W (0, 2) on 1x2x3x4, kernel 1: F.pad order W, H, D: (0, 2, 0, 0, 1, 0);
    # copy 1 x 3 x 3 x 6 = 54
    out, module, saved, _ = contract("conv", [(1, 2, 3, 4)], filters=1, kernel=1, padding=[[1, 0], 0, [0, 2]])
    assert out == (1, 3, 3, 6)
    assert module.cls == "Sequential"
    assert module.args[0] == TorchModule("ZeroPad3d", ((0, 2, 0, 0, 1, 0),))
    assert module.args[1].kwargs["padding"] == 0
    assert saved == (Saved("own", elems=54),)


# --- windowed pools ----------------------------------------------------------------------

def maxpool2d(kernel, stride, padding, dilation=(1, 1), ceil_mode=None):
    kw = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    return TorchModule("MaxPool2d", kwargs=kw if ceil_mode is None else {**kw, "ceil_mode": ceil_mode})


def avgpool2d(kernel, stride, padding, include=True, ceil_mode=None):
    kw = {"kernel_size": kernel, "stride": stride, "padding": padding, "count_include_pad": include}
    return TorchModule("AvgPool2d", kwargs=kw if ceil_mode is None else {**kw, "ceil_mode": ceil_mode})


def indices(n):
    return Saved("own", elems=n, nbytes=8)  # int64


def test_max_pool_with_even_padding_is_one_pool():
    # 2x7x7, kernel 3, stride 2, padding 1: (7 - 3 + 2)/2 + 1 = 4; 2 x 4 x 4 = 32 indices
    out, module, saved, work = contract("maxpool", [(2, 7, 7)], kernel=3, stride=2, padding=1)
    assert out == (2, 4, 4)
    assert module == maxpool2d((3, 3), (2, 2), (1, 1), ceil_mode=False)
    assert [k for k, _ in kwargs_in_order(module)] == ["kernel_size", "stride", "padding", "dilation", "ceil_mode"]
    assert saved == (Saved("input"), indices(32))
    assert work == (indices(32),)  # CPU max pooling makes its indices even without autograd


def test_max_pool_ceil_mode_and_dilation():
    # 1x7x7, kernel 3 (stride 3), ceil: windows at 0, 3, 6: 3 outputs; torch's ceil_mode, no copy
    out, module, saved, work = contract("maxpool", [(1, 7, 7)], kernel=3, rounding="ceil")
    assert out == (1, 3, 3)
    assert module == maxpool2d((3, 3), (3, 3), (0, 0), ceil_mode=True)
    assert (saved, work) == ((Saved("input"), indices(9)), (indices(9),))
    # 1-D, dilation 2: 3 taps cover 5: (9 - 5)/1 + 1 = 5
    _, module, _, _ = contract("maxpool", [(1, 9)], kernel=3, stride=1, dilation=2)
    assert module == TorchModule("MaxPool1d", kwargs={"kernel_size": (3,), "stride": (1,), "padding": (0,),
                                                      "dilation": (2,), "ceil_mode": False})


def test_average_pool_with_even_padding():
    # 3x6x6, kernel 2 (stride 2), padding 1 each side: (6 + 2 - 2)/2 + 1 = 4
    out, module, saved, work = contract("avgpool", [(3, 6, 6)], kernel=2, padding=1, count_include_pad=False)
    assert out == (3, 4, 4)
    assert module == avgpool2d((2, 2), (2, 2), (1, 1), include=False, ceil_mode=False)
    assert [k for k, _ in kwargs_in_order(module)] == ["kernel_size", "stride", "padding", "count_include_pad",
                                                       "ceil_mode"]
    assert (saved, work) == (INPUT, ())  # torch divides inside the pool: no divisor tensor
    _, module, _, _ = contract("avgpool", [(3, 6, 6)], kernel=2, rounding="ceil", stride=[2, 1])
    assert module == avgpool2d((2, 2), (2, 1), (0, 0), ceil_mode=True)


def test_max_pool_with_uneven_padding_pads_first():
    # 2x6x6, kernel 3, stride 1, padding H (0, 1), W (1, 0): 6 + 1 - 3 + 1 = 5 each way;
    # pads in F.pad order (W lo, W hi, H lo, H hi) = (1, 0, 0, 1); the copy 2 x 7 x 7 = 98
    out, module, saved, work = contract("maxpool", [(2, 6, 6)], kernel=3, stride=1, padding=[[0, 1], [1, 0]])
    assert out == (2, 5, 5)
    inner = maxpool2d((3, 3), (1, 1), 0)  # no ceil_mode: the explicit pad makes floor exact
    assert module == TorchModule("PaddedPool", (inner, (1, 0, 0, 1)), {"count_include_pad": True})
    # keeps the padded copy it pooled and 2 x 5 x 5 = 50 indices; both alive while it runs
    assert saved == (Saved("own", elems=98), indices(50))
    assert work == (indices(50), Saved("own", elems=98))


def test_pool_ceil_rows_past_the_end_join_the_explicit_padding():
    # 1x7x6, kernel 3 (stride 3), padding H (1, 0), ceil: H padded to 8: windows at 0, 3, 6, the
    # last reads row 8, one past: H pads (1, 0 + 1); W 6 tiles exactly: (0, 0). F.pad order
    # (0, 0, 1, 1); copy 1 x 9 x 6 = 54; 1 x 3 x 2 = 6 indices
    out, module, saved, work = contract("maxpool", [(1, 7, 6)], kernel=3, padding=[[1, 0], 0], rounding="ceil")
    assert out == (1, 3, 2)
    assert module == TorchModule("PaddedPool", (maxpool2d((3, 3), (3, 3), 0), (0, 0, 1, 1)),
                                 {"count_include_pad": True})
    assert saved == (Saved("own", elems=54), indices(6))
    assert work == (indices(6), Saved("own", elems=54))


def test_average_pool_with_uneven_padding_and_its_divisor():
    # 2x5x5, kernel 2, stride 1, padding H (1, 0), W (0, 1): 5 + 1 - 2 + 1 = 5 each way;
    # F.pad order (0, 1, 1, 0); copy 2 x 6 x 6 = 72
    args = {"kernel": 2, "stride": 1, "padding": [[1, 0], [0, 1]]}
    out, module, saved, work = contract("avgpool", [(2, 5, 5)], **args)
    assert out == (2, 5, 5)
    inner = TorchModule("AvgPool2d", kwargs={"kernel_size": (2, 2), "stride": (1, 1), "padding": 0,
                                             "count_include_pad": True})
    assert module == TorchModule("PaddedPool", (inner, (0, 1, 1, 0)), {"count_include_pad": True})
    assert saved == work == (Saved("own", elems=72),)
    # without count_include_pad: also the divisor, one 1 x 1 x 5 x 5 count for the whole batch
    out, module, saved, work = contract("avgpool", [(2, 5, 5)], count_include_pad=False, **args)
    inner = TorchModule("AvgPool2d", kwargs={**inner.kwargs, "count_include_pad": False})
    assert module == TorchModule("PaddedPool", (inner, (0, 1, 1, 0)), {"count_include_pad": False})
    divisor = Saved("own", elems=25, per_sample=False)
    assert saved == work == (Saved("own", elems=72), divisor)


def test_pool_padded_copy_directly():
    # even padding: torch pads inside the pool, no copy; uneven: C x padded H x padded W
    assert pool.padded_copy(layer("maxpool", kernel=3, stride=1, padding=1), [(4, 6, 6)]) == 0
    assert pool.padded_copy(layer("avgpool", kernel=3, stride=1, padding=[[1, 0], [0, 1]]), [(4, 6, 5)]) == 4 * 7 * 6
    assert conv.padded_copy(layer("conv", filters=1, kernel=3, padding=1), [(4, 6, 6)]) == 0
    assert conv.padded_copy(layer("conv", filters=1, kernel=3, padding=[[1, 0], [0, 2]]), [(4, 6, 5)]) == 4 * 7 * 7


# --- global and adaptive pools -----------------------------------------------------------

def test_global_pools():
    # a global pool is AdaptiveAvgPool/AdaptiveMaxPool to 1; mean() keeps nothing; the max
    # keeps its input and one int64 index per channel
    out, module, saved, work = contract("global_avgpool", [(3, 4, 4)])
    assert out == (3, 1, 1)
    assert (module, saved, work) == (TorchModule("AdaptiveAvgPool2d", (1,)), (), ())
    out, module, saved, work = contract("global_maxpool", [(3, 4, 4, 4)])
    assert out == (3, 1, 1, 1)
    assert module == TorchModule("AdaptiveMaxPool3d", (1,))
    assert (saved, work) == ((Saved("input"), indices(3)), (indices(3),))
    _, module, _, _ = contract("global_maxpool", [(3, 9)])
    assert module == TorchModule("AdaptiveMaxPool1d", (1,))


def test_adaptive_pools():
    out, module, saved, work = contract("adaptive_avgpool", [(2, 10, 6)], output=[4, 3])
    assert out == (2, 4, 3)
    assert (module, saved, work) == (TorchModule("AdaptiveAvgPool2d", ((4, 3),)), INPUT, ())
    # to 1 x 1 it is a mean(): nothing kept
    _, module, saved, _ = contract("adaptive_avgpool", [(2, 10, 6)], output=1)
    assert (module, saved) == (TorchModule("AdaptiveAvgPool2d", ((1, 1),)), ())
    _, _, saved, _ = contract("adaptive_avgpool", [(2, 10, 6)], output=[1, 2])
    assert saved == INPUT
    # max: its input and 2 x 5 = 10 int64 indices
    out, module, saved, work = contract("adaptive_maxpool", [(2, 10)], output=5)
    assert out == (2, 5)
    assert module == TorchModule("AdaptiveMaxPool1d", ((5,),))
    assert (saved, work) == ((Saved("input"), indices(10)), (indices(10),))


def test_the_builders_refuse_a_vector_by_the_layers_name():
    # infer refuses a vector first, but the contract functions are entry points of their own
    # (REGISTRY[kind].torch / .saved / .workspace): each names its layer too
    vector = [(48,)]
    lays = {"conv": layer("conv", filters=1, kernel=2), "maxpool": layer("maxpool", kernel=2),
            "avgpool": layer("avgpool", kernel=2)}
    cases = ((conv.torch_conv, "conv", "conv"), (conv.saved_conv, "conv", "conv"),
             (pool.torch_maxpool, "maxpool", "pool"), (pool.torch_avgpool, "avgpool", "pool"),
             (pool.saved_avgpool, "avgpool", "pool"))
    for fn, kind, what in cases:
        with pytest.raises(LayerError) as err:
            fn(lays[kind], vector, None)
        assert err.value.message == f"{what} needs a volume with spatial dimensions, but its input is a vector of 48"
