"""The engine: one walk over the graph, in topological order, filling a Report.

For each node it calls the layer kind's `infer` with the input volumes, carries the
receptive field along, and turns LayerErrors into Findings that point at the spec. A layer
whose input failed is skipped (its error was already reported). It never imports torch or
rich, and does nothing per layer beyond a constant amount of work.
"""

from __future__ import annotations

from math import prod
from operator import attrgetter

from ..core.errors import ERROR, INFO, WARNING, Finding, Findings, LayerError
from ..core.escape import printable
from ..core.limits import MAX_BATCH, MAX_ELEMS, MAX_SIDE, POWERS, approx
from ..core.units import ATTENTION_PATHS, DTYPE_BYTES, MAC_COUNTS, shape_text, volume_text
from .memory import MemoryModel, fill_report
from ..core.receptive import GLOBAL, ReceptiveField, merge
from .exact_field import ExactFields
from ..layers.base import check_rank
from ..report.model import Report, Row, Totals
from ..spec.graph import NETWORK_INPUT, Graph


# rule -> refine(graph, node index, LayerError, each node's output shape) -> LayerError: what a
# layer's error can say only with the whole graph in view. engine/pinned.py, which sizes the
# network again to find the input that gives a pinned fc its size, sits above this module and
# registers itself when the engine package is imported.
REFINE: dict = {}


def analyze(graph: Graph, batch: int = 1, dtype: str = "fp32", optimizer: str = "sgd", amp: bool = False,
            device: str = "cpu", macs: str = "conv-fc", attention: str = "auto") -> Report:
    """`macs`: "conv-fc" counts the multiply-accumulates of conv and fc layers only
    (torchvision's GFLOPS column); "all" adds bias adds, normalisation (one per element),
    pooling (one per window element), LRN and element-wise merges. `attention`: which kernel's
    saved tensors attention layers keep ("auto": the one torch picks on `device`; "math"; "fused")."""
    _check_options(batch, dtype, macs, attention)
    count_all = macs == "all"
    memory = MemoryModel(graph.input_shape, device, attention, half=amp or DTYPE_BYTES[dtype] == 2)
    nodes = graph.nodes
    # per node, and last (index -1 = NETWORK_INPUT) the network's input
    shapes: list = [None] * len(nodes) + [graph.input_shape]
    fields: list = [None] * len(nodes) + [ReceptiveField.of_input(len(graph.input_shape) - 1)]
    image = graph.input_shape[1:]  # input pixels per spatial dimension: what a global field sees
    names = [node.id for node in nodes] + ["input"]
    rows: list[Row] = []
    findings = Findings()
    for finding in graph.findings:
        findings.add(finding)
    used = [False] * (len(nodes) + 1)
    sized: dict = {}  # see _sizing
    files: dict = {}  # file -> printable(file): each row's loc is str(node.loc), written out here
    exact = ExactFields()  # each layer's index maps, for the fields past a resolution-raising layer

    for index, node in enumerate(nodes):
        inputs = node.inputs
        for i in (*inputs, *node.refs) if node.refs else inputs:
            used[i] = True
        ins = [shapes[i] for i in inputs]
        # `like: low` (spec/graph.py's refs): the kind reads that shape after its inputs', not its data
        if None in ins or (node.refs and None in (ins := ins + [shapes[i] for i in node.refs])):
            continue
        try:
            sizing, elems = _sizing(node, ins, sized)
            rf = _receptive(node, sizing, [fields[inputs[0]]] if len(inputs) == 1 else [fields[i] for i in inputs], ins,
                            image, exact.layer(index, node, sizing, ins))
        except LayerError as err:
            if err.rule in REFINE:
                err = REFINE[err.rule](graph, index, err, shapes)
            finding = layer_finding(graph, node, err, ins)
            findings.add(finding, node.loc)
            continue
        shapes[index] = sizing.output
        fields[index] = rf
        shares = memory.add(index, node, node.inputs, ins, sizing.output, sizing.weights + sizing.biases > 0)
        for rule, message, at in sizing.notes:
            findings.add(Finding(rule, message, node.at(at), node.id, None, INFO, node.trail, node.block), node.loc)
        rows.append(Row(node.id, node.kind.name, node.depth, sizing.output, sizing.weights, sizing.biases,
                        sizing.buffers, sizing.macs + (sizing.other_macs if count_all else 0),
                        elems, rf, sizing.explain if rf.least is None else [*sizing.explain, varying(rf)],
                        [names[inputs[0]]] if len(inputs) == 1 else [names[i] for i in inputs],
                        _loc_text(node.loc, files) if node.loc else None,
                        index=index, shares_storage=shares, kernel=_kernel(node.args.get("kernel"), ins[0])))

    if not any(f.severity == ERROR for f in findings):
        for index, node in enumerate(nodes[:-1]):
            if not used[index]:
                findings.add(Finding("unused-output", "nothing uses this layer's output", node.loc, node.id,
                                     "feed it into a later layer (from: / add: / concat:) or remove it",
                                     WARNING, node.trail, node.block), node.loc)
    report = Report(graph.name, graph.source, graph.input_shape, batch, dtype, rows,
                    totals(graph.input_shape, rows, batch, DTYPE_BYTES[dtype]), findings)
    fill_report(report, memory, optimizer, amp)
    return report


