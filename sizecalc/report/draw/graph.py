"""The graph picture, for networks with branches: one node per row (per block when folded),
laid out top to bottom by layout.py, the producer's output volume on every edge, merges
(add, concat, mul) drawn as round nodes with their sign, colours by family, and each node's
params and MACs in its SVG <title> (shown on hover).
"""

from __future__ import annotations

from .colours import COLOURS, FAMILY_NAMES, family
from .layout import place
from .svg import Canvas, clean, text_width
from .volumes import volume_label

ID_FONT, OP_FONT, EDGE_FONT = 11, 10, 10
MARGIN, TITLE = 20, 34
MERGE_SIGNS = {"add": "+", "concat": "‖", "mul": "×"}


def nodes_and_edges(report, rows):
    """(nodes, edges): nodes are ('input', None) then each row; edges index pairs, a row's
    input found by its id or, folded, by the block that holds it."""
    index = {"input": 0}
    for i, r in enumerate(rows, 1):
        index[r.id] = i
    edges = []
    for i, r in enumerate(rows, 1):
        for name in r.inputs:
            j = _holder(index, name)
            if j is not None and j != i and (j, i) not in edges:
                edges.append((j, i))
    return [None, *rows], edges


def _holder(index, name):
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        j = index.get(".".join(parts[:n]))
        if j is not None:
            return j
    return None


def _texts(row) -> tuple[str, str]:
    if row is None:
        return "input", ""
    kind = family(row.op)
    if kind == "merge":
        return f"{MERGE_SIGNS.get(row.op, '')} {clean(row.op, 12)}".strip(), ""
    if row.op == "block":
        return clean(row.id, 32), f"block, {row.params:,} params"
    op = clean(row.op, 16)
    if row.kernel and kind in ("conv", "local", "pool"):
        op += " " + "×".join(map(str, row.kernel))
    return clean(row.id, 32), op


def _size(row) -> tuple[float, float]:
    top, bottom = _texts(row)
    if row is not None and family(row.op) == "merge":
        return max(58.0, text_width(top, ID_FONT) + 22), 24.0
    return max(text_width(top, ID_FONT), text_width(bottom, OP_FONT)) + 16, 34.0 if bottom else 24.0


def render(report, rows, layout: str) -> str:
    nodes, edges = nodes_and_edges(report, rows)
    sizes = [_size(r) for r in nodes]
    shapes = [report.input_shape if r is None else r.output for r in nodes]
    labels = [volume_label(shapes[a], layout) for a, _ in edges]
    centres, routes, label_at, splines = place(sizes, edges, labels)
    xs = [c[0] - s[0] / 2 for c, s in zip(centres, sizes)] + [p[0] for r in routes for p in r]
    ys = [c[1] - s[1] / 2 for c, s in zip(centres, sizes)] + [p[1] for r in routes for p in r]
    dx, dy = MARGIN - min(xs), MARGIN + TITLE - min(ys)
    canvas = Canvas()
    canvas.parts.append('<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
                        'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#666"/></marker></defs>')
    right = bottom = 0.0
    for k, ((a, b), route) in enumerate(zip(edges, routes)):
        pts = [(x + dx, y + dy) for x, y in route]
        _edge(canvas, nodes[a], nodes[b], pts, splines)
        at = label_at[k]
        x, y = (at[0] + dx, at[1] + dy + 3) if at else _beside(pts)
        canvas.text(x, y, labels[k], size=EDGE_FONT, cls="label edge-label", fill="#444",
                    anchor="middle" if at else "start", stroke="#fff", stroke_width=3, paint_order="stroke")
        right = max(right, x + text_width(labels[k], EDGE_FONT))
    for r, (cx, cy), (w, h) in zip(nodes, centres, sizes):
        _node(canvas, report, r, cx + dx, cy + dy, w, h)
        right, bottom = max(right, cx + dx + w / 2), max(bottom, cy + dy + h / 2)
    right = max(right, max(p[0] + dx for r in routes for p in r) if routes else 0)
    canvas.width = right + MARGIN
    t = report.totals
    title = f"{clean(report.name)} · {t.params:,} params · {t.macs:,} MACs"
    canvas.text(MARGIN, MARGIN + 12, title, size=14, anchor="start", cls="label title", weight="bold")
    canvas.width = max(canvas.width, 2 * MARGIN + text_width(title, 14))
    canvas.height = _legend(canvas, nodes, bottom + 30) + MARGIN
    return canvas.svg(f"sizecalc draw: {report.name}")


def _node(canvas: Canvas, report, row, cx, cy, w, h) -> None:
    kind = "input" if row is None else family(row.op)
    fill, stroke = COLOURS[kind]
    top, bottom = _texts(row)
    if row is None:
        title = f"input {volume_label(report.input_shape, 'hwc')}"
    else:
        title = (f"{clean(row.id, 200)} ({clean(row.op)}) -> {volume_label(row.output, 'hwc')}: {row.params:,} params, "
                 f"{row.macs:,} MACs")
    canvas.open(cls="node", title=title, data_id="input" if row is None else clean(row.id, 200), data_kind=kind)
    rx = h / 2 if kind == "merge" else 4
    canvas.rect(cx - w / 2, cy - h / 2, w, h, fill, cls="box", stroke=stroke, stroke_width=1.2, rx=rx)
    if bottom:
        canvas.text(cx, cy - 2, top, size=ID_FONT, weight="bold")
        canvas.text(cx, cy + 11, bottom, size=OP_FONT, fill="#444")
    else:
        canvas.text(cx, cy + 4, top, size=ID_FONT, weight="bold")
    canvas.close()


def _edge(canvas: Canvas, tail, head, pts, splines: bool) -> None:
    first = "M{:.1f},{:.1f}".format(*pts[0])
    if splines and (len(pts) - 1) % 3 == 0:
        rest = " ".join("C" + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[i:i + 3]) for i in range(1, len(pts), 3))
    else:
        rest = " ".join(f"L{x:.1f},{y:.1f}" for x, y in pts[1:])
    canvas.path(f"{first} {rest}", stroke="#666", cls="edge", stroke_width=1.2, marker_end="url(#arrow)",
                data_from="input" if tail is None else clean(tail.id, 200),
                data_to=clean(head.id, 200))


def _beside(pts):
    """Where an edge's label goes without a layout's placement: right of its first segment."""
    (x1, y1), (x2, y2) = pts[0], pts[1]
    return (x1 + x2) / 2 + 5, (y1 + y2) / 2 + 3


def _legend(canvas: Canvas, nodes, y) -> float:
    kinds = []
    for r in nodes:
        k = "input" if r is None else family(r.op)
        if k not in kinds:
            kinds.append(k)
    canvas.open(cls="legend")
    x = MARGIN
    for k in kinds:
        fill, stroke = COLOURS[k]
        canvas.rect(x, y - 11, 14, 14, fill, stroke=stroke, stroke_width=1)
        canvas.text(x + 20, y, FAMILY_NAMES[k], size=OP_FONT, anchor="start")
        x += 34 + text_width(FAMILY_NAMES[k], OP_FONT)
        if x > canvas.width - 200 and k != kinds[-1]:
            canvas.width = max(canvas.width, x + MARGIN)
    note = "edges: the output volume they carry; hover a node for its params and MACs"
    canvas.text(MARGIN, y + 20, note, size=OP_FONT, anchor="start", fill="#666")
    canvas.close()
    canvas.width = max(canvas.width, x + MARGIN, 2 * MARGIN + text_width(note, OP_FONT))
    return y + 20
