"""MaxViT's multi-axis attention: a C x H x W map cut into P x P partitions, attention with a
relative position bias within each partition, and the map put back together.

torchvision's PartitionAttentionLayer runs its LayerNorms, attention and MLP on the map cut
into G = (H/P)*(W/P) groups of P^2 tokens; sizecalc writes that as a token sequence of
N = H*W tokens, the groups one after another (torch: batch x N x C, a view of torchvision's
batch x G x P^2 x C):
- `partition: P` (mode `window`): block attention's windows, P x P neighbours each;
  (mode `grid`): grid attention's groups, P x P tokens spaced (H/P, W/P) apart across the
  whole map. torchvision: reshape, permute, reshape (and for the grid a swap of two axes):
  one copy of the map, no params, nothing saved;
- `relative_attention: head_dim` on groups of `window^2` tokens (torchvision's
  RelativePositionalMultiHeadAttention, explicit matmuls: every one counted), heads = C/head_dim:
      params  to_qkv C*3C + 3C, merge C*C + C, relative_position_bias_table (2P-1)^2 * heads
      buffer  relative_position_index, P^2 x P^2 integers
      MACs    G*(4*P^2*C^2 + 2*P^4*C) = 4*N*C^2 + 2*N*P^2*C (projections, scores, weighted sum);
- `departition: P` back to C x H x W (square unless `size:` says otherwise): one copy.
Saved for backward by the attention (measured with saved_tensors_hooks, torch 2.13): its input
(to_qkv's), the queries, the scaled keys and the values each copied for einsum's batched
matmul, the softmax probabilities (G*heads*P^4 = N*heads*P^2) and merge's input: 4*N*C + the
probabilities. (At batch 1 with a single group, the values are a view of the qkv projection,
3*N*C, instead of a copy: N*C more than stated there, measured; maxvit_t's last stage at batch 1.)
Receptive field: stated global (the grid groups span the whole map; a MaxViT layer runs the
window attention and then the grid attention, so after one layer every position reads every
position).
"""

from __future__ import annotations

from math import isqrt

from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Saved, Sizing,
                   TorchModule)
from ..core.receptive import GLOBAL
from ..core.units import Tokens, shape_text
from .tokens import needs_tokens

MODES = ("window", "grid")
MODE = ArgField("mode", "choice", "window", choices=MODES,
                doc="window: P x P neighbours (block attention); grid: P x P tokens spread evenly over the map "
                    "(grid attention)")


def _near_divisor(side: int, p: int) -> int:
    return min((d for d in range(1, side + 1) if side % d == 0), key=lambda d: (abs(d - p), d))


