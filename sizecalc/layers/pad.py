"""Padding as a layer of its own: constant (zeros by default), reflect, replicate, circular.

Spelling (the same `padding` values a conv takes, first spatial dimension first):
    {pad: 1}                      every side of every dimension: H x W grows by 2 x 2
    {pad: [1, 2]}                 per dimension, both sides: H by 1 + 1, W by 2 + 2
    {pad: [[0, 1], [2, 3]]}       per side, [[top, bottom], [left, right]] (1-D: [[left, right]];
                                  3-D: [[front, back], [top, bottom], [left, right]])
torch's F.pad and nn.ZeroPad2d take the sides the other way round, last dimension first:
(left, right, top, bottom); the torch builder writes them so (`pad_order`).

Output per dimension: W + lo + hi. No params, no MACs. torch's limits are errors with the
arithmetic: reflect mirrors the input without repeating its edge, so each side needs
padding < W; circular wraps around once at most, padding <= W; replicate and constant have
none. torch has every mode in 1-D, 2-D and 3-D (nn.ReflectionPad3d, nn.CircularPad1d/2d/3d).

Receptive field (Araujo, Norris & Sim, Distill 2019): a pad is a window of kernel 1, stride 1
and padding `lo`: the field keeps its size and jump, and starts `lo` pixels further before the
image (effective padding p0 + lo*j). The definition places a field on the input grid extended
by padding, and does not ask what the padding holds. With zeros, the pixels of a field that lie
in the padding change nothing, and those in the image are exactly what the gradient sees. With
reflect, replicate or circular, a padded position copies an image pixel: an output unit whose
field overhangs the edge also depends on the pixels mirrored (reflect: -x -> x), repeated
(replicate: the edge pixel) or wrapped (circular: -x -> W - x) into it. sizecalc reports the
geometric field, as the definition has it; the set of pixels that really change the unit is
that field folded back into the image, no wider than the field (tests/test_pad_pixel_norm.py
compares both with torch's gradients).
"""

from __future__ import annotations

from ..core.units import dims_text
from .base import (NO_ALIAS, NO_WORKSPACE, ArgField, LayerError, LayerKind, Saved, Sizing,
                   TorchModule, Window, needs_volume)
from .window import pad_order

MODES = ("constant", "reflect", "replicate", "circular")
TORCH_CLASS = {"constant": "ConstantPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad",
               "circular": "CircularPad"}
SIDES = {1: "[[left, right]]", 2: "[[top, bottom], [left, right]]",
         3: "[[front, back], [top, bottom], [left, right]]"}
NAMES = {1: "L", 2: "HW", 3: "DHW"}


def _spellings(n: int, p: int) -> tuple[str, ...]:
    """The three ways to write a pad of `p` on every side of an n-D input: each a valid fix."""
    return (f"write pad: {p} (every side)",
            f"pad: [{', '.join([str(p)] * n)}] (per dimension, {dims_text(list(NAMES[n]))})",
            f"pad: [{', '.join([f'[{p}, {p}]'] * n)}] (per side, {SIDES[n]})")


def sides(layer, spatial: list[int]) -> list[tuple[int, int]]:
    """(lo, hi) per spatial dimension from the `padding` value (int, per dimension, per side)."""
    value, n = layer.args["padding"], len(spatial)
    if isinstance(value, str):  # `same` and `valid` are a conv's: a pad has no window to fit
        raise LayerError("pad-spelling", f"pad: {value} means nothing without a window: a pad adds the "
                         "rows it is given", "padding", fixes=_spellings(n, 1))
    if isinstance(value, int):
        return [(value, value)] * n
    if len(value) != n:
        first = value[0] if isinstance(value[0], int) else value[0][0]
        raise LayerError("dims-mismatch", f"pad has {len(value)} value{'s' if len(value) != 1 else ''} but the input "
                         f"is {n}-D ({dims_text(spatial)}): one value, one per dimension, or one [lo, hi] pair "
                         "per dimension", "padding",
                         fixes=_spellings(n, first))
    return [tuple(v) if isinstance(v, tuple) else (v, v) for v in value]


