"""CSV: the input, then one row per layer; exact integers, no thousands separators.

Ids and ops are printable() (sizecalc/escape.py): a field holds no control character."""

from __future__ import annotations

import csv
import io
from math import prod
from typing import TYPE_CHECKING

from ..core.escape import printable
from .text import input_cells, rf_text, volume

if TYPE_CHECKING:
    from .model import Report


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False) -> str:
    """The input's row and one row per layer; the arithmetic (explain) and bars are not CSV columns."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["layer", "op", "output", "weights", "biases", "buffers", "params", "activations", "macs",
                "saved_bytes", "receptive_field"])
    # the input first, as in the other tables: its activations count in the forward memory
    shape = report.input_shape
    w.writerow(["input", "", volume(shape, layout), 0, 0, 0, 0, prod(shape), 0, 0, input_cells(report, layout)[-1]])
    for r in rows if rows is not None else report.rows:
        w.writerow([printable(r.id), printable(r.op), volume(r.output, layout), r.weights, r.biases, r.buffers,
                    r.params, r.activations, r.macs, r.saved_bytes, rf_text(r)])
    return buf.getvalue()
