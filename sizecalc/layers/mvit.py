"""MViT's token layers: pooling attention, the pooled shortcut, the space-time position embedding
(Fan et al., "Multiscale Vision Transformers", 2021; Li et al., "MViTv2", 2022; torchvision's
video/mvit.py).

MViT's tokens are a class token and then the T x H x W grid of patches (`core.units.GridTokens`:
the sequence carries its grid, since the pools need T, H and W, and a C x T x H x W volume
could not hold the class token). Each pool lays the grid tokens back on their grid, pools them,
flattens them again and puts the class token in front: the class token is never pooled.
- `pooling_attention` (torchvision's MultiscaleAttention): on N = 1 + T*H*W tokens of C
  channels, a qkv projection to 3*D (D = `dim`, h heads of d = D/h); q, k and v each pooled
  per head when their kernel or stride is not 1: a depthwise conv (kernel K, stride S,
  padding K//2, no bias: d*prod(K) params) and a LayerNorm(d) (2d params); the attention of the
  Nq pooled queries over the Nk pooled keys; v2's decomposed relative position (tables of
  (2*max(H//Sq, H//Skv) - 1) x d for height and width, (2T - 1) x d for time) and residual
  pooling (the pooled q added to the heads' output); the output projection D -> D.
  MACs = qkv N*C*3D + pools D*prod(K)*(grid tokens out) each + scores and weighted sum
  2*Nq*Nk*D + relative position D*(Nq - 1)*(kT + kH + kW) + projection Nq*D*D, as
  FlopCounterMode counts them (matmuls, convolutions, the einsums; not the norms, the softmax
  or the adds). The head count changes none of them for a given D.
- `token_pool` (torchvision's `pool_skip`): a max pool over the grid, the class token passed by
  (kernel S + 1 where the stride S > 1, else 1; padding kernel // 2): the shortcut of a block
  whose queries are pooled.
- `separable_position_embedding` (MViT v1): tables per spatial position (H*W x C), per time
  step (T x C) and for the class token (C), their sum added in place.
Receptive field: global (every query reads every key).
"""

from __future__ import annotations

from math import prod

from ..core.receptive import GLOBAL
from ..core.units import GridTokens, is_tokens, shape_text
from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Saved, Sizing, TorchModule,
                   always, per_dim)

INDEX_BYTES = 8  # max pooling's indices are int64


def needs_grid(shape, what: str) -> tuple[int, int, tuple[int, ...]]:
    """(C, N, grid) of a sequence of one class token and the tokens of a grid; LayerError else."""
    if not is_tokens(shape) or not isinstance(shape, GridTokens):
        got = f"the volume {shape_text(shape)}" if len(shape) > 1 and not is_tokens(shape) else \
            f"{'a token sequence without a grid' if is_tokens(shape) else 'a vector'} ({shape_text(shape)})"
        raise LayerError("needs-grid-tokens", f"{what} needs tokens laid on a grid (a class token and T x H x W "
                         f"patches), but its input is {got}", None,
                         "put {tokens} and {class_token} right after the patch embedding conv")
    c, n, grid = shape[0], shape[1], shape.grid
    if n - prod(grid) != 1:
        raise LayerError("needs-class-token", f"{what} pools all tokens but the first, a class token, but the "
                         f"sequence has {n - prod(grid)} token(s) before its {'x'.join(map(str, grid))} grid", None,
                         "put one {class_token} before it")
    return c, n, grid


