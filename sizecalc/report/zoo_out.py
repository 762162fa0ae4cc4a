"""`sizecalc list`: the built-in networks (tools/zoo_table.zoo_rows) as a table.

The names, inputs and sources are the package's own (specs/), not user text."""

from __future__ import annotations

import json as _json

from .text import si

HEADERS = ("name", "input", "params", "MACs", "layers", "source")
RIGHT = (2, 5)  # params, MACs and layers are right-aligned


def cells(rows: list[dict]) -> list[tuple[str, ...]]:
    return [(r["name"], r["input"], f"{r['params']:,}" if r["params"] is not None else "error",
             si(r["macs"]) if r["macs"] is not None else "", str(r["layers"] or ""), r["source"])
            for r in rows]


def plain(rows: list[dict]) -> str:
    from .plain import grid
    return "\n".join(grid(HEADERS, cells(rows), *RIGHT)) + "\n"


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |\n|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(c) + " |" for c in cells(rows)]
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
