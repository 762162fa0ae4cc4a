"""One node -> one layer (or a few: x.mean([2, 3]) is a pool, then a flatten): `MODULES` for
call_module, `_function_table()` / `METHODS` for call_function / call_method, each handler
returning (kind, args), "pass" for no layer, or None when sizecalc has no kind for it
(`map_node`). A handler reads the node alone; patterns over several nodes are fx_patterns'.
"""

from __future__ import annotations

import operator

from .fx_nodes import CHANNELS_LAST, SEQUENCE, _arg, _one, _prod, _shape

CONV_ROUNDING = "floor"  # PyTorch's convolutions and pools (without ceil_mode) floor


# -- call_module -------------------------------------------------------------------------
def conv(m, node, shapes):
    padding = m.padding if isinstance(m.padding, str) else _one(m.padding)
    args = {"filters": m.out_channels, "kernel": _one(m.kernel_size), "stride": _one(m.stride),
            "padding": 0 if padding == "valid" else padding, "dilation": _one(m.dilation), "groups": m.groups,
            "bias": m.bias is not None}
    if padding != "same":
        args["rounding"] = CONV_ROUNDING
    return "conv", args


def conv_transpose(m, node, shapes):
    return "conv_transpose", {"filters": m.out_channels, "kernel": _one(m.kernel_size), "stride": _one(m.stride),
                              "padding": _one(m.padding), "output_padding": _one(m.output_padding),
                              "dilation": _one(m.dilation), "groups": m.groups, "bias": m.bias is not None}


def batch_norm(m, node, shapes):
    return "bn", {"eps": m.eps, "momentum": 0.1 if m.momentum is None else m.momentum, "affine": m.affine,
                  "track_running_stats": m.track_running_stats}


def instance_norm(m, node, shapes):
    return "instance_norm", {"eps": m.eps, "momentum": 0.1 if m.momentum is None else m.momentum,
                             "affine": m.affine, "track_running_stats": m.track_running_stats}


def group_norm(m, node, shapes):
    if not m.affine:
        return None  # sizecalc's groupnorm is affine (2*C params)
    return "groupnorm", {"groups": m.num_groups, "eps": m.eps}


def layer_norm(m, node, shapes):
    if tuple(m.normalized_shape) != (shapes[0][0],) or not node.meta.get(CHANNELS_LAST):
        return None  # over the channels only (torch's last dimension): sizecalc's case
    return "layernorm", {"eps": m.eps, "elementwise_affine": m.elementwise_affine,
                         "bias": getattr(m, "bias", None) is not None}


def linear(m, node, shapes):
    """nn.Linear on a vector or on each token: fc; on each position of a channels-last map
    (ConvNeXt's Linear after a permute): the 1x1 conv of the same params and MACs."""
    if len(shapes[0]) == 1 or node.meta.get(SEQUENCE):
        return "fc", {"outputs": m.out_features, "bias": m.bias is not None}
    if node.meta.get(CHANNELS_LAST):
        return "conv", {"filters": m.out_features, "kernel": 1, "bias": m.bias is not None}
    return None  # over the last spatial dimension: no layer of sizecalc


def multihead_attention(m, node, shapes):
    """nn.MultiheadAttention(x, x, x) on batch-first tokens, as torchvision's ViT calls it."""
    args = node.args[:3] + tuple(node.kwargs.get(k) for k in ("query", "key", "value")[len(node.args):])
    masks = [_arg(node, i, name) for i, name in ((3, "key_padding_mask"), (5, "attn_mask"))]
    if not (m.batch_first and m._qkv_same_embed_dim and m.bias_k is None and len(set(args)) == 1
            and all(x is None for x in masks) and node.meta.get(SEQUENCE) and node.meta.get(CHANNELS_LAST)):
        return None
    return "attention", {"heads": m.num_heads, "bias": m.in_proj_bias is not None, "attention_dropout": m.dropout}


