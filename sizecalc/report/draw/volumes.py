"""The lecture's picture of a chain (and of the AlexNet and VGG papers): each output volume a
box in perspective, left to right, its height following H, its oblique depth W and its
thickness C, on compressed scales (square root for sides, log for channels) so that
224x224x3 and 7x7x512 both read. Layers of one shape in a row (VGG's conv-conv) are slabs of
one box; each conv's kernel is a small box on the volume before it with lines to the one
after; pools and fc layers have their own colours (fc a bar: a vector); a legend.

Only conv, locally connected, pool, fc, merge and folded-block rows are drawn, and any other
row that changes the shape (not flatten: a view). Labels are the output volume as the table
writes it (`224×224×64`), one under each box.
"""

from __future__ import annotations

import math

from ...core.layout import typed_as
from .colours import COLOURS, FAMILY_NAMES, family
from .svg import Canvas, clean, text_width

MAX_SIDE = 230  # px: the tallest front face
CHANNEL_PX = 4.2  # px of thickness per doubling of the channels
OBLIQUE = 0.32  # the oblique axis (W) drawn at this fraction of the vertical scale
GAP = 38  # px between boxes, room for the kernel's lines
SIZE_FONT, OP_FONT = 13, 11
MARGIN = 24
DRAWN = ("conv", "local", "pool", "fc", "merge", "block")


class Run:
    """Consecutive drawn rows of one shape and family: one box of slabs."""

    def __init__(self, rows, shape, kind):
        self.rows, self.shape, self.kind = rows, shape, kind

    @property
    def first(self):
        return self.rows[0] if self.rows else None


def runs_of(report, rows) -> list[Run]:
    runs = [Run([], tuple(report.input_shape), "input")]
    for r in rows:
        kind = family(r.op)
        if r.op == "flatten" or (kind not in DRAWN and math.prod(r.output) == math.prod(runs[-1].shape)):
            continue  # a view, or an element-wise layer (relu, bn, dropout)
        kind = kind if kind in DRAWN else "other"
        last = runs[-1].first
        if last is not None and last.op == r.op and runs[-1].shape == tuple(r.output) and kind != "fc":
            runs[-1].rows.append(r)
        else:
            runs.append(Run([r], tuple(r.output), kind))
    return runs


def volume_label(shape, layout: str) -> str:
    return "×".join(map(str, typed_as(shape, layout) if len(shape) > 1 else shape))


def _op_label(run: Run) -> str:
    if run.kind == "input":
        return "input"
    r = run.first
    name = "fc" if run.kind == "fc" else clean(r.op, 16)
    if r.kernel and run.kind in ("conv", "local", "pool"):
        name += " " + "×".join(map(str, r.kernel))
    return f"{name} ×{len(run.rows)}" if len(run.rows) > 1 else name


class Scale:
    """px per side (square root) and per channel (log), fitted to the largest volume."""

    def __init__(self, runs):
        sides = [s for run in runs if len(run.shape) > 1 for s in run.shape[-2:]] or [1]
        vectors = [run.shape[0] for run in runs if len(run.shape) == 1] or [1]
        self.side_px = min(15.0, MAX_SIDE / math.sqrt(max(sides)))
        self.vector_px = MAX_SIDE * 0.95 / math.sqrt(max(vectors))

    def box(self, shape) -> tuple[float, float, float]:
        """(thickness, height, oblique) of a slab of this volume."""
        if len(shape) == 1:
            return 14.0, max(8.0, self.vector_px * math.sqrt(shape[0])), 7.0
        h_side = shape[-2] if len(shape) > 2 else shape[-1]
        w_side = shape[-1] if len(shape) > 2 else 1
        return (4.0 + CHANNEL_PX * math.log2(max(shape[0], 1)), max(6.0, self.side_px * math.sqrt(h_side)),
                max(4.0, OBLIQUE * self.side_px * math.sqrt(w_side)))


def render(report, rows, layout: str) -> str:
    runs = runs_of(report, rows)
    scale = Scale(runs)
    tallest = max(scale.box(run.shape)[1] + scale.box(run.shape)[2] for run in runs)
    mid = MARGIN + 40 + tallest / 2 + max(scale.box(run.shape)[2] for run in runs)
    canvas = Canvas()
    x = MARGIN
    places, label_right = [], MARGIN
    for run in runs:
        t, h, d = scale.box(run.shape)
        width = t * max(len(run.rows), 1) + d
        labels = (volume_label(run.shape, layout), _op_label(run))
        need = max(text_width(labels[0], SIZE_FONT), text_width(labels[1], OP_FONT))
        x = max(x, label_right + 14 + need / 2 - width / 2)
        places.append((run, x, t, h, d, labels))
        label_right = x + width / 2 + need / 2
        x += width + GAP
    base = mid + tallest / 2 + 30
    canvas.width = max(x - GAP + MARGIN, label_right + MARGIN)
    _title(canvas, report, layout)
    for i, (run, x, t, h, d, labels) in enumerate(places):
        _volume(canvas, run, x, mid, t, h, d, labels, base)
        if i + 1 < len(places):
            _kernel(canvas, places[i], places[i + 1], mid, scale)
    canvas.height = _legend(canvas, runs, base + 52) + MARGIN
    canvas.width = max(canvas.width, canvas.legend_right + MARGIN)
    return canvas.svg(f"sizecalc draw: {report.name}")


