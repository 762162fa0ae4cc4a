"""CSV: one row per layer, exact integers, no thousands separators.

Ids and ops are printable() (sizecalc/escape.py): a field holds no control character."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from ..core.escape import printable
from .text import rf_text, volume

if TYPE_CHECKING:
    from .model import Report


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False) -> str:
    """One row per layer; the arithmetic (explain) and bars are not CSV columns."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["layer", "op", "output", "weights", "biases", "buffers", "params", "activations", "macs",
                "saved_bytes", "receptive_field"])
    for r in rows if rows is not None else report.rows:
        w.writerow([printable(r.id), printable(r.op), volume(r.output, layout), r.weights, r.biases, r.buffers,
                    r.params, r.activations, r.macs, r.saved_bytes, rf_text(r)])
    return buf.getvalue()
