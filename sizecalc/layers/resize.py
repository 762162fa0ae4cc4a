"""Resize (nearest, linear, bilinear, bicubic, trilinear interpolation) and centre crop: the
layers of a segmentation head and of U-Net's skip connections. No params, no conv/fc MACs.

A resize goes by a scale (`resize: 2`, `resize: 1.5`, one per dimension), to a size
(`size: [520, 520]`) or to the spatial size of a layer above (`like: low`, `like: input`),
as torch's F.interpolate does. Its output by a scale is floor(W * scale) per dimension,
computed as torch computes it: the product of W and the scale's double, rounded to a double,
then floored (exact here: the double's value as a Fraction). `like:` reads only the other
layer's shape (spec/graph.py's `refs`): it is not an input, so memory keeps nothing alive
for it, and the torch module resizes to the size that layer has, a fixed size.

A crop keeps the centre: offset floor((W - T)/2) per dimension, as U-Net crops each skip
connection to the size of the up-convolution it joins; in torch a slice, a view of its input.

Receptive field: a resize is `upsample(u)` (core/receptive.py) composed with its
interpolation window on the finer grid where it raises the resolution by a whole factor u,
and otherwise the window of its taps on the input (a jump of in/out per unit, exact). A crop
starts its first unit `offset` pixels into its input: an effective padding of -offset.
"""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Sizing, TorchModule,
                   always, needs_volume, per_dim)
from ..core.receptive import Window, compose, exact, upsample
from ..core.units import dims_text, shape_text

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear")
RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}  # the spatial rank torch's mode takes
TAPS = {"nearest": 1, "linear": 2, "bilinear": 2, "bicubic": 4, "trilinear": 2}  # input units per dimension
ANY_RANK = {1: "linear", 2: "bilinear", 3: "trilinear"}  # the linear mode of each rank
DEFAULT_SCALE = 2  # `- upsample` (no value) doubles, as sizecalc's upsample always did


# --- resize ----------------------------------------------------------------------------------

def infer_resize(layer, ins) -> Sizing:
    c, spatial = needs_volume(ins[0], "resize")
    a = layer.args
    mode = _mode(a, len(spatial))
    given = [k for k in ("scale", "size", "like") if a.get(k) is not None]
    if len(given) > 1:
        raise LayerError("resize", f"resize takes one of scale, size and like, but got {' and '.join(given)}",
                         given[1], f"remove {given[1]} (or {given[0]})")
    if a.get("recompute_scale_factor") and given and given[0] != "scale":
        raise LayerError("resize", "recompute_scale_factor is meaningful only with a scale (torch refuses it "
                         f"with a {given[0]})", "recompute_scale_factor", "remove recompute_scale_factor")
    if given and given[0] != "scale":
        out = _target(layer, ins, given[0], len(spatial), "resize")
        ratios = [_ratio(w, o) for w, o in zip(spatial, out)]
        explain = [f"{dims_text(spatial)} -> {dims_text(out)}" + (f" (like {a['like']})" if a.get("like") else "")]
    else:
        written = scales(a, len(spatial))
        scale = [_exact(s) for s in written]
        out = [scaled(w, s) for w, s in zip(spatial, written)]
        for w, s, o in zip(spatial, written, out):
            if o < 1:
                raise LayerError("resize", f"floor({w} * {s}) = 0: torch refuses an empty output", "scale",
                                 fixes=("write scale: 1", f"write size: [{', '.join(['1'] * len(spatial))}]"))
        # torch maps output unit j to input j/scale, unless told to recompute the scale as in/out
        ratios = [_ratio(w, o) for w, o in zip(spatial, out)] if a.get("recompute_scale_factor") \
            else [_ratio(s.denominator, s.numerator) if type(s) is not int else _ratio(1, s) for s in scale]
        explain = [f"floor({dims_text(spatial)} * {dims_text(written)}) = {dims_text(out)}"]
    corners = bool(a.get("align_corners"))
    windows = [_window(mode, corners, w, o, r) for w, o, r in zip(spatial, out, ratios)]
    taps = TAPS[mode] ** len(spatial) if mode != "nearest" else 0
    return Sizing((c, *out), windows=windows, explain=explain, other_macs=c * prod(out) * taps)


def scales(a: dict, rank: int) -> list:
    """The scale per spatial dimension, as written (an int or a float each)."""
    scale = a["scale"] if a.get("scale") is not None else DEFAULT_SCALE
    return per_dim(scale, rank, "scale") if isinstance(scale, list) else [scale] * rank


