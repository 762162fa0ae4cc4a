"""Receptive field through the graph, per spatial dimension of the input image.

For a layer sliding a window (effective kernel k, stride s, left padding p) over a map
whose units see r input pixels, spaced j apart, starting p0 pixels before the image:
    r' = r + (k - 1)*j      j' = j*s      p0' = p0 + p*j
so L stacked KxK stride-1 convs see 1 + L(K - 1). A merge takes, per dimension, the input
with the largest field (its jump and padding with it); pointwise layers change nothing.
"""

from __future__ import annotations

from .record import dataclass


@dataclass(frozen=True)
class ReceptiveField:
    size: tuple[int, ...]
    jump: tuple[int, ...]  # effective stride, in input pixels
    padding: tuple[int, ...]  # effective padding: how far before the image the first field starts

    @classmethod
    def of_input(cls, spatial_dims: int) -> "ReceptiveField":
        return cls((1,) * spatial_dims, (1,) * spatial_dims, (0,) * spatial_dims)

    def through(self, windows) -> "ReceptiveField":
        if not windows or len(windows) != len(self.size):
            return self
        size, jump, padding = [], [], []  # one loop: a third of the time of three comprehensions
        for r, j, p, w in zip(self.size, self.jump, self.padding, windows):
            size.append(r + (w.kernel - 1) * j)
            jump.append(j * w.stride)
            padding.append(p + w.pad_lo * j)
        return ReceptiveField(tuple(size), tuple(jump), tuple(padding))


def merge(fields: list[ReceptiveField], grid: ReceptiveField | None = None) -> ReceptiveField:
    """Per dimension, the largest field among the inputs, with its own jump and padding.
    `grid` (the merge of the full-size inputs) supplies jump and padding when some input
    is broadcast, like a squeeze-excitation gate that sees the whole map from a 1x1 grid."""
    first = fields[0]
    if all(f is first for f in fields):
        return first if grid is None else ReceptiveField(first.size, grid.jump, grid.padding)
    dims = range(len(first.size))
    pick = [max(fields, key=lambda f: f.size[d]) for d in dims]
    size = tuple(pick[d].size[d] for d in dims)
    if grid is not None:
        return ReceptiveField(size, grid.jump, grid.padding)
    return ReceptiveField(size, tuple(pick[d].jump[d] for d in dims), tuple(pick[d].padding[d] for d in dims))