def _kernel(kernel, shape) -> tuple[int, ...] | None:
    """A window layer's kernel, one size per spatial dimension of its input (None: it has none)."""
    if isinstance(kernel, int) and not isinstance(kernel, bool):
        return (kernel,) * max(len(shape) - 1, 1)
    if isinstance(kernel, (tuple, list)) and all(isinstance(k, int) for k in kernel):
        return tuple(kernel)
    return None


def layer_finding(graph: Graph, node, err: LayerError, ins: list) -> Finding:
    """The error of one layer as a Finding that points at the spec; a merge's inputs are named
    by the layers that give them, with their lines."""
    message = err.describe(tuple(_producer(graph, i, s) for i, s in zip(node.inputs, ins)), "; ") \
        if err.inputs else err.message
    return Finding(err.rule, message, node.at(err.key), node.id, None, ERROR, node.trail, node.block,
                   fixes=err.fixes)


def _sizing(node, ins: list, sized: dict):
    """(node.kind.infer(node, ins), its output's elements), the limits checked. Kept in `sized`
    per (kind, arguments, input shapes): the layers of a long spec repeat a few configurations,
    and `infer` depends on nothing else (the expander shares one args dict among layers with
    equal arguments, and nothing changes a node's args in place)."""
    if node.rank is not None:  # conv2d on a 1-D volume: PyTorch's Conv2d refuses it (the name is not in key)
        check_rank(node.kind, node.spelled, node.rank, ins[0])
    key = (node.kind.name, id(node.args), *ins)
    try:
        return sized[key]
    except KeyError:
        pass
    except TypeError:  # a shape given as a list (a Graph built by hand): not kept
        key = None
    sizing = node.kind.infer(node, ins)
    elems = prod(sizing.output)
    if elems > MAX_ELEMS or max(sizing.output) > MAX_SIDE or sizing.weights > MAX_ELEMS:
        raise too_large(node, ins, sizing, elems)
    if key is not None:
        sized[key] = sizing, elems
    return sizing, elems


def _loc_text(loc, files: dict) -> str:
    """str(loc), with the file name made printable once per file rather than once per row."""
    name = files.get(loc.file)
    if name is None:
        name = files[loc.file] = printable(loc.file)
    return f"{name}:{loc.line}:{loc.col}"


def _check_options(batch: int, dtype: str, macs: str, attention: str = "auto") -> None:
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}")
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch must be from 1 to {MAX_BATCH:,}")
    if macs not in MAC_COUNTS:
        raise ValueError(f"macs must be one of {', '.join(MAC_COUNTS)}")
    if attention not in ATTENTION_PATHS:
        raise ValueError(f"attention must be one of {', '.join(ATTENTION_PATHS)}")


def _receptive(node, sizing, in_fields: list, ins, image, measure) -> ReceptiveField:
    """The layer's receptive field from its inputs', whole once every unit sees the whole
    `image` (LayerError when it grows past the limit); measured unit by unit (`measure`,
    engine/exact_field.py) past a layer with a fractional stride."""
    if node.kind.merge:
        # a broadcast input (a squeeze-excitation gate) does not set the grid of the output
        full = [f for f, s in zip(in_fields, ins) if s[1:] == sizing.output[1:]]
        rf = merge(in_fields) if len(full) in (0, len(in_fields)) else merge(in_fields, grid=merge(full))
        if rf.period is not None and not rf.whole:
            rf = measure(rf)
        return rf.covering(image, sizing.output[1:])
    if sizing.windows is GLOBAL:
        return in_fields[0].mixed(image)
    rf = in_fields[0].through(sizing.windows)
    if not sizing.windows:
        return rf
    if max(*rf.size, *rf.jump, *rf.padding) > MAX_ELEMS:
        raise field_too_large(rf)
    # a fraction's digits grow with every upsampling that does not cancel: bound them too
    if type(sum(rf.size) + sum(rf.jump) + sum(rf.padding)) is not int and rf.finest() > MAX_ELEMS:
        raise field_too_fine(rf)
    if rf.period is not None and not rf.whole:
        rf = measure(rf)
    return rf.covering(image, sizing.output[1:])


def varying(rf) -> str:
    """The explain line of a field whose size depends on the output unit."""
    if len(set(zip(rf.least, rf.size))) == 1:
        sizes = f"{rf.least[0]} to {rf.size[0]}"
    else:
        sizes = " x ".join(f"{a} to {b}" for a, b in zip(rf.least, rf.size))
    return f"receptive field {sizes} input pixels depending on the output unit (the units repeat every " \
           f"{' x '.join(map(str, rf.period))}); the largest is shown"


