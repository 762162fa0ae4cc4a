"""`sizecalc compare`: the lecture's "comparing complexity" slide as a table.

One row per network: params, MACs, forward memory, training memory and the largest
finite receptive field (the layers after a global pool or an fc see the whole input), all
from `sizecalc.analyze`. Rendered by report/compare_out.py.
"""

from __future__ import annotations

from ..core.escape import printable
from ..core.record import dataclass


@dataclass
class Entry:
    name: str
    source: str
    input_shape: tuple[int, ...]
    params: int
    macs: int
    forward_bytes: int
    training_bytes: int  # params, gradients, buffers and saved tensors, with plain SGD
    # size per spatial dimension: the largest finite field (the last layers may see the whole input)
    receptive_field: tuple | None
    field_global: bool = False  # some layer sees the whole input (after a global pool, an fc, ...)


def compare(specs, batch: int = 1, dtype: str = "fp32") -> list[Entry]:
    from ..engine import analyze
    entries = []
    for spec in specs:
        report = analyze(spec, batch=batch, dtype=dtype)
        t = report.totals
        entries.append(Entry(printable(report.name), printable(report.source), tuple(report.input_shape),
                             t.params, t.macs, t.forward_bytes, report.memory.training_bytes,
                             *largest_finite_field(report.rows)))
    return entries


def largest_finite_field(rows) -> tuple:
    """(the largest size among the fields that are not global, or None; whether any is global)."""
    fields = [r.receptive_field for r in rows if r.receptive_field is not None and r.receptive_field.size]
    finite = [f.size for f in fields if not f.whole]
    return (max(finite, key=max) if finite else None), any(f.whole for f in fields)
