"""`sizecalc inputs`: a tools/inputs.Sweep as text (the sizes that fit, as runs, and where
each other size breaks) or JSON (Sweep.to_dict). Names and messages were made printable()
when the sweep was recorded."""

from __future__ import annotations

import json as _json

from ..core.units import dims_text


def text(sweep) -> str:
    c, dims = sweep.spec_input[0], len(sweep.spec_input) - 1
    probes, sizes = sweep.probes, sweep.sizes
    what = _swept(sweep.swept, probes[0].input_shape, dims) if probes else "N"
    fit = sweep.fitting
    step = sizes[1] - sizes[0] if len(sizes) > 1 else 1
    lines = [f"{sweep.name}: input {what}x{c}, N from {sizes[0]} to {sizes[-1]}"
             + (f" in steps of {step}" if step != 1 else "")
             + f" ({len(fit)} of {len(sizes)} fit)",
             f"fits: {_fitting(fit, step)}" + _period(fit, step)]
    broken = [p for p in probes if not p.fits]
    if len(broken) > MANY:
        lines += ["breaks (the first layer that breaks, the sizes it stops, and the smallest of them):",
                  *_grouped(broken, step)]
    elif broken:
        lines.append("breaks:")
        sides = [dims_text(p.input_shape[1:]) for p in broken]
        width = max(map(len, sides))
        lines += [f"  {side.ljust(width)}   {p.layer or 'input'}: {p.message}" for side, p in zip(sides, broken)]
    return "\n".join(lines) + "\n"


MANY = 40  # more broken sizes than this are listed by the layer that breaks them


def _fitting(fit: list[int], step: int) -> str:
    """The sizes that fit as runs; evenly spaced ones past 64 as their first three, an
    ellipsis and the last (M5's 1,024 multiples of 4: `4, 8, 12, ..., 4096`)."""
    if not fit:
        return "none"
    if len(fit) > 64 and _period(fit, step):
        return f"{fit[0]}, {fit[1]}, {fit[2]}, ..., {fit[-1]}"
    return runs(fit, step)


def ordinal(n: int) -> str:
    """16th, 32nd, 21st, 13th."""
    tail = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{tail}"


def _period(fit: list[int], step: int) -> str:
    """` (every 16th: N = 188 + 16k)` when three or more fitting sizes are evenly spaced wider
    than the sweep's step (U-Net's tiles, the multiples of 32 of a net with five pools)."""
    gaps = {b - a for a, b in zip(fit, fit[1:])}
    if len(fit) < 3 or len(gaps) != 1 or gaps == {step}:
        return ""
    gap = gaps.pop()
    return f" (every {ordinal(gap)}: N = {fit[0]} + {gap}k)"


def _grouped(broken: list, step: int) -> list[str]:
    """One line per layer that breaks: how many sizes, which (as runs), and the arithmetic at the
    smallest of them."""
    groups: dict = {}
    for p in broken:
        groups.setdefault(p.layer or "input", []).append(p)
    lines = []
    for layer, probes in groups.items():
        sides = [p.input_shape[1:] for p in probes]
        swept = [max(s) if len(set(s)) == 1 else s[-1] for s in sides]  # the swept side
        first = probes[0]
        lines.append(f"  {layer} ({len(probes)} size{'s' if len(probes) > 1 else ''}): {_short(runs(swept, step))}")
        lines.append(f"    e.g. {dims_text(first.input_shape[1:])}: {first.message}")
    return lines


def _short(text: str, most: int = 100) -> str:
    """A long list of sizes, cut at a comma with an ellipsis."""
    return text if len(text) <= most else text[:text.rindex(",", 0, most)] + ", ..."


def _swept(swept: str, shape: tuple, dims: int) -> str:
    """The swept input as `NxN`, `224xN` or `Nx224` (a 1-D input has one side: `N`)."""
    if swept == "width":
        return f"{shape[1]}xN"
    if swept == "height":
        return f"Nx{shape[2]}"
    return dims_text(["N"] * dims)


def runs(values: list[int], step: int = 1) -> str:
    """224, 256 or 200-210 for runs of consecutive sizes."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + step:
            parts.append(str(start) if v == start else f"{start}-{v}" if v - start > step else f"{start}, {v}")
            start = None
    return ", ".join(parts)


def json(sweep) -> str:
    return _json.dumps(sweep.to_dict(), indent=2) + "\n"
