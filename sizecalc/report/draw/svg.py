"""A small SVG writer for sizecalc's pictures: shapes and text on a canvas, every string that
came from a user (an id, a name) made printable(), cut to a bounded length and XML-escaped.

Text is set in a monospace font so that its extent is known without measuring it (CHAR_WIDTH
em per character): the pictures place labels where they do not overlap, and the tests check
that from the SVG itself. Classes name what a shape is (box, label, edge) for those tests.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ...core.escape import printable

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
CHAR_WIDTH = 0.62  # a monospace character's advance, in em (DejaVu Sans Mono: 0.602)
MAX_TEXT = 48  # characters of user text shown; the rest is cut with an ellipsis
MAX_TITLE = 400  # characters of a hover title


def clean(text, limit: int = MAX_TEXT) -> str:
    """User text as it may appear in a picture: printable, at most `limit` characters
    (escaped for XML when written, not here)."""
    text = printable(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_WIDTH


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _attrs(attrs: dict) -> str:
    return "".join(f" {k.replace('_', '-')}={quoteattr(str(v))}" for k, v in attrs.items() if v is not None)


class Canvas:
    """Elements in drawing order; `svg()` writes them with the canvas' size."""

    def __init__(self, width: float = 0, height: float = 0):
        self.width, self.height = width, height
        self.parts: list[str] = []

    def rect(self, x, y, w, h, fill, cls=None, title=None, **attrs) -> None:
        self._shape("rect", dict(x=_num(x), y=_num(y), width=_num(w), height=_num(h), fill=fill, **attrs),
                    cls, title)

    def polygon(self, points, fill, cls=None, **attrs) -> None:
        pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        self._shape("polygon", dict(points=pts, fill=fill, **attrs), cls)

    def line(self, x1, y1, x2, y2, stroke="#555", cls=None, **attrs) -> None:
        self._shape("line", dict(x1=_num(x1), y1=_num(y1), x2=_num(x2), y2=_num(y2), stroke=stroke, **attrs), cls)

    def path(self, d: str, stroke="#555", cls=None, **attrs) -> None:
        self._shape("path", dict(d=d, stroke=stroke, fill="none", **attrs), cls)

    def text(self, x, y, text: str, size: float = 12, anchor: str = "middle", cls="label", weight=None,
             fill="#222", **attrs) -> None:
        """Text whose baseline is y; `text` is already clean() (or sizecalc's own)."""
        a = dict(x=_num(x), y=_num(y), font_size=_num(size), text_anchor=anchor, font_weight=weight, fill=fill,
                 **attrs)
        self.parts.append(f"<text{_attrs({'class': cls, **a})}>{escape(text)}</text>")

    def open(self, cls=None, title=None, **attrs) -> None:
        self.parts.append(f"<g{_attrs({'class': cls, **attrs})}>")
        if title:
            self.parts.append(f"<title>{escape(clean(title, MAX_TITLE))}</title>")

    def close(self) -> None:
        self.parts.append("</g>")

    def _shape(self, tag, attrs, cls, title=None) -> None:
        head = f"<{tag}{_attrs({'class': cls, **attrs})}"
        if title:
            self.parts.append(f"{head}><title>{escape(clean(title, MAX_TITLE))}</title></{tag}>")
        else:
            self.parts.append(head + "/>")

    def svg(self, title: str = "") -> str:
        w, h = _num(self.width), _num(self.height)
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
                f'font-family={quoteattr(FONT)}>\n')
        name = f"<title>{escape(clean(title, MAX_TITLE))}</title>\n" if title else ""
        back = f'<rect width="{w}" height="{h}" fill="#ffffff"/>\n'
        return head + name + back + "\n".join(self.parts) + "\n</svg>\n"
