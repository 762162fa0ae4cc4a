"""`sizecalc layer`: one layer's Report as the lecture writes it, the arithmetic included."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.escape import printable
from ..core.units import dims_text
from .text import binary, volume

if TYPE_CHECKING:
    from .model import Report


def text(report: Report) -> str:
    row = report.rows[0]
    lines = [f"{printable(row.op)}: {volume(report.input_shape)} -> {volume(row.output)}"]
    lines += [f"  {printable(line)}" for line in row.explain]
    lines.append(f"  params {row.params:,} ({row.weights:,} weights + {row.biases:,} biases)"
                 + (f", buffers {row.buffers:,}" if row.buffers else ""))
    lines.append(f"  activations {row.activations:,}, MACs {row.macs:,}")
    rf = row.receptive_field
    if rf and rf.size:
        seen = "global (every output sees the whole input)" if rf.whole else dims_text(rf.size)
        lines.append(f"  receptive field {seen}, jump {dims_text(rf.jump)}")
    held = "input; the output is in place or a view, in the input's storage" if row.shares_storage \
        else "input + output"
    lines.append(f"  forward memory {binary(report.totals.forward_bytes)} ({held}, batch {report.batch}, "
                 f"{report.dtype})")
    lines += [f"  note: {printable(f.message)}" for f in report.findings]
    return "\n".join(lines) + "\n"
