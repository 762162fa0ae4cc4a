"""Convolution, 1-D/2-D/3-D: the lecture's CONV layer with shared weights.

Output depth is the number of filters K; each filter has F*F*(C/groups) weights and one
bias, so params = (F*F*C/groups + 1)*K; MACs = output elements * F*F*C/groups. The weights
are one tensor of K x C/groups x F x F (torch's order, the lecture's 6x3x5x5), and the
explanation sizes the convolution as a matrix multiply (im2col, as the lecture's notes do):
every window of the input stretched into a column of X_col (F*F*C rows, one column per
output position), the filters into the rows of W_row (K x F*F*C), and W_row X_col (K x the
output positions) reshaped into the output volume; per group when the conv is grouped.
`groups` splits channels into independent stacks (AlexNet's two GPUs); `depthwise: true`
sets groups = C (MobileNet), with K = C * multiplier unless `filters` is given.
"""

from __future__ import annotations

from math import prod

from ..core.units import dims_text, shape_text
from .base import (SAVES_INPUT, NO_ALIAS, ArgField, LayerError, LayerKind, Saved, Sizing, TorchModule, channels_field,
                   check_channels, needs_volume)
from .window import KERNEL, WINDOW_FIELDS, pad_order, slide


def infer_conv(layer, ins) -> Sizing:
    c_in, spatial = needs_volume(ins[0], "conv")
    check_channels(layer, "in_channels", ins[0])
    a = layer.args
    groups = c_in if a["depthwise"] else a["groups"]
    filters = a["filters"]
    if filters is None:
        if not a["depthwise"]:
            raise LayerError("missing-value", "conv needs a number of filters", None,
                             "write {conv: 64} (64 filters)")
        filters = c_in * a["multiplier"]
    if c_in % groups:
        raise LayerError("groups", f"groups {groups} does not divide the {c_in} input channels",
                         "groups", f"use a divisor of {c_in} as groups")
    if filters % groups:
        raise LayerError("groups", f"groups {groups} does not divide the {filters} filters",
                         "filters", f"use a multiple of {groups} filters")
    s = slide(a, spatial)
    per_filter = prod(s.kernel) * (c_in // groups)
    weights = per_filter * filters
    biases = filters if a["bias"] else 0
    out = (filters, *s.out)
    taps = "*".join(str(k) for k in s.kernel)
    chans = f"{c_in}" if groups == 1 else f"({c_in}/{groups})"
    plus = " + 1" if a["bias"] else ""
    explain = s.explain + [f"params ({taps}*{chans}{plus})*{filters} = {weights + biases:,}",
                           *matrix_lines(c_in, groups, filters, s.kernel, s.out)]
    return Sizing(out, weights, biases, 0, prod(out) * per_filter, s.windows(), explain, s.notes,
                  other_macs=prod(out) if a["bias"] else 0)


def matrix_lines(c_in: int, groups: int, filters: int, kernel: list[int], out: list[int]) -> list[str]:
    """The weight tensor, and the convolution as a matrix multiply (im2col): the lecture's
    AlexNet conv1 is X_col 363 x 3,025 (11*11*3 x 55*55), W_row 96 x 363, result 96 x 3,025."""
    per_group, k = c_in // groups, filters // groups
    rows, cols = prod(kernel) * per_group, prod(out)
    tensor = dims_text((filters, per_group, *kernel))
    what = "filters x channels" + (" per group" if groups > 1 else "") + " x kernel"
    stretched = f"{'*'.join(map(str, kernel))}*{per_group} x {'*'.join(map(str, out))}"
    product = (f"X_col {rows:,} x {cols:,} ({stretched}), W_row {k:,} x {rows:,}, "
               f"W_row X_col {k:,} x {cols:,}")
    reshaped = shape_text((filters, *out))
    if groups == 1:
        return [f"weights {tensor} ({what}) = {filters * rows:,}",
                f"im2col: {product} -> {reshaped}"]
    return [f"weights {tensor} ({what}) = {filters * rows:,}",
            f"im2col per group ({groups:,} groups of {_count(per_group, 'input channel')} and "
            f"{_count(k, 'filter')}): {product}; {groups:,} results stacked -> {reshaped}"]


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def torch_conv(layer, ins, out):
    """nn.Conv1d/2d/3d; uneven padding (or ceil rounding's extra rows) as an nn.ZeroPad in front."""
    c_in, spatial = needs_volume(ins[0], "conv")
    a = layer.args
    n = len(spatial)
    s = slide(a, spatial)

    def conv(padding):
        return TorchModule(f"Conv{n}d", (c_in, out[0]), {
            "kernel_size": tuple(s.kernel), "stride": tuple(s.stride), "padding": padding,
            "dilation": tuple(s.dilation), "groups": c_in if a["depthwise"] else a["groups"], "bias": a["bias"]})
    if a["padding"] == "same":  # torch's own 'same' puts the odd extra row at the end, as sizecalc does
        return conv("same")
    pads = s.floor_pads()
    if all(lo == hi for lo, hi in pads):
        return conv(tuple(lo for lo, _ in pads))
    return TorchModule("Sequential", (TorchModule(f"ZeroPad{n}d", (pad_order(pads),)), conv(0)))


def padded_copy(layer, ins) -> int:
    """Elements per sample of the zero-padded copy of the input that torch makes before the
    convolution, 0 when it pads inside the convolution. Uneven padding (or ceil rounding's
    extra rows) is an nn.ZeroPad in front (torch_conv); torch's own padding='same' pads a
    copy by one row at the end of each dimension whose total padding d*(F-1) is odd."""
    c_in, spatial = needs_volume(ins[0], "conv")
    s = slide(layer.args, spatial)
    if layer.args["padding"] == "same":
        grown = [e.size + (e.effective - 1) % 2 for e in s.extents]
        return c_in * prod(grown) if grown != spatial else 0
    pads = s.floor_pads()
    return 0 if all(lo == hi for lo, hi in pads) else c_in * prod(w + lo + hi for w, (lo, hi) in zip(spatial, pads))


def saved_conv(layer, ins, out):
    """The convolution keeps its input (for the weights' gradient): the padded copy where
    torch makes one (the pad itself keeps nothing)."""
    copy = padded_copy(layer, ins)
    return (Saved("own", elems=copy),) if copy else SAVES_INPUT


def workspace_conv(layer, ins, out):
    """The padded copy, alive while the convolution runs."""
    copy = padded_copy(layer, ins)
    return (Saved("own", elems=copy),) if copy else ()


CONV = LayerKind(
    "conv", "conv", infer_conv, main="filters",
    aliases=("conv1d", "conv2d", "conv3d", "convolution"),
    doc="convolution (CONV): K filters of F x F (x F) over all input channels",
    fields=(
        ArgField("filters", "int", None, aliases=("out_channels", "k_filters", "num_filters"), minimum=1,
              doc="number of filters K = output depth"),
        channels_field("in_channels", "input depth C"),
        KERNEL,
        *WINDOW_FIELDS,
        ArgField("groups", "int", 1, minimum=1, doc="channel groups (2 = AlexNet's two GPUs)"),
        ArgField("depthwise", "bool", False, doc="one filter per input channel (groups = C)"),
        ArgField("multiplier", "int", 1, minimum=1, doc="filters per channel when depthwise"),
        ArgField("bias", "bool", True, doc="one bias per filter"),
    ),
    torch=torch_conv, saved=saved_conv, alias=NO_ALIAS, workspace=workspace_conv,
)
