"""The terminal table (rich). Imported only by the `rich` format and notebook display.

Every cell, the title and the caption are rich Text objects, never markup strings: a name
such as `[bold red]x` or `:smile:` prints as written (user text is printable() as well)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.escape import printable
from .text import HEADERS, cells, input_cells, summary

if TYPE_CHECKING:
    from .model import Report


def table(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .bars import HEADERS as BAR_HEADERS, bar_cells

    t = Table(title=Text(printable(report.name)), box=box.SIMPLE_HEAD, show_footer=False, title_justify="left",
              caption_justify="left")
    for i, h in enumerate(HEADERS):
        t.add_column(h, justify="left" if i < 3 else "right", no_wrap=i == 0)
    rows = rows if rows is not None else report.rows
    strips = bar_cells(report, rows) if bars else [[]] * (len(rows) + 1)
    if bars:
        for h, colour in zip(BAR_HEADERS, ("cyan", "magenta")):
            t.add_column(h, style=colour, no_wrap=True)
    if explain:
        t.add_column("arithmetic", style="dim")
    extra = [""] if explain else []
    t.add_row(*map(Text, input_cells(report, layout)), *strips[0], *extra, style="dim")
    for row, strip in zip(rows, strips[1:]):
        t.add_row(*map(Text, cells(row, layout, report.batch)), *strip,
                  *([Text("\n".join(printable(e) for e in row.explain))] if explain else []))
    t.caption = Text("\n").join(Text.assemble((k, "bold"), f": {v}") for k, v in summary(report, explain))
    return t


# what rich's own Jupyter display uses: a fragment, not a whole page
NOTEBOOK_HTML = ("<pre style=\"white-space:pre;overflow-x:auto;line-height:normal;"
                 "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>\n")


def recorded(renderable, largest: int = 400):
    """A recording console that printed `renderable` at its natural width (for HTML and SVG)."""
    from rich.console import Console
    width = Console(width=largest, file=_Null()).measure(renderable).maximum
    console = Console(record=True, width=max(40, min(width, largest)), file=_Null(), color_system="truecolor")
    console.print(renderable)
    return console


def html(report: Report) -> str:
    """The table as an HTML fragment with inline styles (Report._repr_html_, for notebooks)."""
    return recorded(table(report)).export_html(inline_styles=True, code_format=NOTEBOOK_HTML)


class _Null:
    def write(self, _):
        return 0

    def flush(self):
        pass
