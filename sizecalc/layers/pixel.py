"""Pixel shuffle (sub-pixel convolution's rearrangement, ESPCN; depth-to-space) and its
inverse, pixel unshuffle (space-to-depth). No params, no MACs: the values move.

    pixel_shuffle: r     C*r^2 x H x W  ->  C x rH x rW     (the channels must divide by r^2)
    pixel_unshuffle: r   C x H x W      ->  C*r^2 x H/r x W/r (H and W must divide by r)

torch has both for images only (nn.PixelShuffle, nn.PixelUnshuffle take N x C x H x W).
Output unit (c, y, x) of a shuffle copies input unit (c*r^2 + (y mod r)*r + x mod r, y div r,
x div r): over one spatial position, one input pixel, and neighbouring positions 1/r pixel
apart, exactly nearest upsampling's receptive field (kernel 1, stride 1/r). Unshuffle's output
position (y, x) holds, across its channels, the r x r block starting at (ry, rx): the window
of an r x r pool, kernel r, stride r. Both return a new tensor (torch copies into the new
layout) and keep nothing for backward: the gradient is the inverse rearrangement.
"""

from __future__ import annotations

from ..core.units import shape_text
from .base import NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Sizing, TorchModule, Window
from .base import upsample


def _image(shape: tuple[int, ...], what: str) -> None:
    """torch's pixel (un)shuffle takes images only: C x H x W."""
    if len(shape) != 3:
        raise LayerError("rank", f"{what} rearranges an image (C x H x W), but its input is {shape_text(shape)}, "
                         f"{len(shape) - 1}-D (torch's nn.{''.join(w.title() for w in what.split('_'))} takes "
                         "N x C x H x W only)", None,
                         fix="place it where the volume is C x H x W (before a flatten, in an image network)")


def infer_shuffle(layer, ins) -> Sizing:
    _image(ins[0], "pixel_shuffle")
    c, h, w = ins[0]
    r = layer.args["factor"]
    if c % (r * r):
        down, up = c // (r * r) * r * r, (c // (r * r) + 1) * r * r
        raise LayerError("pixel-shuffle-channels", f"{c} channels do not divide by {r}^2 = {r * r} "
                         f"({c} = {c // (r * r)}*{r * r} + {c % (r * r)})", "factor",
                         fixes=((f"give the layer before it {down} or {up} channels" if down
                                 else f"give the layer before it {up} channels"),
                                *[f"write pixel_shuffle: {d}" for d in _divisor_roots(c) if d != r][:1]))
    out = (c // (r * r), h * r, w * r)
    return Sizing(out, windows=upsample([r, r]),
                  explain=[f"channels {c}/{r}^2 = {out[0]}; {h}x{w} * {r} = {out[1]}x{out[2]}"])


def _divisor_roots(c: int) -> list[int]:
    """The factors r > 1 whose square divides c, largest first (a shuffle that works)."""
    return [r for r in range(int(c ** 0.5), 1, -1) if c % (r * r) == 0]


def infer_unshuffle(layer, ins) -> Sizing:
    _image(ins[0], "pixel_unshuffle")
    c, h, w = ins[0]
    r = layer.args["factor"]
    bad = [(name, v) for name, v in (("H", h), ("W", w)) if v % r]
    if bad:
        name, v = bad[0]
        common = [d for d in range(min(h, w), 1, -1) if h % d == 0 and w % d == 0 and d != r]
        raise LayerError("pixel-unshuffle-size", f"{name} {v} does not divide by {r} ({v} = {v // r}*{r} + {v % r})",
                         "factor", fixes=(
                             *((f"write pixel_unshuffle: {common[-1]}",) if common else ()),
                             f"an input of {(h + r - 1) // r * r}x{(w + r - 1) // r * r} to this layer"))
    out = (c * r * r, h // r, w // r)
    return Sizing(out, windows=[Window(r, r, 0), Window(r, r, 0)],
                  explain=[f"channels {c}*{r}^2 = {out[0]}; {h}x{w} / {r} = {out[1]}x{out[2]}"])


def torch_shuffle(layer, ins, out):
    return TorchModule("PixelShuffle", (layer.args["factor"],))


def torch_unshuffle(layer, ins, out):
    return TorchModule("PixelUnshuffle", (layer.args["factor"],))


FACTOR = ArgField("factor", "int", aliases=("upscale_factor", "downscale_factor", "r", "block_size"), minimum=1,
                  doc="r: each r x r block of pixels is r^2 channels of one pixel")
PIXEL_SHUFFLE = LayerKind("pixel_shuffle", "channel", infer_shuffle, main="factor",
                          aliases=("pixelshuffle", "depth_to_space", "depthtospace", "subpixel"),
                          doc="C*r^2 x H x W -> C x rH x rW (sub-pixel convolution, ESPCN)", fields=(FACTOR,),
                          torch=torch_shuffle, saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
PIXEL_UNSHUFFLE = LayerKind("pixel_unshuffle", "channel", infer_unshuffle, main="factor",
                            aliases=("pixelunshuffle", "space_to_depth", "spacetodepth"),
                            doc="C x H x W -> C*r^2 x H/r x W/r (space-to-depth)", fields=(FACTOR,),
                            torch=torch_unshuffle, saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
