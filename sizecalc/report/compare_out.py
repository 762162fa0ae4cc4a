"""`sizecalc compare`: one row per network (tools/compare.Entry), the lecture's "comparing
complexity" slide, as plain text, markdown, a rich table or JSON.

Names and sources were made printable() when the entries were built; markdown cells are
escaped here as well. Imports rich only for the rich table."""

from __future__ import annotations

import json as _json

from ..core.escape import markdown_cell
from ..core.units import dims_text
from .text import binary, volume

FORMAT = 1
HEADERS = ("network", "input", "params", "MACs", "forward memory", "training memory", "receptive field")
MISSING = "—"


def cells(e) -> list[str]:
    rf = e.receptive_field
    return [e.name, volume(e.input_shape), f"{e.params:,}", f"{e.macs / 1e9:,.2f} G",
            binary(e.forward_bytes), binary(e.training_bytes),
            _field(rf, e.field_global)]


def _field(rf, whole: bool) -> str:
    """The largest finite field, and `then global` when later layers see the whole input."""
    text = (str(rf[0]) if len(set(rf)) == 1 else dims_text(rf)) if rf else MISSING
    return f"{text}, then global" if whole else text


def caption(batch: int, dtype: str) -> str:
    return (f"input H x W x C; MACs (multiply-accumulates) per sample; memory at batch {batch}, {dtype}; "
            "receptive field: the largest finite one, in input pixels (global: the layers after it see the "
            "whole input)")


def plain(entries: list, batch: int, dtype: str) -> str:
    from .plain import grid
    lines = grid(HEADERS, [cells(e) for e in entries], 2, len(HEADERS))
    return "\n".join(lines + ["", caption(batch, dtype)]) + "\n"


def markdown(entries: list, batch: int, dtype: str) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---|" + "---:|" * (len(HEADERS) - 2)]
    lines += ["| " + " | ".join(markdown_cell(c) for c in cells(e)) + " |" for e in entries]
    return "\n".join(lines + ["", caption(batch, dtype)]) + "\n"


def rich_table(entries: list, batch: int, dtype: str):
    from rich import box
    from rich.table import Table
    from rich.text import Text
    t = Table(box=box.SIMPLE_HEAD, caption=caption(batch, dtype), caption_justify="left")
    for i, h in enumerate(HEADERS):
        t.add_column(h, justify="left" if i < 2 else "right", no_wrap=True)
    for e in entries:
        t.add_row(*map(Text, cells(e)))  # Text, not markup: a name prints as written
    return t


def to_dict(entries: list, batch: int, dtype: str) -> dict:
    return {"sizecalc_compare": FORMAT, "batch": batch, "dtype": dtype,
            "networks": [{"name": e.name, "source": e.source, "input": list(e.input_shape), "params": e.params,
                          "macs": e.macs, "forward_bytes": e.forward_bytes, "training_bytes": e.training_bytes,
                          "receptive_field": [v if type(v) is int else str(v) for v in e.receptive_field]
                          if e.receptive_field else None, "receptive_field_global": e.field_global}
                         for e in entries]}


def json(entries: list, batch: int, dtype: str) -> str:
    return _json.dumps(to_dict(entries, batch, dtype), indent=2) + "\n"