def _limit(mode: str, w: int, lo: int, hi: int, label: str) -> None:
    """torch's rule for reflect (each side < W) and circular (each side <= W)."""
    widest = max(lo, hi)
    if mode == "reflect" and widest >= w:
        raise LayerError("pad-exceeds-input", f"{label}reflect padding {widest} is not less than the input's "
                         f"{w} (torch mirrors without repeating the edge: at most {w} - 1 = {w - 1})", "padding",
                         fixes=_fixes(mode, w, widest), arithmetic=f"{widest} >= {w}")
    if mode == "circular" and widest > w:
        raise LayerError("pad-exceeds-input", f"{label}circular padding {widest} is more than the input's {w} "
                         f"(torch wraps around once at most: at most {w})", "padding",
                         fixes=_fixes(mode, w, widest), arithmetic=f"{widest} > {w}")


def _fixes(mode: str, w: int, widest: int) -> tuple[str, ...]:
    most = w - 1 if mode == "reflect" else w
    return ((f"a padding of at most {most} on that side",) if most > 0 else ()) + (
        "write mode: replicate (repeats the edge, any width)",
        f"an input of at least {widest + 1 if mode == 'reflect' else widest} to this layer")


def infer_pad(layer, ins) -> Sizing:
    c, spatial = needs_volume(ins[0], "pad")
    mode = layer.args["mode"]
    if layer.args["value"] is not None and mode != "constant":
        raise LayerError("pad-value", f"value: {layer.args['value']:g} fills constant padding only; "
                         f"{mode} padding copies the input (torch refuses a value for it)", "value",
                         fixes=("remove value", "write mode: constant"))
    pads = sides(layer, spatial)
    n = len(spatial)
    labelled = n > 1 and len(set(zip(spatial, pads))) > 1
    out, explain = [], []
    for name, w, (lo, hi) in zip(NAMES[n], spatial, pads):
        label = f"{name}: " if labelled else ""
        _limit(mode, w, lo, hi, label)
        out.append(w + lo + hi)
        explain.append(f"{label}{w} + {lo} + {hi} = {w + lo + hi}")
    return Sizing((c, *out), windows=[Window(1, 1, lo) for lo, _ in pads],
                  explain=explain[:1] if not labelled else explain)


def torch_pad(layer, ins, out):
    """nn.ZeroPad / ConstantPad / ReflectionPad / ReplicationPad / CircularPad 1d-3d, sides in
    F.pad's order (last dimension first)."""
    n = len(ins[0]) - 1
    pads = pad_order(sides(layer, list(ins[0][1:])))
    mode, value = layer.args["mode"], layer.args["value"]
    if mode == "constant" and not value:
        return TorchModule(f"ZeroPad{n}d", (pads,))
    if mode == "constant":
        return TorchModule(f"ConstantPad{n}d", (pads, value))
    return TorchModule(f"{TORCH_CLASS[mode]}{n}d", (pads,))


def saved_pad(layer, ins, out):
    """Constant and circular padding keep nothing for backward (a slice of the gradient);
    reflect and replicate keep their input, whose shape their backward kernels read."""
    return (Saved("input"),) if layer.args["mode"] in ("reflect", "replicate") else ()


PAD = LayerKind("pad", "pad", infer_pad, main="padding",
                aliases=tuple(f"{name}{d}" for name in ("pad", "zeropad", "zeropadding", "constantpad", "reflectionpad",
                                                        "replicationpad", "circularpad")
                              for d in ("", "1d", "2d", "3d") if name + d != "pad"),
                doc="padding as a layer: constant (zeros), reflect, replicate or circular; per dimension or per side",
                fields=(ArgField("padding", "padding", aliases=("pad",), minimum=0,
                                 doc="a number (every side), one per dimension (both sides), or [lo, hi] pairs "
                                     "per dimension: [[top, bottom], [left, right]]"),
                        ArgField("mode", "choice", "constant", choices=MODES,
                                 doc="constant (zeros, or value:), reflect (mirror, padding < W), "
                                     "replicate (repeat the edge), circular (wrap around, padding <= W)"),
                        ArgField("value", "float", None, aliases=("fill", "fill_value"),
                                 doc="the fill of constant padding (default 0)")),
                torch=torch_pad, saved=saved_pad, alias=NO_ALIAS, workspace=NO_WORKSPACE,
                implied=(("zeropad", "mode", "constant"), ("constantpad", "mode", "constant"),
                         ("reflectionpad", "mode", "reflect"), ("replicationpad", "mode", "replicate"),
                         ("circularpad", "mode", "circular")))
