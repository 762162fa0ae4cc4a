"""ONNX nodes -> sizecalc layers: one `Layer` (kind, main value, arguments, input ids) per node
that computes something sizecalc has, in the file's order.

Weights are read as shapes (the filters of a Conv are its weight's first dimension), so the
params of the spec are the weights the file stores: an exporter that folded BatchNormalization
into the convolutions (torch.onnx.export in eval mode does) leaves convs with a bias and no bn.
Identity and Dropout pass their input's layer on; Constant nodes are values, not layers. An
op with no mapping is collected (op, node) and reported by onnx_import, never sized as zero.
Ranks (batch included) are tracked to tell a flatten from another reshape, and a softmax or
layer norm over the channels from one over another axis. The exporter's size arithmetic
(Shape, Gather, Slice, Concat, Add, Div ...) is followed where it can be (evaluate): a size read
from a data tensor's shape is a `Dim` of that tensor, so torch.chunk's Slices become sizecalc's
split and F.interpolate(x, size=y.shape[-2:]) a resize `like:` y's layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .onnx_read import MAX_CONST, OnnxGraph, OnnxNode

@dataclass
class Layer:
    """One layer of the imported network: `kind` (a sizecalc kind), `main` (its main value, or
    None), `args` (the other arguments, YAML-ready), `inputs` (ids; `input` is the network's)."""

    id: str
    kind: str
    main: object = None
    args: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)
    source: str = ""  # "Conv node '/conv1/Conv'": where it came from


class Unmapped(Exception):
    """This node has no sizecalc layer; `why` says what about it (None: the op itself)."""

    def __init__(self, why: str | None = None):
        super().__init__(why)
        self.why = why


class Mapper:
    """Walks the nodes in order: tensor name -> the id of the layer that makes it."""

    def __init__(self, graph: OnnxGraph):
        self.g = graph
        self.made = {graph.input_name: "input"}
        self.rank = {graph.input_name: len(graph.input_dims)}
        self.layers: list[Layer] = []
        self.ids: set[str] = {"input", "in"}
        self.unmapped: list[tuple[OnnxNode, str | None]] = []
        # module paths that hold other modules (`layer1` of `layer1.conv1`): a node recorded
        # at such a path is a function the module called (torch.relu, +), named by its kind
        paths = {layer_id(node) for node in graph.nodes}
        self.containers = {p.rsplit(".", i)[0] for p in paths for i in range(1, p.count(".") + 1)}
        # how a data tensor is held when not channels first: "last" (a map permuted to
        # channels last, ConvNeXt's), "seq" (tokens, batch x N x C), "seq_cf" (batch x C x N)
        self.layout: dict[str, str] = {}
        self.static: set[str] = set()  # tensors computed from constants and shapes only
        # the values of static tensors that could be followed: numbers, and sizes read from a data
        # tensor's shape (Dim) through the exporter's arithmetic (chunk's bounds, resize's sizes)
        self.values: dict[str, list] = {}
        self.nodes = fuse(graph)

    def run(self) -> list[Layer]:
        for node in self.nodes:
            try:
                self.map_node(node)
            except Unmapped as why:
                self.unmapped.append((node, why.why))
        return self.layers

    def map_node(self, node: OnnxNode) -> None:
        if node.has_subgraph or node.domain not in ("", "ai.onnx"):
            raise Unmapped("a subgraph" if node.has_subgraph else f"domain '{node.domain}'")
        if node.op == "Constant":
            return
        data = [t for t in node.inputs if t and t not in self.g.weights and t not in self.static]
        if node.op == "Shape" or (not data and node.op not in FUSED):
            # a size, or arithmetic on constants (the exporter's shape computations): no layer
            self.static.update(node.outputs)
            value = evaluate(self, node)
            if value is not None:
                self.values[node.outputs[0]] = value
            if node.op in ("Expand", "Unsqueeze", "Reshape") and node.inputs[0] in self.g.weights:
                self.g.weights[node.outputs[0]] = self.g.weights[node.inputs[0]]  # a weight, broadcast
            return
        handler = OPS.get(node.op)
        if handler is None:
            raise Unmapped()
        if node.op in PASS:
            self.alias(node)
            return
        handler(self, node)

    # -- helpers the op handlers use
    def source(self, node: OnnxNode, i: int = 0) -> str:
        name = node.inputs[i]
        if name not in self.made:
            raise Unmapped(f"its input '{name}' is a constant or comes from an unmapped node")
        return self.made[name]

    def alias(self, node: OnnxNode) -> None:
        """Identity, Dropout: the output is the input (a stored weight stays a weight)."""
        name, out = node.inputs[0], node.outputs[0]
        if name in self.g.weights:
            self.g.weights[out] = self.g.weights[name]
            if name in self.g.constants:
                self.g.constants[out] = self.g.constants[name]
            return
        self.made[out] = self.source(node)
        self.rank[out] = self.rank.get(name, 0)
        if name in self.layout:
            self.layout[out] = self.layout[name]

    def weight(self, node: OnnxNode, i: int) -> tuple | None:
        name = node.inputs[i] if len(node.inputs) > i else ""
        return self.g.weights.get(name) if name else None

    def const(self, node: OnnxNode, i: int):
        name = node.inputs[i] if len(node.inputs) > i else ""
        return self.g.constants.get(name) if name else None

    def value(self, node: OnnxNode, i: int) -> list | None:
        """A stored constant's values, or a static tensor's as evaluate followed them (Dims
        among the numbers); None where neither is known."""
        name = node.inputs[i] if len(node.inputs) > i else ""
        if not name:
            return None
        known = self.g.constants.get(name)
        return list(known) if known is not None else self.values.get(name)

    def add(self, node: OnnxNode, kind: str, main=None, args=None, inputs=None, out: int = 0,
            rank: int | None = None, layout: str | None = None) -> Layer:
        """One layer; its output keeps its data input's layout where the kind works on each
        value or channel (KEEP_LAYOUT), else `layout` (None: channels first). A kind that
        reads sizecalc's channels-first order refuses a permuted or token input."""
        held = {self.layout.get(t) for t in node.inputs if t in self.made} or {None}
        if layout is None and held != {None}:
            if kind not in KEEP_LAYOUT or len(held) > 1:
                raise Unmapped(f"its input is {' and '.join(sorted(map(str, held)))}-held; sizecalc's {kind} reads "
                               "channels first")
            layout = held.pop()
        inputs = inputs if inputs is not None else [self.source(node)]
        layer = Layer(self.new_id(node, kind), kind, main, dict(args or {}), inputs,
                      f"{node.op} node '{node.name}'")
        self.layers.append(layer)
        self.made[node.outputs[out]] = layer.id
        first = next((t for t in node.inputs if t in self.rank), None)
        self.rank[node.outputs[out]] = rank if rank is not None else self.rank.get(first, 0)
        if layout:
            self.layout[node.outputs[out]] = layout
        return layer

    def new_id(self, node: OnnxNode, kind: str) -> str:
        base = layer_id(node)
        if not base or base in self.containers:
            base = f"{base}.{kind}" if base else kind
        taken, n = base, 1
        while taken in self.ids:
            n += 1
            taken = f"{base}_{n}"
        self.ids.add(taken)
        return taken


