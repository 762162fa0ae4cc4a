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
from ..layers.fc import input_mismatch
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
    classes: list = [None] * len(graph.nodes) + [tuple(given)]
    errors: list = [None] * len(input_shapes)
    sized: dict = {}
    memo: dict = {}
    for index, node in enumerate(graph.nodes):
        if node.kind is None:  # lint's stand-in for a layer that did not expand (spec/expand.expand_all)
            columns[index], classes[index] = [SKIPPED] * len(input_shapes), ()
            continue
        columns[index], classes[index] = _layer(graph, node, columns, classes, (sized, memo), errors)
    return errors


def _layer(graph, node, columns, classes, caches, errors) -> tuple[list, tuple]:
    """This layer's column (each size's class, SKIPPED where it broke) and its classes' shapes.
    Where all its inputs group the sizes alike (a chain, a residual block that keeps the size),
    the classes are sized once per (kind, arguments, input classes) and a column that maps
    one to one is the input's own list: a repeated block costs a lookup, not a pass over sizes."""
    inputs = [*node.inputs, *node.refs] if node.refs else node.inputs  # `like:` shapes follow the inputs'
    first = columns[inputs[0]]
    if all(columns[i] is first or columns[i] == first for i in inputs[1:]):
        mapping, out = _classes(node, tuple(classes[i] for i in inputs), caches)
        if len(out) == len(mapping) - 1:  # one to one, nothing broke
            return first, out
        column = [mapping[c] for c in first]  # mapping[SKIPPED] is its last entry, SKIPPED
        keys = first
        ins_of = lambda c: [classes[i][c] for i in inputs]  # noqa: E731
    else:  # inputs grouped differently: a class per combination
        keys = list(zip(*(columns[i] for i in inputs)))
        outs: dict = {}
        at = {key: _size(node, [classes[i][c] for i, c in zip(inputs, key)], caches[0], outs)
              for key in set(keys) if SKIPPED not in key}
        column, out = [at.get(key, SKIPPED) for key in keys], tuple(outs)
        ins_of = lambda key: [classes[i][c] for i, c in zip(inputs, key)]  # noqa: E731
    if any(isinstance(c, LayerError) for c in column):
        _record(graph, node, columns, classes, (keys, ins_of), column, errors)
    return column, out


def _classes(node, ins: tuple, caches) -> tuple[list, tuple]:
    """(each input class's class here or its LayerError, then SKIPPED; the classes' shapes)."""
    sized, memo = caches
    key = (node.kind.name, id(node.args), node.rank, ins)  # the rank a name states (conv2d) is checked too
    found = memo.get(key)
    if found is None:
        outs: dict = {}
        mapping = [_size(node, [shapes[c] for shapes in ins], sized, outs) for c in range(len(ins[0]))]
        found = memo[key] = ([*mapping, SKIPPED], tuple(outs))
    return found


def _size(node, ins: list, sized: dict, outs: dict):
    """The class of the layer's output at these inputs (a new one for a new shape), or its error."""
    try:
        return outs.setdefault(_sizing(node, ins, sized)[0].output, len(outs))
    except LayerError as err:
        return err


def _record(graph, node, columns, classes, keyed, column, errors) -> None:
    """The sizes whose class broke at this layer get its error, if it is their first."""
    keys, ins_of = keyed
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
            if volume is not None:
                err = mismatch_at(node, classes[before][volume])
            found = findings[(keys[i], volume)] = layer_finding(graph, node, err, ins_of(keys[i]))
        errors[i] = found


def through_flatten(graph: Graph, node) -> int | None:
    """The node (or -1, the network input) whose volume a flatten gives `node`, if one does:
    the lecture's VGG16 flattens 7x7x512 into fc6, and its error names that volume."""
    i = node.inputs[0]
    return graph.nodes[i].inputs[0] if i >= 0 and graph.nodes[i].kind.name == "flatten" else None


def mismatch_at(node, volume) -> LayerError:
    """A pinned fc's mismatch, told with the volume before its flatten: 8x8x512 = 32,768."""
    a = node.args
    return input_mismatch(volume, a["inputs"], a["outputs"], a["bias"])
