"""torchvision's blocks whose layers sizecalc states whole: Swin's window attention (the
shifted_window_attention function; the video Swin's ShiftedWindowAttention3d, kept whole by
class name) and patch merging, MaxViT's partitions and relative attention, MViT's position
encoding, pooling and attention (kept whole by class name). Each is mapped only where its
tensors and shapes are, exactly, what sizecalc's kind sizes (checked against sizecalc's own
sizing); else it is listed by name and path, never counted as zero.
"""

from __future__ import annotations

from ..core.units import Tokens
from ..spec.writer import NETWORK_INPUT, Op
from .fx_nodes import (_arg, _function_name, _is_tensor, _one, _param_shape, _prod, _shape, _where, add_ops,
                       op_name, tensor_inputs)
from .fx_ops import module_handler


def window_attention(walk, node) -> bool:
    """torchvision's shifted_window_attention(x, qkv_weight, proj_weight, bias, window,
    heads, shift_size=, qkv_bias=, proj_bias=, logit_scale=) on a channels-last map: the
    bias computed from the parameters before it (v1: a table read through an index; v2:
    the position-bias MLP). Mapped where the tensors it takes in are, in number, the
    params and buffers of sizecalc's window_attention; else listed."""
    mapped = _window_attention_args(node, walk)
    if mapped is None:
        walk.unmapped.append(f"{op_name(node)} at {_where(node) or '(top level)'}")
        x = node.args[0]
        walk.made[node] = walk.made.get(x, NETWORK_INPUT)
        return True
    args, tensors = mapped
    x = node.args[0]
    walk.used.update(n for n in tensors if n in walk.params)
    walk.absorbed.update(n for n in tensors if n in walk.derived)
    walk.layouts.keep(node, x)
    walk.made[node] = add_ops(walk.ops, walk.shapes_out, [("window_attention", args)],
                              _where(node) or "shifted_window_attention", [walk.made[x]],
                              walk.layouts.canonical(node))
    return True


def _window_attention_args(node, walk):
    """(window_attention's args, the tensors it takes in) or None."""
    x = node.args[0] if node.args else None
    if x is None or x not in walk.made or not _is_tensor(x) or x in walk.layouts.sequence \
            or not walk.layouts.channels_last(x) or len(_shape(x)) != 3:
        return None
    window, heads = _arg(node, 4, "window_size"), _arg(node, 5, "num_heads")
    shift = _arg(node, 6, "shift_size", [0, 0])
    names = {"qkv_weight": 1, "proj_weight": 2, "relative_position_bias": 3}
    tensors = {k: _arg(node, i, k) for k, i in names.items()}
    for k, i in (("qkv_bias", 9), ("proj_bias", 10), ("logit_scale", 11)):
        tensors[k] = _arg(node, i, k)
    if not (isinstance(window, (list, tuple)) and len(window) == 2 and window[0] == window[1]
            and isinstance(shift, (list, tuple)) and len(shift) == 2 and shift[0] == shift[1]
            and isinstance(heads, int)):
        return None
    if any(t is not None and not (hasattr(t, "op") and (t in walk.params or t in walk.derived))
           for t in tensors.values()):
        return None
    if _arg(node, 7, "attention_dropout", 0.0) or _arg(node, 8, "dropout", 0.0):
        return None  # dropouts inside the attention: no field of sizecalc's
    args = {"heads": heads, "window": window[0], "shift": shift[0], "qkv_bias": tensors["qkv_bias"] is not None,
            "proj_bias": tensors["proj_bias"] is not None, "v2": tensors["logit_scale"] is not None}
    taken, params, buffers = set(), 0, 0
    for t in tensors.values():
        more, p, b = _taken_in(walk, t) if t is not None and t not in taken else (set(), 0, 0)
        taken |= more
        params, buffers = params + p, buffers + b
    try:
        sizing = _sizing("window_attention", args, walk.layouts.canonical(x))
    except Exception:
        return None
    if (sizing.weights + sizing.biases, sizing.buffers) != (params, buffers):
        return None  # not Swin's attention as sizecalc sizes it
    return args, taken