def pooled(grid, kernel, stride) -> tuple[int, ...]:
    """The grid after a pool of padding kernel // 2: (G + 2*(K//2) - K)//S + 1 per dimension."""
    return tuple((g + 2 * (k // 2) - k) // s + 1 for g, k, s in zip(grid, kernel, stride))


def _geometry(layer, grid):
    a, r = layer.args, len(grid)
    kq, sq = per_dim(a["kernel_q"], r, "kernel_q"), per_dim(a["stride_q"], r, "stride_q")
    kkv, skv = per_dim(a["kernel_kv"], r, "kernel_kv"), per_dim(a["stride_kv"], r, "stride_kv")
    q_on = prod(kq) > 1 or prod(sq) > 1
    kv_on = prod(kkv) > 1 or prod(skv) > 1
    q_grid = pooled(grid, kq, sq) if q_on else tuple(grid)
    kv_grid = pooled(grid, kkv, skv) if kv_on else tuple(grid)
    return kq, sq, kkv, skv, q_on, kv_on, q_grid, kv_grid


def _rel_pos_rows(grid, sq, skv) -> tuple[int, int]:
    """torchvision's table lengths: 2*max(S//Sq, S//Skv) - 1 (S = the larger side), 2T - 1."""
    size = max(grid[1:])
    return 2 * max(size // sq[1], size // skv[1]) - 1, 2 * grid[0] - 1


def infer_pooling_attention(layer, ins) -> Sizing:
    c, n, grid = needs_grid(ins[0], "pooling_attention")
    a = layer.args
    heads, dim = a["heads"], a["dim"] or c
    if dim % heads:
        raise LayerError("heads-split", f"{dim:,} channels do not split into {heads} heads "
                         f"({dim:,}/{heads} = {dim / heads:g})", "heads",
                         f"heads: {min((h for h in range(1, dim + 1) if dim % h == 0), key=lambda h: abs(h - heads))}")
    d = dim // heads
    kq, sq, kkv, skv, q_on, kv_on, q_grid, kv_grid = _geometry(layer, grid)
    if a["relative_position"] and len(grid) != 3:
        raise LayerError("rel-pos-grid", f"relative_position is MViT v2's T x H x W tables, but the grid is "
                         f"{'x'.join(map(str, grid))}", "relative_position", "relative_position: false")
    nq, nk = 1 + prod(q_grid), 1 + prod(kv_grid)
    pool_weights = (d * prod(kq) + d if q_on else 0) + (2 * (d * prod(kkv) + d) if kv_on else 0)
    pool_biases = (d if q_on else 0) + (2 * d if kv_on else 0)
    pool_macs = (dim * prod(kq) * (nq - 1) if q_on else 0) + (2 * dim * prod(kkv) * (nk - 1) if kv_on else 0)
    rel_params = rel_macs = 0
    if a["relative_position"]:
        spatial, temporal = _rel_pos_rows(grid, sq, skv)
        rel_params = (2 * spatial + temporal) * d
        rel_macs = dim * (nq - 1) * sum(kv_grid)
    weights = c * 3 * dim + dim * dim + pool_weights + rel_params
    biases = 3 * dim + dim + pool_biases
    qkv, scores, project = n * c * 3 * dim, 2 * nq * nk * dim, nq * dim * dim
    macs = qkv + pool_macs + scores + rel_macs + project
    explain = [f"tokens 1 + {'x'.join(map(str, grid))} -> q 1 + {'x'.join(map(str, q_grid))} = {nq:,}, "
               f"k, v 1 + {'x'.join(map(str, kv_grid))} = {nk:,}; {heads} heads of {d}",
               f"params {weights + biases:,} (qkv {c}*{3 * dim} + {3 * dim}, projection {dim}*{dim} + {dim}, "
               f"pools {pool_weights + pool_biases:,}, relative position {rel_params:,})",
               f"MACs qkv {qkv:,} + pools {pool_macs:,} + attention 2*{nq:,}*{nk:,}*{dim} = {scores:,} "
               f"+ relative position {rel_macs:,} + projection {project:,} = {macs:,}"]
    return Sizing(GridTokens((dim, nq), q_grid), weights, biases, 0, macs, GLOBAL, explain,
                  other_macs=3 * dim * n + dim * nq)


def saved_pooling_attention(layer, ins, out) -> tuple:
    """What autograd keeps (saved_tensors_hooks, torch 2.13, torchvision's MultiscaleAttention;
    the contract test checks it): the input (for qkv); per pool, the grid tokens laid out for
    the conv (a copy), the norm's input (the class token in front again) and its statistics;
    k and v (their norms' outputs when pooled; else copies laid out for the batched matmul), q
    scaled, the softmax's output (h*Nq*Nk), the heads' output laid out for the projection; with
    relative position, three copies of the pooled grid queries (two einsums, one matmul: a view
    of q where the pooled grid is one position per frame)
    and, per network not per sample, the gathered tables and their int64 indices.
    At batch 1 with one head torch keeps views where it otherwise copies (k and v unpooled, the
    relative position's queries): sizecalc counts the copies, as at any batch > 1."""
    c, n, grid = needs_grid(ins[0], "pooling_attention")
    dim, heads = layer.args["dim"] or c, layer.args["heads"]
    kq, sq, kkv, skv, q_on, kv_on, q_grid, kv_grid = _geometry(layer, grid)
    nq, nk = 1 + prod(q_grid), 1 + prod(kv_grid)
    items = [Saved("input")]
    for on, g in ((q_on, q_grid), (kv_on, kv_grid), (kv_on, kv_grid)):
        if on:
            items += [Saved("own", elems=dim * prod(grid)), Saved("own", elems=dim * (1 + prod(g))),
                      Saved("own", elems=2 * heads * (1 + prod(g)), cuda_nbytes=4)]
    items += [Saved("own", elems=dim * nk)] * 2  # k, v
    items += [Saved("own", elems=dim * nq), Saved("own", elems=heads * nq * nk), Saved("own", elems=dim * nq)]
    if layer.args["relative_position"]:
        pairs = sum(a * b for a, b in zip(q_grid, kv_grid))
        # the matmul's queries, laid out time first: a copy, or a view of the whole pooled q (class
        # token included) where one position per frame leaves nothing to reorder (H = W = 1)
        one = q_grid[1] * q_grid[2] == 1
        items += [Saved("own", elems=dim * (nq - 1))] * 2 + [Saved("own", elems=dim * (nq if one else nq - 1))]
        items += [Saved("own", elems=pairs * (dim // heads), per_sample=False),
                  Saved("own", elems=pairs, nbytes=INDEX_BYTES, per_sample=False)]
    return tuple(items)


def workspace_pooling_attention(layer, ins, out) -> tuple:
    """Without autograd: the largest set of temporaries alive at once, besides the output
    (torchvision's forward, step by step: the qkv output until q, k and v are all pooled, each
    pool's copy of the grid, conv output and norm, q scaled for the scores, the scores and the
    softmax, which stays alive to the end, the heads' output laid out for the projection)."""
    c, n, grid = needs_grid(ins[0], "pooling_attention")
    dim, heads = layer.args["dim"] or c, layer.args["heads"]
    kq, sq, kkv, skv, q_on, kv_on, q_grid, kv_grid = _geometry(layer, grid)
    gq, gk = prod(q_grid), prod(kv_grid)
    nq, nk, g = 1 + gq, 1 + gk, prod(grid)
    moments, live = [], 3 * dim * n
    for on, gout in ((kv_on, gk), (kv_on, gk), (q_on, gq)):
        if on:
            moments += [live + dim * g + dim * gout, live + dim * gout + dim * (1 + gout),
                        live + 2 * dim * (1 + gout) + 2 * heads * (1 + gout)]
            live += dim * (1 + gout)
    if q_on and kv_on:
        live -= 3 * dim * n
    scores = heads * nq * nk
    moments += [live + dim * nq + (0 if kv_on else dim * nk) + scores]
    if layer.args["relative_position"]:
        _, gh, gw = kv_grid
        moments += [live + scores + 2 * dim * gq + heads * gq * sum(kv_grid) + heads * gq * (gh * gw + gk)]
    moments += [live + 2 * scores, live + scores + (0 if kv_on else dim * nk) + dim * nq]
    worst = max(max(moments) - dim * nq, live + scores + dim * nq)
    return (Saved("own", elems=worst),)


def torch_pooling_attention(layer, ins, out):
    c, n, grid = needs_grid(ins[0], "pooling_attention")
    a = layer.args
    kq, sq, kkv, skv, *_ = _geometry(layer, grid)
    return TorchModule("PoolingAttention", (c, a["dim"] or c, a["heads"], tuple(grid), tuple(kq), tuple(sq),
                                            tuple(kkv), tuple(skv)),
                       {"rel_pos": a["relative_position"], "residual_pool": a["residual_pool"],
                        "residual_with_cls": a["residual_with_cls"], "eps": a["eps"]})


def _token_pool_geometry(layer, grid):
    r = len(grid)
    stride = per_dim(layer.args["stride"], r, "stride")
    kernel = per_dim(layer.args["kernel"], r, "kernel") if layer.args["kernel"] is not None else \
        [s + 1 if s > 1 else s for s in stride]
    padding = per_dim(layer.args["padding"], r, "padding") if layer.args["padding"] is not None else \
        [k // 2 for k in kernel]
    for k, p in zip(kernel, padding):
        if 2 * p > k:
            raise LayerError("pool-padding", f"padding {p} is more than half the kernel {k} (PyTorch's rule)",
                             "padding", f"padding: {k // 2}")
    out = tuple((g + 2 * p - k) // s + 1 for g, k, s, p in zip(grid, kernel, stride, padding))
    if min(out) < 1:
        raise LayerError("window-too-large", f"kernel {'x'.join(map(str, kernel))} does not fit the grid "
                         f"{'x'.join(map(str, grid))}", "kernel", "a smaller kernel")
    return kernel, stride, padding, out


def infer_token_pool(layer, ins) -> Sizing:
    c, n, grid = needs_grid(ins[0], "token_pool")
    kernel, stride, padding, out = _token_pool_geometry(layer, grid)
    m = 1 + prod(out)
    return Sizing(GridTokens((c, m), out), other_macs=c * prod(out) * prod(kernel),
                  explain=[f"grid {'x'.join(map(str, grid))} -> {'x'.join(map(str, out))}: tokens 1 + "
                           f"{prod(out):,} = {m:,}"])


def saved_token_pool(layer, ins, out) -> tuple:
    """The grid laid out (a copy: the pool's input) and the pool's int64 indices."""
    c, n, grid = needs_grid(ins[0], "token_pool")
    *_, g = _token_pool_geometry(layer, grid)
    return (Saved("own", elems=c * prod(grid)), Saved("own", elems=c * prod(g), nbytes=INDEX_BYTES))


def workspace_token_pool(layer, ins, out) -> tuple:
    c, n, grid = needs_grid(ins[0], "token_pool")
    *_, g = _token_pool_geometry(layer, grid)
    return (Saved("own", elems=c * prod(grid)), Saved("own", elems=c * prod(g)))


def torch_token_pool(layer, ins, out):
    c, n, grid = needs_grid(ins[0], "token_pool")
    kernel, stride, padding, _ = _token_pool_geometry(layer, grid)
    return TorchModule("TokenPool", (tuple(grid), tuple(kernel), tuple(stride), tuple(padding)))


def infer_separable_position_embedding(layer, ins) -> Sizing:
    c, n, grid = needs_grid(ins[0], "separable_position_embedding")
    spatial, temporal = prod(grid[1:]), grid[0]
    params = (spatial + temporal + 1) * c
    return Sizing(ins[0], weights=params, other_macs=n * c,
                  explain=[f"params ({'*'.join(map(str, grid[1:]))} + {temporal} + 1)*{c} = {params:,}"])


def torch_separable_position_embedding(layer, ins, out):
    c, n, grid = needs_grid(ins[0], "separable_position_embedding")
    return TorchModule("SeparablePositionEmbedding", (c, tuple(grid)))


def _dims(name, doc, aliases=()):
    return ArgField(name, "dims", 1, aliases=aliases, minimum=1, doc=doc)


POOLING_ATTENTION = LayerKind(
    "pooling_attention", "attention", infer_pooling_attention, main="heads",
    aliases=("multiscale_attention", "MultiscaleAttention", "mvit_attention"),
    doc="MViT's pooling attention on a class token and T x H x W grid tokens: qkv, q/k/v pooled by depthwise "
        "conv + LayerNorm, attention, v2's relative position and residual pooling, projection",
    fields=(
        ArgField("heads", "int", aliases=("num_heads",), minimum=1, doc="attention heads; they split the dim channels"),
        ArgField("dim", "int", None, aliases=("output_dim", "attn_dim"), minimum=1,
                 doc="the attention's channels D (default: the input's; MViT v2 grows them here)"),
        _dims("kernel_q", "the query pool's kernel (1: no pool unless stride_q > 1)"),
        _dims("stride_q", "the query pool's stride: the grid's reduction at a stage's first block"),
        _dims("kernel_kv", "the key and value pools' kernel"),
        _dims("stride_kv", "the key and value pools' stride"),
        ArgField("relative_position", "bool", False, aliases=("rel_pos", "rel_pos_embed"),
                 doc="MViT v2's decomposed relative position: T, H and W tables of d per head-channel"),
        ArgField("residual_pool", "bool", False, doc="MViT v2: add the pooled q to the heads' output"),
        ArgField("residual_with_cls", "bool", True, aliases=("residual_with_cls_embed",),
                 doc="the residual pooling includes the class token"),
        ArgField("eps", "float", 1e-6, minimum=0.0, doc="the pools' LayerNorm epsilon"),
    ),
    torch=torch_pooling_attention, saved=saved_pooling_attention, alias=NO_ALIAS,
    workspace=workspace_pooling_attention,
)
TOKEN_POOL = LayerKind(
    "token_pool", "tokens", infer_token_pool, main="stride", aliases=("pool_skip",),
    doc="a max pool over the grid of a token sequence, the class token passed by (MViT's pooled shortcut)",
    fields=(
        ArgField("stride", "dims", aliases=("s",), minimum=1, doc="the grid's reduction"),
        ArgField("kernel", "dims", None, aliases=("k",), minimum=1, doc="default: stride + 1 where stride > 1, else 1"),
        ArgField("padding", "dims", None, minimum=0, doc="default: kernel // 2"),
    ),
    torch=torch_token_pool, saved=saved_token_pool, alias=NO_ALIAS, workspace=workspace_token_pool,
)
SEPARABLE_POSITION_EMBEDDING = LayerKind(
    "separable_position_embedding", "tokens", infer_separable_position_embedding,
    aliases=("space_time_position_embedding",),
    doc="MViT v1's position embedding: (H*W + T + 1) x C tables, summed per token and added in place",
    torch=torch_separable_position_embedding, saved=SAVES_NOTHING, alias=always, workspace=NO_WORKSPACE,
)