def pool(kind):
    def mapped(m, node, shapes):
        args = {"kernel": _one(m.kernel_size), "stride": _one(m.stride if m.stride is not None else m.kernel_size),
                "padding": _one(m.padding), "rounding": "ceil" if m.ceil_mode else CONV_ROUNDING}
        if kind == "maxpool":
            args["dilation"] = _one(m.dilation)
        elif getattr(m, "divisor_override", None) is not None:
            return None
        else:
            args["count_include_pad"] = m.count_include_pad
        return kind, args
    return mapped


def adaptive(kind):
    def mapped(m, node, shapes):
        size = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,) * (len(shapes[0]) - 1)
        if None in size:  # None keeps the input's size there
            size = [s if s is not None else w for s, w in zip(size, shapes[0][1:])]
        return kind, {"output": _one(size)}
    return mapped


def flatten_module(m, node, shapes):
    return ("flatten", {}) if m.start_dim == 1 and m.end_dim == -1 else None


def simple(kind, **fields):
    """A module whose sizecalc fields are its attributes: fields = {sizecalc name: attribute}."""
    def mapped(m, node, shapes):
        return kind, {name: getattr(m, attr) for name, attr in fields.items()}
    return mapped


def upsample(m, node, shapes):
    return resize_args(m.size, m.scale_factor, m.mode, m.align_corners)


def pad_module(m, node, shapes):
    return pad_args(m.padding, _pad_mode(m), getattr(m, "value", None), len(shapes[0]) - 1)


def _pad_mode(m) -> str:
    name = type(m).__name__
    return next((mode for prefix, mode in (("Reflection", "reflect"), ("Replication", "replicate"),
                                           ("Circular", "circular")) if name.startswith(prefix)), "constant")


def softmax_module(m, node, shapes):
    return ("softmax", {}) if m.dim in (1, -len(shapes[0]) - 1) or (m.dim == -1 and len(shapes[0]) == 1) else None


MODULES = {
    "Conv1d": conv, "Conv2d": conv, "Conv3d": conv,
    "ConvTranspose1d": conv_transpose, "ConvTranspose2d": conv_transpose, "ConvTranspose3d": conv_transpose,
    "BatchNorm1d": batch_norm, "BatchNorm2d": batch_norm, "BatchNorm3d": batch_norm,
    "InstanceNorm1d": instance_norm, "InstanceNorm2d": instance_norm, "InstanceNorm3d": instance_norm,
    "GroupNorm": group_norm, "LayerNorm": layer_norm, "MultiheadAttention": multihead_attention,
    "LocalResponseNorm": simple("lrn", size="size", alpha="alpha", beta="beta", k="k"),
    "Linear": linear, "Flatten": flatten_module,
    **{f"MaxPool{d}d": pool("maxpool") for d in (1, 2, 3)}, **{f"AvgPool{d}d": pool("avgpool") for d in (1, 2, 3)},
    **{f"AdaptiveAvgPool{d}d": adaptive("adaptive_avgpool") for d in (1, 2, 3)},
    **{f"AdaptiveMaxPool{d}d": adaptive("adaptive_maxpool") for d in (1, 2, 3)},
    "ReLU": simple("relu", inplace="inplace"), "ReLU6": simple("relu6", inplace="inplace"),
    "LeakyReLU": simple("leaky_relu", slope="negative_slope", inplace="inplace"),
    "ELU": simple("elu", alpha="alpha", inplace="inplace"), "Sigmoid": simple("sigmoid"), "Tanh": simple("tanh"),
    "GELU": simple("gelu"), "SiLU": simple("silu", inplace="inplace"),
    "Hardswish": simple("hardswish", inplace="inplace"), "Hardsigmoid": simple("hardsigmoid", inplace="inplace"),
    "Softmax": softmax_module, "Identity": simple("identity"),
    **{name: simple("dropout", p="p", inplace="inplace") for name in ("Dropout", "Dropout1d", "Dropout2d",
                                                                      "Dropout3d")},
    "PixelShuffle": simple("pixel_shuffle", factor="upscale_factor"),
    "PixelUnshuffle": simple("pixel_unshuffle", factor="downscale_factor"),
    "ChannelShuffle": simple("shuffle", groups="groups"),
    "Upsample": upsample, "UpsamplingNearest2d": upsample, "UpsamplingBilinear2d": upsample,
    **{f"{cls}{d}d": pad_module for cls in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad",
                                            "CircularPad") for d in (1, 2, 3)},
}


