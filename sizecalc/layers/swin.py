"""Swin Transformer's two layers: shifted window attention and patch merging.

Maps stay C x H x W volumes (sizecalc's shapes are channels first); torch runs both layers
channels last, as torchvision's Swin does, behind a permute to N x H x W x C and back (views).

`window_attention: heads` (torchvision's ShiftedWindowAttention, the math path: explicit
matmuls, every one counted). The map is padded at the bottom and right to a multiple of the
window M (pH x pW), rolled by `shift` (torch sets the shift of a side to 0 where M covers
the padded side: the window is never shrunk, the map is padded up to it), cut into
n = (pH/M)*(pW/M) windows of N = M^2 tokens, and attended within each window:
    params  qkv 3*C^2 (+ 3*C bias), proj C^2 (+ C), relative position bias (2M-1)^2 * heads
    buffer  relative_position_index, N^2 integers (torchvision registers it as a buffer)
    MACs    n * (3*N*C^2 + N^2*C + N^2*C + N*C^2)      qkv, scores, weighted sum, proj
Saved for backward (per sample, P = pH*pW*C): the windowed tokens (qkv's input), the scaled
queries, the keys and values each copied for the batched matmul, the softmax probabilities
(n*heads*N^2) and the projection's input: 5*P + n*heads*N^2. (At batch 1 with one window the
keys and values are views of the qkv output, 3*P, instead of two copies: P more than stated.)
The shift mask is no gradient's business: it is never saved.

Receptive field (the definition): a position reads the M x M window that holds it, wherever
it sits in that window, so at most M - 1 positions to either side: a window of 2M - 1 at
stride 1, padded by M - 1, per dimension (the field is never too small, as for an adaptive
pool). The shift moves the windows, not this extent: the tokens that the roll brings around
from the far side of the map are kept out by the mask. A window that covers the whole
(padded) map makes the layer global.
"""

from __future__ import annotations

from math import prod

from ..core.units import shape_text
from .base import NO_ALIAS, ArgField, LayerError, LayerKind, Saved, Sizing, TorchModule, Window


