"""Swin Transformer's two layers: shifted window attention and patch merging, on images and
(the video Swin Transformer) on clips.

Maps stay C x H x W volumes and clips C x T x H x W (sizecalc's shapes are channels first);
torch runs both layers channels last, as torchvision's Swin does, behind a permute to
N x (T x) H x W x C and back (views).

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

On a C x T x H x W clip (torchvision's video Swin, ShiftedWindowAttention3d): the window is
[Mt, Mh, Mw] and the shift [St, Sh, Sw] (one number: the same on every side). Where a side S
is at most its window's M, torch shrinks the window to S there and drops that side's shift
(`_get_window_and_shift_size`: S <= M); the other sides are padded to multiples of M. Then the
same attention, with N = Mt*Mh*Mw tokens per window (the kept window's). The bias table is the
stated window's, (2Mt-1)(2Mh-1)(2Mw-1) x heads, and the index buffer (Mt*Mh*Mw)^2 integers,
whatever torch keeps; where the window shrank, torch reads the table through a copy of the
index's top-left N x N corner, which the gather saves (N^2 int64, once per batch).
At batch 1, where only the clip's (or map's) first side is padded, torch's unpadding slice is
contiguous and the output stays a view of the padded tensor: its storage is the padded size,
not the output's, a difference in forward memory that sizecalc does not state.

Receptive field (the definition): a position reads the M x M window that holds it, wherever
it sits in that window, so at most M - 1 positions to either side: a window of 2M - 1 at
stride 1, padded by M - 1, per dimension (on a clip, per side with the window torch keeps:
2Mt - 1 frames, 2Mh - 1 rows, 2Mw - 1 columns) (the field is never too small, as for an adaptive
pool). The shift moves the windows, not this extent: the tokens that the roll brings around
from the far side of the map are kept out by the mask. A window that covers the whole
(padded) map makes the layer global.
"""

from __future__ import annotations

from math import prod

from ..core.units import shape_text
from .base import NO_ALIAS, ArgField, LayerError, LayerKind, Saved, Sizing, TorchModule, Window


def _image(shape, what: str) -> tuple[int, ...]:
    if len(shape) not in (3, 4):
        raise LayerError("rank", f"{what} works on a C x H x W map or a C x T x H x W clip, but its input is "
                         f"{shape_text(shape)}", None,
                         f"place the {what} where the volume is an image map or a clip (before the pooling head)")
    return shape


def _sides(layer, name: str, shape) -> list[int]:
    """`window` or `shift` as one value per side of the map (H, W) or clip (T, H, W)."""
    value, rank = layer.args[name], len(shape) - 1
    if isinstance(value, int):
        return [value] * rank
    values = list(value)
    if len(values) != rank:
        fixed = values[-rank:] if len(values) > rank else [values[0]] * (rank - len(values)) + values
        what = "a C x T x H x W clip (T, H, W)" if rank == 3 else "a C x H x W map (H, W)"
        raise LayerError("window-rank", f"{name} {values} has {len(values)} side{'s' if len(values) != 1 else ''}, "
                         f"but the input {shape_text(shape)} is {what}: {rank} sides", name,
                         f"{name}: [{', '.join(map(str, fixed))}]")
    if rank == 2 and values[0] != values[1]:
        raise LayerError("window-square", f"{name} {values}: sizecalc's 2-D window attention takes one value for "
                         "both sides (torchvision's Swin models use square windows)", name, f"{name}: {max(values)}")
    return values


def _one(values) -> str:
    """A value per side as written: one number where the sides agree, else the list."""
    return str(values[0]) if len(set(values)) == 1 else f"[{', '.join(map(str, values))}]"