def resize_args(size, scale, mode, align_corners):
    args = {"mode": mode}
    if size is not None:
        args["size"] = _one(size)
    elif scale is not None:
        scale = _one(scale)
        args["scale"] = int(scale) if isinstance(scale, float) and scale.is_integer() else scale
    else:
        return None
    if align_corners is not None and mode not in ("nearest", "nearest-exact"):
        args["align_corners"] = bool(align_corners)
    return ("resize", args) if mode in ("nearest", "bilinear", "bicubic", "trilinear", "linear") else None


def pad_args(padding, mode, value, rank: int):
    """torch's sides (last dimension first: left, right, top, bottom) -> sizecalc's per-side
    list, first spatial dimension first (a dimension torch leaves out is not padded)."""
    sides = [padding] * (2 * rank) if isinstance(padding, int) else list(padding)
    pairs = [[sides[i], sides[i + 1]] for i in range(0, len(sides), 2)][::-1]
    if len(pairs) > rank:
        return None  # pads the channels
    pairs = [[0, 0]] * (rank - len(pairs)) + pairs
    if any(p < 0 for pair in pairs for p in pair):
        return None  # a negative pad crops
    args = {"padding": pairs[0][0] if all(p == pairs[0][0] for pair in pairs for p in pair) else pairs,
            "mode": mode}
    if mode == "constant" and value:
        args["value"] = float(value)
    return "pad", args


# -- call_function / call_method: (node, shapes) -> (kind, args) or None --------------------
def merge(kind):
    """Two tensors of one shape (add); mul also broadcasts a gate (C x 1 x 1 over C x H x W)."""
    def mapped(node, shapes):
        tensors = [a for a in node.args[:2] if hasattr(a, "op")]
        if len(tensors) != 2 or len(shapes) != 2:
            return None  # a tensor and a number: no layer of sizecalc
        same = shapes[0] == shapes[1]
        gate = kind == "mul" and len(shapes[0]) == len(shapes[1]) and all(
            a == b or 1 in (a, b) for a, b in zip(*shapes))
        return (kind, {}) if same or gate else None
    return mapped


def stochastic_depth(node, shapes):
    """torchvision.ops.stochastic_depth(input, p, mode, training)."""
    return "drop_path", {"p": float(_arg(node, 1, "p", 0.0)), "mode": _arg(node, 2, "mode", "row")}


def cat(node, shapes):
    dim = _arg(node, 1, "dim", 0)
    if len(shapes) == 1:
        return "pass"  # torch.cat of one tensor (DenseNet's first layer) is that tensor
    return ("concat", {}) if dim in (1, -len(shapes[0]) - 1) else None


def mean(node, shapes):
    """x.mean([2, 3]) over every spatial dimension: a global average pool (then a flatten
    unless keepdim)."""
    dims = _arg(node, 1, "dim")
    rank = len(shapes[0]) + 1
    dims = sorted(d % rank for d in (dims if isinstance(dims, (list, tuple)) else [dims])) if dims is not None else []
    if dims != list(range(2, rank)) or rank < 3:
        return None
    return [("global_avgpool", {})] + ([] if _arg(node, 2, "keepdim", False) else [("flatten", {})])


def activation(kind, *fields):
    """F.relu(x, inplace=...) and friends: fields = (sizecalc name, torch name, position, default)."""
    def mapped(node, shapes):
        return kind, {name: _arg(node, i, torch_name, default) for name, torch_name, i, default in fields}
    return mapped


