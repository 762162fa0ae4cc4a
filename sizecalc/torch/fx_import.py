"""`sizecalc import MODULE:FACTORY`: a PyTorch module -> sizecalc's layers (`spec.writer.Op`s).

The factory is the user's own code (`torchvision.models:resnet50`, `net.py:build`): importing
and calling it runs that code, which is what the user asked for. It is called on the meta
device where it can be (no weights allocated; moved there when built on the CPU), traced with
torch.fx (a subclass of a mapped torch.nn module that keeps its forward stays whole) and
shape-propagated on a meta input; each node then maps to a kind of sizecalc (`MODULES` for
call_module, `FUNCTIONS` / `METHODS` for call_function / call_method). A node that maps to
nothing is collected and reported, by op and module path, never counted as zero; a node that
only passes its input on (a view that keeps the shape, `contiguous`, a tuple's item) is no
layer. The spec text is written by `spec.writer`; nothing here evaluates spec text.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import operator
import os
import sys

from ..core.errors import Finding, InputError, SpecError
from ..core.units import Tokens
from ..spec.writer import NETWORK_INPUT, Op

CONV_ROUNDING = "floor"  # PyTorch's convolutions and pools (without ceil_mode) floor
# what a node's tensor input is, in node.meta while it is mapped: torch's last dimension holds the
# channels (a vector, a channels-last permute, batch x N x C tokens); a token sequence
CHANNELS_LAST, SEQUENCE = "sizecalc_channels_last", "sizecalc_sequence"


def _one(value):
    """A per-dimension tuple with one value throughout as that value (kernel 3, not [3, 3])."""
    if isinstance(value, (tuple, list)):
        value = list(value)
        return value[0] if value and all(v == value[0] for v in value) else value
    return value


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
def _arg(node, i: int, name: str, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


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


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


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


# -- the user's factory -------------------------------------------------------------------
def _usage(message: str, fix: str) -> InputError:
    return InputError([Finding("import", message, fix=fix)])


def load_factory(target: str):
    """`package.module:factory` or `path/to/file.py:factory` -> the callable (imports it: runs
    the module's code, as the user asked)."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise _usage(f"'{target}' is not MODULE:FACTORY", "write torchvision.models:resnet50 or net.py:build")
    try:
        if where.endswith(".py") or os.sep in where:
            if not os.path.isfile(where):
                raise _usage(f"no such file: {where}", "give the path of the Python file that defines the factory")
            spec = importlib.util.spec_from_file_location(f"_sizecalc_import_{abs(hash(where))}", where)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except InputError:
        raise
    except Exception as err:  # the user's module failed to import: say so in one line
        raise _usage(f"importing {where} failed: {type(err).__name__}: {err}",
                     "check that it imports in Python (python -c 'import ...')") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise _usage(f"{where} has no callable '{name}'", "name a function or class that returns an nn.Module")
    return factory


def build(factory):
    """The module, built on the meta device (no weights allocated); on the CPU when the
    factory cannot run there. Returns (module, on_meta)."""
    import torch
    try:
        with torch.device("meta"):
            model = factory()
        on_meta = True
    except Exception:  # a factory that reads or fills tensor values at build time
        try:
            model = factory()
        except Exception as err:
            raise _usage(f"calling the factory failed: {type(err).__name__}: {err}",
                         "check that FACTORY() returns an nn.Module without arguments") from None
        on_meta = False
    if not isinstance(model, torch.nn.Module):
        raise _usage(f"the factory returned {type(model).__name__}, not an nn.Module",
                     "name a function or class that returns an nn.Module")
    if not on_meta:
        model = model.to("meta")  # only shapes are needed: the forward pass then costs nothing
    return model.eval(), on_meta


def module_handler(module):
    """The handler of a torch.nn module, or of a subclass that keeps its forward
    (torchvision's Conv3DSimple is an nn.Conv3d): None for any other."""
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__ in MODULES:
            return MODULES[cls.__name__] if type(module).forward is cls.forward else None
    return None


def _tracer_class():
    import torch

    class Tracer(torch.fx.Tracer):
        """torch.fx's tracer, keeping whole a subclass of a mapped torch.nn module that does
        not change its forward (so it maps as that module)."""

        def is_leaf_module(self, m, qualname):
            return super().is_leaf_module(m, qualname) or module_handler(m) is not None \
                or type(m).__name__ in PARTITION_MODULES + MVIT_MODULES + SWIN3D_MODULES
    return Tracer


def _Tracer():  # noqa: N802
    return _tracer_class()()


def trace(model, input_shape: tuple):
    """torch.fx graph of the module, every node's output shape propagated on a meta input."""
    import torch
    from torch.fx.passes.shape_prop import ShapeProp
    try:
        graph = torch.fx.GraphModule(model, _Tracer().trace(model), type(model).__name__)
    except Exception as err:
        raise SpecError([Finding("import", f"torch.fx cannot trace {type(model).__name__}: "
                                 f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
                                 fix="torch.fx needs a forward without control flow on tensor values; "
                                     "wrap such a part with torch.fx.wrap, or import a submodule that traces")]) \
            from None
    device = next((p.device for p in model.parameters()), torch.device("meta"))
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # ShapeProp prints the traceback of a failed node
            ShapeProp(graph).propagate(torch.empty(1, *input_shape, device=device))
    except Exception as err:
        raise SpecError([Finding("import", f"a forward pass of {type(model).__name__} on a "
                                 f"{'x'.join(map(str, input_shape))} input failed: {type(err).__name__}: "
                                 f"{str(err).splitlines()[0] if str(err) else ''}",
                                 fix="give the input the model takes: --input 3x224x224")]) from None
    return graph


# -- the graph -> Ops ----------------------------------------------------------------------
def _is_tensor(node) -> bool:
    import torch
    meta = node.meta.get("tensor_meta") if hasattr(node, "meta") else None
    return meta is not None and hasattr(meta, "shape") and isinstance(meta.shape, torch.Size)


def _tuple_of_tensors(node) -> bool:
    meta = node.meta.get("tensor_meta")
    return isinstance(meta, (tuple, list)) and len(meta) > 0


def _shape(node) -> tuple:
    return tuple(node.meta["tensor_meta"].shape[1:])  # per sample: the batch dimension off


def tensor_inputs(node) -> list:
    """The tensors a node reads, in argument order (x + x reads x twice)."""
    out = []

    def visit(value):
        if isinstance(value, (list, tuple)):
            for v in value:
                visit(v)
        elif hasattr(value, "op") and _is_tensor(value):
            out.append(value)
    visit(list(node.args) + list(node.kwargs.values()))
    return out


def _where(node) -> str:
    """The module path a function or method node was called in ('' at the top)."""
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


def op_name(node) -> str:
    if node.op == "call_module":
        return type(node.graph.owning_module.get_submodule(node.target)).__name__
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    return f"{'torch.nn.functional' if 'functional' in module else module.replace('_operator', 'operator')}.{name}" \
        if module else name


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


# kinds that work on each value (or each channel) whatever the order of torch's dimensions:
# their output keeps their input's layout (channels last, a token sequence)
KEEP_LAYOUT = {"relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish",
               "hardsigmoid", "identity", "dropout", "drop_path", "add", "mul", "layernorm", "layer_scale",
               "position_embedding", "attention", "fc", "conv"}
TO_TOKENS = {"reshape", "view", "flatten"}


class _Layouts:
    """How torch holds each tensor relative to sizecalc's order (channels first; tokens C x N):
    `perm[node][i]` is the sizecalc dimension at torch's dimension i (absent: the same order),
    `sequence` the nodes that are token sequences."""

    def __init__(self):
        self.perm: dict = {}
        self.sequence: set = set()
        self.grouped: set = set()  # MaxViT's partitioned map: groups x tokens x C, sizecalc's C x N tokens
        self.grid: set = set()  # ... in grid mode, swapped: the grid's groups
        self.thw: dict = {}  # a token sequence's grid (MViT's T x H x W): node -> grid

    def order(self, node) -> tuple:
        if node in self.grouped:
            return ("grouped",)
        return self.perm.get(node) or tuple(range(len(_shape(node))))

    def canonical(self, node) -> tuple:
        """The node's shape in sizecalc's order."""
        if node in self.grouped:
            shape = _shape(node)
            return shape[-1], _prod(shape[:-1])
        shape, perm = _shape(node), self.perm.get(node)
        if not perm:
            return shape
        out = [0] * len(shape)
        for i, d in enumerate(perm):
            out[d] = shape[i]
        return tuple(out)

    def same(self, node) -> bool:
        return self.order(node) == tuple(range(len(_shape(node))))

    def channels_last(self, node) -> bool:
        order = self.order(node)
        return len(order) == 1 or order[-1] == 0 or node in self.grouped

    def keep(self, node, source):
        if source in self.perm:
            self.perm[node] = self.perm[source]
        if source in self.sequence:
            self.sequence.add(node)
        if source in self.grouped:
            self.grouped.add(node)
        if source in self.grid:
            self.grid.add(node)
        if source in self.thw:
            self.thw[node] = self.thw[source]


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


def _param_shape(node) -> tuple:
    return tuple(node.meta["tensor_meta"].shape)


def to_ops(graph) -> tuple[list[Op], list[tuple]]:
    """The traced, shape-propagated graph -> (Ops, each Op's output shape per sample in
    sizecalc's order: channels first, tokens C x N). Raises SpecError listing every node
    sizecalc has no kind for."""
    walk = _Walk(graph)
    for node in graph.graph.nodes:
        walk.step(node)
    unmapped = walk.unmapped + [f"a tensor attribute ({name}) used as data" for node, name in walk.params.items()
                                if node.op == "get_attr" and not _used(node, walk.params, walk.used)]
    unmapped += [f"{op_name(node)} at {_where(node) or '(top level)'} (computed from parameters)"
                 for node in walk.derived if node not in walk.absorbed
                 and not any(user in walk.derived for user in node.users)]
    unmapped += [f"{op_name(node)} at {_where(node) or '(top level)'} (patch merging not completed)"
                 for node in walk.merging if not any(user in walk.merging or user in walk.made
                                                     for user in node.users)]
    if unmapped:
        raise SpecError([Finding("unmapped-op", f"sizecalc has no layer for {what}",
                                 fix="replace it, or size the rest: import a submodule that leaves it out")
                         for what in unmapped])
    return walk.ops, walk.shapes_out


class _Walk:
    """The graph's nodes, in order, to Ops: what each node maps to, and the patterns that span
    nodes (a permute, a channel shuffle, a chunk, a parameter used as data)."""

    def __init__(self, graph):
        self.graph = graph
        self.functions = _function_table()
        self.made: dict = {}  # node -> the id of the Op whose output it is ("input" for the network's)
        self.ops: list[Op] = []
        self.shapes_out: list[tuple] = []
        self.unmapped: list[str] = []
        self.failed: set = set()  # nodes listed as unmapped whose output is not one tensor
        self.layouts = _Layouts()
        self.params: dict = {}  # get_attr tensors (a parameter used as data) and their expand: node -> name
        self.used: set = set()  # the parameters a layer took in (class token, position embedding, ...)
        self.grouped: dict = {}  # channel shuffle under way: node -> (groups, the input's Op, transposed)
        self.chunks: dict = {}  # x.chunk(parts, dim=1): node -> (parts, the input's Op)
        self.tuples: dict = {}  # a module that returns (output, weights): node -> its input
        self.derived: dict = {}  # a tensor computed from parameters alone (Swin's position bias): node -> None
        self.absorbed: set = set()  # the derived tensors a layer took in
        self.merging: dict = {}  # Swin's patch merging under way: node -> (the map's node, steps so far)
        self.swapped: set = set()  # MaxViT's grid groups swapped back before the departition

    def add(self, node, mapped, inputs):
        where = node.target if node.op == "call_module" else _where(node)
        path = node.target if node.op == "call_module" else ".".join(p for p in (where, _base(node)) if p)
        shape = None
        if _is_tensor(node):  # in sizecalc's order (the node's layout is known by now)
            shape = self.layouts.canonical(node)
            shape = Tokens(shape) if node in self.layouts.sequence else shape
        self.made[node] = add_ops(self.ops, self.shapes_out, mapped if isinstance(mapped, list) else [mapped],
                                  path, inputs, shape)

    def map(self, node, inputs):
        for n in inputs[:1]:
            node.meta[CHANNELS_LAST] = self.layouts.channels_last(n)
            node.meta[SEQUENCE] = n in self.layouts.sequence
        return map_node(node, [self.layouts.canonical(n) for n in inputs], self.functions)

    def step(self, node):
        made, layouts = self.made, self.layouts
        if node.op == "placeholder":
            made[node] = NETWORK_INPUT
            return
        if node.op == "get_attr":
            if _is_tensor(node):
                self.params[node] = node.target
            return
        inputs = tensor_inputs(node)
        if self.patterns(node, inputs):
            return
        if node.op == "output" or not _is_tensor(node):
            if node.op == "call_module" or (inputs and node.op != "output" and _tuple_of_tensors(node)):
                self.unmapped.append(f"{op_name(node)} at "
                                     f"{node.target if node.op == 'call_module' else _where(node)}")
                self.failed.add(node)
            return  # the result, or a size: no layer
        if node.target is operator.getitem and node.args[0] in self.failed:
            made[node] = made.get(inputs[0], NETWORK_INPUT) if inputs else NETWORK_INPUT
            return  # an item of what an unmapped op returned: that op is listed
        mapped = None
        if all(n in made for n in inputs):
            mapped = _in_layout(node, to_tokens(node, inputs, layouts) or self.map(node, inputs), inputs, layouts)
        if mapped is None:
            where = node.target if node.op == "call_module" else _where(node)
            self.unmapped.append(f"{op_name(node)} at {where or '(top level)'}")
            made[node] = made.get(inputs[0], NETWORK_INPUT) if inputs else NETWORK_INPUT
        elif mapped == "pass":
            made[node] = made[inputs[0]]
            layouts.keep(node, inputs[0])
        else:
            last = (mapped[-1] if isinstance(mapped, list) else mapped)[0]
            if last == "tokens":
                layouts.sequence.add(node)
                layouts.thw[node] = _shape(inputs[0])[1:]
            elif last in KEEP_LAYOUT and inputs:
                layouts.keep(node, inputs[0])
            self.add(node, mapped, [made[n] for n in inputs])

    def from_parameters(self, node, inputs) -> bool:
        """A parameter used as data (ViT's class token, a layer scale), or a tensor computed
        from parameters alone (Swin's position bias: listed at the end unless a layer takes it in)."""
        if self.params.keys() & set(inputs):
            mapped = map_parameter(node, inputs, self.params, self.layouts, self.made)
            if mapped is not None:
                kind, args, data = mapped
                if kind == "param":
                    self.params[node] = self.params[inputs[0]]
                else:
                    self.used.update(n for n in inputs if n in self.params)
                    self.layouts.keep(node, data)
                    self.add(node, (kind, args), [self.made[data]])
                return True
        if inputs and node.op != "output" and _is_tensor(node) and all(
                n in self.params or n in self.derived for n in inputs):
            self.derived[node] = None
            return True
        return False

    def patterns(self, node, inputs) -> bool:
        """The node is part of a pattern that spans nodes, and is done."""
        made, layouts = self.made, self.layouts
        if _function_name(node) == "shifted_window_attention":
            return _window_attention(self, node)
        if node.op == "call_module" and type(self.graph.get_submodule(node.target)).__name__ in PARTITION_MODULES:
            return _partition_module(self, node, inputs)
        if node.op == "call_module" and type(self.graph.get_submodule(node.target)).__name__ in MVIT_MODULES:
            return _mvit_module(self, node, inputs)
        if node.op == "call_module" and type(self.graph.get_submodule(node.target)).__name__ in SWIN3D_MODULES:
            return _window_attention_3d(self, node, inputs)
        if _function_name(node) == "_unsqueeze" and len(inputs) == 1 and inputs[0] in made \
                and len(_shape(inputs[0])) + 1 == _arg(node, 1, "target_dim"):
            self.tuples[node] = inputs[0]  # MViT's _unsqueeze(x, 5, 2) of a clip: (x, 5), x unchanged
            made[node] = made[inputs[0]]
            return True
        if self.from_parameters(node, inputs) or _merge_patches(self, node, inputs):
            return True
        if node.op == "call_module" and not _is_tensor(node) and _tuple_of_tensors(node) \
                and all(n in made for n in inputs) and \
                type(self.graph.get_submodule(node.target)).__name__ == "MultiheadAttention":
            mapped = self.map(node, inputs)
            if mapped is not None:
                self.add(node, mapped, [made[inputs[0]]])
                self.tuples[node] = inputs[0]
                return True
        if node.target is operator.getitem and node.args[0] in self.tuples:
            if node.args[1] == 0 and _is_tensor(node):  # (output, weights) or MViT's (output, grid): the output
                made[node] = made[node.args[0]]
                layouts.keep(node, self.tuples[node.args[0]])
                if node.args[0] in layouts.thw:
                    layouts.thw[node] = layouts.thw[node.args[0]]
                return True
            return not _is_tensor(node)  # the weights, not asked for (need_weights=False): None
        if inputs and _chunk(node, layouts, made):
            self.chunks[node] = (_arg(node, 1, "chunks"), made[inputs[0]])
            return True
        if node.target is operator.getitem and node.args[0] in self.chunks:
            parts, source = self.chunks[node.args[0]]
            self.add(node, ("split", {"parts": parts, "part": node.args[1] % parts}), [source])
            return True
        shuffle = channel_shuffle(node, inputs, self.grouped, layouts, made)
        if shuffle is not None:
            if isinstance(shuffle, tuple):
                self.grouped[node] = shuffle
            else:
                self.add(node, ("shuffle", {"groups": shuffle}), [self.grouped[inputs[0]][1]])
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


def _window_attention(walk, node) -> bool:
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


def _merge_patches(walk, node, inputs) -> bool:
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


# the video Swin's attention, kept whole by the tracer (by class name): its forward writes into
# a list (`_get_window_and_shift_size`), which torch.fx holds immutable while it traces
SWIN3D_MODULES = ("ShiftedWindowAttention3d",)


def _window_attention_3d(walk, node, inputs) -> bool:
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
        walk.unmapped.append(f"{type(m).__name__} at {node.target}")
        walk.made[node] = walk.made.get(x, NETWORK_INPUT) if x is not None else NETWORK_INPUT
        if not _is_tensor(node):
            walk.failed.add(node)
        elif x is not None and _is_tensor(x) and _shape(node) == _shape(x):
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


def _partition_module(walk, node, inputs) -> bool:
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


def _mvit_module(walk, node, inputs) -> bool:
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
        walk.unmapped.append(f"{type(m).__name__} at {node.target}")
        walk.made[node] = walk.made.get(x, NETWORK_INPUT) if x is not None else NETWORK_INPUT
        if not _is_tensor(node):
            walk.failed.add(node)
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


def _pad_node(node, merging):
    """The _patch_merging_pad node that began the chain ending at `node`."""
    while node.op != "call_function" or _function_name(node) != "_patch_merging_pad":
        node = next(n for n in tensor_inputs(node) if n in merging)
    return node


def _function_name(node) -> str | None:
    return getattr(node.target, "__name__", None) if node.op == "call_function" else None


def _sizing(kind_name: str, args: dict, shape: tuple):
    """sizecalc's own sizing of one layer (its fields' defaults where args leave them out)."""
    from ..layers import lookup
    from ..layers.base import Layer
    kind = lookup(kind_name)
    return kind.infer(Layer("import", kind, {f.name: args.get(f.name, f.default) for f in kind.fields}, []),
                      [shape if isinstance(shape, Tokens) else tuple(shape)])


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


def _used(node, params, used) -> bool:
    """A get_attr parameter taken in by a layer (itself, or through an expand of it)."""
    return node in used or any(n in used for n in params if params[n] == params[node] and n is not node)


def _in_layout(node, mapped, inputs, layouts):
    """The mapping, where sizecalc's kind reads its input as torch holds it: a kind that works
    per value keeps any layout; any other needs sizecalc's own order (not a token sequence,
    unless it reads one)."""
    if mapped is None or mapped == "pass":
        return mapped  # a view that keeps the shape, contiguous: the layout stays
    kind = (mapped[0] if isinstance(mapped, list) else mapped)[0]
    if kind in KEEP_LAYOUT and len({layouts.order(n) for n in inputs}) <= 1 \
            and len({n in layouts.sequence for n in inputs}) <= 1:
        return mapped
    if kind in ("select_token", "tokens") or all(layouts.same(n) and n not in layouts.sequence for n in inputs):
        return mapped
    return None


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


def add_ops(ops: list[Op], shapes_out: list, mapped: list, path: str, inputs: list, shape: tuple) -> str:
    """Append the layers one node maps to (x.mean([2, 3]): a pool, then a flatten); returns the
    id of the last. A layer's shape is torch's where it is the node's output, else None."""
    for n, (kind, args) in enumerate(mapped):
        ops.append(Op(path if n == 0 else f"{path}#{kind}", kind, args, tuple(inputs)))
        shapes_out.append(shape if n == len(mapped) - 1 else None)
        made = ops[-1].id if ops[-1].id not in {o.id for o in ops[:-1]} else _renamed(ops, ops[-1].id)
        inputs = [made]
    return made


def _base(node) -> str:
    return str(node.target if node.op == "call_method" else getattr(node.target, "__name__", node.name)).strip("_")


def _renamed(ops: list[Op], path: str) -> str:
    """A second layer from one path (a module called twice, two adds in one forward): its own id."""
    n = sum(1 for o in ops if o.id == path or o.id.startswith(path + "#"))
    ops[-1] = Op(f"{path}#{n}", ops[-1].kind, ops[-1].args, ops[-1].inputs)
    return ops[-1].id


def import_module(target: str, input_shape: tuple) -> tuple[list[Op], list[tuple], str, bool]:
    """`MODULE:FACTORY` -> (Ops, torch's output shape of each, the module's class name, built on meta)."""
    model, on_meta = build(load_factory(target))
    ops, shapes = import_model(model, input_shape)
    return ops, shapes, type(model).__name__, on_meta


def import_model(model, input_shape: tuple) -> tuple[list[Op], list[tuple]]:
    """An nn.Module (on any device) -> (Ops, torch's output shape of each, per sample)."""
    return to_ops(trace(model, tuple(input_shape)))
