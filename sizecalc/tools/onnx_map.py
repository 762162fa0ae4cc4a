"""ONNX nodes -> sizecalc layers: one `Layer` (kind, main value, arguments, input ids) per node
that computes something sizecalc has, in the file's order. The Mapper walks the nodes and keeps
what the handlers read: which layer made each tensor, its rank, how it is held.

Identity and Dropout pass their input's layer on; Constant nodes are values, not layers, and a
node computed from constants and shapes only is the exporter's size arithmetic (onnx_shapes.py
follows it). An op with no mapping is collected (op, node) and reported by onnx_import, never
sized as zero. Ranks (batch included) are tracked to tell a flatten from another reshape, and a
softmax or layer norm over the channels from one over another axis.

The parts: onnx_patterns.py makes patterns that span nodes one node each (before the walk),
onnx_ops.py maps one node to its layer (OPS, here, names the handler of each op), onnx_shapes.py
evaluates the size arithmetic, onnx_layer.py holds the records they share.
"""

from __future__ import annotations

from .onnx_layer import Layer, Unmapped, layer_id
from .onnx_ops import (  # the handlers OPS names
    activation, add_or_mul, attention, batchnorm, clip, concat, conv, conv_transpose, flatten, gather, gemm,
    global_pool, hard_sigmoid, layer_norm, leaky_relu, matmul, pad, pool, reduce_mean, reshape, resize,
    shuffle, slice_channels, softmax, split, transpose,
)
from .onnx_patterns import fuse
from .onnx_read import OnnxGraph, OnnxNode
from .onnx_shapes import evaluate


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