def layer_id(node: OnnxNode) -> str:
    """The module path the exporter recorded, dotted (`/layer1/layer1.0/conv1/Conv` ->
    layer1.0.conv1; the dynamo exporter's `namespace` likewise), else the node's name; the
    spec writer makes it an id."""
    if node.scope:
        segments = [part.split(":")[0].strip() for part in node.scope.split("/")[1:]]
    elif node.name.startswith("/"):
        segments = node.name.strip("/").split("/")
    else:
        return node.name[:80]
    path = ""
    for seg in segments[:-1]:  # the last one is the op
        last = path.rsplit(".", 1)[-1]
        # a child of a Sequential is recorded as `downsample.0` under `downsample`
        path = f"{path[:len(path) - len(last)]}{seg}" if path and seg.startswith(last + ".") else \
            f"{path}.{seg}" if path else seg
    return path[:80]


def ints(node: OnnxNode, key: str, n: int, default: int) -> list[int]:
    value = node.attrs.get(key)
    return list(value) if value else [default] * n


def one(values: list):
    """A list of equal values written as one number."""
    return values[0] if values and all(v == values[0] for v in values) else values


def window(m: Mapper, node: OnnxNode, kernel: list[int], dilation: bool) -> dict:
    """kernel, stride, padding (per side from `pads`, or from auto_pad), dilation."""
    n = len(kernel)
    strides, dil = ints(node, "strides", n, 1), ints(node, "dilations", n, 1)
    args = {"kernel": one(kernel)}
    if strides != [1] * n:
        args["stride"] = one(strides)
    pads = padding(node, kernel, strides, dil, n)
    if pads:
        args["padding"] = pads
    if dilation and dil != [1] * n:
        args["dilation"] = one(dil)
    return args


def padding(node: OnnxNode, kernel, strides, dil, n: int):
    auto = node.attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if strides != [1] * n:
            raise Unmapped(f"auto_pad {auto} with stride {one(strides)} depends on the input size")
        totals = [d * (k - 1) for k, d in zip(kernel, dil)]
        lows = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in totals]
        pairs = [[lo, t - lo] for lo, t in zip(lows, totals)]
    elif auto == "VALID":
        return 0
    else:
        pads = ints(node, "pads", 2 * n, 0)
        pairs = [[pads[i], pads[i + n]] for i in range(n)]
    if all(lo == hi for lo, hi in pairs):
        return one([lo for lo, _ in pairs]) or 0
    return pairs


def conv(m: Mapper, node: OnnxNode) -> None:
    w = m.weight(node, 1)
    if w is None:
        raise Unmapped("its weights are not stored in the file")
    group = node.attrs.get("group", 1) or 1
    args = window(m, node, list(w[2:]), True)
    if group != 1:
        args["groups"] = group
    args["bias"] = m.weight(node, 2) is not None
    args["rounding"] = "floor"  # ONNX's output size, as torch's: (in + pads - span) // stride + 1
    m.add(node, "conv", w[0], args)