def _taken_in(walk, node) -> tuple[set, int, int]:
    """The parameter tensors and derived nodes `node` rests on, and their params and buffers."""
    seen, params, buffers = set(), 0, 0
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        if n.op == "get_attr":
            count = _param_shape(n)
            size = _prod(count)
            try:
                walk.graph.get_parameter(n.target)
                params += size
            except AttributeError:
                buffers += size
        elif n in walk.derived:
            if n.op == "call_module":
                m = walk.graph.get_submodule(n.target)
                params += sum(p.numel() for p in m.parameters())
                buffers += sum(b.numel() for b in m.buffers())
            stack += tensor_inputs(n)
    return seen, params, buffers


def merge_patches(walk, node, inputs) -> bool:
    """torchvision's PatchMerging: _patch_merging_pad (2x2 -> 4C, channels last; on a clip,
    T x H x W x C, each frame), then LayerNorm(4C) and Linear(4C, 2C, bias=False); v2: the
    Linear, then LayerNorm(2C)."""
    if _function_name(node) == "_patch_merging_pad" and inputs and inputs[0] in walk.made:
        x = inputs[0]
        if walk.layouts.channels_last(x) and x not in walk.layouts.sequence and len(_shape(x)) in (3, 4):
            walk.merging[node] = (x, ())
            return True
        return False
    if not (inputs and inputs[0] in walk.merging and node.op == "call_module" and len(inputs) == 1):
        return False
    x, steps = walk.merging[inputs[0]]
    c, m = walk.layouts.canonical(x)[0], walk.graph.get_submodule(node.target)
    name = type(m).__name__ if module_handler(m) is not None else None
    if name == "LayerNorm" and m.elementwise_affine and getattr(m, "bias", None) is not None and \
            tuple(m.normalized_shape) in ((4 * c,), (2 * c,)):
        step = f"norm{m.normalized_shape[0] // c}"
    elif name == "Linear" and m.bias is None and (m.in_features, m.out_features) == (4 * c, 2 * c):
        step = "linear"
    else:
        return False
    steps += (step,)
    if steps in (("norm4", "linear"), ("linear", "norm2")):
        walk.layouts.keep(node, x)
        path = _where(_pad_node(inputs[0], walk.merging))  # the PatchMerging module
        shape = walk.layouts.canonical(node)
        walk.made[node] = add_ops(walk.ops, walk.shapes_out,
                                  [("patch_merging", {"v2": steps[0] == "linear"})],
                                  path or node.target, [walk.made[x]], shape)
        return True
    if steps in (("norm4",), ("linear",)):
        walk.merging[node] = (x, steps)
        return True
    return False


def _pad_node(node, merging):
    """The _patch_merging_pad node that began the chain ending at `node`."""
    while node.op != "call_function" or _function_name(node) != "_patch_merging_pad":
        node = next(n for n in tensor_inputs(node) if n in merging)
    return node


# the video Swin's attention, kept whole by the tracer (by class name): its forward writes into
# a list (`_get_window_and_shift_size`), which torch.fx holds immutable while it traces
SWIN3D_MODULES = ("ShiftedWindowAttention3d",)


def window_attention_3d(walk, node, inputs) -> bool:
    """torchvision's ShiftedWindowAttention3d on a channels-last T x H x W x C clip ->
    `window_attention` with its stated window and shift (sizecalc applies torch's rule for a
    side the window covers); mapped only where the module's params and buffers are, exactly,
    sizecalc's for that layer and the clip's shape is kept; else listed by name and path."""
    m = walk.graph.get_submodule(node.target)
    x = inputs[0] if len(inputs) == 1 else None
    mapped = None
    if x is not None and x in walk.made and _is_tensor(node) and x not in walk.layouts.sequence \
            and walk.layouts.channels_last(x) and len(_shape(x)) == 4 and _shape(node) == _shape(x):
        try:
            mapped = _window_attention_3d_args(m, walk.layouts.canonical(x))
        except Exception:
            mapped = None
    if mapped is None:
        _listed(walk, node, x)
        if _is_tensor(node) and x is not None and _is_tensor(x) and _shape(node) == _shape(x):
            walk.layouts.keep(node, x)  # the clip as it came in: the layers after it are not listed for it
        return True
    walk.layouts.keep(node, x)
    walk.add(node, ("window_attention", mapped), [walk.made[x]])
    return True


