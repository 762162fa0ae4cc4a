"""`table --bars`: each row's activations and params as a strip of unicode blocks, scaled
to the largest row, so a network's shape shows at a glance (VGG: activations early,
params late). Plain strings; the plain and rich tables add them as two columns."""

from __future__ import annotations

from math import prod

HEADERS = ("activations bar", "params bar")
BLOCKS = " ▏▎▍▌▋▊▉█"  # 0/8 .. 8/8 of a character cell
WIDTH = 16  # characters for the largest row


def bar(value: int, largest: int, width: int = WIDTH) -> str:
    """value/largest of `width` cells in eighths; any non-zero value shows at least 1/8."""
    if value <= 0 or largest <= 0:
        return ""
    eighths = max(1, (value * width * 8 + largest // 2) // largest)
    full, part = divmod(eighths, 8)
    return BLOCKS[8] * full + (BLOCKS[part] if part else "")


def bar_cells(report, rows) -> list[list[str]]:
    """[activations bar, params bar] for the input row, then one pair per row."""
    acts = [prod(report.input_shape)] + [r.activations for r in rows]
    params = [0] + [r.params for r in rows]
    top_acts, top_params = max(acts), max(params)
    return [[bar(a, top_acts), bar(p, top_params)] for a, p in zip(acts, params)]