def conv_transpose(m: Mapper, node: OnnxNode) -> None:
    w = m.weight(node, 1)
    if w is None:
        raise Unmapped("its weights are not stored in the file")
    if node.attrs.get("output_shape") or (node.attrs.get("auto_pad") or "NOTSET") != "NOTSET":
        raise Unmapped("output_shape or auto_pad on a ConvTranspose depends on the input size")
    group = node.attrs.get("group", 1) or 1
    args = window(m, node, list(w[2:]), True)
    out_pad = ints(node, "output_padding", len(w) - 2, 0)
    if any(out_pad):
        args["output_padding"] = one(out_pad)
    if group != 1:
        args["groups"] = group
    args["bias"] = m.weight(node, 2) is not None
    m.add(node, "conv_transpose", w[1] * group, args)


def pool(m: Mapper, node: OnnxNode) -> None:
    kernel = node.attrs.get("kernel_shape") or []
    if len(node.outputs) > 1 and node.outputs[1]:
        raise Unmapped("it returns indices")
    args = window(m, node, list(kernel), node.op == "MaxPool")
    args.setdefault("stride", 1)  # ONNX's default stride is 1; sizecalc's (torch's) is the kernel
    args["rounding"] = "ceil" if node.attrs.get("ceil_mode") else "floor"
    if node.op == "AveragePool" and args.get("padding"):
        args["count_include_pad"] = bool(node.attrs.get("count_include_pad", 0))
    m.add(node, "maxpool" if node.op == "MaxPool" else "avgpool", one(list(kernel)), args)


def gemm(m: Mapper, node: OnnxNode) -> None:
    w = m.weight(node, 1)
    if w is None or len(w) != 2 or node.attrs.get("transA"):
        raise Unmapped("its second input is not a stored 2-D weight")
    outputs, inputs = (w[0], w[1]) if node.attrs.get("transB") else (w[1], w[0])
    m.add(node, "fc", outputs, {"inputs": inputs, "bias": m.weight(node, 2) is not None})


def matmul(m: Mapper, node: OnnxNode) -> None:
    """x @ W with W stored (K x N): an fc without bias (an Add of a stored bias after it adds
    one), on a vector or on each token; on a channels-last map (ConvNeXt's Linear after a
    permute) the 1x1 conv of the same params and MACs."""
    w = m.weight(node, 1)
    if w is None or len(w) != 2:
        raise Unmapped("its second input is not a stored 2-D weight")
    held = m.layout.get(node.inputs[0])
    if held == "last":
        m.add(node, "conv", w[1], {"kernel": 1, "bias": False}, layout="last")
    elif held == "seq" or m.rank.get(node.inputs[0], 0) in (0, 2):
        m.add(node, "fc", w[1], {"inputs": w[0], "bias": False})
    else:
        raise Unmapped("a matmul over the last axis of a channels-first map")


def transpose(m: Mapper, node: OnnxNode) -> None:
    """Channels last and back (ConvNeXt's permutes around LayerNorm and Linear), and batch x
    C x N tokens to batch x N x C (ViT's): no layer, the tensor is held in another order."""
    perm, x = list(node.attrs.get("perm") or []), node.inputs[0]
    rank, held = m.rank.get(x, 0), m.layout.get(x)
    if held is None and rank >= 3 and perm == [0, *range(2, rank), 1]:
        new = "last"
    elif held == "last" and perm == [0, rank - 1, *range(1, rank - 1)]:
        new = None
    elif held in ("seq", "seq_cf") and perm == [0, 2, 1]:
        new = "seq" if held == "seq_cf" else "seq_cf"
    else:
        raise Unmapped(f"a transpose {perm} (sizecalc follows channels last and back, and tokens to N x C)")
    m.alias(node)
    if new:
        m.layout[node.outputs[0]] = new
    else:
        m.layout.pop(node.outputs[0], None)


def gather(m: Mapper, node: OnnxNode) -> None:
    """x[:, i] on batch x N x C tokens: one token as a vector (ViT's class token, i = 0)."""
    index = m.const(node, 1)
    if m.layout.get(node.inputs[0]) != "seq" or node.attrs.get("axis", 0) != 1 or \
            m.weight(node, 1) != () or not index:
        raise Unmapped("a gather other than one token of a token sequence")
    m.add(node, "select_token", int(index[0]), layout="", rank=2)


def attention(m: Mapper, node: OnnxNode) -> None:
    """A self-attention region (see fuse) on tokens."""
    if m.layout.get(node.inputs[0]) != "seq":
        raise Unmapped("attention on a tensor that is not a token sequence")
    m.add(node, "attention", node.attrs["heads"], {"bias": node.attrs["bias"]})


