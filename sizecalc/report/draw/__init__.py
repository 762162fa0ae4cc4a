"""Pictures of a network from its Report: the lecture's volumes (volumes.py) and a layered
graph with the shape on every edge (graph.py), as SVG (svg.py).

Reads only the Report (its rows, folded or not): no torch, no spec. The graph's layout
comes from Graphviz's `dot` when it is installed, else from the `grandalf` package (the
`draw` extra); layout.py imports either only when a graph is drawn.
"""

from __future__ import annotations

from ...core.record import dataclass

STYLES = ("volumes", "graph")

@dataclass
class Drawing:
    """A picture: its SVG text; shows itself in Jupyter (`_repr_svg_`)."""

    svg: str
    style: str

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)


def is_chain(rows) -> bool:
    """Whether every row takes one input, the row above it (no branch, no merge)."""
    previous = "input"
    for r in rows:
        if r.inputs != [previous]:
            return False
        previous = r.id
    return True


MAX_NODES = 150  # a graph drawn unfolded has at most this many nodes


def readable_depth(rows) -> int | None:
    """The deepest --depth whose graph has at most MAX_NODES nodes (None: every layer fits)."""
    from ..fold import fold
    if len(rows) <= MAX_NODES:
        return None
    deepest = max(r.depth for r in rows)
    for depth in range(deepest - 1, 0, -1):
        if len(fold(rows, depth)) <= MAX_NODES:
            return depth
    return 1


def draw(report, style: str | None = None, depth: int | None = None, layout: str = "hwc") -> Drawing:
    """The picture of `report`: `style` volumes or graph (None: volumes for a chain, graph
    for a network with branches); `depth` folds blocks as `table --depth` does (None: the
    graph folds to readable_depth, the volumes every layer); `layout`
    writes volumes H x W x C (hwc) or C x H x W (chw)."""
    from ..fold import fold
    if style is None:
        style = "volumes" if is_chain(report.rows) else "graph"
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if style == "graph" and depth is None:
        depth = readable_depth(report.rows)
    rows = fold(report.rows, depth)
    if style == "volumes":
        from .volumes import render
    else:
        from .graph import render
    return Drawing(render(report, rows, layout), style)