def _title(canvas: Canvas, report, layout: str) -> None:
    t = report.totals
    line = (f"{clean(report.name)} · input {volume_label(report.input_shape, layout)} · {t.params:,} params · "
            f"{t.macs:,} MACs")
    canvas.text(MARGIN, MARGIN + 14, line, size=15, anchor="start", cls="label title", weight="bold")
    canvas.width = max(canvas.width, MARGIN * 2 + text_width(line, 15))


def _volume(canvas: Canvas, run: Run, x, mid, t, h, d, labels, base) -> None:
    fill, stroke = COLOURS[run.kind if run.kind in COLOURS else "other"]
    ids = " ".join(clean(r.id, 200) for r in run.rows)
    canvas.open(cls="volume", data_kind=run.kind, data_ids=ids or "input")
    top = mid - h / 2
    for k in range(max(len(run.rows), 1)):
        left = x + k * t
        r = run.rows[k] if run.rows else None
        title = (f"{clean(r.id)} ({clean(r.op)}): {volume_label(run.shape, 'hwc')}, {r.params:,} params, "
                 f"{r.macs:,} MACs") if r else f"input {volume_label(run.shape, 'hwc')}"
        canvas.polygon([(left, top), (left + d, top - d), (left + t + d, top - d), (left + t, top)],
                       _shade(fill, 0.88), stroke=stroke, stroke_width=1)
        canvas.polygon([(left + t, top), (left + t + d, top - d), (left + t + d, top + h - d), (left + t, top + h)],
                       _shade(fill, 0.75), stroke=stroke, stroke_width=1)
        canvas.rect(left, top, t, h, fill, cls="box", title=title, stroke=stroke, stroke_width=1,
                    data_id=clean(r.id, 200) if r else "input")
    centre = x + (t * max(len(run.rows), 1) + d) / 2
    canvas.text(centre, base, labels[0], size=SIZE_FONT, weight="bold", data_shape=labels[0])
    canvas.text(centre, base + 16, labels[1], size=OP_FONT, fill="#555")
    canvas.close()


def _kernel(canvas: Canvas, here, there, mid, scale: Scale) -> None:
    """The next box's kernel drawn on this one, with lines to the unit it makes."""
    run, x, t, h, d, _ = here
    nxt, nx, nt, nh, nd, _ = there
    k = nxt.first.kernel if nxt.first is not None else None
    if not k or nxt.kind not in ("conv", "local", "pool") or len(run.shape) < 3:
        return
    left = x + t * (max(len(run.rows), 1) - 1)
    kh = min(h * 0.6, max(5.0, scale.side_px * math.sqrt(k[0])))
    kd = min(d * 0.6, max(3.0, OBLIQUE * scale.side_px * math.sqrt(k[-1])))
    ky = mid - h / 2 + h * 0.3
    kx = left + d * 0.3
    fill, stroke = ("#fee391", "#b8860b") if nxt.kind != "pool" else ("#fcbba1", "#b2402a")
    canvas.open(cls="kernel", data_for=clean(nxt.first.id, 200))
    canvas.polygon([(kx, ky), (kx + kd, ky - kd), (kx + t + kd, ky - kd), (kx + t + kd, ky + kh - kd),
                    (kx + t, ky + kh), (kx, ky + kh)], fill, stroke=stroke, stroke_width=1, fill_opacity=0.9)
    canvas.line(kx + t, ky, kx + t + kd, ky - kd, stroke=stroke, stroke_width=1)
    canvas.line(kx + t, ky, kx + t, ky + kh, stroke=stroke, stroke_width=1)
    canvas.line(kx + t, ky, kx, ky, stroke=stroke, stroke_width=1)
    unit = (nx + min(nt, 6) / 2, mid - nh / 2 + nh * 0.35)
    for cx, cy in ((kx + t + kd, ky - kd), (kx + t, ky + kh)):
        canvas.line(cx, cy, *unit, stroke=stroke, stroke_width=1, stroke_dasharray="3,2")
    canvas.close()


def _legend(canvas: Canvas, runs, y) -> float:
    kinds = [k for k in ("input", "conv", "local", "pool", "fc", "merge", "block", "other")
             if any(run.kind == k for run in runs)]
    x = MARGIN
    canvas.open(cls="legend")
    for k in kinds:
        fill, stroke = COLOURS[k]
        canvas.rect(x, y - 11, 14, 14, fill, stroke=stroke, stroke_width=1)
        canvas.text(x + 20, y, FAMILY_NAMES[k], size=OP_FONT, anchor="start")
        x += 34 + text_width(FAMILY_NAMES[k], OP_FONT)
    if any(run.kind in ("conv", "local") for run in runs):
        canvas.rect(x, y - 11, 14, 14, "#fee391", stroke="#b8860b", stroke_width=1)
        text = "kernel: on the volume it reads, lines to the unit it makes"
        canvas.text(x + 20, y, text, size=OP_FONT, anchor="start")
        x += 34 + text_width(text, OP_FONT)
    note = "sides: square root of H and W; thickness: log of channels"
    canvas.text(MARGIN, y + 20, note, size=OP_FONT, anchor="start", fill="#666")
    canvas.close()
    canvas.legend_right = max(x, MARGIN + text_width(note, OP_FONT))
    return y + 20


def _shade(colour: str, factor: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c * factor):02x}" for c in (r, g, b))