def infer_partition(layer, ins) -> Sizing:
    shape, p = ins[0], layer.args["partition_size"]
    if len(shape) != 3:
        raise LayerError("rank", f"partition cuts a C x H x W map, but its input is {shape_text(shape)}", None,
                         "place it where the volume is an image map")
    c, h, w = shape
    for name, side in (("H", h), ("W", w)):
        if side % p:
            raise LayerError("partition-divides", f"the map's {name} {side} is not a multiple of the partition {p} "
                             f"({side}/{p} = {side / p:g})", "partition_size",
                             f"partition: {_near_divisor(side, p)} (or an input size that keeps every stage a "
                             f"multiple of {p})")
    groups = (h // p) * (w // p)
    spread = f"spaced {h // p}x{w // p} apart" if layer.args["mode"] == "grid" else "neighbours"
    return Sizing(Tokens((c, h * w)), explain=[f"{groups} groups of {p}x{p} = {p * p} tokens ({spread}); "
                                               f"{h}*{w} = {h * w:,} tokens"])


def infer_departition(layer, ins) -> Sizing:
    c, n = ins[0][0], needs_tokens(ins[0], "departition")
    p, size = layer.args["partition_size"], layer.args["size"]
    if size is None:
        side = isqrt(n)
        if side * side != n:
            raise LayerError("departition-size", f"{n:,} tokens are not a square map ({side}^2 = {side * side:,})",
                             "size", f"size: [H, W] with H*W = {n:,}")
        size = [side, side]
    h, w = size
    if h * w != n:
        raise LayerError("departition-size", f"size {h}x{w} holds {h * w:,} tokens, but the sequence has {n:,}",
                         "size", f"size: [{isqrt(n)}, {isqrt(n)}]" if isqrt(n) ** 2 == n else "size: [H, W], H*W = N")
    if h % p or w % p:
        raise LayerError("partition-divides", f"the map {h}x{w} is not a multiple of the partition {p}",
                         "partition_size", f"departition: {_near_divisor(h, p)}")
    return Sizing((c, h, w), explain=[f"{n:,} tokens -> {h}x{w}x{c}"])


def _groups(layer, ins) -> tuple[int, int, int, int]:
    """(C, N, tokens per group, heads), checked."""
    c, n = ins[0][0], needs_tokens(ins[0], "relative_attention")
    d, p = layer.args["head_dim"], layer.args["window"]
    if c % d:
        near = _near_divisor(c, d)
        raise LayerError("heads-split", f"{c:,} channels do not split into heads of {d} ({c:,}/{d} = {c / d:g})",
                         "head_dim", f"head_dim: {near} ({c // near} heads)")
    if n % (p * p):
        raise LayerError("partition-divides", f"{n:,} tokens do not split into groups of {p}x{p} = {p * p}",
                         "window", "window: the partition's P (the {partition} layer before it)")
    return c, n, p * p, c // d


def infer_relative_attention(layer, ins) -> Sizing:
    c, n, t, heads = _groups(layer, ins)
    p = layer.args["window"]
    table = (2 * p - 1) ** 2 * heads
    projections, mixing = 4 * n * c * c, 2 * n * t * c
    explain = [f"params 4*{c}^2 + (2*{p}-1)^2*{heads} = {4 * c * c + table:,} + biases {4 * c:,}; "
               f"buffers {t}^2 = {t * t:,}",
               f"{n // t} groups of {t} tokens, {heads} heads of {c // heads}: MACs 4*{n}*{c}^2 + 2*{n}*{t}*{c} = "
               f"{projections + mixing:,}"]
    return Sizing(ins[0], 4 * c * c + table, 4 * c, t * t, projections + mixing, GLOBAL, explain,
                  other_macs=4 * c * n + n * t * heads)


def saved_relative_attention(layer, ins, out):
    c, n, t, heads = _groups(layer, ins)
    return (Saved("input"), Saved("own", elems=4 * n * c + n * t * heads))


def workspace_relative_attention(layer, ins, out):
    """Without autograd, besides the input and the output (measured op by op, torch 2.13), the
    larger of two moments: the softmax (the qkv projection 3*N*C and the scaled keys N*C, the
    scores, their sum with the bias and the probabilities, 3 * N*heads*P^2; the output is not
    made yet: less N*C) and the second matmul (qkv, keys, probabilities, the values' copy and
    the product, N*C each, and the product's copy for merge: 6*N*C + probabilities, less the
    output); at both the bias gathered from the table and its contiguous copy (2*heads*P^4,
    once per batch)."""
    c, n, t, heads = _groups(layer, ins)
    s = n * t * heads
    return (Saved("own", elems=max(3 * n * c + 3 * s, 5 * n * c + s)),
            Saved("own", elems=2 * heads * t * t, per_sample=False))


def torch_partition(layer, ins, out):
    return TorchModule("WindowPartition", (layer.args["partition_size"], layer.args["mode"]))


def torch_departition(layer, ins, out):
    return TorchModule("WindowDepartition", (layer.args["partition_size"], layer.args["mode"], tuple(out[1:])))


def torch_relative_attention(layer, ins, out):
    return TorchModule("RelativeAttention", (ins[0][0], layer.args["head_dim"], layer.args["window"]))


PARTITION = LayerKind(
    "partition", "attention", infer_partition, main="partition_size", aliases=("window_partition",),
    doc="MaxViT's partition: a C x H x W map cut into groups of P x P tokens (window: neighbours; grid: spread "
        "over the map), as a token sequence of H*W; one copy",
    fields=(ArgField("partition_size", "int", minimum=1,
                     doc="P: each group holds P x P tokens; H and W must be multiples of P"), MODE),
    torch=torch_partition, saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
DEPARTITION = LayerKind(
    "departition", "attention", infer_departition, main="partition_size", aliases=("window_departition",),
    doc="MaxViT's departition: the partitioned token sequence back to a C x H x W map; one copy",
    fields=(ArgField("partition_size", "int", minimum=1,
                     doc="P, the partition's"), MODE,
            ArgField("size", "dims", None, doc="[H, W] of the map (default: square, H = W = sqrt(N))")),
    torch=torch_departition, saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
RELATIVE_ATTENTION = LayerKind(
    "relative_attention", "attention", infer_relative_attention, main="head_dim",
    aliases=("relative_positional_attention", "RelativePositionalMultiHeadAttention"),
    doc="MaxViT's multi-head attention within groups of P x P tokens, with a relative position bias "
        "((2P-1)^2 * heads params): 4C^2 + 4C projections, MACs 4NC^2 + 2NP^2C",
    fields=(ArgField("head_dim", "int", minimum=1, doc="channels per head (heads = C / head_dim)"),
            ArgField("window", "int", 7, aliases=("partition_size",), minimum=1,
                     doc="P: the groups' side, P x P tokens each (the partition's)")),
    torch=torch_relative_attention, saved=saved_relative_attention, alias=NO_ALIAS,
    workspace=workspace_relative_attention)
