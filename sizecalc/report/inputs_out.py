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
             f"fits: {runs(fit, step) if fit else 'none'}"]
    broken = [p for p in probes if not p.fits]
    if broken:
        lines.append("breaks:")
        sides = [dims_text(p.input_shape[1:]) for p in broken]
        width = max(map(len, sides))
        lines += [f"  {side.ljust(width)}   {p.layer or 'input'}: {p.message}" for side, p in zip(sides, broken)]
    return "\n".join(lines) + "\n"


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