def add_or_mul(m: Mapper, node: OnnxNode) -> None:
    stored = [i for i in (0, 1) if node.inputs[i] in m.g.weights]
    if not stored:
        m.add(node, "add" if node.op == "Add" else "mul", [m.source(node, 0), m.source(node, 1)],
              inputs=[m.source(node, 0), m.source(node, 1)])
        return
    other = 1 - stored[0]
    x, w = node.inputs[other], m.g.weights[node.inputs[stored[0]]]
    prev = m.layers[-1] if m.layers else None
    if (node.op == "Add" and prev is not None and prev.kind in ("fc", "conv") and not prev.args["bias"]
            and m.made.get(x) == prev.id and w == (prev.main,)):
        prev.args["bias"] = True  # MatMul + Add of a stored bias: one fc (or 1x1 conv) with a bias
        m.made[node.outputs[0]] = prev.id
        m.rank[node.outputs[0]] = m.rank.get(x, 0)
        if x in m.layout:
            m.layout[node.outputs[0]] = m.layout[x]
        return
    held, rank = m.layout.get(x), m.rank.get(x, 0)
    if node.op == "Add" and held == "seq" and len(w) in (2, 3) and w[:-2] in ((), (1,)):
        # a learned N x C table added to the tokens (ViT's position embedding)
        m.add(node, "position_embedding", w[-2], inputs=[m.source(node, other)])
        return
    if node.op == "Mul" and held is None and rank >= 3 and len(w) in (rank - 1, rank) and \
            all(d == 1 for d in w[len(w) - rank + 2:]) and all(d == 1 for d in w[:len(w) - rank + 1]):
        # a C x 1 x 1 parameter times the map (ConvNeXt's layer scale)
        m.add(node, "layer_scale", None, inputs=[m.source(node, other)])
        return
    raise Unmapped(f"{node.op} of a stored constant is not a layer sizecalc has")


def flatten(m: Mapper, node: OnnxNode) -> None:
    if (node.attrs.get("axis", 1)) != 1:
        raise Unmapped(f"Flatten at axis {node.attrs.get('axis')} (sizecalc flattens all but the batch)")
    m.add(node, "flatten", rank=2)


def reshape(m: Mapper, node: OnnxNode) -> None:
    """A Reshape to (batch, everything else) is a flatten: target [0, -1], [-1, K] or [N, -1];
    one of a conv's C x H x W output to (batch, C, H*W) is ViT's tokens (C x N, torch's
    batch x C x N until a transpose)."""
    target = m.const(node, 1)
    x = node.inputs[0]
    if target and len(target) == 3 and m.layout.get(x) is None and m.rank.get(x, 0) == 4 and \
            target[0] in (0, 1, -1) and target[1] == channels_of(m, x) and target[2] != 0:
        m.add(node, "tokens", layout="seq_cf", rank=3)
        return
    if not target or len(target) != 2 or (target[0] not in (0, -1, 1) and target[1] != -1):
        raise Unmapped("a reshape other than a flatten to (batch, features)")
    if m.rank.get(node.inputs[0], 0) == 2:
        m.alias(node)
        return
    m.add(node, "flatten", rank=2)


def global_pool(m: Mapper, node: OnnxNode) -> None:
    m.add(node, "global_avgpool" if node.op == "GlobalAveragePool" else "global_maxpool")


def reduce_mean(m: Mapper, node: OnnxNode) -> None:
    """mean over every spatial axis, keepdims: a global average pool (torch's x.mean((2, 3)))."""
    axes = node.attrs.get("axes") or m.const(node, 1) or []
    rank = m.rank.get(node.inputs[0], 0)
    spatial = set(range(2, rank))
    if not spatial or {a % rank for a in axes} != spatial:
        raise Unmapped("a mean over axes other than all the spatial ones")
    pooled = m.add(node, "global_avgpool")
    if not node.attrs.get("keepdims", 1):
        m.add(node, "flatten", inputs=[pooled.id], rank=2)  # the pool's output, flattened


def batchnorm(m: Mapper, node: OnnxNode) -> None:
    if len([o for o in node.outputs if o]) > 1:
        raise Unmapped("training mode (running statistics as outputs)")
    eps = node.attrs.get("epsilon", 1e-5)
    m.add(node, "bn", None, {} if abs(eps - 1e-5) < 1e-12 else {"eps": eps})


def activation(kind: str):
    def handler(m: Mapper, node: OnnxNode) -> None:
        m.add(node, kind)
    return handler


def leaky_relu(m: Mapper, node: OnnxNode) -> None:
    m.add(node, "leaky_relu", round(node.attrs.get("alpha", 0.01), 7))


def clip(m: Mapper, node: OnnxNode) -> None:
    low = node.attrs.get("min", m.const(node, 1)[0] if m.const(node, 1) else None)
    high = node.attrs.get("max", m.const(node, 2)[0] if m.const(node, 2) else None)
    if low == 0 and high == 6:
        m.add(node, "relu6")
    elif low == 0 and high is None:
        m.add(node, "relu")
    else:
        raise Unmapped(f"Clip({low}, {high}) (sizecalc has Clip(0, 6) as relu6)")


