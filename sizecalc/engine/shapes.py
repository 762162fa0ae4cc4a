"""A shape-only walk: for many input sizes at once, the first error at each, and nothing else.

`sizecalc inputs` asks one question per input size: does every layer fit, and if not, which
layer breaks first and why. That needs the layers' verdicts as the full walk gives them
(engine/walk.py: the same `infer` and tensor limits, the same first error as the same
Finding) but none of the rest: no rows, no explain text kept, no memory model, no totals,
and no receptive field (a receptive field past its limit is input-independent but for global
windows: tools/inputs.py checks it with one full walk at the largest size that fits).

It walks the graph once, layer by layer, over all sizes together. At each layer the sizes
whose input volumes agree are one class, sized once: deep in a network thousands of input
sizes are a few hundred volumes (ResNet-152's 4,096 square sizes are 128 volumes after its
fifth halving). The layers' results are cached per (kind, arguments, input shapes) as the
full walk caches them.
"""

from __future__ import annotations

from ..core.errors import Finding, LayerError
from ..spec.graph import Graph
from .pinned import mismatch_at, through_flatten
from .walk import _sizing, layer_finding

SKIPPED = -1  # an input failed earlier: the full walk skips the layer, so does this one


def first_errors(graph: Graph, input_shapes: list[tuple[int, ...]]) -> list[Finding | None]:
    """For each input shape (all of one rank), the first error of the layers at that input
    (as `walk.analyze(graph at that input).errors()[0]`, receptive field aside), or None when
    every layer fits."""
    given: dict = {}
    start = [given.setdefault(shape, len(given)) for shape in input_shapes]
    # per node, and last (index -1 = the network input): each size's class, and the classes' shapes
    columns: list = [None] * len(graph.nodes) + [start]
    classes: list = [None] * len(graph.nodes) + [list(given)]
    errors: list = [None] * len(input_shapes)
    sized: dict = {}
    for index, node in enumerate(graph.nodes):
        columns[index], classes[index] = _layer(graph, node, columns, classes, sized, errors)
    return errors


def _layer(graph, node, columns, classes, sized, errors) -> tuple[list, list]:
    """This layer's column (each size's class, SKIPPED where it broke) and its classes' shapes."""
    inputs = node.inputs
    if len(inputs) == 1:
        keys, shapes = columns[inputs[0]], classes[inputs[0]]
        todo = [(key, [shapes[key]]) for key in set(keys) if key != SKIPPED]
    else:
        keys = list(zip(*(columns[i] for i in inputs)))
        todo = [(key, [classes[i][c] for i, c in zip(inputs, key)]) for key in set(keys) if SKIPPED not in key]
    out: dict = {}  # output shape -> its class here
    to_class: dict = {}  # an input class (or classes) -> its class here, or the error
    broke = False
    for key, ins in todo:
        try:
            to_class[key] = out.setdefault(_sizing(node, ins, sized)[0].output, len(out))
        except LayerError as err:
            to_class[key] = err
            broke = True
    column = [to_class.get(key, SKIPPED) for key in keys]
    if broke:  # the sizes of a class that broke here get its error, if it is their first
        _record(graph, node, columns, classes, keys, column, errors)
    return column, list(out)


def _record(graph, node, columns, classes, keys, column, errors) -> None:
    findings: dict = {}  # the Finding per (input class, flattened volume's class)
    before = through_flatten(graph, node)  # a pinned fc names the volume its flatten was given
    for i, err in enumerate(column):
        if not isinstance(err, LayerError):
            continue
        column[i] = SKIPPED
        if errors[i] is not None:
            continue
        volume = columns[before][i] if before is not None and err.rule == "fc-input-mismatch" else None
        found = findings.get((keys[i], volume))
        if found is None:
            ins = [classes[j][c] for j, c in zip(node.inputs, keys[i] if len(node.inputs) > 1 else (keys[i],))]
            if volume is not None:
                err = mismatch_at(node, classes[before][volume])
            found = findings[(keys[i], volume)] = layer_finding(graph, node, err, ins)
        errors[i] = found
