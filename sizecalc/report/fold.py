"""`--depth D`: fold rows deeper than D into one row per block instance, like torchinfo's
depth. A folded row sums params, activations and MACs and shows the block's last output."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the rows' own class makes a folded row: model.py imports this module's users
    from .model import Row


def fold(rows: list[Row], depth: int | None) -> list[Row]:
    if depth is None:
        return rows
    out: list[Row] = []
    groups: dict[str, Row] = {}
    for r in rows:
        if r.depth <= depth:
            out.append(r)
            continue
        key = ".".join(r.id.split(".")[:depth])
        g = groups.get(key)
        if g is None:
            g = groups[key] = type(r)(key, "block", depth, r.output, inputs=r.inputs, loc=r.loc)
            out.append(g)
        g.weights += r.weights
        g.biases += r.biases
        g.buffers += r.buffers
        g.macs += r.macs
        g.activations += r.activations
        g.saved_bytes += r.saved_bytes
        g.output, g.receptive_field = r.output, r.receptive_field
    return out