def _mode(a: dict, rank: int) -> str:
    """The mode, checked against the rank as torch checks it, and align_corners against the mode."""
    mode = a["mode"]
    if mode in RANK and RANK[mode] != rank:
        raise LayerError("rank", f"mode {mode} interpolates {RANK[mode]}-D volumes, but the input is {rank}-D",
                         "mode", fixes=(f"write mode: {ANY_RANK[rank]}", "write mode: nearest"))
    if a.get("align_corners") is not None and mode == "nearest":
        raise LayerError("resize", "align_corners is for the linear and cubic modes: torch refuses it with "
                         "mode nearest", "align_corners", "remove align_corners (or write mode: "
                         f"{ANY_RANK[rank]})")
    return mode


def _target(layer, ins, how: str, rank: int, what: str) -> list[int]:
    """The spatial size a resize or crop goes to: its `size` (per dimension), or the spatial
    size of the layer `like` names (its shape follows the inputs' in `ins`)."""
    a = layer.args
    if how == "size":
        return per_dim(a["size"], rank, "size")
    name = a["like"]
    if len(ins) <= len(layer.inputs):
        raise LayerError("like", f"like: '{name}' names a layer of a spec, but this {what} stands alone",
                         "like", "give size: [...] instead")
    ref = ins[len(layer.inputs)]
    if len(ref) - 1 != rank:
        have = f"is a vector of {ref[0]:,}" if len(ref) == 1 else f"is {len(ref) - 1}-D ({shape_text(ref)})"
        example = dims_text(ins[0][1:]).replace("x", ", ")
        raise LayerError("like", f"like: '{name}' {have}, but this {what}'s input is {rank}-D "
                         f"({shape_text(ins[0])})", "like",
                         fixes=(f"name a layer of {rank} spatial dimension{'s' if rank > 1 else ''}",
                                f"write size: [{example}] instead of like"))
    return list(ref[1:])