def hard_sigmoid(m: Mapper, node: OnnxNode) -> None:
    if abs(node.attrs.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(node.attrs.get("beta", 0.5) - 0.5) > 1e-6:
        raise Unmapped("HardSigmoid with alpha other than 1/6 (torch's Hardsigmoid)")
    m.add(node, "hardsigmoid")


def softmax(m: Mapper, node: OnnxNode) -> None:
    rank = m.rank.get(node.inputs[0], 0)
    axis = node.attrs.get("axis", -1 if m.g.opset >= 13 else 1)
    if rank and axis % rank != 1:
        raise Unmapped(f"a softmax over axis {axis} (sizecalc's is over the channels, axis 1)")
    m.add(node, "softmax")


def layer_norm(m: Mapper, node: OnnxNode) -> None:
    """Over the channels: of a vector, of each token, or of each position of a channels-last
    map (sizecalc's layernorm on C x H x W normalizes each position's C channels)."""
    rank = m.rank.get(node.inputs[0], 0)
    axis = node.attrs.get("axis", -1)
    held = m.layout.get(node.inputs[0])
    if not rank or axis % rank != rank - 1 or (rank != 2 and held not in ("last", "seq")):
        raise Unmapped("a layer norm other than over the channels (of a vector, a token, a channels-last map)")
    args = {"bias": m.weight(node, 2) is not None}
    eps = node.attrs.get("epsilon", 1e-5)
    if abs(eps - 1e-5) > 1e-12:
        args["eps"] = eps
    m.add(node, "layernorm", None, args)


def concat(m: Mapper, node: OnnxNode) -> None:
    if len(node.inputs) == 1:  # torch.cat([x]) (DenseNet's first layer): x itself
        m.alias(node)
        return
    rank = m.rank.get(node.inputs[0], 0)
    if rank and node.attrs.get("axis", 1) % rank != 1:
        raise Unmapped("a concat along an axis other than the channels")
    token = m.weight(node, 0)
    if len(node.inputs) == 2 and token and token[-2:-1] == (1,) and \
            m.layout.get(node.inputs[1]) == "seq" and node.attrs.get("axis") in (1, -2):
        # a learned 1 x C token put in front of the sequence (ViT's class token, expanded)
        m.add(node, "class_token", inputs=[m.source(node, 1)])
        return
    ids = [m.source(node, i) for i in range(len(node.inputs))]
    m.add(node, "concat", ids, inputs=ids)


def split(m: Mapper, node: OnnxNode) -> None:
    rank = m.rank.get(node.inputs[0], 0)
    if rank and node.attrs.get("axis", 0) % rank != 1:
        raise Unmapped("a split along an axis other than the channels")
    sizes = node.attrs.get("split") or m.const(node, 1)
    parts = len(node.outputs)
    if sizes and len(set(sizes)) != 1:
        raise Unmapped(f"unequal parts {sizes} (sizecalc splits the channels into equal parts)")
    for i in range(parts):
        if node.outputs[i]:
            m.add(node, "split", parts, {"part": i}, out=i)


def resize(m: Mapper, node: OnnxNode) -> None:
    """By stored scales; to sizes that are numbers (`size:`, what the TorchScript exporter
    writes for a fixed input: F.interpolate(x, size=y.shape[-2:]) folded); to the spatial size
    of another tensor read by Shape nodes (`like:` its layer, or `like: input`, where the
    input's size is dynamic). The batch and channels must be the input's own."""
    modes = {"nearest": "nearest", "linear": "bilinear", "cubic": "bicubic"}
    mode = modes.get(node.attrs.get("mode", "nearest"))
    x = node.inputs[0]
    rank = m.rank.get(x, 4)
    if mode == "bilinear" and rank != 4:
        mode = "linear" if rank == 3 else "trilinear"
    args = {"mode": mode} if mode != "nearest" else {}
    if node.attrs.get("coordinate_transformation_mode") == "align_corners":
        args["align_corners"] = True
    scales, sizes = m.value(node, 2), m.value(node, 3)
    if scales and len(scales) > 2 and scales[:2] == [1.0, 1.0] and all(number(s) for s in scales):
        m.add(node, "resize", one([int(s) if float(s).is_integer() else s for s in scales[2:]]), args)
        return
    if not sizes or len(sizes) != rank or rank < 3 or not kept(m, x, sizes[0], 0) or not kept(m, x, sizes[1], 1):
        raise Unmapped("its scales or sizes are neither stored constants nor read from a tensor's shape, "
                       "over the spatial axes")
    spatial = sizes[2:]
    if all(number(s) for s in spatial):
        m.add(node, "resize", None, {**args, "size": one([int(s) for s in spatial])})
        return
    ref = {m.made.get(d.tensor) if isinstance(d, Dim) else None for d in spatial}
    if None in ref or len(ref) != 1 or \
            any(d.axis != i + 2 or not d.identity() or m.rank.get(d.tensor) != rank for i, d in enumerate(spatial)):
        raise Unmapped("its sizes are not the spatial size of one tensor")
    like = ref.pop()
    m.add(node, "resize", None, {**args, "like": like}, inputs=[m.source(node)])


def kept(m: Mapper, x: str, size, axis: int) -> bool:
    """Resize's size of the batch (axis 0) or channel axis is the input's: read from its shape
    (the same layer's, for the channels), the batch a number, the channels a conv's filters."""
    if isinstance(size, Dim):
        return size.axis == axis and size.identity() and (axis == 0 or m.made.get(size.tensor) == m.made.get(x))
    return number(size) and (axis == 0 or size == channels_of(m, x))


def slice_channels(m: Mapper, node: OnnxNode) -> None:
    """x[:, a:b]: one of `parts` equal parts of the channels (torch.chunk, which the TorchScript
    exporter writes as Slices whose bounds are arithmetic on x's own shape: found by evaluating
    them at two channel counts; or bounds that are numbers where a conv made x)."""
    x = node.inputs[0]
    starts, ends, axes, steps = (m.value(node, i) for i in (1, 2, 3, 4))
    rank = m.rank.get(x, 0)
    if starts is None or ends is None or len(starts) != 1 or len(ends) != 1 or not rank or \
            (axes if axes is not None else [0]) not in ([1], [1 - rank]) or steps not in (None, [1]):
        raise Unmapped("a slice other than one range of the channels, step 1")
    found, channels = set(), channels_of(m, x)
    counts = (channels,) if number(starts[0]) and number(ends[0]) and channels else TRIES
    for c in counts:
        lo, hi = (bound(m, x, v, c) for v in (starts[0], ends[0]))
        width = hi - lo
        if width <= 0 or c % width or lo % width:
            raise Unmapped("its range is not one of equal parts of the channels")
        found.add((c // width, lo // width))
    if len(found) != 1:
        raise Unmapped("its range is not one of equal parts of the channels")
    parts, part = found.pop()
    m.add(node, "split", parts, {"part": part})


def bound(m: Mapper, x: str, value, channels: int) -> int:
    """A slice bound over `channels` channels, clamped as ONNX clamps it."""
    if isinstance(value, Dim):
        if value.axis != 1 or m.made.get(value.tensor) != m.made.get(x):
            raise Unmapped("its bounds are read from another tensor's shape")
        value = value.at(channels)
    if not number(value) or value != int(value):
        raise Unmapped("its bounds are not whole numbers")
    value = int(value) + (channels if value < 0 else 0)
    return min(max(value, 0), channels)


def shuffle(m: Mapper, node: OnnxNode) -> None:
    """A channel shuffle (see fuse)."""
    m.add(node, "shuffle", node.attrs["groups"])


def pad(m: Mapper, node: OnnxNode) -> None:
    pads = node.attrs.get("pads") or m.const(node, 1)
    value = node.attrs.get("value", (m.const(node, 2) or [0.0])[0])
    modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}
    mode = modes.get(node.attrs.get("mode", "constant"))
    if not pads or len(pads) % 2 or mode is None:
        raise Unmapped("its pads are not a stored constant")
    n = len(pads) // 2
    if any(pads[i] or pads[i + n] for i in (0, 1)) or any(p < 0 for p in pads):
        raise Unmapped("it pads the batch or the channels, or crops")
    pairs = [[int(pads[i]), int(pads[i + n])] for i in range(2, n)]
    args = {"mode": mode} if mode != "constant" else ({"value": value} if value else {})
    m.add(node, "pad", one([lo for lo, _ in pairs]) if all(lo == hi for lo, hi in pairs) else pairs, args)


STEPS = 8  # the arithmetic steps followed on one size (torch.chunk's bounds take three)
TRIES = (720720, 1441440)  # sizes an arithmetic on a size is evaluated at (divisible by 2 to 16)


@dataclass(frozen=True)
class Dim:
    """Axis `axis` of the data tensor `tensor`, through `steps` ((op, number) each: the
    exporter's arithmetic on it, as torch.chunk's (x.shape[1] + 1) // 2 * k): a size known
    only when the spec is sized."""

    tensor: str
    axis: int
    steps: tuple = ()

    def at(self, size: int):
        """The value at a size of the axis; None where the arithmetic fails (a division by 0)."""
        try:
            for op, k in self.steps:
                size = arith(op, size, k)
        except (ArithmeticError, ValueError):
            return None
        return size

    def identity(self) -> bool:
        return all(self.at(n) == n for n in TRIES)

    def then(self, op: str, k) -> "Dim":
        if len(self.steps) >= STEPS:
            raise ValueError("too many steps")
        return Dim(self.tensor, self.axis, (*self.steps, (op, k)))


def number(v) -> bool:
    """A finite int or float (a file's float bound can be inf or nan)."""
    return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and math.isfinite(v)


def arith(op: str, a, b):
    """ONNX's Add, Sub, Mul, Div (integer Div truncates); `r` ops take the operands swapped."""
    if op.startswith("r"):
        op, a, b = op[1:], b, a
    if op == "Add":
        return a + b
    if op == "Sub":
        return a - b
    if op == "Mul":
        return a * b
    if isinstance(a, int) and isinstance(b, int):
        q = abs(a) // abs(b)  # a zero raises ZeroDivisionError: no value
        return q if (a >= 0) == (b > 0) else -q
    return a / b


def evaluate(m: Mapper, node: OnnxNode) -> list | None:
    """The value of a static node's first output where it can be followed (Shape, Gather,
    Slice, Concat, Unsqueeze, Squeeze, Cast, Identity and arithmetic on sizes), else None.
    Bounded: at most MAX_CONST values, STEPS steps on one size."""
    try:
        value = _evaluate(m, node)
    except (ArithmeticError, TypeError, ValueError, IndexError, OverflowError):
        return None
    return value if value is not None and len(value) <= MAX_CONST else None


def _evaluate(m: Mapper, node: OnnxNode) -> list | None:
    op = node.op
    if op == "Shape":
        x = node.inputs[0]
        rank = m.rank.get(x) if x not in m.g.weights else len(m.g.weights[x])
        if not rank:
            return None
        dims = list(m.g.weights[x]) if x in m.g.weights else [Dim(x, i) for i in range(rank)]
        start, end = node.attrs.get("start") or 0, node.attrs.get("end")
        return dims[start:end] if end is not None else dims[start:]
    args = [m.value(node, i) for i in range(len(node.inputs))]
    if not args or args[0] is None:
        return None
    if op in ("Identity", "Cast", "Squeeze", "Unsqueeze"):
        return args[0]
    if op == "Gather" and not node.attrs.get("axis") and args[1] is not None:
        return [args[0][int(i)] for i in args[1]]
    if op == "Concat" and all(a is not None for a in args):
        return [v for a in args for v in a]
    if op == "Slice" and all(a is not None and all(number(v) for v in a) for a in args[1:]):
        if len(args) > 3 and [int(a) for a in args[3]] not in ([0], [-1]):
            return None
        step = int(args[4][0]) if len(args) > 4 else 1
        return args[0][int(args[1][0]):int(args[2][0]):step]
    if op in ("Add", "Sub", "Mul", "Div") and len(args) == 2 and args[1] is not None:
        a, b = args
        if len(a) != len(b) and 1 not in (len(a), len(b)):
            return None
        n = max(len(a), len(b))
        a, b = (a * n if len(a) == 1 else a), (b * n if len(b) == 1 else b)
        out = []
        for u, v in zip(a, b):
            if isinstance(u, Dim) and isinstance(v, Dim):
                return None
            out.append(u.then(op, v) if isinstance(u, Dim) else v.then("r" + op, u) if isinstance(v, Dim)
                       else arith(op, u, v))
        return out
    return None


def channels_of(m: Mapper, tensor: str):
    """The channels of a tensor a conv made (its filters), else None."""
    made = m.made.get(tensor)
    layer = next((la for la in reversed(m.layers) if la.id == made), None)
    return layer.main if layer is not None and layer.kind == "conv" else None


def fuse(g: OnnxGraph) -> list[OnnxNode]:
    """The nodes, with patterns that span nodes made one node each: torch's exact GELU as
    opsets before 20 write it (x / sqrt 2 -> Erf -> + 1 -> * x -> * 0.5) a Gelu, and a
    module's self-attention (see attention_region) a `sizecalc.Attention` node."""
    nodes = list(g.nodes)
    for n in nodes:  # an Identity of a stored weight (the exporter's shared tensors) is that weight
        if n.op == "Identity" and n.inputs and n.inputs[0] in g.weights:
            g.weights[n.outputs[0]] = g.weights[n.inputs[0]]
    made = {t: i for i, n in enumerate(nodes) for t in n.outputs}
    users: dict = {}
    for i, n in enumerate(nodes):
        for t in n.inputs:
            users.setdefault(t, []).append(i)
    put: dict = {}

    def sole(t):
        u = users.get(t, [])
        return u[0] if len(u) == 1 and t not in g.outputs else None

    def other(n, t):
        return n.inputs[1] if n.inputs[0] == t else n.inputs[0]

    def near(t, v):
        c = g.constants.get(t)
        return c is not None and len(c) == 1 and abs(c[0] - v) < 1e-4

    for e, erf in enumerate(nodes):
        d = made.get(erf.inputs[0]) if erf.op == "Erf" and erf.inputs else None
        if d is None or nodes[d].op != "Div" or not near(nodes[d].inputs[1], 2 ** 0.5) or sole(erf.inputs[0]) != e:
            continue
        x = nodes[d].inputs[0]
        a = sole(erf.outputs[0])
        if a is None or nodes[a].op != "Add" or not near(other(nodes[a], erf.outputs[0]), 1.0):
            continue
        m1 = sole(nodes[a].outputs[0])
        if m1 is None or nodes[m1].op != "Mul" or other(nodes[m1], nodes[a].outputs[0]) != x:
            continue
        m2 = sole(nodes[m1].outputs[0])
        if m2 is None or nodes[m2].op != "Mul" or not near(other(nodes[m2], nodes[m1].outputs[0]), 0.5):
            continue
        last = nodes[m2]
        put.update(dict.fromkeys((d, e, a, m1)))
        put[m2] = OnnxNode("Gelu", last.name, [x], list(last.outputs), {}, last.domain, last.scope)
    fuse_shuffle(g, nodes, sole, put)
    fuse_attention(g, nodes, made, users, put)
    return [put.get(i, n) for i, n in enumerate(nodes) if put.get(i, n) is not None]


def fuse_shuffle(g: OnnxGraph, nodes: list[OnnxNode], sole, put: dict) -> None:
    """torchvision's channel_shuffle: x.view(b, g, c // g, *spatial), transpose(1, 2), view
    (b, c, *spatial), as Reshape (stored target), Transpose [0, 2, 1, ...], Reshape: one node."""
    for r, first in enumerate(nodes):
        target = g.constants.get(first.inputs[1]) if first.op == "Reshape" and len(first.inputs) > 1 else None
        if r in put or not target or len(target) < 4:
            continue
        t = sole(first.outputs[0])
        if t is None or nodes[t].op != "Transpose" or \
                list(nodes[t].attrs.get("perm") or []) != [0, 2, 1, *range(3, len(target))]:
            continue
        last = sole(nodes[t].outputs[0])
        back = g.constants.get(nodes[last].inputs[1]) if last is not None and nodes[last].op == "Reshape" \
            and len(nodes[last].inputs) > 1 else None
        groups, per = int(target[1]), int(target[2])
        if not back or len(back) != len(target) - 1 or groups < 1 or per < 1 or \
                back[1] not in (-1, groups * per) or list(back[2:]) != list(target[3:]) or min(target[3:]) < 1:
            continue
        put.update(dict.fromkeys((r, t)))
        put[last] = OnnxNode("sizecalc.Shuffle", first.name, [first.inputs[0]], list(nodes[last].outputs),
                             {"groups": groups}, first.domain, first.scope)


def fuse_attention(g: OnnxGraph, nodes: list[OnnxNode], made: dict, users: dict, put: dict) -> None:
    """Each Softmax's module (or the nearest module above it) that is a self-attention region
    becomes one node in `put` (its other nodes None)."""
    ids = [layer_id(n) for n in nodes]
    static = static_tensors(g, nodes)
    for s, soft in enumerate(nodes):
        if soft.op != "Softmax" or s in put:
            continue
        path = ids[s]
        while path:
            region = [i for i, p in enumerate(ids) if (p == path or p.startswith(path + ".")) and i not in put]
            found = attention_region(g, nodes, region, static, users)
            if found:
                x, out, heads, bias = found
                put.update(dict.fromkeys(region))
                at = made[out]
                name = "/" + "/".join(path.split(".")) + "/Attention"  # named by the module: its id
                put[at] = OnnxNode("sizecalc.Attention", name, [x], [out], {"heads": heads, "bias": bias})
                break
            path = path.rsplit(".", 1)[0] if "." in path else ""


def static_tensors(g: OnnxGraph, nodes: list[OnnxNode]) -> set:
    """Tensors computed from shapes and constants only (the exporter's size arithmetic)."""
    static = set(g.weights)
    for n in nodes:
        if n.op in ("Shape", "Constant") or all(t in static for t in n.inputs if t):
            static.update(n.outputs)
    return static


def attention_region(g: OnnxGraph, nodes, region: list[int], static: set, users: dict):
    """The nodes of one module that compute self-attention on one tensor: one data input, one
    output used outside, one Softmax between two MatMuls of data (q.k, then the weighted sum
    of v), and stored projections that are exactly q, k, v and output ones of C channels
    (4*C*C weights, as one 3C x C and one C x C, or four C x C; 4*C biases or none). Returns
    (input, output, heads, bias) or None. The heads are read from a reshape to (.., heads, ..,
    C/heads); 1 where none is found (they change no params or MACs)."""
    inside = set(region)
    made = {t for i in region for t in nodes[i].outputs}
    data = {t for i in region for t in nodes[i].inputs if t and t not in made and t not in static}
    outs = [t for i in region for t in nodes[i].outputs
            if t in g.outputs or any(u not in inside for u in users.get(t, []))]
    ops = [nodes[i].op for i in region]
    if len(data) != 1 or len(outs) != 1 or ops.count("Softmax") != 1:
        return None
    if sum(1 for i in region if nodes[i].op == "MatMul" and
           not any(t in g.weights for t in nodes[i].inputs)) != 2:
        return None
    matrices, vectors = [], []
    for i in region:
        if nodes[i].op not in ("MatMul", "Gemm", "Add") or all(t in static for t in nodes[i].inputs if t):
            continue  # size arithmetic (the exporter's) reads constants only
        for t in nodes[i].inputs:
            dims = g.weights.get(t)
            if dims:
                (matrices if len(dims) == 2 else vectors if len(dims) == 1 else []).append(dims)
    total = sum(a * b for a, b in matrices)
    c = int(round((total / 4) ** 0.5))
    if not c or 4 * c * c != total or any(c not in dims for dims in matrices) or \
            len(vectors) != len(matrices) or sum(v[0] for v in vectors) not in (0, 4 * c) or \
            any(len(v) != 1 for v in vectors) or not matrices:
        return None
    heads = 1
    for i in region:
        target = g.constants.get(nodes[i].inputs[1]) if nodes[i].op == "Reshape" else None
        if target and len(target) == 4 and target[3] > 0 and c % target[3] == 0:
            if target[1] * target[3] == c or target[2] * target[3] == c:
                heads = c // target[3]
                break
    return data.pop(), outs[0], heads, bool(vectors)


KEEP_LAYOUT = {"relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
               "add", "mul", "layernorm", "layer_scale", "position_embedding", "attention", "fc", "class_token"}
FUSED = ("Gelu", "sizecalc.Attention", "sizecalc.Shuffle")
PASS = ("Identity", "Dropout")
OPS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": pool, "AveragePool": pool,
    "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool, "ReduceMean": reduce_mean,
    "Gemm": gemm, "MatMul": matmul, "Add": add_or_mul, "Mul": add_or_mul,
    "Flatten": flatten, "Reshape": reshape, "BatchNormalization": batchnorm,
    "Relu": activation("relu"), "Sigmoid": activation("sigmoid"), "Tanh": activation("tanh"),
    "LeakyRelu": leaky_relu, "Clip": clip, "HardSwish": activation("hardswish"), "HardSigmoid": hard_sigmoid,
    "Gelu": activation("gelu"), "Elu": activation("elu"), "Softmax": softmax,
    "LayerNormalization": layer_norm, "Concat": concat, "Split": split, "Resize": resize, "Pad": pad,
    "Identity": None, "Dropout": None, "Transpose": transpose, "Gather": gather, "sizecalc.Attention": attention,
    "sizecalc.Shuffle": shuffle, "Slice": slice_channels,
}
OPS["Identity"] = OPS["Dropout"] = Mapper.alias
