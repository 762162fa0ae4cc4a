"""`sizecalc compare`: the lecture's "comparing complexity" slide as a table.

One row per network: params, MACs, forward memory, training memory (when the Report has
a memory model) and the receptive field of the last layer, all from `sizecalc.analyze`.
Renders plain text, markdown, a rich table or JSON; imports rich only for the rich table.
"""

from __future__ import annotations

from ..core.escape import markdown_cell, printable
from ..core.record import dataclass

FORMAT = 1
HEADERS = ("network", "input", "params", "MACs", "forward memory", "training memory", "receptive field")
MISSING = "—"


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
        entries.append(Entry(printable(report.name), printable(report.source), tuple(report.input_shape),
                             report.totals.params, report.totals.macs, report.totals.forward_bytes, report.memory.training_bytes,
                             tuple(rf.size) if rf is not None and rf.size else None))
    return entries


def cells(e: Entry) -> list[str]:
    from ..report.text import binary, volume
    rf = e.receptive_field
    return [e.name, volume(e.input_shape), f"{e.params:,}", f"{e.macs / 1e9:,.2f} G",
            binary(e.forward_bytes), binary(e.training_bytes),
            (str(rf[0]) if len(set(rf)) == 1 else "x".join(map(str, rf))) if rf else MISSING]


def caption(batch: int, dtype: str) -> str:
    return (f"input H x W x C; MACs (multiply-accumulates) per sample; memory at batch {batch}, {dtype}; "
            "receptive field of the last layer, in input pixels")


def plain(entries: list[Entry], batch: int, dtype: str) -> str:
    from ..report.plain import grid
    lines = grid(HEADERS, [cells(e) for e in entries], 2, len(HEADERS))
    return "\n".join(lines + ["", caption(batch, dtype)]) + "\n"


def markdown(entries: list[Entry], batch: int, dtype: str) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---|" + "---:|" * (len(HEADERS) - 2)]
    lines += ["| " + " | ".join(markdown_cell(c) for c in cells(e)) + " |" for e in entries]
    return "\n".join(lines + ["", caption(batch, dtype)]) + "\n"


def rich_table(entries: list[Entry], batch: int, dtype: str):
    from rich import box
    from rich.table import Table
    from rich.text import Text
    t = Table(box=box.SIMPLE_HEAD, caption=caption(batch, dtype), caption_justify="left")
    for i, h in enumerate(HEADERS):
        t.add_column(h, justify="left" if i < 2 else "right", no_wrap=True)
    for e in entries:
        t.add_row(*map(Text, cells(e)))  # Text, not markup: a name prints as written
    return t


def to_dict(entries: list[Entry], batch: int, dtype: str) -> dict:
    return {"sizecalc_compare": FORMAT, "batch": batch, "dtype": dtype,
            "networks": [{"name": e.name, "source": e.source, "input": list(e.input_shape), "params": e.params,
                          "macs": e.macs, "forward_bytes": e.forward_bytes, "training_bytes": e.training_bytes,
                          "receptive_field": list(e.receptive_field) if e.receptive_field else None}
                         for e in entries]}
