"""The receptive field measured position by position, where a layer raises the resolution.

Araujo et al.'s recurrences (core/receptive.py) are exact while every stride is whole. Past a
layer with a fractional stride (a transposed conv, a resize, a pixel shuffle, an adaptive
pool) the units of a map no longer all see as much, and the recurrences give an average that
is not even that after a strided layer. Here the field of each output unit is measured
instead: the interval [o, o] of one output unit is carried backwards through each layer's
index map (`span` of its Window: conv/pool reads o*s - p .. o*s - p + k - 1, a transposed
conv the inputs spread s apart inside that, a crop an offset, a pad a shift), through a merge
to each of its inputs (a broadcast input: its one unit), and where paths meet the intervals'
hull is kept, down to the network's input. Maps are monotone, so the hull of a run of units
is lo(first)..hi(last): the figures are the hull of the pixels that change the unit
(borders ignored, as the recurrences ignore them).

The units repeat after the field's `period` (translation by `period` units moves every layer
on the path by whole units), so one period is measured, at most MAX_POSITIONS units per
dimension; the size is the largest hull, `least` the smallest where they differ, the
padding how far before the image unit 0's field starts. The work is bounded by BUDGET steps
per analysis; past it (or where a flatten lies on the path) the recurrences' figures stay.
"""

from __future__ import annotations

from heapq import heappop, heappush

from ..core.receptive import GLOBAL, ReceptiveField, span
from ..spec.graph import NETWORK_INPUT

MAX_POSITIONS = 64
BUDGET = 200_000  # interval steps (one unit through one layer) per analysis: U-Net takes 12,104
EMPTY = (1 << 62, -(1 << 62))  # the interval of a unit that reads nothing (a transposed conv's holes)


class ExactFields:
    """The layers seen so far, and the exact field of any of them on demand."""

    def __init__(self):
        self.layers: dict = {}  # index -> (windows or None, inputs, input shapes, output shape, merge)
        self.maps: dict = {}  # index -> per input, per dimension: (lo, hi) functions
        self.left = BUDGET

    def layer(self, index: int, node, sizing, ins):
        """Keeps what layer `index` reads (cheap: most are never asked for); returns the
        function that measures its field."""
        n = len(node.inputs)
        self.layers[index] = (sizing.windows, node.inputs, ins[:n] if len(ins) > n else ins, sizing.output,
                              node.kind.merge)
        return lambda rf: self.field(index, rf)

    def field(self, index: int, rf: ReceptiveField) -> ReceptiveField:
        """`rf` with its size, padding and least measured (unchanged past the budget)."""
        size, least, padding = [], [], []
        if len(self.layers[index][3]) != len(rf.period) + 1:  # a vector (an fc): no units to measure
            return rf
        for d, period in enumerate(rf.period):
            count = min(period, MAX_POSITIONS)
            spans = self._back(index, d, count)
            if spans is None:
                return rf
            widths = [max(b - a + 1, 0) for a, b in spans]
            size.append(max(widths))
            least.append(min(widths))
            padding.append(-spans[0][0] if spans[0] != EMPTY else rf.padding[d])
        return ReceptiveField(tuple(size), rf.jump, tuple(padding), rf.whole, rf.period,
                              tuple(least) if least != size else None)

    def _back(self, index: int, d: int, count: int):
        """The input interval of each of output units 0..count-1 of layer `index`, dimension d
        (None past the budget)."""
        pending = {index: [(o, o) for o in range(count)]}
        heap = [-index]
        while heap:
            node = -heappop(heap)
            spans = pending.pop(node)
            if node == NETWORK_INPUT:
                return spans
            self.left -= count
            maps = self._maps(node)
            if self.left < 0 or d >= len(maps):  # past the budget, or a flatten on the path: no map
                return None
            for i, (lo, hi) in zip(self.layers[node][1], maps[d]):
                moved = [(lo(a), hi(b)) if a <= b else EMPTY for a, b in spans]
                moved = [s if s[0] <= s[1] else EMPTY for s in moved]
                if i in pending:
                    pending[i] = [(min(a, c), max(b, e)) for (a, b), (c, e) in zip(pending[i], moved)]
                else:
                    pending[i] = moved
                    heappush(heap, -i)
        return None

    def _maps(self, node: int):
        """Per dimension, one (lo, hi) map per input of the layer."""
        maps = self.maps.get(node)
        if maps is None:
            windows, inputs, ins, output, is_merge = self.layers[node]
            dims = len(output) - 1
            maps = self.maps[node] = [[_map(None if is_merge else windows, shape, output, d) for shape in ins]
                                      for d in range(dims)]
        return maps


def _same(o: int) -> int:
    return o


def _map(windows, shape, output, d: int):
    """How a unit of `output` reads dimension d of an input of `shape`: the layer's Window, the
    same unit (a pointwise layer, a merge), its one unit (an input broadcast), or all of it."""
    if windows and windows is not GLOBAL and len(windows) == len(output) - 1:
        return span(windows[d])
    if len(shape) == len(output) and shape[1 + d] == output[1 + d]:
        return _same, _same
    last = shape[1 + d] - 1 if len(shape) == len(output) else 0
    return (lambda o: 0), (lambda o: last)
