"""Receptive field through the graph, per spatial dimension of the input image.

The definitions are those of Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks" (Distill, 2019). A unit's field is `size` input pixels
wide; neighbouring units' fields start `jump` pixels apart (the effective stride); the
first one starts `padding` pixels before the image (the effective padding). A layer is one
`Window` per dimension, kernel k, stride s, left padding p:
    r' = r + (k - 1)*j      j' = j*s      p0' = p0 + p*j
so L stacked KxK stride-1 convs see 1 + L(K - 1).

A layer that raises the resolution divides the jump: nearest upsampling by f is the window
`upsample(f)`, kernel 1 and stride 1/f. Jumps, sizes and paddings are then exact fractions
(fractions.Fraction), kept as int whenever they are whole; a fractional size is the
average over the output positions, as Araujo et al. define it. A transposed conv or a
resize declares `compose(upsample(s), its window on the upsampled grid)`.

Global: once every output unit sees every pixel of the input (after a global pool, an fc on
a volume, a squeeze-excitation gate, or any window whose units all cover the image), the
field is `whole`. Its size is then frozen at the padded input it covers at that point:
later layers see nothing more. A token mixer (self-attention) declares `GLOBAL`: each token's field is then whole
whatever the field of its input. A merge takes, per dimension, the input with the largest
field (its jump and padding with it) and is whole if any input is; pointwise layers change
nothing.
"""

from __future__ import annotations

from .record import dataclass


@dataclass
class Window:
    """What a layer slides over one spatial dimension. Each figure is an int, or an exact
    Fraction for a layer that raises the resolution (`upsample`, `compose`)."""

    kernel: int  # effective kernel, dilation included
    stride: int
    pad_lo: int


# what a token mixer (self-attention) declares as its windows: every output unit sees every
# input unit, whatever the rank of its input (a token sequence flattened from an image)
GLOBAL = ("global",)


def exact(x):
    """x as an int when it is whole (Fraction(4, 1) -> 4), else the Fraction itself."""
    return x if type(x) is int or x.denominator != 1 else x.numerator


def ratio(a: int, b: int):
    """a/b exactly: an int when b divides a, else a Fraction (fractions is imported only
    then: it costs the start-up of every command a few milliseconds)."""
    if a % b == 0:
        return a // b
    from fractions import Fraction
    return Fraction(a, b)


def upsample(factors) -> list[Window]:
    """Nearest-neighbour upsampling by an integer factor per dimension: each output unit
    copies one input unit (kernel 1), and units are 1/f as far apart (stride 1/f)."""
    return [Window(1, ratio(1, f), 0) for f in factors]


def compose(first: list[Window], then: list[Window]) -> list[Window]:
    """One window per dimension that does what `first` and then `then` do: kernel
    k1 + (k2 - 1)*s1, stride s1*s2, padding p1 + p2*s1 (the recurrence applied twice).
    A transposed conv of kernel k, stride s, padding p is
    compose(upsample(s), [Window(k, 1, k - 1 - p)])."""
    return [Window(exact(a.kernel + (b.kernel - 1) * a.stride), exact(a.stride * b.stride),
                   exact(a.pad_lo + b.pad_lo * a.stride)) for a, b in zip(first, then)]


@dataclass(frozen=True)
class ReceptiveField:
    size: tuple  # input pixels each unit sees (int, or Fraction after an upsampling)
    jump: tuple  # effective stride, in input pixels
    padding: tuple  # effective padding: how far before the image the first field starts
    whole: bool = False  # every unit sees the whole input: the field is global

    @classmethod
    def of_input(cls, spatial_dims: int) -> "ReceptiveField":
        return cls((1,) * spatial_dims, (1,) * spatial_dims, (0,) * spatial_dims)

    def through(self, windows) -> "ReceptiveField":
        if not windows or len(windows) != len(self.size):
            return self
        size, jump, padding = [], [], []  # one loop: a third of the time of three comprehensions
        for r, j, p, w in zip(self.size, self.jump, self.padding, windows):
            r2, j2, p2 = r + (w.kernel - 1) * j, j * w.stride, p + w.pad_lo * j
            if type(r2) is not int or type(j2) is not int or type(p2) is not int:
                r2, j2, p2 = exact(r2), exact(j2), exact(p2)
            size.append(r2)
            jump.append(j2)
            padding.append(p2)
        if self.whole:  # nothing more to see: the size stays what the padded input covers
            return ReceptiveField(self.size, tuple(jump), tuple(padding), True)
        return ReceptiveField(tuple(size), tuple(jump), tuple(padding))

    def mixed(self, image) -> "ReceptiveField":
        """The field after a layer whose every unit reads every unit of its input (attention):
        whole, at least the image wide in each dimension."""
        if self.whole:
            return self
        return ReceptiveField(tuple(max(r, w) for r, w in zip(self.size, image)), self.jump, self.padding, True)

    def covering(self, image, sides) -> "ReceptiveField":
        """This field, made whole when every unit of a map `sides` units wide (() for a
        vector: one position) sees every pixel of an `image` that many pixels wide: the first
        unit's field starts before the image, and the last one's ends after it."""
        if self.whole or not self.size or self.size[0] < image[0]:  # the quick refusal of nearly every layer
            return self
        last = sides or (1,) * len(image)
        for r, j, p, w, n in zip(self.size, self.jump, self.padding, image, last):
            if r - p < w or (n - 1) * j > p:
                return self
        return ReceptiveField(self.size, self.jump, self.padding, True)

    def finest(self) -> int:
        """The largest denominator among the figures (1 when all are whole)."""
        return max(getattr(v, "denominator", 1) for v in (*self.size, *self.jump, *self.padding))


def merge(fields: list[ReceptiveField], grid: ReceptiveField | None = None) -> ReceptiveField:
    """Per dimension, the largest field among the inputs, with its own jump and padding;
    whole if any input is. `grid` (the merge of the full-size inputs) supplies jump and
    padding when some input is broadcast, like a squeeze-excitation gate that sees the whole
    map from a 1x1 grid."""
    first = fields[0]
    whole = any(f.whole for f in fields)
    if all(f is first for f in fields):
        return first if grid is None else ReceptiveField(first.size, grid.jump, grid.padding, whole)
    dims = range(len(first.size))
    pick = [max(fields, key=lambda f: f.size[d]) for d in dims]
    size = tuple(pick[d].size[d] for d in dims)
    if grid is not None:
        return ReceptiveField(size, grid.jump, grid.padding, whole)
    return ReceptiveField(size, tuple(pick[d].jump[d] for d in dims), tuple(pick[d].padding[d] for d in dims),
                          whole)