def flatten_call(node, shapes, out):
    start = _arg(node, 1, "start_dim", 0)
    end = _arg(node, 2, "end_dim", -1)
    return ("flatten", {}) if start == 1 and end == -1 else None


def view(node, shapes, out):
    """x.view(n, -1) / reshape: the flatten pattern (all of a sample in one row), or a no-op."""
    if out == (_prod(shapes[0]),) and len(shapes[0]) > 1:
        return "flatten", {}
    return "pass" if out == shapes[0] else None


def adaptive_call(kind):
    def mapped(node, shapes):
        size = _arg(node, 1, "output_size")
        if isinstance(size, (tuple, list)) and None in size:
            return None
        return kind, {"output": _one(size)}
    return mapped


def pool_call(kind):
    def mapped(node, shapes):
        kernel = _arg(node, 1, "kernel_size")
        stride = _arg(node, 2, "stride") or kernel
        args = {"kernel": _one(kernel), "stride": _one(stride), "padding": _one(_arg(node, 3, "padding", 0))}
        if kind == "maxpool":
            args["dilation"] = _one(_arg(node, 4, "dilation", 1))
            ceil = _arg(node, 5, "ceil_mode", False)
        else:
            ceil = _arg(node, 4, "ceil_mode", False)
            args["count_include_pad"] = _arg(node, 5, "count_include_pad", True)
        args["rounding"] = "ceil" if ceil else CONV_ROUNDING
        return kind, args
    return mapped


def interpolate(node, shapes):
    """F.interpolate; a size read from a tensor's shape (segmentation heads: back to the input's
    H x W) is the size traced for this input."""
    size = _arg(node, 1, "size")
    if size is not None and any(hasattr(v, "op") for v in (size if isinstance(size, (list, tuple)) else [size])):
        size = list(_shape(node)[1:])
    return resize_args(size, _arg(node, 2, "scale_factor"), _arg(node, 3, "mode", "nearest"),
                       _arg(node, 4, "align_corners"))


def pad_call(node, shapes):
    """F.pad(x, pad): a side computed from sizes in the forward (torchvision's PatchEmbed3d pads
    T, H and W up to multiples of the patch) is read from the traced shapes: the high side where
    the low side is a number; none padded: no layer."""
    pad = _arg(node, 1, "pad")
    if isinstance(pad, (list, tuple)) and any(hasattr(v, "op") for v in pad):
        before, after, pad = _shape(node.args[0]), _shape(node), list(pad)
        if len(pad) % 2 or len(pad) // 2 > len(after) or len(before) != len(after):
            return None
        for i in range(0, len(pad), 2):
            if not isinstance(pad[i], int):
                return None  # the low side computed too: which side is not told by the shapes
            dim = len(after) - 1 - i // 2
            pad[i + 1] = after[dim] - before[dim] - pad[i]
        if not any(pad):
            return "pass"  # padded by nothing at this input: no layer
    return pad_args(pad, _arg(node, 2, "mode", "constant"), _arg(node, 3, "value"), len(shapes[0]) - 1)


def select_token(node, shapes):
    """x[:, 0] on batch x N x C tokens: one token as a vector (ViT's class token)."""
    index = node.args[1]
    if not (node.meta.get(SEQUENCE) and node.meta.get(CHANNELS_LAST) and isinstance(index, tuple)
            and len(index) == 2 and index[0] == slice(None) and isinstance(index[1], int)):
        return None
    return "select_token", {"index": index[1]}


def dropout_call(node, shapes):
    return "dropout", {"p": _arg(node, 1, "p", 0.5), "inplace": _arg(node, 3, "inplace", False)}


