"""A GitHub-flavoured markdown table, to paste in a README or course notes.

User text (the network's name, ids, ops) goes through escape.markdown_cell: printable, and
a `|` cannot add a cell, nor `[`, `*`, `` ` `` or `<` make a link, emphasis, code or HTML."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..core.escape import markdown_cell, printable
from .text import HEADERS, cells, input_cells, summary

if TYPE_CHECKING:
    from .model import Report


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False) -> str:
    """The table and its summary; bars are not drawn in markdown."""
    right = [i >= 3 for i in range(len(HEADERS))]
    lines = [f"### {markdown_cell(report.name)}", "", "| " + " | ".join(HEADERS) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    body = [[markdown_cell(c) for c in input_cells(report, layout)]]
    for row in rows if rows is not None else report.rows:
        body.append([markdown_cell(c) for c in cells(row, layout, report.batch)])
        if explain and row.explain:
            arithmetic = "<br>".join(_code(e) for e in row.explain)
            body.append(["", "", arithmetic] + [""] * (len(HEADERS) - 3))
    lines += ["| " + " | ".join(cells_) + " |" for cells_ in body]
    lines.append("")
    lines += [f"- **{k}**: {v}" for k, v in summary(report, explain)]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """A code span inside a table cell: printable, `|` escaped (GFM splits cells before it
    reads code spans), fenced with more backticks than the text holds in a row."""
    text = printable(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
