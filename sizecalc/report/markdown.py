"""A GitHub-flavoured markdown table, to paste in a README or course notes."""

from __future__ import annotations

from .model import Report
from .text import HEADERS, cells, input_cells, summary


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None) -> str:
    right = [i >= 3 for i in range(len(HEADERS))]
    lines = [f"### {report.name}", "", "| " + " | ".join(HEADERS) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    body = [input_cells(report, layout)]
    for row in rows if rows is not None else report.rows:
        body.append(cells(row, layout, report.batch))
        if explain and row.explain:
            body.append(["", "", "<br>".join(f"`{e}`" for e in row.explain), "", "", "", ""])
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells_) + " |" for cells_ in body]
    lines.append("")
    lines += [f"- **{k}**: {v}" for k, v in summary(report)]
    return "\n".join(lines) + "\n"