def too_large(node, ins, sizing, elems: int) -> LayerError:
    """A tensor past the limits (2^31 per dimension, 2^63 elements): the arithmetic, and the
    largest value of the layer's own size argument that keeps every one of its tensors inside."""
    out, weights = sizing.output, sizing.weights
    if elems > MAX_ELEMS:
        what = f"output {volume_text(out)} = {approx(elems)} elements is more than {POWERS[MAX_ELEMS]} " \
               "(the limit per tensor)"
    elif max(out) > MAX_SIDE and len(out) == 1:
        what = f"output of {out[0]:,} values is more than {POWERS[MAX_SIDE]} (the limit per dimension)"
    elif max(out) > MAX_SIDE:
        what = (f"output {volume_text(out)} has a dimension of {max(out):,}, more than {POWERS[MAX_SIDE]} "
                "(the limit per dimension)")
    else:
        what = f"its weights are {approx(weights)} elements, more than {POWERS[MAX_ELEMS]} (the limit per tensor)"
    name, value = node.kind.main, node.args.get(node.kind.main or "")
    fix, at = None, name if name in node.arg_locs else None
    if name in ("filters", "outputs") and isinstance(value, int) and max(out[1:], default=1) <= MAX_SIDE:
        per_channel = prod(out[1:])
        most = min(MAX_ELEMS // per_channel, MAX_SIDE, MAX_ELEMS // (weights // value) if weights else MAX_SIDE)
        groups = ins[0][0] if node.args.get("depthwise") else node.args.get("groups", 1)
        most -= most % groups
        if most >= 1:
            fix = f"{name} {most} or fewer"
    elif name == "output" and out[0] <= MAX_SIDE:
        side = _largest_side(out[0], len(out) - 1)
        if side >= 1:
            fix = f"output {side} or less ({volume_text((out[0],) + (side,) * (len(out) - 1))} = " \
                  f"{approx(out[0] * side ** (len(out) - 1))} elements)"
    if fix is None:
        at = None
        fix = (f"a smaller input to this layer, or smaller sizes in it: a tensor may have at most "
               f"{POWERS[MAX_SIDE]} per dimension and {POWERS[MAX_ELEMS]} elements")
    return LayerError("too-large", what, at, fix)


def field_too_large(rf) -> LayerError:
    """Strides multiply along the network: past 2^63 input pixels the receptive field means nothing
    (and its digits would grow with every layer)."""
    what, values = max((("receptive field", rf.size), ("jump (effective stride)", rf.jump),
                        ("effective padding", rf.padding)), key=lambda item: max(item[1]))
    return LayerError("too-large", f"its {what} is {approx(int(max(values)))} input pixels, more than "
                      f"{POWERS[MAX_ELEMS]} (the limit)", "stride",
                      "smaller strides, kernels or padding up to this layer: a receptive field, its jump and "
                      f"padding may be at most {POWERS[MAX_ELEMS]} input pixels")


def field_too_fine(rf) -> LayerError:
    """Upsamplings divide the jump: past a denominator of 2^63 an exact fraction of a pixel
    means nothing (and its digits would grow with every layer)."""
    return LayerError("too-large", f"its receptive field is measured in fractions of 1/{approx(rf.finest())} "
                      f"input pixel, finer than 1/{POWERS[MAX_ELEMS]} (the limit)", None,
                      "fewer or smaller upsamplings (or strides that undo them) up to this layer: a receptive "
                      f"field, its jump and padding are measured to 1/{POWERS[MAX_ELEMS]} of an input pixel")


def _largest_side(channels: int, dims: int) -> int:
    """The largest s <= 2^31 with channels * s^dims <= 2^63 (bisection: 31 steps)."""
    lo, hi = 0, MAX_SIDE
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if channels * mid ** dims <= MAX_ELEMS:
            lo = mid
        else:
            hi = mid - 1
    return lo


def totals(input_shape, rows: list[Row], batch: int, dtype_bytes: int) -> Totals:
    t = Totals(activations=prod(input_shape) + _sum("activations", rows))
    t.weights, t.biases, t.buffers, t.macs = (_sum(name, rows) for name in ("weights", "biases", "buffers", "macs"))
    t.params = t.weights + t.biases
    # each storage once: an output in place or a view lives in its input's (report/model.py)
    t.forward_activations = t.activations - sum(r.activations for r in rows if r.shares_storage)
    t.forward_bytes = t.forward_activations * batch * dtype_bytes
    return t


def _sum(name: str, rows: list[Row]) -> int:
    """The sum of one figure over the rows (in C: 100,000 rows)."""
    return sum(map(attrgetter(name), rows))


def _producer(graph: Graph, i: int, shape) -> str:
    if i == NETWORK_INPUT:
        return f"input is {shape_text(shape)}" + (f" (line {graph.input_loc.line})" if graph.input_loc else "")
    node = graph.nodes[i]
    return f"{node.id} gives {shape_text(shape)}" + (f" (line {node.loc.line})" if node.loc else "")
