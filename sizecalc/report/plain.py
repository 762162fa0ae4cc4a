"""The layer table as plain aligned text: what `table` prints when stdout is not a terminal
(a pipe, a file, CI logs). Same columns and footer as the rich table, no colour codes, and
no rich import, so a piped `sizecalc table` starts as fast as the tool can."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.escape import printable
from .text import HEADERS, cells, input_cells, summary

if TYPE_CHECKING:
    from .model import Report


def grid(headers, rows, right_from: int = 3, right_to: int | None = None) -> list[str]:
    """Columns padded to their widest cell; text left, numbers right; a rule under the head."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    right_to = len(headers) if right_to is None else right_to

    def line(cells_):
        parts = [str(c).rjust(w) if right_from <= i < right_to else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(cells_, widths))]
        return "  " + "   ".join(parts).rstrip()
    rule = "  " + "-" * (sum(widths) + 3 * (len(widths) - 1))
    return [line(headers), rule, *(line(r) for r in rows)]


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False) -> str:
    from .bars import HEADERS as BAR_HEADERS, bar_cells
    rows = rows if rows is not None else report.rows
    strips = bar_cells(report, rows) if bars else [[]] * (len(rows) + 1)
    headers = list(HEADERS) + (list(BAR_HEADERS) if bars else []) + (["arithmetic"] if explain else [])
    body = [input_cells(report, layout) + strips[0] + ([""] if explain else [])]
    for row, strip in zip(rows, strips[1:]):
        lines = [printable(e) for e in row.explain] if explain else []
        body.append(cells(row, layout, report.batch) + strip + ([lines[0] if lines else ""] if explain else []))
        for extra in lines[1:]:
            body.append([""] * (len(HEADERS) + len(strip)) + [extra])
    out = [printable(report.name), "", *grid(headers, body, 3, len(HEADERS)), ""]
    out += [f"{k}: {v}" for k, v in summary(report)]
    return "\n".join(out) + "\n"