def _image(shape, what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise LayerError("rank", f"{what} works on a C x H x W map, but its input is {shape_text(shape)}", None,
                         f"place the {what} where the volume is an image map (before the pooling head)")
    return shape


def window_geometry(layer, shape) -> dict:
    """The padded map, the shift torch keeps, the windows and the tokens per window."""
    c, h, w = _image(shape, "window_attention")
    m, shift, heads = layer.args["window"], layer.args["shift"], layer.args["heads"]
    if c % heads:
        divisors = [d for d in range(1, c + 1) if c % d == 0]
        near = min(divisors, key=lambda d: (abs(d - heads), d))
        raise LayerError("heads", f"{heads} heads do not divide the {c} channels ({c} = {c // heads}*{heads} + "
                         f"{c % heads})", "heads", f"heads: {near}")
    if shift >= m:
        raise LayerError("window-shift", f"shift {shift} is not smaller than the window {m} (a shift moves the "
                         "windows by less than one window)", "shift", f"shift: {m // 2}")
    ph, pw = -(-h // m) * m, -(-w // m) * m
    kept = (0 if m >= ph else shift, 0 if m >= pw else shift)
    return {"c": c, "m": m, "n": m * m, "windows": (ph // m) * (pw // m), "ph": ph, "pw": pw, "shift": kept,
            "heads": heads, "P": ph * pw * c}


CPB_HIDDEN = 512  # torchvision's continuous position-bias MLP: Linear(2, 512), ReLU, Linear(512, heads)


def infer_window_attention(layer, ins) -> Sizing:
    g = window_geometry(layer, ins[0])
    c, n, m, heads = g["c"], g["n"], g["m"], g["heads"]
    a = layer.args
    table = (2 * m - 1) ** 2
    biases = 3 * c * a["qkv_bias"] + c * a["proj_bias"]
    per_window = 4 * n * c * c + 2 * n * n * c
    macs = g["windows"] * per_window
    if a["v2"]:  # logit scale per head; the MLP's 2*512 + 512 and 512*heads; its (2M-1)^2 x 2 coordinates
        weights, biases = 4 * c * c + heads + 2 * CPB_HIDDEN + CPB_HIDDEN * heads, biases + CPB_HIDDEN
        buffers, macs = n * n + 2 * table, macs + table * (2 * CPB_HIDDEN + CPB_HIDDEN * heads)
        params = (f"params 4*{c}^2 + {heads} + 2*{CPB_HIDDEN} + {CPB_HIDDEN}*{heads} = {weights:,} + biases "
                  f"{biases:,}; buffers {n}^2 + 2*(2*{m}-1)^2 = {buffers:,}")
    else:
        weights, buffers = 4 * c * c + table * heads, n * n
        params = f"params 4*{c}^2 + (2*{m}-1)^2*{heads} = {weights:,} + biases {biases:,}; buffers {n}^2 = {n * n:,}"
    pad = f"padded to {g['ph']}x{g['pw']}; " if (g["ph"], g["pw"]) != tuple(ins[0][1:]) else ""
    shift = g["shift"]
    explain = [params, f"{pad}{g['windows']} windows of {m}x{m} = {n} tokens, shift {shift[0]}x{shift[1]}",
               f"MACs {g['windows']}*(4*{n}*{c}^2 + 2*{n}^2*{c}) = {g['windows'] * per_window:,}"
               + (f" + the bias MLP on {table} positions" if a["v2"] else "")]
    notes = []
    if shift != (a["shift"], a["shift"]):
        notes.append(("window-covers-map", f"the window {m} covers the padded {g['ph']}x{g['pw']} map on a side: "
                      f"torch does not shift it there (shift {shift[0]}x{shift[1]})", "shift"))
    windows = [Window(2 * m - 1, 1, m - 1), Window(2 * m - 1, 1, m - 1)]
    return Sizing(ins[0], weights, biases, buffers, macs, windows, explain, notes=notes,
                  other_macs=g["windows"] * n * n * heads)


def saved_window_attention(layer, ins, out):
    g = window_geometry(layer, ins[0])
    p, s = g["P"], g["windows"] * g["heads"] * g["n"] ** 2
    if not layer.args["v2"]:
        return (Saved("own", elems=5 * p + s),)
    # v2 per sample: qkv's input and output (normalize reads q and k in it, 4*P), the norms of q
    # and k and their clamped copies (4 per token and head), q and k normalised and copied for
    # bmm (2*P), the cosine scores (S, for the logit scale's gradient), the probabilities (S),
    # v's copy and the projection's input (2*P); once per batch: the MLP's hidden layer
    # ((2M-1)^2 x 512), the sigmoid of the bias (heads*N^2) and the exponentiated logit scale
    per_head = g["ph"] * g["pw"] * g["heads"]
    once = (2 * g["m"] - 1) ** 2 * CPB_HIDDEN + g["heads"] * g["n"] ** 2 + g["heads"]
    return (Saved("own", elems=8 * p + 4 * per_head + 2 * s), Saved("own", elems=once, per_sample=False))


def workspace_window_attention(layer, ins, out):
    """What is alive besides the input and the output at the op's peak without autograd,
    the largest (at batch 1) of its moments: the scores matmul (the windowed tokens, qkv 3*P,
    the scaled queries and the two copies for bmm, 3*P (v2: q and k normalised, and the two
    copies, 4*P), the scores S); the additions of the bias and the shift mask (the windowed
    tokens, qkv, two S, the mask, n*N^2 per map); the mask's making (its three intermediates
    and its boolean test); v2 also the bias MLP's hidden layer ((2M-1)^2 x 512). The bias
    (heads*N^2, once per batch) is alive throughout, and v2's copy of the qkv bias (3*C)."""
    g = window_geometry(layer, ins[0])
    p, x, v2 = g["P"], prod(ins[0]), layer.args["v2"]
    s = g["windows"] * g["heads"] * g["n"] ** 2
    mask = g["windows"] * g["n"] ** 2 if sum(g["shift"]) else 0
    once = g["heads"] * g["n"] ** 2 + 3 * g["c"] * (v2 and layer.args["qkv_bias"])
    moments = {"matmul": (7 * p + s + v2 * p, 0, 0), "add": (4 * p + 2 * s, mask, 0),  # per sample, per map, bool
               "mask": (4 * p + s, 3 * mask, mask)}
    if v2:  # the MLP's hidden layer and output, before the bias exists
        table = (2 * g["m"] - 1) ** 2
        moments["mlp"] = (0, table * (CPB_HIDDEN + g["heads"]) - once, 0)
    name = max(moments, key=lambda k: sum(moments[k][:2]) + moments[k][2] / 4)
    per_sample, total, flags = moments[name]
    items = [Saved("own", elems=once, per_sample=False), Saved("own", elems=per_sample - x)]
    if total:
        items.append(Saved("own", elems=total, per_sample=False))
    if flags:
        items.append(Saved("own", elems=flags, nbytes=1, per_sample=False))
    return tuple(items)


def torch_window_attention(layer, ins, out):
    a = layer.args
    return TorchModule("WindowAttention", (ins[0][0], a["window"], a["shift"], a["heads"]),
                       {"qkv_bias": a["qkv_bias"], "proj_bias": a["proj_bias"], "v2": a["v2"]})


def infer_patch_merging(layer, ins) -> Sizing:
    c, h, w = _image(ins[0], "patch_merging")
    oh, ow = -(-h // 2), -(-w // 2)
    out = (2 * c, oh, ow)
    norm = 2 * c if layer.args["v2"] else 4 * c
    pad = f"padded to {2 * oh}x{2 * ow}; " if (2 * oh, 2 * ow) != (h, w) else ""
    return Sizing(out, 8 * c * c + norm, norm, 0, 8 * c * c * oh * ow, [Window(2, 2, 0), Window(2, 2, 0)],
                  [f"{pad}{h}x{w}x{c} -> {oh}x{ow}x{4 * c} -> {oh}x{ow}x{2 * c}; "
                   f"params 4*{c}*2*{c} + LayerNorm 2*{norm} = {8 * c * c + 2 * norm:,}"],
                  other_macs=norm * oh * ow)


def saved_patch_merging(layer, ins, out):
    """The 4C concatenation and the norm's output (the linear's input; v2: the linear's
    input is the concatenation, the norm keeps the reduction's output), and the norm's mean
    and inverse deviation per position (fp32 on CUDA)."""
    c, oh, ow = out[0] // 2, out[1], out[2]
    q = 4 * c * oh * ow
    kept = q + (out[0] * oh * ow if layer.args["v2"] else q)
    return (Saved("own", elems=kept), Saved("own", elems=2 * oh * ow, cuda_nbytes=4))


def workspace_patch_merging(layer, ins, out):
    """The largest of its moments, less the output: the padded copy of an odd-sided map and
    the concatenation; then (v1) the concatenation, the norm's output and statistics, and
    the norm's output with the reduction; (v2) the concatenation with the reduction, and
    the reduction with the norm's output and statistics."""
    c, oh, ow = out[0] // 2, out[1], out[2]
    q, y, stats = 4 * c * oh * ow, prod(out), 2 * oh * ow
    padded = q if (2 * oh, 2 * ow) != tuple(ins[0][1:]) else 0
    if layer.args["v2"]:
        moments = (padded + q, q + y, 2 * y + stats)
    else:
        moments = (padded + q, 2 * q + stats, q + y)
    return (Saved("own", elems=max(moments) - y),)


def torch_patch_merging(layer, ins, out):
    return TorchModule("PatchMerging", (ins[0][0],), {"v2": layer.args["v2"]})


WINDOW_ATTENTION = LayerKind(
    "window_attention", "attention", infer_window_attention, main="heads",
    aliases=("shifted_window_attention", "shiftedwindowattention", "swin_attention"),
    doc="Swin's (shifted) window multi-head self-attention with a relative position bias, on a C x H x W map",
    fields=(ArgField("heads", "int", aliases=("num_heads",), minimum=1, doc="attention heads; must divide C"),
            ArgField("window", "int", 7, aliases=("window_size",), minimum=1,
                     doc="the window's side M (N = M^2 tokens)"),
            ArgField("shift", "int", 0, aliases=("shift_size",), minimum=0,
                     doc="cyclic shift of the windows, 0 or M//2 in alternate blocks"),
            ArgField("qkv_bias", "bool", True, doc="biases of the query, key and value projection (3*C)"),
            ArgField("proj_bias", "bool", True, doc="bias of the output projection (C)"),
            ArgField("v2", "bool", False, doc="Swin v2: scaled cosine attention (a logit scale per head) and "
                     "the continuous position-bias MLP 2 -> 512 -> heads in place of the bias table")),
    torch=torch_window_attention, saved=saved_window_attention, alias=NO_ALIAS,
    workspace=workspace_window_attention)
PATCH_MERGING = LayerKind(
    "patch_merging", "attention", infer_patch_merging, aliases=("patchmerging",),
    doc="Swin's patch merging: 2x2 space-to-depth (odd sides padded), LayerNorm(4C), bias-free linear 4C -> 2C",
    fields=(ArgField("v2", "bool", False, doc="Swin v2's order: the linear, then LayerNorm(2C)"),),
    torch=torch_patch_merging, saved=saved_patch_merging, alias=NO_ALIAS, workspace=workspace_patch_merging)
