"""`sizecalc import MODULE:FACTORY`: a PyTorch module -> sizecalc's layers (`spec.writer.Op`s).

The factory is the user's own code (`torchvision.models:resnet50`, `net.py:build`): importing
and calling it runs that code, which is what the user asked for. It is called on the meta
device where it can be (no weights allocated), traced with torch.fx's symbolic_trace and
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
from ..spec.writer import NETWORK_INPUT, Op

CONV_ROUNDING = "floor"  # PyTorch's convolutions and pools (without ceil_mode) floor


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
    if len(m.normalized_shape) != 1 or len(shapes[0]) != 2:
        return None  # over the last dimension of tokens (batch x N x C) only: sizecalc's case
    return "layernorm", {"eps": m.eps, "elementwise_affine": m.elementwise_affine,
                         "bias": getattr(m, "bias", None) is not None}


def linear(m, node, shapes):
    return "fc", {"outputs": m.out_features, "bias": m.bias is not None}


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
    "GroupNorm": group_norm, "LayerNorm": layer_norm,
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
    def mapped(node, shapes):
        tensors = [a for a in node.args[:2] if hasattr(a, "op")]
        return (kind, {}) if len(tensors) == 2 and shapes[0] == shapes[1] else None
    return mapped


def cat(node, shapes):
    dim = _arg(node, 1, "dim", 0)
    return ("concat", {}) if dim in (1, -len(shapes[0]) - 1) else None


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
    return resize_args(_arg(node, 1, "size"), _arg(node, 2, "scale_factor"), _arg(node, 3, "mode", "nearest"),
                       _arg(node, 4, "align_corners"))


def pad_call(node, shapes):
    return pad_args(_arg(node, 1, "pad"), _arg(node, 2, "mode", "constant"), _arg(node, 3, "value"),
                    len(shapes[0]) - 1)


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
        F.interpolate: interpolate, F.pad: pad_call,
    }
    return table


METHODS = {
    "add": merge("add"), "add_": merge("add"), "mul": merge("mul"), "mul_": merge("mul"),
    "relu": activation("relu"), "relu_": activation("relu", ("inplace", "inplace", 99, True)),
    "sigmoid": activation("sigmoid"), "tanh": activation("tanh"),
}
SHAPED = {"flatten": flatten_call, "view": view, "reshape": view}  # read the output's shape too
PASS_METHODS = ("contiguous", "clone", "detach")  # the same values, no layer


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
    return model.eval(), on_meta


def trace(model, input_shape: tuple):
    """torch.fx graph of the module, every node's output shape propagated on a meta input."""
    import torch
    from torch.fx.passes.shape_prop import ShapeProp
    try:
        graph = torch.fx.symbolic_trace(model)
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
        handler = MODULES.get(type(module).__name__)
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
            return None
        handler = functions.get(node.target)
        return handler(node, shapes) if handler else None
    return None


def to_ops(graph) -> tuple[list[Op], list[tuple]]:
    """The traced, shape-propagated graph -> (Ops, each Op's torch output shape per sample).
    Raises SpecError listing every node sizecalc has no kind for."""
    functions = _function_table()
    made: dict = {}  # node -> the id of the Op whose output it is ("input" for the network's)
    ops: list[Op] = []
    shapes_out: list[tuple] = []
    unmapped: list[str] = []
    failed: set = set()  # nodes listed as unmapped whose output is not one tensor
    for node in graph.graph.nodes:
        if node.op == "placeholder":
            made[node] = NETWORK_INPUT
            continue
        inputs = tensor_inputs(node)
        if node.op == "output" or not _is_tensor(node):
            if node.op == "call_module" or (inputs and node.op != "output" and _tuple_of_tensors(node)):
                unmapped.append(f"{op_name(node)} at {node.target if node.op == 'call_module' else _where(node)}")
                failed.add(node)
            continue  # the result, or a size: no layer
        if node.target is operator.getitem and node.args[0] in failed:
            made[node] = made.get(inputs[0], NETWORK_INPUT) if inputs else NETWORK_INPUT
            continue  # an item of what an unmapped op returned: that op is listed
        mapped = map_node(node, [_shape(n) for n in inputs], functions) if all(n in made for n in inputs) else None
        where = node.target if node.op == "call_module" else _where(node)
        if mapped is None:
            unmapped.append(f"{op_name(node)} at {where or '(top level)'}" if node.op != "get_attr"
                            else f"a tensor attribute ({node.target}) used as data")
            made[node] = made.get(inputs[0], NETWORK_INPUT) if inputs else NETWORK_INPUT
            continue
        if mapped == "pass":
            made[node] = made[inputs[0]]
            continue
        kind, args = mapped
        path = node.target if node.op == "call_module" else ".".join(p for p in (where, _base(node)) if p)
        ops.append(Op(path, kind, args, tuple(made[n] for n in inputs)))
        shapes_out.append(_shape(node))
        made[node] = path if path not in {o.id for o in ops[:-1]} else _renamed(ops, path)
    if unmapped:
        raise SpecError([Finding("unmapped-op", f"sizecalc has no layer for {what}",
                                 fix="replace it, or size the rest: import a submodule that leaves it out")
                         for what in unmapped])
    return ops, shapes_out


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
