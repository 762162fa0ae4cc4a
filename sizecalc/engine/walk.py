"""The engine: one walk over the graph, in topological order, filling a Report.

For each node it calls the layer kind's `infer` with the input volumes, carries the
receptive field along, and turns LayerErrors into Findings that point at the spec. A layer
whose input failed is skipped (its error was already reported). It never imports torch or
rich, and does nothing per layer beyond a constant amount of work.
"""

from __future__ import annotations

from math import prod

from ..core.errors import ERROR, INFO, WARNING, Finding, LayerError
from .memory import MemoryModel
from ..core.receptive import Field, merge
from ..report.model import DTYPE_BYTES, Report, Row, Totals
from ..spec.graph import NETWORK_INPUT, Graph


def shape_text(shape) -> str:
    """H x W x C as the lecture writes volumes; a vector is just its length."""
    return "x".join(map(str, (*shape[1:], shape[0]))) if len(shape) > 1 else str(shape[0])


MAC_COUNTS = ("conv-fc", "all")


def analyze(graph: Graph, batch: int = 1, dtype: str = "fp32", optimizer: str = "sgd", amp: bool = False,
            device: str = "cpu", macs: str = "conv-fc") -> Report:
    """`macs`: "conv-fc" counts the multiply-accumulates of conv and fc layers only
    (torchvision's GFLOPS column); "all" adds bias adds, normalisation (one per element),
    pooling (one per window element), LRN and element-wise merges."""
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}")
    if macs not in MAC_COUNTS:
        raise ValueError(f"macs must be one of {', '.join(MAC_COUNTS)}")
    count_all = macs == "all"
    memory = MemoryModel(graph.input_shape, device)
    nodes = graph.nodes
    shapes: list = [None] * len(nodes)
    fields: list = [None] * len(nodes)
    input_field = Field.of_input(len(graph.input_shape) - 1)
    rows: list[Row] = []
    findings: list[Finding] = []
    used = [False] * len(nodes)

    def shape_of(i):
        return graph.input_shape if i == NETWORK_INPUT else shapes[i]

    def field_of(i):
        return input_field if i == NETWORK_INPUT else fields[i]

    for index, node in enumerate(nodes):
        for i in node.inputs:
            if i != NETWORK_INPUT:
                used[i] = True
        ins = [shape_of(i) for i in node.inputs]
        if any(s is None for s in ins):
            continue
        try:
            sizing = node.kind.infer(node, ins)
        except LayerError as err:
            message = err.message
            if err.rule == "merge-shape-mismatch":
                message = message.split(":")[0] + ": " + "; ".join(
                    _producer(graph, i, shape_of(i)) for i in node.inputs)
            findings.append(Finding(err.rule, message, node.at(err.field), node.id, err.fix, ERROR, node.trail))
            continue
        shapes[index] = sizing.output
        in_fields = [field_of(i) for i in node.inputs]
        if node.kind.merge:
            # a broadcast input (a squeeze-excitation gate) does not set the grid of the output
            full = [f for f, s in zip(in_fields, ins) if s[1:] == sizing.output[1:]]
            rf = merge(in_fields) if len(full) in (0, len(in_fields)) else merge(in_fields, grid=merge(full))
        else:
            rf = in_fields[0].through(sizing.windows)
        fields[index] = rf
        memory.add(index, node, node.inputs, ins, sizing.output, sizing.weights + sizing.biases > 0)
        for rule, message, at in sizing.notes:
            findings.append(Finding(rule, message, node.at(at), node.id, None, INFO, node.trail))
        rows.append(Row(node.id, node.kind.name, node.depth, sizing.output, sizing.weights, sizing.biases,
                        sizing.buffers, sizing.macs + (sizing.other_macs if count_all else 0),
                        prod(sizing.output), rf, sizing.explain,
                        [_input_name(graph, i) for i in node.inputs], str(node.loc) if node.loc else None,
                        index=index))

    if not any(f.severity == ERROR for f in findings):
        for index, node in enumerate(nodes[:-1]):
            if not used[index]:
                findings.append(Finding("unused-output", "nothing uses this layer's output", node.loc, node.id,
                                        "feed it into a later layer (from: / add: / concat:) or remove it",
                                        WARNING, node.trail))
    report = Report(graph.name, graph.source, graph.input_shape, batch, dtype, rows,
                    totals(graph.input_shape, rows, batch, DTYPE_BYTES[dtype]), findings)
    report.attach_memory(memory, optimizer, amp)
    return report


def totals(input_shape, rows: list[Row], batch: int, dtype_bytes: int) -> Totals:
    t = Totals(activations=prod(input_shape))
    for r in rows:
        t.weights += r.weights
        t.biases += r.biases
        t.buffers += r.buffers
        t.macs += r.macs
        t.activations += r.activations
    t.params = t.weights + t.biases
    t.forward_bytes = t.activations * batch * dtype_bytes
    return t


def _input_name(graph: Graph, i: int) -> str:
    return "input" if i == NETWORK_INPUT else graph.nodes[i].id


def _producer(graph: Graph, i: int, shape) -> str:
    if i == NETWORK_INPUT:
        return f"input is {shape_text(shape)}" + (f" (line {graph.input_loc.line})" if graph.input_loc else "")
    node = graph.nodes[i]
    return f"{node.id} gives {shape_text(shape)}" + (f" (line {node.loc.line})" if node.loc else "")
