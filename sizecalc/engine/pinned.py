"""The input size that a pinned fc asks for, as a fix that is itself valid.

An fc with `inputs:` (torch's in_features) refuses any other flattened input
(layers/fc.py). The input of the network that gives it its size is the better fix than a new
classifier: the input the spec was written for, or else the square input nearest to the one
given. Each is checked through the whole network with the shape-only walk (shapes.py), so a
size offered is one at which every layer fits, not only the fc.
"""

from __future__ import annotations

from ..core.errors import LayerError
from ..spec.graph import Graph
from .shapes import first_errors, mismatch_at, through_flatten
from .walk import REFINE

SIDES = 4096  # square inputs tried when the spec's own input does not do


def pinned_mismatch(graph: Graph, index: int, err: LayerError, shapes: list) -> LayerError:
    """A pinned fc's error as the full walk reports it: the volume before its flatten, and first
    the input size that gives the fc its size (shapes: each node's output, the input last)."""
    node = graph.nodes[index]
    before = through_flatten(graph, node)
    if before is not None:
        err = mismatch_at(node, shapes[before])
    err.fixes = (*input_fixes(graph, index), *err.fixes)
    return err


def position_mismatch(graph: Graph, index: int, err: LayerError, shapes: list) -> LayerError:
    """A position embedding built for another token count: first the input size that gives the
    sequence its count (ViT-B/16's 197 tokens: 224x224), then an embedding for this input."""
    node = graph.nodes[index]
    err.fixes = (*input_fixes(graph, index, f"which gives {node.id} its {node.args['length']:,} tokens"), *err.fixes)
    return err


def input_fixes(graph: Graph, index: int, gives: str | None = None) -> tuple[str, ...]:
    """The network input that gives node `index` its pinned size (one fix, or none)."""
    node = graph.nodes[index]
    current, written = graph.input_shape, graph.spec_input
    gives = gives or f"which gives {node.id} its {node.args['inputs']:,} inputs"
    if written and written != current and len(written) == len(current) and first_errors(graph, [written]) == [None]:
        return (f"input [{', '.join(map(str, written))}], the input this spec was written for, {gives}",)
    c, dims = current[0], len(current) - 1
    if dims == 0:
        return ()
    sides = range(1, SIDES + 1)
    fits = [n for n, error in zip(sides, first_errors(graph, [(c, *([n] * dims)) for n in sides])) if error is None]
    if not fits:
        return ()
    near = min(fits, key=lambda n: (abs(n - max(current[1:])), n))
    return (f"input [{c}, {', '.join([str(near)] * dims)}], {gives}",)


REFINE["fc-input-mismatch"] = pinned_mismatch
REFINE["position-embedding-mismatch"] = position_mismatch
