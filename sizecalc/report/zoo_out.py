"""`sizecalc list`: the built-in networks (tools/zoo_table.zoo_rows) as a table.

The names, inputs and sources are the package's own (specs/), not user text."""

from __future__ import annotations

import json as _json

from .text import si

HEADERS = ("name", "input", "params", "MACs", "layers", "weight layers", "source")
RIGHT = (2, 6)  # params, MACs, layers and weight layers are right-aligned
SOURCE_WIDTH = 90  # the rich and plain tables cut the source to this; markdown and JSON keep it whole


def cells(rows: list[dict], width: int | None = SOURCE_WIDTH) -> list[tuple[str, ...]]:
    return [(r["name"], r["input"], f"{r['params']:,}" if r["params"] is not None else "error",
             si(r["macs"]) if r["macs"] is not None else "", str(r["layers"] or ""), str(r["weight_layers"] or ""),
             _cut(r["source"], width))
            for r in rows]


def _cut(text: str, width: int | None) -> str:
    return text if width is None or len(text) <= width else text[: width - 1].rstrip() + "…"


def plain(rows: list[dict]) -> str:
    from .plain import grid
    return "\n".join(grid(HEADERS, cells(rows), *RIGHT)) + "\n"


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |\n|" + "---|" * len(HEADERS)]
    # the package's own text: only a `|` could break the table
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells(rows, None)]
    return "\n".join(lines) + "\n"


def json(rows: list[dict]) -> str:
    return _json.dumps(rows, indent=2) + "\n"


def rich_table(rows: list[dict]):
    from rich import box
    from rich.table import Table
    t = Table(box=box.SIMPLE_HEAD)
    for i, h in enumerate(HEADERS):
        t.add_column(h, justify="right" if RIGHT[0] <= i < RIGHT[1] else "left")
    for c in cells(rows):
        t.add_row(*c)
    return t
