"""One ONNX node -> its sizecalc layer: the handlers onnx_map.py's table (OPS) names, each adding
the node's layer to the Mapper or raising Unmapped (why not).

Weights are read as shapes (the filters of a Conv are its weight's first dimension), so the
params of the spec are the weights the file stores: an exporter that folded BatchNormalization
into the convolutions (torch.onnx.export in eval mode does) leaves convs with a bias and no bn.
A tensor held other than channels first (see Mapper.layout) is followed here: channels-last
Transposes, ViT's tokens (a Reshape of a conv's map), class token, position embedding and
selected token; a Slice or Resize whose bounds or sizes are arithmetic on a shape reads them as
onnx_shapes.py followed them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .onnx_layer import Unmapped
from .onnx_read import OnnxNode
from .onnx_shapes import TRIES, Dim, number

if TYPE_CHECKING:
    from .onnx_map import Mapper


def ints(node: OnnxNode, key: str, n: int, default: int) -> list[int]:
    value = node.attrs.get(key)
    return list(value) if value else [default] * n


def one(values: list):
    """A list of equal values written as one number."""
    return values[0] if values and all(v == values[0] for v in values) else values



def channels_of(m: Mapper, tensor: str):
    """The channels of a tensor a conv made (its filters), else None."""
    made = m.made.get(tensor)
    layer = next((la for la in reversed(m.layers) if la.id == made), None)
    return layer.main if layer is not None and layer.kind == "conv" else None


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
    """A self-attention region (see onnx_patterns.fuse) on tokens."""
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
    """A channel shuffle (see onnx_patterns.fuse)."""
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