def _window_attention_3d_args(m, shape):
    """window_attention's args for the module, or None."""
    import torch
    window, shift, heads = (getattr(m, k, None) for k in ("window_size", "shift_size", "num_heads"))
    qkv, proj = getattr(m, "qkv", None), getattr(m, "proj", None)
    if not (isinstance(window, (list, tuple)) and len(window) == 3 and isinstance(shift, (list, tuple))
            and len(shift) == 3 and all(isinstance(v, int) for v in (*window, *shift)) and isinstance(heads, int)
            and isinstance(qkv, torch.nn.Linear) and isinstance(proj, torch.nn.Linear)):
        return None
    c = shape[0]
    if (qkv.in_features, qkv.out_features, proj.in_features, proj.out_features) != (c, 3 * c, c, c):
        return None
    if getattr(m, "attention_dropout", 0.0) or getattr(m, "dropout", 0.0):
        return None  # dropouts inside the attention: no field of sizecalc's
    table, index = getattr(m, "relative_position_bias_table", None), getattr(m, "relative_position_index", None)
    if table is None or index is None or tuple(table.shape) != (_prod(2 * w - 1 for w in window), heads):
        return None
    args = {"heads": heads, "window": list(window), "shift": list(shift), "qkv_bias": qkv.bias is not None,
            "proj_bias": proj.bias is not None}
    sizing = _sizing("window_attention", args, shape)
    if (sizing.weights + sizing.biases, sizing.buffers) != (sum(t.numel() for t in m.parameters()),
                                                           sum(t.numel() for t in m.buffers())) \
            or tuple(sizing.output) != tuple(shape):
        return None  # not the video Swin's attention as sizecalc sizes it
    return args


# MaxViT's modules, kept whole by the tracer (by class name) and mapped only where what they
# do to the shapes (and, for the attention, their tensors) is what sizecalc's kinds state
PARTITION_MODULES = ("WindowPartition", "WindowDepartition", "SwapAxes", "RelativePositionalMultiHeadAttention")


def partition_module(walk, node, inputs) -> bool:
    """torchvision's MaxViT: WindowPartition()(x, p) on a C x H x W map -> groups x p^2 x C
    (`partition: p`, window); SwapAxes(-2, -3) right after it -> grid mode (p groups of
    (H/p)^2 tokens swapped to (H/p)^2 groups ... : `partition: H/p, mode: grid`), and before
    WindowDepartition()(x, p, gh, gw) -> the map back (`departition`);
    RelativePositionalMultiHeadAttention on the groups -> `relative_attention: head_dim`."""
    m = walk.graph.get_submodule(node.target)
    name = type(m).__name__
    mapped = _partition_args(walk, node, inputs, m, name) if inputs and all(n in walk.made for n in inputs) \
        and _is_tensor(node) else None
    if mapped is None:
        walk.unmapped.append(f"{name} at {node.target}")
        walk.made[node] = walk.made.get(inputs[0], NETWORK_INPUT) if inputs else NETWORK_INPUT
        return True
    x = inputs[0]
    if mapped in ("grid", "swap back"):  # the partition's swap (the partition op is now grid mode), and back
        walk.layouts.keep(node, x)
        walk.made[node] = walk.made[x]
        (walk.layouts.grid.add if mapped == "grid" else walk.layouts.grid.discard)(node)
        if mapped == "swap back":
            walk.swapped.add(node)
        return True
    kind, args = mapped
    if kind == "partition":
        walk.layouts.grouped.add(node)
        walk.layouts.sequence.add(node)
    elif kind == "relative_attention":
        walk.layouts.keep(node, x)
    walk.add(node, (kind, args), [walk.made[x]])
    return True