def window_geometry(layer, shape) -> dict:
    """The padded map, the window and shift torch keeps, the windows and the tokens per window.

    2-D (torchvision's ShiftedWindowAttention): the map is padded up to the window M on each
    side, and the shift is dropped where M covers the padded side. 3-D (ShiftedWindowAttention3d,
    `_get_window_and_shift_size`): where a side S is at most the window's M, the window shrinks
    to S and that side's shift is dropped; the other sides are padded to multiples of M."""
    _image(shape, "window_attention")
    c, sizes = shape[0], list(shape[1:])
    window, shift, heads = _sides(layer, "window", shape), _sides(layer, "shift", shape), layer.args["heads"]
    if c % heads:
        divisors = [d for d in range(1, c + 1) if c % d == 0]
        near = min(divisors, key=lambda d: (abs(d - heads), d))
        raise LayerError("heads", f"{heads} heads do not divide the {c} channels ({c} = {c // heads}*{heads} + "
                         f"{c % heads})", "heads", f"heads: {near}")
    if any(s >= m for s, m in zip(shift, window)):
        raise LayerError("window-shift", f"shift {_one(shift)} is not smaller than the window {_one(window)} (a "
                         "shift moves the windows by less than one window)", "shift",
                         f"shift: {_one([m // 2 for m in window])}")
    if len(sizes) == 3:
        if layer.args["v2"]:
            raise LayerError("v2-rank", "Swin v2's continuous position bias is 2-D: torchvision has no video "
                             "Swin v2", "v2", "v2: false")
        kept = [m if size > m else size for size, m in zip(sizes, window)]
        padded = [-(-size // m) * m for size, m in zip(sizes, kept)]
        kept_shift = [s if size > m else 0 for size, m, s in zip(sizes, window, shift)]
    else:
        kept = list(window)
        padded = [-(-size // m) * m for size, m in zip(sizes, window)]
        kept_shift = [0 if m >= p else s for p, m, s in zip(padded, window, shift)]
    return {"c": c, "m": window[0], "window": window, "kept": kept, "n": prod(kept),
            "windows": prod(p // m for p, m in zip(padded, kept)), "padded": padded, "sizes": sizes,
            "shift": tuple(kept_shift), "stated_shift": tuple(shift), "heads": heads, "P": prod(padded) * c}


CPB_HIDDEN = 512  # torchvision's continuous position-bias MLP: Linear(2, 512), ReLU, Linear(512, heads)


def _x(values) -> str:
    return "x".join(map(str, values))


def infer_window_attention(layer, ins) -> Sizing:
    g = window_geometry(layer, ins[0])
    c, n, m, heads, window = g["c"], g["n"], g["m"], g["heads"], g["window"]
    a = layer.args
    table = prod(2 * side - 1 for side in window)
    stated = prod(window)  # the index buffer is the stated window's, whatever torch keeps
    biases = 3 * c * a["qkv_bias"] + c * a["proj_bias"]
    per_window = 4 * n * c * c + 2 * n * n * c
    macs = g["windows"] * per_window
    if a["v2"]:  # logit scale per head; the MLP's 2*512 + 512 and 512*heads; its (2M-1)^2 x 2 coordinates
        weights, biases = 4 * c * c + heads + 2 * CPB_HIDDEN + CPB_HIDDEN * heads, biases + CPB_HIDDEN
        buffers, macs = n * n + 2 * table, macs + table * (2 * CPB_HIDDEN + CPB_HIDDEN * heads)
        params = (f"params 4*{c}^2 + {heads} + 2*{CPB_HIDDEN} + {CPB_HIDDEN}*{heads} = {weights:,} + biases "
                  f"{biases:,}; buffers {n}^2 + 2*(2*{m}-1)^2 = {buffers:,}")
    else:
        weights, buffers = 4 * c * c + table * heads, stated * stated
        sides = "*".join(f"(2*{side}-1)" for side in window) if len(set(window)) > 1 or len(window) == 3 \
            else f"(2*{m}-1)^2"
        params = (f"params 4*{c}^2 + {sides}*{heads} = {weights:,} + biases {biases:,}; buffers "
                  f"{stated}^2 = {buffers:,}")
    pad = f"padded to {_x(g['padded'])}; " if g["padded"] != g["sizes"] else ""
    shift = g["shift"]
    explain = [params, f"{pad}{g['windows']} windows of {_x(g['kept'])} = {n} tokens, shift {_x(shift)}",
               f"MACs {g['windows']}*(4*{n}*{c}^2 + 2*{n}^2*{c}) = {g['windows'] * per_window:,}"
               + (f" + the bias MLP on {table} positions" if a["v2"] else "")]
    notes = []
    if len(window) == 2 and shift != g["stated_shift"]:
        notes.append(("window-covers-map", f"the window {m} covers the padded {_x(g['padded'])} map on a side: "
                      f"torch does not shift it there (shift {_x(shift)})", "shift"))
    elif len(window) == 3 and (g["kept"] != window or shift != g["stated_shift"]):
        sides = [side for side, size, m in zip("THW", g["sizes"], window) if size <= m]
        sides = " and ".join([", ".join(sides[:-1]), sides[-1]] if len(sides) > 1 else sides)
        shrunk = f"shrinks the window to {_x(g['kept'])} and " if g["kept"] != window else ""
        notes.append(("window-covers-map", f"the window {_x(window)} covers the {_x(g['sizes'])} clip in "
                      f"{sides}: torch {shrunk}does not shift there (shift {_x(shift)})", "window"))
    windows = [Window(2 * side - 1, 1, side - 1) for side in g["kept"]]
    return Sizing(ins[0], weights, biases, buffers, macs, windows, explain, notes=notes,
                  other_macs=g["windows"] * n * n * heads)


def saved_window_attention(layer, ins, out):
    g = window_geometry(layer, ins[0])
    p, s = g["P"], g["windows"] * g["heads"] * g["n"] ** 2
    if not layer.args["v2"]:
        if g["kept"] == g["window"] or len(g["window"]) == 2:
            return (Saved("own", elems=5 * p + s),)
        # 3-D, the window shrunk: the bias table is read through a copy of the index's top-left
        # n x n corner (torchvision's `relative_position_index[:n, :n].flatten()`), int64, once
        return (Saved("own", elems=5 * p + s), Saved("own", elems=g["n"] ** 2, nbytes=8, per_sample=False))
    # v2 per sample: qkv's input and output (normalize reads q and k in it, 4*P), the norms of q
    # and k and their clamped copies (4 per token and head), q and k normalised and copied for
    # bmm (2*P), the cosine scores (S, for the logit scale's gradient), the probabilities (S),
    # v's copy and the projection's input (2*P); once per batch: the MLP's hidden layer
    # ((2M-1)^2 x 512), the sigmoid of the bias (heads*N^2) and the exponentiated logit scale
    per_head = prod(g["padded"]) * g["heads"]
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
    window, shift = _sides(layer, "window", ins[0]), _sides(layer, "shift", ins[0])
    if len(window) == 3:
        return TorchModule("WindowAttention3d", (ins[0][0], window, shift, a["heads"]),
                           {"qkv_bias": a["qkv_bias"], "proj_bias": a["proj_bias"]})
    return TorchModule("WindowAttention", (ins[0][0], window[0], shift[0], a["heads"]),
                       {"qkv_bias": a["qkv_bias"], "proj_bias": a["proj_bias"], "v2": a["v2"]})


def infer_patch_merging(layer, ins) -> Sizing:
    """2x2 space-to-depth on H and W; a clip's T is kept (torchvision's 3-D Swin merges each
    frame: its PatchMerging works on the last three axes, ... x H x W x C)."""
    c, *frames, h, w = _image(ins[0], "patch_merging")
    oh, ow = -(-h // 2), -(-w // 2)
    t = prod(frames)
    out = (2 * c, *frames, oh, ow)
    norm = 2 * c if layer.args["v2"] else 4 * c
    pad = f"padded to {2 * oh}x{2 * ow}; " if (2 * oh, 2 * ow) != (h, w) else ""
    each = "".join(f"{f}x" for f in frames)
    return Sizing(out, 8 * c * c + norm, norm, 0, 8 * c * c * t * oh * ow,
                  [Window(1, 1, 0)] * len(frames) + [Window(2, 2, 0), Window(2, 2, 0)],
                  [f"{pad}{each}{h}x{w}x{c} -> {each}{oh}x{ow}x{4 * c} -> {each}{oh}x{ow}x{2 * c}; "
                   f"params 4*{c}*2*{c} + LayerNorm 2*{norm} = {8 * c * c + 2 * norm:,}"],
                  other_macs=norm * t * oh * ow)


def saved_patch_merging(layer, ins, out):
    """The 4C concatenation and the norm's output (the linear's input; v2: the linear's
    input is the concatenation, the norm keeps the reduction's output), and the norm's mean
    and inverse deviation per position (fp32 on CUDA)."""
    c, positions = out[0] // 2, prod(out[1:])
    q = 4 * c * positions
    kept = q + (out[0] * positions if layer.args["v2"] else q)
    return (Saved("own", elems=kept), Saved("own", elems=2 * positions, cuda_nbytes=4))


def workspace_patch_merging(layer, ins, out):
    """The largest of its moments, less the output: the padded copy of an odd-sided map and
    the concatenation; then (v1) the concatenation, the norm's output and statistics, and
    the norm's output with the reduction; (v2) the concatenation with the reduction, and
    the reduction with the norm's output and statistics."""
    c, positions = out[0] // 2, prod(out[1:])
    q, y, stats = 4 * c * positions, prod(out), 2 * positions
    padded = q if (2 * out[-2], 2 * out[-1]) != tuple(ins[0][-2:]) else 0
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
    doc="Swin's (shifted) window multi-head self-attention with a relative position bias, on a C x H x W map "
    "or a C x T x H x W clip (the video Swin's 3-D windows)",
    fields=(ArgField("heads", "int", aliases=("num_heads",), minimum=1, doc="attention heads; must divide C"),
            ArgField("window", "dims", 7, aliases=("window_size",), minimum=1,
                     doc="the window's side M (N = M^2 tokens), or [Mt, Mh, Mw] on a C x T x H x W clip "
                     "(N = Mt*Mh*Mw); a 2-D window is square"),
            ArgField("shift", "dims", 0, aliases=("shift_size",), minimum=0,
                     doc="cyclic shift of the windows, 0 or M//2 in alternate blocks; [St, Sh, Sw] on a clip"),
            ArgField("qkv_bias", "bool", True, doc="biases of the query, key and value projection (3*C)"),
            ArgField("proj_bias", "bool", True, doc="bias of the output projection (C)"),
            ArgField("v2", "bool", False, doc="Swin v2: scaled cosine attention (a logit scale per head) and "
                     "the continuous position-bias MLP 2 -> 512 -> heads in place of the bias table")),
    torch=torch_window_attention, saved=saved_window_attention, alias=NO_ALIAS,
    workspace=workspace_window_attention)
PATCH_MERGING = LayerKind(
    "patch_merging", "attention", infer_patch_merging, aliases=("patchmerging",),
    doc="Swin's patch merging: 2x2 space-to-depth (odd sides padded), LayerNorm(4C), bias-free linear 4C -> 2C; "
    "a clip's frames each merged (T kept)",
    fields=(ArgField("v2", "bool", False, doc="Swin v2's order: the linear, then LayerNorm(2C)"),),
    torch=torch_patch_merging, saved=saved_patch_merging, alias=NO_ALIAS, workspace=workspace_patch_merging)
