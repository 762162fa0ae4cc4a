"""`sizecalc compare`: the lecture's "comparing complexity" slide as a table.

One row per network: params, MACs, forward memory, training memory and the receptive
field of the last layer, all from `sizecalc.analyze`. Rendered by report/compare_out.py.
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
    receptive_field: tuple[int, ...] | None  # size per spatial dimension, at the last layer


def compare(specs, batch: int = 1, dtype: str = "fp32") -> list[Entry]:
    from ..engine import analyze
    entries = []
    for spec in specs:
        report = analyze(spec, batch=batch, dtype=dtype)
        rf = report.rows[-1].receptive_field if report.rows else None
        t = report.totals
        entries.append(Entry(printable(report.name), printable(report.source), tuple(report.input_shape),
                             t.params, t.macs, t.forward_bytes, report.memory.training_bytes,
                             tuple(rf.size) if rf is not None and rf.size else None))
    return entries
