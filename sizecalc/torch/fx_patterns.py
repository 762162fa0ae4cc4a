"""The patterns that span nodes: a channels-last permute (no layer: the layout changes), a
parameter used as data (ViT's class token and position embedding, ConvNeXt's layer scale,
LayerNorm2d's F.layer_norm), ViT's map -> tokens, ShuffleNetV2's chunk and channel shuffle, MViT's
_unsqueeze; and, first, the blocks of fx_blocks. `patterns` tells the walk a node is done.
"""

from __future__ import annotations

import operator

from .fx_blocks import (MVIT_MODULES, PARTITION_MODULES, SWIN3D_MODULES, merge_patches, mvit_module,
                        partition_module, window_attention, window_attention_3d)
from .fx_nodes import _arg, _function_name, _is_tensor, _param_shape, _prod, _shape, _tuple_of_tensors


def from_parameters(walk, node, inputs) -> bool:
    """A parameter used as data (ViT's class token, a layer scale), or a tensor computed
    from parameters alone (Swin's position bias: listed at the end unless a layer takes it in)."""
    if walk.params.keys() & set(inputs):
        mapped = map_parameter(node, inputs, walk.params, walk.layouts, walk.made)
        if mapped is not None:
            kind, args, data = mapped
            if kind == "param":
                walk.params[node] = walk.params[inputs[0]]
            else:
                walk.used.update(n for n in inputs if n in walk.params)
                walk.layouts.keep(node, data)
                walk.add(node, (kind, args), [walk.made[data]])
            return True
    if inputs and node.op != "output" and _is_tensor(node) and all(
            n in walk.params or n in walk.derived for n in inputs):
        walk.derived[node] = None
        return True
    return False


def patterns(walk, node, inputs) -> bool:
    """The node is part of a pattern that spans nodes, and is done."""
    made, layouts = walk.made, walk.layouts
    if _function_name(node) == "shifted_window_attention":
        return window_attention(walk, node)
    if node.op == "call_module" and type(walk.graph.get_submodule(node.target)).__name__ in PARTITION_MODULES:
        return partition_module(walk, node, inputs)
    if node.op == "call_module" and type(walk.graph.get_submodule(node.target)).__name__ in MVIT_MODULES:
        return mvit_module(walk, node, inputs)
    if node.op == "call_module" and type(walk.graph.get_submodule(node.target)).__name__ in SWIN3D_MODULES:
        return window_attention_3d(walk, node, inputs)
    if _function_name(node) == "_unsqueeze" and len(inputs) == 1 and inputs[0] in made \
            and len(_shape(inputs[0])) + 1 == _arg(node, 1, "target_dim"):
        walk.tuples[node] = inputs[0]  # MViT's _unsqueeze(x, 5, 2) of a clip: (x, 5), x unchanged
        made[node] = made[inputs[0]]
        return True
    if from_parameters(walk, node, inputs) or merge_patches(walk, node, inputs):
        return True
    if node.op == "call_module" and not _is_tensor(node) and _tuple_of_tensors(node) \
            and all(n in made for n in inputs) and \
            type(walk.graph.get_submodule(node.target)).__name__ == "MultiheadAttention":
        mapped = walk.map(node, inputs)
        if mapped is not None:
            walk.add(node, mapped, [made[inputs[0]]])
            walk.tuples[node] = inputs[0]
            return True
    if node.target is operator.getitem and node.args[0] in walk.tuples:
        if node.args[1] == 0 and _is_tensor(node):  # (output, weights) or MViT's (output, grid): the output
            made[node] = made[node.args[0]]
            layouts.keep(node, walk.tuples[node.args[0]])
            if node.args[0] in layouts.thw:
                layouts.thw[node] = layouts.thw[node.args[0]]
            return True
        return not _is_tensor(node)  # the weights, not asked for (need_weights=False): None
    if inputs and _chunk(node, layouts, made):
        walk.chunks[node] = (_arg(node, 1, "chunks"), made[inputs[0]])
        return True
    if node.target is operator.getitem and node.args[0] in walk.chunks:
        parts, source = walk.chunks[node.args[0]]
        walk.add(node, ("split", {"parts": parts, "part": node.args[1] % parts}), [source])
        return True
    shuffle = channel_shuffle(node, inputs, walk.grouped, layouts, made)
    if shuffle is not None:
        if isinstance(shuffle, tuple):
            walk.grouped[node] = shuffle
        else:
            walk.add(node, ("shuffle", {"groups": shuffle}), [walk.grouped[inputs[0]][1]])
        return True
    perm = permuted(node, layouts) if inputs and inputs[0] in made else None
    if perm is not None and (_plain(perm) or _last(perm)):
        made[node] = made[inputs[0]]
        layouts.perm[node] = perm
        if inputs[0] in layouts.sequence:
            layouts.sequence.add(node)
        if inputs[0] in layouts.thw:
            layouts.thw[node] = layouts.thw[inputs[0]]
        return True
    return False


def _used(node, params, used) -> bool:
    """A get_attr parameter taken in by a layer (itself, or through an expand of it)."""
    return node in used or any(n in used for n in params if params[n] == params[node] and n is not node)


