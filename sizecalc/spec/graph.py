"""The expanded layer graph: what the engine walks.

Nodes are in topological order (a layer may only take its input from layers above it);
`inputs` are indices into `nodes`, with -1 for the network's input; `refs` likewise name the
layers whose shape a layer reads (`resize: {like: low}`) without taking their data. Every node keeps the
location of its YAML item and of each argument, and the trail of `use:` sites that led to
it, so that an error found later can still point at the spec.
"""

from __future__ import annotations

from ..core.record import dataclass, field

from ..core.errors import Loc
from ..layers.base import Layer

NETWORK_INPUT = -1


@dataclass
class Node(Layer):
    loc: Loc | None = None
    arg_locs: dict = field(default_factory=dict)
    trail: tuple[Loc, ...] = ()
    depth: int = 1  # 1 = top level; block contents are deeper
    block: str | None = None  # the innermost block it was expanded from
    rank: int | None = None  # the spatial rank its name states (conv2d: 2), checked by the engine
    spelled: str | None = None  # that name, as written
    # the layers whose output SHAPE it reads (`like: low`), not their data: infer gets their
    # shapes after its inputs' ones; memory and the torch module do not see them as inputs
    refs: tuple[int, ...] = ()

    def at(self, name: str | None) -> Loc | None:
        return self.arg_locs.get(name, self.loc) if name else self.loc


@dataclass
class Graph:
    name: str
    input_shape: tuple[int, ...]
    nodes: list[Node]
    source: str = "<spec>"
    input_loc: Loc | None = None
    spec_input: tuple[int, ...] | None = None  # the spec's own `input:` (input_shape may replace it)
    # warnings about a spec that expands (an input that looks written in the other layout):
    # the engine adds them to every report of the graph
    findings: list = field(default_factory=list)