def _partition_args(walk, node, inputs, m, name):
    layouts, x = walk.layouts, inputs[0]
    if name == "WindowPartition":
        p = _arg(node, 1, "p")
        if len(inputs) != 1 or not isinstance(p, int) or not layouts.same(x) or x in layouts.sequence \
                or len(_shape(x)) != 3:
            return None
        c, h, w = _shape(x)
        if h % p or w % p or _shape(node) != ((h // p) * (w // p), p * p, c):
            return None
        return "partition", {"partition_size": p}
    if name == "SwapAxes":
        dims = sorted(d % 4 for d in (m.a, m.b)) if isinstance(m.a, int) and isinstance(m.b, int) else None
        if dims != [1, 2] or x not in layouts.grouped:
            return None
        if x in layouts.grid:
            return "swap back"
        op = walk.ops[-1] if walk.ops and walk.made[x] == walk.ops[-1].id else None
        if x in walk.swapped or op is None or op.kind != "partition" or "mode" in op.args \
                or x.op != "call_module" or not tensor_inputs(x):
            return None
        _, h, w = _shape(tensor_inputs(x)[0])
        p = op.args["partition_size"]
        if h // p != w // p:
            return None  # sizecalc's grid groups are square
        walk.ops[-1] = Op(op.id, "partition", {"partition_size": h // p, "mode": "grid"}, op.inputs)
        return "grid"
    if name == "WindowDepartition":
        p, gh, gw = (_arg(node, i, k) for i, k in ((1, "p"), (2, "h_partitions"), (3, "w_partitions")))
        if x not in layouts.grouped or not all(isinstance(v, int) for v in (p, gh, gw)):
            return None
        c = layouts.canonical(x)[0]
        if _shape(node) != (c, gh * p, gw * p) or gh * p * gw * p != layouts.canonical(x)[1]:
            return None
        grid = x in walk.swapped
        if x in layouts.grid:
            return None  # grid groups not swapped back
        size = gh if grid else p
        args = {"partition_size": size, "mode": "grid" if grid else "window"}
        if gh != gw:
            args["size"] = [gh * p, gw * p]
        return "departition", args
    # RelativePositionalMultiHeadAttention
    if x not in layouts.grouped or len(inputs) != 1:
        return None
    tokens = _shape(x)[-2]
    p, head_dim = round(tokens ** 0.5), getattr(m, "head_dim", None)
    if p * p != tokens or not isinstance(head_dim, int) or getattr(m, "max_seq_len", None) != tokens:
        return None
    args = {"head_dim": head_dim, "window": p}
    try:
        sizing = _sizing("relative_attention", args, Tokens(layouts.canonical(x)))
    except Exception:
        return None
    if (sizing.weights + sizing.biases, sizing.buffers) != (sum(t.numel() for t in m.parameters()),
                                                           sum(t.numel() for t in m.buffers())):
        return None
    return "relative_attention", args


# MViT's modules, kept whole by the tracer (by class name); each returns (tokens, grid) but
# the position encoding, and maps only where its tensors and shapes are sizecalc's kinds'
MVIT_MODULES = ("MultiscaleAttention", "Pool", "PositionalEncoding")


def mvit_module(walk, node, inputs) -> bool:
    """torchvision's MViT: PositionalEncoding -> class_token (v1: and
    separable_position_embedding), a block's pool_skip Pool(MaxPool3d) -> token_pool,
    MultiscaleAttention -> pooling_attention; on a token sequence whose grid is known."""
    m = walk.graph.get_submodule(node.target)
    layouts, x = walk.layouts, inputs[0] if len(inputs) == 1 else None
    mapped = None
    if x is not None and x in walk.made and x in layouts.sequence and layouts.channels_last(x) \
            and x in layouts.thw and x not in layouts.grouped:
        try:
            mapped = _mvit_args(m, type(m).__name__, layouts.canonical(x), layouts.thw[x], _out_shape(node))
        except Exception:
            mapped = None
    if mapped is None:
        _listed(walk, node, x)
        return True
    ops, grid = mapped
    layouts.keep(node, x)
    layouts.thw[node] = grid
    out = _out_shape(node)
    walk.made[node] = add_ops(walk.ops, walk.shapes_out, ops, node.target, [walk.made[x]],
                              Tokens((out[-1], out[0])))
    if not _is_tensor(node):
        walk.tuples[node] = x
    return True


def _out_shape(node) -> tuple:
    """The node's output per sample, or its tuple's first (MViT's (tokens, grid))."""
    meta = node.meta.get("tensor_meta")
    meta = meta if hasattr(meta, "shape") else meta[0]  # TensorMetadata is a named tuple itself
    return tuple(meta.shape[1:])


def _mvit_args(m, name, shape, grid, out):
    """([(kind, args)], the output's grid), or None."""
    from ..core.units import GridTokens
    from ..layers.mvit import pooled
    c, n = shape
    if len(out) != 2 or out[-1] <= 0:
        return None
    if name == "PositionalEncoding":
        tables = [getattr(m, k, None) for k in ("spatial_pos", "temporal_pos", "class_pos")]
        ops = [("class_token", {})]
        if all(t is not None for t in tables):
            if [tuple(t.shape) for t in tables] != [(prod_(grid[1:]), c), (grid[0], c), (c,)] or len(grid) != 3:
                return None
            ops.append(("separable_position_embedding", {}))
        elif any(t is not None for t in tables):
            return None
        if tuple(m.class_token.shape) != (c,) or out != (n + 1, c) or \
                sum(t.numel() for t in m.parameters()) != c + sum(t.numel() for t in tables if t is not None) or \
                any(True for _ in m.buffers()):
            return None
        return ops, grid
    if name == "Pool":
        pool = m.pool
        if type(pool).__name__ != "MaxPool3d" or m.norm_act is not None or len(grid) != 3:
            return None
        kernel, stride, padding = (list(v) if isinstance(v, (tuple, list)) else [v] * 3
                                   for v in (pool.kernel_size, pool.stride, pool.padding))
        if kernel != [s + 1 if s > 1 else s for s in stride] or padding != [k // 2 for k in kernel] \
                or _one(pool.dilation) != 1 or pool.ceil_mode:
            return None
        after = pooled(grid, kernel, stride)
        if out != (1 + prod_(after), c) or n != 1 + prod_(grid):
            return None
        return [("token_pool", {"stride": _one(stride)})], after
    # MultiscaleAttention
    pools = {}
    for key in ("q", "k", "v"):
        pool = getattr(m, f"pool_{key}", None)
        if pool is None:
            pools[key] = ([1, 1, 1], [1, 1, 1], None)
            continue
        conv = pool.pool
        norms = list(pool.norm_act) if pool.norm_act is not None else []
        if type(conv).__name__ != "Conv3d" or conv.bias is not None or conv.groups != conv.in_channels \
                or len(norms) != 1 or type(norms[0]).__name__ != "LayerNorm" or pool.norm_before_pool \
                or list(conv.padding) != [k // 2 for k in conv.kernel_size] or _one(conv.dilation) != 1:
            return None
        pools[key] = (list(conv.kernel_size), list(conv.stride), norms[0].eps)
    if pools["k"][:2] != pools["v"][:2] or len(m.project) != 1:
        return None
    eps = {p[2] for p in pools.values() if p[2] is not None}
    args = {"heads": m.num_heads, "dim": m.output_dim, "kernel_q": _one(pools["q"][0]),
            "stride_q": _one(pools["q"][1]), "kernel_kv": _one(pools["k"][0]), "stride_kv": _one(pools["k"][1]),
            "relative_position": m.rel_pos_h is not None, "residual_pool": bool(m.residual_pool),
            "residual_with_cls": bool(m.residual_with_cls_embed)}
    if len(eps) > 1:
        return None
    if eps:
        args["eps"] = eps.pop()
    if args["dim"] == c:
        del args["dim"]
    sizing = _sizing("pooling_attention", args, GridTokens((c, n), grid))
    if (sizing.weights + sizing.biases, sizing.buffers) != (sum(t.numel() for t in m.parameters()),
                                                           sum(t.numel() for t in m.buffers())) \
            or out != (sizing.output[1], sizing.output[0]):
        return None
    return [("pooling_attention", args)], sizing.output.grid


def prod_(values) -> int:
    return _prod(values)


def _listed(walk, node, x):
    """A module kept whole that sizecalc does not map: listed by class name and path; its output
    stands for its input's (the walk goes on), and a tuple it returns is an unmapped op's."""
    walk.unmapped.append(f"{type(walk.graph.get_submodule(node.target)).__name__} at {node.target}")
    walk.made[node] = walk.made.get(x, NETWORK_INPUT) if x is not None else NETWORK_INPUT
    if not _is_tensor(node):
        walk.failed.add(node)


def _sizing(kind_name: str, args: dict, shape: tuple):
    """sizecalc's own sizing of one layer (its fields' defaults where args leave them out)."""
    from ..layers import lookup
    from ..layers.base import Layer
    kind = lookup(kind_name)
    return kind.infer(Layer("import", kind, {f.name: args.get(f.name, f.default) for f in kind.fields}, []),
                      [shape if isinstance(shape, Tokens) else tuple(shape)])
