"""The layer table as an SVG picture: rich's terminal table, recorded and exported with
Console.export_svg, for slides, READMEs and course notes. Imports rich.

User text is printable() (no character XML forbids) and rich escapes & < > in the SVG."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.escape import printable

if TYPE_CHECKING:
    from .model import Report


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False) -> str:
    from .rich_table import recorded, table
    console = recorded(table(report, layout, explain, rows, bars))
    return console.export_svg(title=f"sizecalc table: {printable(report.name)}")
