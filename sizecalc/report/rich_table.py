"""The terminal table (rich). Imported only by the `rich` format and notebook display."""

from __future__ import annotations

from .model import Report
from .text import HEADERS, cells, input_cells, summary


def table(report: Report, layout: str = "hwc", explain: bool = False, rows=None):
    from rich import box
    from rich.table import Table

    t = Table(title=f"{report.name}", box=box.SIMPLE_HEAD, show_footer=False, title_justify="left",
              caption_justify="left")
    for i, h in enumerate(HEADERS):
        t.add_column(h, justify="left" if i < 3 else "right", no_wrap=i == 0)
    if explain:
        t.add_column("arithmetic", style="dim")
    extra = [""] if explain else []
    t.add_row(*input_cells(report, layout), *extra, style="dim")
    for row in rows if rows is not None else report.rows:
        t.add_row(*cells(row, layout, report.batch), *(["\n".join(_escape(e) for e in row.explain)] if explain else []))
    t.caption = "\n".join(f"[bold]{k}[/bold]: {v}" for k, v in summary(report))
    return t


def _escape(text: str) -> str:
    from rich.markup import escape
    return escape(text)


def html(report: Report) -> str:
    from rich.console import Console
    console = Console(record=True, width=120, file=_Null())
    console.print(table(report))
    return console.export_html(inline_styles=True)


class _Null:
    def write(self, _):
        return 0

    def flush(self):
        pass