def map_parameter(node, inputs, params, layouts, made):
    """A parameter used as data: (kind, args, the tensor it acts on), ("param", ...) for an
    expand of it, or None. ViT's class token (expand + cat) and position embedding (add),
    ConvNeXt's layer scale (a C x 1 x 1 parameter times the map) and LayerNorm2d's
    F.layer_norm(x, (C,), weight, bias)."""
    import torch
    import torch.nn.functional as F  # noqa: N812
    target = node.target
    if target == "expand" and inputs[0] in params:
        return "param", {}, None
    data = [n for n in inputs if n not in params]
    if len(data) != 1 or data[0] not in made:
        return None
    x = data[0]
    shape, sample = _param_shape(next(n for n in inputs if n in params)), _shape(x)
    if target in (operator.mul, torch.mul, "mul") and len(inputs) == 2 and len(shape) <= len(sample) + 1:
        c, at = layouts.canonical(x)[0], layouts.order(x).index(0)
        # a scale per channel, as torch broadcasts it (from the last dimension)
        if (1,) * (len(sample) + 1 - len(shape)) + shape == (1, *(c if i == at else 1 for i in range(len(sample)))):
            return "layer_scale", {}, x
    if target in (operator.add, torch.add, "add") and len(inputs) == 2 and x in layouts.sequence \
            and layouts.channels_last(x) and tuple(shape) in (sample, (1, *sample)):
        return "position_embedding", {"length": sample[0]}, x
    if target in (torch.cat, torch.concat) and x in layouts.sequence and layouts.channels_last(x) \
            and _arg(node, 1, "dim", 0) in (1, -2) and len(inputs) == 2 and inputs[1] is x \
            and tuple(shape[-2:]) == (1, sample[-1]):
        return "class_token", {}, x
    if target is F.layer_norm and layouts.channels_last(x):
        c = layouts.canonical(x)[0]
        weight, bias = _arg(node, 2, "weight"), _arg(node, 3, "bias")
        if tuple(_arg(node, 1, "normalized_shape")) == (c,) and all(
                w is None or (w in params and _param_shape(w) == (c,)) for w in (weight, bias)):
            return "layernorm", {"eps": _arg(node, 4, "eps", 1e-5), "elementwise_affine": weight is not None,
                                 "bias": bias is not None}, x
    return None


def _chunk(node, layouts, made) -> bool:
    """x.chunk(parts, dim=1) on channels (ShuffleNetV2's split), in equal parts."""
    import torch
    if not (node.target == "chunk" or node.target is torch.chunk):
        return False
    x = node.args[0]
    if x not in made or not _is_tensor(x) or not layouts.same(x) or x in layouts.sequence:
        return False
    parts, dim = _arg(node, 1, "chunks"), _arg(node, 2, "dim", 0)
    return isinstance(parts, int) and dim in (1, -len(_shape(x)) - 1) and _shape(x)[0] % parts == 0


def channel_shuffle(node, inputs, grouped, layouts, made):
    """torchvision's channel_shuffle: view(n, g, C/g, H, W), transpose(1, 2), contiguous,
    view(n, C, H, W). Returns the state under way (groups, the input's Op, transposed), the
    groups where the shuffle is done, or None."""
    import torch
    if not inputs or node.op != "call_method" and node.target is not torch.transpose:
        return None
    x = inputs[0]
    if x in grouped:
        g, source, swapped = grouped[x]
        if node.target == "contiguous":
            return grouped[x]
        if node.target in ("transpose", torch.transpose) and not swapped and \
                sorted(d % (len(_shape(x)) + 1) for d in _dims(node, 1)) == [1, 2]:
            return g, source, True
        if node.target in ("view", "reshape") and swapped and \
                _shape(node) == (_shape(x)[0] * _shape(x)[1], *_shape(x)[2:]):
            return g
        return None
    if node.target in ("view", "reshape") and x in made and layouts.same(x) and x not in layouts.sequence:
        before, after = _shape(x), _shape(node)
        if len(after) == len(before) + 1 and after[2:] == before[1:] and after[0] * after[1] == before[0] \
                and after[0] > 1:
            return after[0], made[x], False
    return None


TO_TOKENS = {"reshape", "view", "flatten"}


def to_tokens(node, inputs, layouts):
    """C x H x W -> C x (H*W): x.reshape(n, C, H*W) or x.flatten(2), a map's positions as a
    sequence (torchvision's ViT); the permute to N x C after it is no layer."""
    import torch
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    if name not in TO_TOKENS or not inputs or not layouts.same(inputs[0]) or inputs[0] in layouts.sequence:
        return None
    if node.target not in ("reshape", "view", "flatten") and node.target not in (torch.reshape, torch.flatten):
        return None
    before, after = _shape(inputs[0]), _shape(node)
    if len(before) >= 3 and after == (before[0], _prod(before[1:])):
        return "tokens", {}
    return None


def _dims(node, start: int) -> list:
    """The dimension arguments of permute(0, 2, 1) / permute([0, 2, 1]) / transpose(1, 2)."""
    dims = list(node.args[start:]) or list(node.kwargs.get("dims", ()))
    return list(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else dims


def permuted(node, layouts):
    """A permute or transpose: the new order of sizecalc's dimensions (batch kept first), or None."""
    import torch
    if not (node.target in ("permute", "transpose") or node.target in (torch.permute, torch.transpose)):
        return None
    rank = len(_shape(node)) + 1
    dims = [d % rank for d in _dims(node, 1) if isinstance(d, int)]
    name = node.target if isinstance(node.target, str) else node.target.__name__
    if name == "transpose" and len(dims) == 2:
        a, b = dims
        dims = list(range(rank))
        dims[a], dims[b] = b, a
    if sorted(dims) != list(range(rank)) or dims[0] != 0 or node.args[0] in layouts.grouped:
        return None
    before = layouts.order(node.args[0])
    return tuple(before[d - 1] for d in dims[1:])


def _plain(perm) -> bool:
    return perm == tuple(range(len(perm)))


def _last(perm) -> bool:
    return perm == tuple(range(1, len(perm))) + (0,)
