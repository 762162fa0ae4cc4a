"""The report as one self-contained HTML page: `table --format html` and `draw -o x.html`.

One file that opens offline in any browser: inline CSS, the diagram as inline SVG
(report/draw/), no script, no font or image from anywhere. The page holds the totals, the
memory figures, the diagram and the layer table; each layer's row opens on a click to its
arithmetic (what `table --explain` prints; also its hover title), and the rows of a block
fold into the block's own row (nested <details>: the block's figures are the sums that
`table --depth` shows).

User text (the name, the source, ids, ops, notes) is printable() and then HTML-escaped,
in text and in attribute values alike; no user text reaches the style sheet. The page grows
with the rows, once each: a block's row is one more row, the diagram is draw's (folded to a
readable depth for a graph).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from ..core.escape import printable
from ..core.version import __version__
from .text import HEADERS, binary, cells, input_cells, si, summary, volume
from .weight_layers import weight_layers

if TYPE_CHECKING:
    from .model import Report, Row

NUMBERS = 3  # HEADERS from this column on are right-aligned figures
CELL_CLASSES = ("id", "op", "output", "params", "activations", "macs", "saved", "rf")


def h(text) -> str:
    """User text for HTML text or a quoted attribute value: printable, then escaped."""
    return escape(printable(text), quote=True)


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False) -> str:
    """`table --format html`: the page, its diagram drawn at the table's depth (the rows'
    deepest level when `rows` are folded). Bars are not drawn; every row's arithmetic is
    there, and `explain` adds the forward memory by op to the figures."""
    folded = rows is not None and rows is not report.rows
    rows = report.rows if rows is None else rows
    depth = max((r.depth for r in rows), default=None) if folded else None
    return page(report, rows, layout, diagram(report, None, depth, layout), explain)


def diagram(report: Report, style: str | None, depth: int | None, layout: str) -> str:
    """The picture of report/draw/ as inline SVG, or a note saying why there is none (a
    graph without a layout program)."""
    from .draw import draw
    from .draw.layout import NoLayout
    try:
        svg = draw(report, style, depth, layout).svg
    except NoLayout as err:
        return f'<p class="note">No diagram: {h(err)}</p>'
    return inline_svg(svg)


def inline_svg(svg: str) -> str:
    """An SVG document as an element of the page: without an XML declaration (HTML reads it
    as a bogus comment)."""
    svg = svg.lstrip()
    if svg.startswith("<?xml"):
        svg = svg[svg.index("?>") + 2:].lstrip()
    return svg


def page(report: Report, rows, layout: str, picture: str, explain: bool = False) -> str:
    """The whole page: head and style, the figures, the diagram (`picture`, inline SVG or a
    note) and the table of `rows`."""
    title = f"sizecalc: {h(report.name)}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        header(report, layout), figures(report, explain), findings(report),
        '<section class="diagram"><h2>Diagram</h2>', f'<div class="picture">{picture}</div>', "</section>",
        '<section class="layers"><h2>Layers</h2>',
        '<p class="hint">Click a layer for its arithmetic; click a block (▸) to fold or unfold its layers.</p>',
        table(report, rows, layout), "</section>",
        f'<footer>Made by sizecalc {escape(__version__)} from {h(report.source)}: exact integers, '
        "no network, no training.</footer>",
        "</body>", "</html>", ""])


def header(report: Report, layout: str) -> str:
    shape = volume(report.input_shape, layout, report.batch if layout == "chw" else None)
    return (f"<header><h1>{h(report.name)}</h1>"
            f'<p class="meta">input {h(shape)} · batch {report.batch} · {h(report.dtype)} · '
            f"{len(report.rows):,} layers · {h(report.source)}</p></header>")


def figures(report: Report, explain: bool) -> str:
    """The headline figures as cards, then every summary line of the table."""
    t, m = report.totals, report.memory
    cards = [("params", si(t.params), f"{t.params:,}"), ("MACs", si(t.macs), f"{t.macs:,}"),
             ("activations", si(t.activations), f"{t.activations:,}"),
             ("forward memory", binary(t.forward_bytes), f"batch {report.batch}, {report.dtype}")]
    if m is not None:
        cards += [("training", binary(m.training_bytes), f"batch {report.batch}, {m.optimizer}"),
                  ("inference peak", binary(m.inference_peak_bytes), f"batch {report.batch}")]
    cards.append(("weight layers", f"{weight_layers(report.rows):,}", "conv and fc"))
    out = ['<section class="figures"><div class="cards">']
    out += [f'<div class="card"><div class="k">{k}</div><div class="v">{h(v)}</div><div class="s">{h(s)}</div></div>'
            for k, v, s in cards]
    out.append('</div><dl class="summary">')
    out += [f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in summary(report, explain)]
    out.append("</dl></section>")
    return "".join(out)


def findings(report: Report) -> str:
    notes = [f for f in report.findings if f.severity != "info"]
    if not notes:
        return ""
    items = "".join(f"<li>{h(f.line())}</li>" for f in notes)
    return f'<section class="findings"><h2>Notes</h2><ul>{items}</ul></section>'


# -- the table -------------------------------------------------------------------------------
def table(report: Report, rows, layout: str) -> str:
    """The head, the input's row, and `rows` with each block's rows folded under its row."""
    head = "".join(f'<span class="{c}">{escape(t)}</span>' for c, t in zip(CELL_CLASSES, HEADERS))
    out = ['<div class="table" role="table">', f'<div class="row head" role="row">{head}</div>',
           _row_div(input_cells(report, layout), "input", 0)]
    out += blocks(rows, layout, report.batch)
    out.append("</div>")
    return "\n".join(out)


def blocks(rows, layout: str, batch: int) -> list[str]:
    """The rows in order, each block (the ids' dotted prefixes, as `--depth` folds them)
    opened before its first row and closed after its last: one <details> per block
    instance, its summary the block's folded row."""
    out: list[str] = []
    stack: list[str] = []  # the open blocks' keys, outermost first
    for i, row in enumerate(rows):
        path = _blocks_of(row)
        common = 0
        while common < min(len(stack), len(path)) and stack[common] == path[common]:
            common += 1
        while len(stack) > common:
            stack.pop()
            out.append("</details>")
        for level in range(common, len(path)):
            stack.append(path[level])
            out.append(block_open(_block_row(rows, i, path[level], level + 1), layout, batch))
        out.append(layer(row, layout, batch, len(stack)))
    out += ["</details>"] * len(stack)
    return out


def _blocks_of(row: Row) -> list[str]:
    """The keys of the blocks `row` sits in, outermost first: `layer1`, `layer1.0` for the
    row `layer1.0.conv1` of depth 3 (fold's keys for depths 1 and 2)."""
    parts = row.id.split(".")
    return [".".join(parts[:d]) for d in range(1, min(row.depth, len(parts)))]


def _block_row(rows, start: int, key: str, depth: int):
    """The block `key`'s folded row, as fold() makes it, over its rows from `start` on
    while they stay in the block."""
    from .fold import fold
    end = start
    while end < len(rows) and key in _blocks_of(rows[end]):
        end += 1
    (block,) = fold(rows[start:end], depth)
    return block, end - start


def block_open(folded, layout: str, batch: int) -> str:
    block, n = folded
    row_cells = cells(block, layout, batch)
    row_cells[1] = f"block · {n:,} layer{'s' if n != 1 else ''}"
    return (f'<details class="block" data-depth="{block.depth}">'
            f'<summary class="row block" role="row">{_cells(row_cells, block.depth - 1)}</summary>')


def layer(row: Row, layout: str, batch: int, level: int) -> str:
    """A layer's row; with arithmetic, a <details> that opens to it (and shows it on hover)."""
    row_cells = cells(row, layout, batch)
    if not row.explain:
        return _row_div(row_cells, "layer", level)
    lines = "\n".join(h(e) for e in row.explain)
    return (f'<details class="layer"><summary class="row layer" role="row" title="{lines}">'
            f'{_cells(row_cells, level)}</summary><pre class="arith">{lines}</pre></details>')


def _row_div(row_cells, kind: str, level: int) -> str:
    return f'<div class="row {kind} plain" role="row">{_cells(row_cells, level)}</div>'


def _cells(row_cells, level: int) -> str:
    """The cells of a row, each in its column's class; the id indented by its level."""
    out = [f'<span class="id" style="--level:{level}">{h(row_cells[0])}</span>']
    out += [f'<span class="{c}">{h(t)}</span>' for c, t in zip(CELL_CLASSES[1:], row_cells[1:])]
    return "".join(out)


STYLE = """
:root { --ink: #1d2330; --muted: #5f6b7a; --line: #e3e7ee; --band: #f6f8fb; --accent: #2f6fdf;
  --block: #eef3fc; --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 24px 32px 48px; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.meta, .hint, footer, .note { color: var(--muted); overflow-wrap: anywhere; }
footer { margin-top: 32px; font-size: 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin-top: 18px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: var(--band); }
.card .k { color: var(--muted); font-size: 12px; letter-spacing: .02em; }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .s { color: var(--muted); font-size: 12px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 16px 0 0; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.findings li { font-family: var(--mono); font-size: 12px; overflow-wrap: anywhere; }
.picture { overflow: auto; max-height: 80vh; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
.picture svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.table { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; font-size: 13px; }
.row { display: grid; grid-template-columns: minmax(16em, 2.2fr) minmax(7em, 1fr) 9.5em 8em 8.5em 10em 7.5em 6em;
  gap: 0 12px; padding: 3px 12px; border-top: 1px solid var(--line); align-items: baseline; min-width: 1000px; }
.row > span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.row > .params, .row > .activations, .row > .macs, .row > .saved, .row > .rf {
  text-align: right; font-variant-numeric: tabular-nums; }
.row > .output { font-family: var(--mono); font-size: 12px; }
.row.head { background: #fff; font-weight: 600; color: var(--muted); border-top: 0; }
.row.head > span { white-space: normal; }
.row.input { color: var(--muted); }
.row > .id { padding-left: calc(var(--level) * 1.3em + 1.2em); position: relative; }
summary.row { cursor: pointer; list-style: none; }
summary.row::-webkit-details-marker { display: none; }
summary.row > .id::before { content: "▸"; position: absolute; left: calc(var(--level) * 1.3em); color: var(--muted); }
details[open] > summary.row > .id::before { content: "▾"; }
summary.row.layer > .id::before { content: "+"; }
details[open] > summary.row.layer > .id::before { content: "−"; }
summary.row:hover, div.row.layer:hover { background: #f0f4fb; }
summary.row.block { background: var(--block); font-weight: 600; }
summary.row.block > .op { color: var(--accent); font-weight: 400; }
pre.arith { margin: 0; padding: 6px 12px 8px calc(16em + 24px); background: var(--band); font: 12px/1.5 var(--mono);
  white-space: pre-wrap; overflow-wrap: anywhere; border-top: 1px dashed var(--line); min-width: 1000px; }
@media print { .picture { max-height: none; } }
""".strip()