def scaled(w: int, s) -> int:
    """floor(w * s) as torch computes it: w times the scale's double, rounded to a double
    (IEEE's correctly rounded product, here exact with Fractions), then floored."""
    if type(s) is int:
        return w * s
    from fractions import Fraction
    product = Fraction(w) * Fraction(float(s))
    return int(Fraction(float(product)) // 1)  # int / int division in Python rounds correctly: torch's double


def _exact(s):
    """A scale as written (2, 1.5) as an int or the exact Fraction of its decimal."""
    if type(s) is int:
        return s
    from fractions import Fraction
    return exact(Fraction(repr(s)))


def _ratio(w: int, o: int):
    from ..core.receptive import ratio
    return ratio(w, o)


def _window(mode: str, corners: bool, w: int, o: int, r) -> Window:
    """The window a resize's output unit reads on one input dimension (see the module docstring).
    `r` is the input pixels per output unit torch maps with (1/scale, or in/out): an int or a
    Fraction."""
    if corners:
        r = _ratio(w - 1, o - 1) if o > 1 else 1
    u = _ratio(r.denominator, r.numerator) if type(r) is not int else 1 if r == 1 else None
    if type(u) is int:  # raises the resolution by a whole factor u: upsample(u), then the taps on that grid
        if mode == "nearest":
            return upsample([u])[0]
        if corners:  # unit j reads floor(j/u) and the next (none when j/u is whole): u wide; cubic 3u
            then = Window(u, 1, 0) if mode != "bicubic" else Window(3 * u, 1, u)
        else:  # half-pixel centres (j + 1/2)/u - 1/2: its floor and the next, 2*floor(u/2) + 1 wide
            half = u // 2
            then = Window(2 * half + 1, 1, half) if mode != "bicubic" else Window(2 * half + 1 + 2 * u, 1, half + u)
        return compose(upsample([u]), [then])[0]
    if mode == "nearest":  # torch's nearest reads floor(j*r)
        return Window(1, r, 0)
    # unit j reads floor(src) - taps/2 + 1 .. floor(src) + taps/2, where src = j*r + (r - 1)/2
    # (half-pixel centres; floored exactly when r is whole) or j*r (align_corners)
    shift = 0 if corners else (r - 1) // 2 if type(r) is int else (r - 1) / 2
    return Window(TAPS[mode], r, exact(TAPS[mode] // 2 - 1 - shift))


def torch_resize(layer, ins, out):
    """nn.Upsample: by the scale as written (torch floors W * scale and maps with it), or to the
    output size (a `size:`, or the size a `like:` layer has: fixed, as the spec is sized once)."""
    a, mode = layer.args, layer.args["mode"]
    kwargs: dict = {}
    if a.get("size") is None and a.get("like") is None:
        scale = scales(a, len(ins[0]) - 1)
        kwargs["scale_factor"] = tuple(float(s) if type(s) is not int else s for s in scale)
    else:
        kwargs["size"] = tuple(out[1:])
    kwargs["mode"] = mode
    if a.get("align_corners") is not None:
        kwargs["align_corners"] = a["align_corners"]
    if a.get("recompute_scale_factor") is not None and "scale_factor" in kwargs:
        kwargs["recompute_scale_factor"] = a["recompute_scale_factor"]
    return TorchModule("Upsample", kwargs=kwargs)


# --- crop ------------------------------------------------------------------------------------

def infer_crop(layer, ins) -> Sizing:
    c, spatial = needs_volume(ins[0], "crop")
    a = layer.args
    if a.get("size") is not None and a.get("like") is not None:
        raise LayerError("crop", "crop takes a size or like, not both", "like", "remove like (or the size)")
    if a.get("size") is None and a.get("like") is None:
        raise LayerError("crop", "crop needs the size to keep: a size or like: <id>", None,
                         "write {crop: 64} (or crop: {like: up4})")
    target = _target(layer, ins, "size" if a.get("size") is not None else "like", len(spatial), "crop")
    short = [(i, w, t) for i, (w, t) in enumerate(zip(spatial, target)) if w < t]
    if short:
        raise _too_small(layer, spatial, target, short, c)
    offsets = crop_offsets(spatial, target)
    explain = [f"{dims_text(spatial)} -> {dims_text(target)}" + (f" (like {a['like']})" if a.get("like") else "")
               + f", offset floor(({dims_text(spatial)} - {dims_text(target)})/2) = {dims_text(offsets)}"]
    return Sizing((c, *target), windows=[Window(1, 1, -o) for o in offsets], explain=explain)


def crop_offsets(spatial, target) -> list[int]:
    """Where a centred crop starts per dimension: floor((W - T)/2)."""
    return [(w - t) // 2 for w, t in zip(spatial, target)]


def _too_small(layer, spatial, target, short, c) -> LayerError:
    """A crop larger than its source: the source (named by the engine), the target, and a size
    that fits."""
    a = layer.args
    what = f"crop to {dims_text(target)}" + (f" (like '{a['like']}')" if a.get("like") else "")
    dims = ", ".join(f"{w} < {t}" for _, w, t in short)
    fitting = [min(w, t) for w, t in zip(spatial, target)]
    listed = ", ".join(map(str, fitting))
    return LayerError("crop", f"{what}, but its input is smaller ({dims})", "like" if a.get("like") else "size",
                      fixes=(f"write crop: [{listed}] (at most the input's {dims_text(spatial)})",
                             "crop a larger layer (from: an earlier one), or give the network a larger input"),
                      inputs=(shape_text((c, *spatial)),))


def torch_crop(layer, ins, out):
    """A slice of each spatial dimension: sizecalc.torch.modules.Crop (a view)."""
    spatial = list(ins[0][1:])
    target = list(out[1:])
    return TorchModule("Crop", (tuple(crop_offsets(spatial, target)), tuple(target)))


# interpolation keeps nothing for backward (its gradient needs only the sizes and scales), a
# slice neither; a crop's output is a view of its input
RESIZE = LayerKind(
    "resize", "resize", infer_resize, main="scale", aliases=("upsample", "interpolate", "UpsamplingNearest2d"),
    doc="resize by interpolation (nearest, linear, bilinear, bicubic, trilinear): by a scale, to a size, "
        "or like another layer",
    fields=(ArgField("scale", "scale", None, aliases=("scale_factor",),
                     doc="output floor(W * scale) per dimension (a whole number or a decimal, or one per "
                         "dimension); 2 when neither size nor like is given"),
            ArgField("size", "dims", None, minimum=1, doc="the output's spatial size"),
            ArgField("like", "id", None, doc="the spatial size of a layer above (`input`: the network's input)"),
            ArgField("mode", "choice", "nearest", choices=MODES,
                     doc="nearest (copies), linear (1-D), bilinear or bicubic (2-D), trilinear (3-D)"),
            ArgField("align_corners", "bool", None,
                     doc="linear and cubic modes: map the corner pixels onto each other (torch's default false)"),
            ArgField("recompute_scale_factor", "bool", None,
                     doc="with a scale: interpolate with in/out rather than 1/scale (torch's flag)")),
    torch=torch_resize, saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
CROP = LayerKind(
    "crop", "resize", infer_crop, main="size", aliases=("center_crop", "centre_crop"),
    doc="centre crop to a size or like another layer: offset floor((W - T)/2) (U-Net's skip connections)",
    fields=(ArgField("size", "dims", None, minimum=1, doc="the spatial size to keep (one number or one per "
                     "dimension)"),
            ArgField("like", "id", None, doc="keep the spatial size of a layer above (`input`: the network's input)")),
    torch=torch_crop, saved=SAVES_NOTHING, alias=always, workspace=NO_WORKSPACE)
