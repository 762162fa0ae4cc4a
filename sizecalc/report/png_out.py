"""A picture as PNG: the SVG of report/draw/ rasterised by cairosvg, the optional `png`
extra (`pip install 'sizecalc[png]'`). Imported only when a PNG is asked for."""

from __future__ import annotations

EXTRA = "PNG needs the 'png' extra (cairosvg and the Cairo library): pip install 'sizecalc[png]'"
SCALE = 2  # pixels per SVG unit: sharp on a slide or a high-density screen


class MissingExtra(Exception):
    """cairosvg (or the Cairo library under it) is not installed; the message says how to
    install it."""


def png(svg: str, scale: float = SCALE) -> bytes:
    """The PNG of `svg` at `scale` pixels per SVG unit, on white."""
    try:
        import cairosvg
    except (ImportError, OSError):  # OSError: cairocffi found no Cairo library
        raise MissingExtra(EXTRA) from None
    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale, background_color="white")