def _function_table() -> dict:
    import torch
    import torch.nn.functional as F  # noqa: N812
    relu = activation("relu", ("inplace", "inplace", 1, False))
    table = {
        operator.add: merge("add"), torch.add: merge("add"), operator.iadd: merge("add"),
        operator.mul: merge("mul"), torch.mul: merge("mul"), operator.imul: merge("mul"),
        torch.cat: cat, torch.concat: cat,
        F.relu: relu, torch.relu: activation("relu"), torch.relu_: activation("relu"),
        F.relu6: activation("relu6", ("inplace", "inplace", 1, False)),
        F.leaky_relu: activation("leaky_relu", ("slope", "negative_slope", 1, 0.01), ("inplace", "inplace", 2, False)),
        F.elu: activation("elu", ("alpha", "alpha", 1, 1.0), ("inplace", "inplace", 2, False)),
        F.gelu: activation("gelu"), F.silu: activation("silu", ("inplace", "inplace", 1, False)),
        F.hardswish: activation("hardswish", ("inplace", "inplace", 1, False)),
        F.hardsigmoid: activation("hardsigmoid", ("inplace", "inplace", 1, False)),
        torch.sigmoid: activation("sigmoid"), F.sigmoid: activation("sigmoid"),
        torch.tanh: activation("tanh"), F.tanh: activation("tanh"),
        F.dropout: dropout_call,
        F.adaptive_avg_pool1d: adaptive_call("adaptive_avgpool"),
        F.adaptive_avg_pool2d: adaptive_call("adaptive_avgpool"),
        F.adaptive_avg_pool3d: adaptive_call("adaptive_avgpool"),
        F.adaptive_max_pool2d: adaptive_call("adaptive_maxpool"),
        F.max_pool1d: pool_call("maxpool"), F.max_pool2d: pool_call("maxpool"), F.max_pool3d: pool_call("maxpool"),
        F.avg_pool1d: pool_call("avgpool"), F.avg_pool2d: pool_call("avgpool"), F.avg_pool3d: pool_call("avgpool"),
        F.interpolate: interpolate, F.pad: pad_call, torch.mean: mean,
    }
    return table


METHODS = {
    "add": merge("add"), "add_": merge("add"), "mul": merge("mul"), "mul_": merge("mul"),
    "relu": activation("relu"), "relu_": activation("relu", ("inplace", "inplace", 99, True)),
    "sigmoid": activation("sigmoid"), "tanh": activation("tanh"), "mean": mean,
}
SHAPED = {"flatten": flatten_call, "view": view, "reshape": view}  # read the output's shape too
PASS_METHODS = ("contiguous", "clone", "detach")  # the same values, no layer
BY_NAME = {"stochastic_depth": stochastic_depth}  # functions of libraries torch.fx leaves whole (torch.fx.wrap)


# -- a node -> its handler's mapping -------------------------------------------------------
def module_handler(module):
    """The handler of a torch.nn module, or of a subclass that keeps its forward
    (torchvision's Conv3DSimple is an nn.Conv3d): None for any other."""
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__ in MODULES:
            return MODULES[cls.__name__] if type(module).forward is cls.forward else None
    return None


def map_node(node, shapes, functions):
    """(kind, args), "pass" for no layer, or None when sizecalc has no kind for it."""
    if node.op == "call_module":
        module = node.graph.owning_module.get_submodule(node.target)
        handler = module_handler(module)
        return handler(module, node, shapes) if handler else None
    if node.op == "call_method":
        if node.target in PASS_METHODS:
            return "pass"
        if node.target in SHAPED:
            return SHAPED[node.target](node, shapes, _shape(node))
        handler = METHODS.get(node.target)
        return handler(node, shapes) if handler else None
    if node.op == "call_function":
        import torch
        if node.target in (torch.flatten, torch.reshape):
            return (flatten_call if node.target is torch.flatten else view)(node, shapes, _shape(node))
        if node.target is operator.getitem:
            return select_token(node, shapes)
        handler = functions.get(node.target) or BY_NAME.get(getattr(node.target, "__name__", None))
        return handler(node, shapes) if handler else None
    return None
