"""Cells and summary lines shared by the table renderers (rich, markdown, csv).

Cells that hold user text (a layer's id and op) are printable() here, once for every
renderer; a renderer escapes only what its own format adds (markdown's `|`, rich markup).
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING

from ..core.escape import printable
from ..core.units import OPTIMIZER_SLOTS, dims_text, shape_text

if TYPE_CHECKING:
    from .model import Report, Row

HEADERS = ("layer", "op", "output", "params", "activations", "MACs", "saved", "receptive field")


def volume(shape, layout: str = "hwc", batch: int | None = None) -> str:
    """H x W x C like the lecture (`hwc`), or N x C x H x W like PyTorch (`chw`)."""
    if layout == "chw":
        return dims_text(((batch,) if batch else ()) + tuple(shape))
    return shape_text(shape)


def count(n: int) -> str:
    return f"{n:,}" if n else "0"


def si(n: int) -> str:
    """A count with a decimal prefix, three decimals: 15.470 G, 331.776 M, 12.345 K."""
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= scale:
            return f"{n / scale:.3f} {unit}"
    return str(n)


def binary(nbytes: int) -> str:
    """Bytes in binary units (KiB, MiB, GiB), two decimals."""
    if not nbytes:
        return "0"
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{nbytes:,} B" if unit == "B" else f"{value:,.2f} {unit}"
        value /= 1024
    raise AssertionError


GLOBAL = "global"  # the receptive field cell of a layer whose every unit sees the whole input


def rf_text(row: Row) -> str:
    return _field_text(_field_key(row.receptive_field))


def _field_key(rf):
    """What the receptive field cell shows: nothing, `global`, or the size per dimension."""
    return None if rf is None else GLOBAL if rf.whole else rf.size


def cells(row: Row, layout: str, batch: int) -> list[str]:
    return [printable(row.id), printable(row.op), volume(row.output, layout, batch if layout == "chw" else None),
            count(row.params), count(row.activations), count(row.macs), binary(row.saved_bytes), rf_text(row)]


def all_cells(rows, layout: str, batch: int):
    """cells() of each row in turn, each distinct op, volume, count and receptive field
    formatted once: the rows of a long network repeat a few of each."""
    shown = batch if layout == "chw" else None
    ops, counts, sizes = _Memo(printable), _Memo(count), _Memo(binary)
    volumes, fields = _Memo(lambda shape: volume(shape, layout, shown)), _Memo(_field_text)
    for row in rows:
        rf = row.receptive_field
        yield [printable(row.id), ops[row.op], volumes[row.output], counts[row.params],
               counts[row.activations], counts[row.macs], sizes[row.saved_bytes],
               fields[None if rf is None else GLOBAL if rf.whole else rf.size]]


class _Memo(dict):
    """fn(key), computed on the first lookup of each key."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def __missing__(self, key):
        value = self[key] = self.fn(key)
        return value


def _field_text(size) -> str:
    """rf_text of a receptive field of this size (a fraction as 3/2), or of a global one."""
    if not size:
        return ""
    if size == GLOBAL:
        return GLOBAL
    return dims_text(size) if len(set(size)) > 1 else str(size[0])


def input_cells(report: Report, layout: str) -> list[str]:
    shape = report.input_shape
    return ["input", "", volume(shape, layout, report.batch if layout == "chw" else None), "0",
            count(prod(shape)), "0", "", "1"]


def summary(report: Report, explain: bool = False) -> list[tuple[str, str]]:
    """The lines under the table; with `explain`, forward memory is broken down by op."""
    t = report.totals
    n, dt = report.batch, report.dtype
    shared = t.activations - t.forward_activations
    return [
        ("params", f"{t.params:,} ({t.weights:,} weights + {t.biases:,} biases)"
                   + (f", buffers {t.buffers:,}" if t.buffers else "")),
        ("activations", f"{t.activations:,} per sample, input included"),
        ("forward memory", f"{binary(t.forward_bytes)} ({t.forward_activations:,} x {n} x "
                           f"{report.dtype_bytes} B, batch {n}, {dt})"
                           + (f"; counts each storage once: {shared:,} activations are in place or views, "
                              "in their input's storage" if shared else "")),
        *(storage_lines(report) if explain else []),
        ("MACs", f"{t.macs:,} ({t.macs / 1e9:.3f} G) per sample"),
    ] + memory_lines(report)


def storage_lines(report: Report) -> list[tuple[str, str]]:
    """Forward memory by op: what has a storage of its own, and what shares its input's."""
    own: dict[str, int] = {"input": prod(report.input_shape)}
    shared: dict[str, int] = {}
    for row in report.rows:
        into = shared if row.shares_storage else own
        into[row.op] = into.get(row.op, 0) + row.activations
    t = report.totals
    line = " + ".join(f"{printable(op)} {n:,}" for op, n in own.items()) + f" = {t.forward_activations:,}"
    if shared:
        line += ("; no storage of their own (in place or a view): "
                 + " + ".join(f"{printable(op)} {n:,}" for op, n in shared.items())
                 + f"; counting those too gives the activations total, {t.activations:,}")
    return [("forward memory by op", line)]


def memory_lines(report: Report) -> list[tuple[str, str]]:
    m = report.memory
    if m is None:
        return []
    n = report.batch
    precision = "amp (fp32 weights, half-precision activations)" if m.amp else report.dtype
    return [
        ("saved for backward", f"{binary(m.saved_bytes)} (batch {n}, {precision})"),
        ("training", f"{binary(m.training_bytes)} (params x {2 + OPTIMIZER_SLOTS.get(m.optimizer, 0)} with "
                     f"{m.optimizer}, + buffers + saved)"),
        ("inference peak", f"{binary(m.inference_peak_bytes)} (live activations + params, batch {n})"),
    ]
