"""The layer table as plain aligned text: what `table` prints when stdout is not a terminal
(a pipe, a file, CI logs). Same columns and footer as the rich table, no colour codes, and
no rich import, so a piped `sizecalc table` starts as fast as the tool can."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.escape import printable
from .text import HEADERS, all_cells, input_cells, summary

if TYPE_CHECKING:
    from .model import Report


def grid(headers, rows, right_from: int = 3, right_to: int | None = None) -> list[str]:
    """Columns padded to their widest cell; text left, numbers right; a rule under the head."""
    n = len(headers)
    table = [headers, *rows]
    widths = [max(map(len, map(str, [r[i] for r in table]))) for i in range(n)]
    right_to = n if right_to is None else right_to
    # one format per line: "%-5s" % c is str(c).ljust(5), "%5s" % c str(c).rjust(5)
    line = "  " + "   ".join(f"%{'' if right_from <= i < right_to else '-'}{w}s" for i, w in enumerate(widths))
    rule = "  " + "-" * (sum(widths) + 3 * (len(widths) - 1))
    # `or`: a line of blank cells keeps its indent, as "  " + "".rstrip()
    return [_line(line, headers, n), rule, *(_line(line, r, n) for r in rows)]


def _line(line: str, cells, n: int) -> str:
    return (line % tuple(cells if len(cells) == n else cells[:n])).rstrip() or "  "


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False) -> str:
    from .bars import HEADERS as BAR_HEADERS, bar_cells
    rows = rows if rows is not None else report.rows
    headers = list(HEADERS) + (list(BAR_HEADERS) if bars else []) + (["arithmetic"] if explain else [])
    if not bars and not explain:  # the common case: the cells themselves, no lists added to
        body = [input_cells(report, layout), *all_cells(rows, layout, report.batch)]
    else:
        body = _body(report, layout, explain, rows, bars and bar_cells(report, rows))
    out = [printable(report.name), "", *grid(headers, body, 3, len(HEADERS)), ""]
    out += [f"{k}: {v}" for k, v in summary(report, explain)]
    return "\n".join(out) + "\n"


def _body(report: Report, layout: str, explain: bool, rows, strips) -> list[list[str]]:
    """Rows of cells with the bars (`strips`) and the arithmetic, one more row per further
    line of a row's arithmetic."""
    strips = strips or [[]] * (len(rows) + 1)
    body = [input_cells(report, layout) + strips[0] + ([""] if explain else [])]
    for row, row_cells, strip in zip(rows, all_cells(rows, layout, report.batch), strips[1:]):
        lines = [printable(e) for e in row.explain] if explain else []
        body.append(row_cells + strip + ([lines[0] if lines else ""] if explain else []))
        for extra in lines[1:]:
            body.append([""] * (len(HEADERS) + len(strip)) + [extra])
    return body
