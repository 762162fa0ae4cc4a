"""Receptive field through the graph, per spatial dimension of the input image.

The definitions are those of Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks" (Distill, 2019). A unit's field is `size` input pixels
wide; neighbouring units' fields start `jump` pixels apart (the effective stride); the
first one starts `padding` pixels before the image (the effective padding). A layer is one
`Window` per dimension, kernel k, stride s, left padding p:
    r' = r + (k - 1)*j      j' = j*s      p0' = p0 + p*j
so L stacked KxK stride-1 convs see 1 + L(K - 1).

A layer that raises the resolution divides the jump: nearest upsampling by f is the window
`upsample(f)`, kernel 1 and stride 1/f. Jumps are then exact fractions (fractions.Fraction),
kept as int whenever they are whole. A transposed conv or a resize declares
`compose(upsample(s), its window on the upsampled grid)`. Past such a layer the field is no
longer the same at every output position, and the recurrences give only an average (wrong
after a strided layer: conv s2, transposed conv s2, conv sees 7 pixels everywhere, the
recurrence says 8). There each figure is measured exactly instead (engine/exact_field.py):
a Window is also an index map, `span` below, and the field's `period` says how many output
positions repeat (translation by `period` units moves every layer on the path by whole
units); `size` is then the largest field over one period and `least` the smallest.

Global: once every output unit sees every pixel of the input (after a global pool, an fc on
a volume, a squeeze-excitation gate, or any window whose units all cover the image), the
field is `whole`. Its size is then frozen at the padded input it covers at that point:
later layers see nothing more. A token mixer (self-attention) declares `GLOBAL`: each token's field is then whole
whatever the field of its input. A merge takes, per dimension, the input with the largest
field (its jump and padding with it) and is whole if any input is; pointwise layers change
nothing.
"""

from __future__ import annotations

from .record import dataclass, field


@dataclass
class Window:
    """What a layer slides over one spatial dimension. Each figure is an int, or an exact
    Fraction for a layer that raises the resolution (`upsample`, `compose`)."""

    kernel: int  # effective kernel, dilation included
    stride: int
    pad_lo: int
    # how output unit o reads its input (an index map, exact; `span`): "floor" - pixels
    # floor(o*s - p) .. floor(o*s - p + k - 1); "spread" - the input spread s apart on a finer
    # grid, zeros between (a transposed conv): from ceil(o*s - p); "adaptive" - an adaptive
    # pool's [floor(o*s), ceil((o + 1)*s)). All three agree when s and p are whole.
    reads: str = "floor"


def span(w: Window):
    """The index map of `w` as (lo, hi) functions of an output unit, in whole numbers: the
    first and last input unit it reads (unclipped: borders ignored). Monotone, so units
    a..b read, at most, lo(a)..hi(b)."""
    d = 1
    for v in (w.kernel, w.stride, w.pad_lo):
        if type(v) is not int:
            d = d * v.denominator // _gcd(d, v.denominator)
    s, p, k = int(w.stride * d), int(w.pad_lo * d), int((w.kernel - 1) * d)
    if w.reads == "adaptive":
        return (lambda o: o * s // d), (lambda o: -(-(o + 1) * s // d) - 1)
    if w.reads == "spread":
        return (lambda o: -((p - o * s) // d)), (lambda o: (o * s - p + k) // d)
    return (lambda o: (o * s - p) // d), (lambda o: (o * s - p + k) // d)


def _gcd(a: int, b: int) -> int:
    from math import gcd
    return gcd(a, b)


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


def upsample(factors, spread: bool = False) -> list[Window]:
    """Nearest-neighbour upsampling by an integer factor per dimension: each output unit
    copies one input unit (kernel 1), and units are 1/f as far apart (stride 1/f). `spread`:
    the input is spread f apart with zeros between instead (a transposed conv's grid)."""
    return [Window(1, ratio(1, f), 0, "spread" if spread else "floor") for f in factors]


def compose(first: list[Window], then: list[Window]) -> list[Window]:
    """One window per dimension that does what `first` and then `then` do: kernel
    k1 + (k2 - 1)*s1, stride s1*s2, padding p1 + p2*s1 (the recurrence applied twice).
    A transposed conv of kernel k, stride s, padding p is
    compose(upsample(s), [Window(k, 1, k - 1 - p)])."""
    return [Window(exact(a.kernel + (b.kernel - 1) * a.stride), exact(a.stride * b.stride),
                   exact(a.pad_lo + b.pad_lo * a.stride), a.reads if a.reads != "floor" else b.reads)
            for a, b in zip(first, then)]


@dataclass(frozen=True)
class ReceptiveField:
    size: tuple  # input pixels each unit sees (int, or Fraction after an upsampling)
    jump: tuple  # effective stride, in input pixels
    padding: tuple  # effective padding: how far before the image the first field starts
    whole: bool = False  # every unit sees the whole input: the field is global
    # output units after which the fields repeat, per dimension; None while no layer with a
    # fractional stride lies on the path (the recurrences are then exact)
    period: tuple | None = field(default=None, compare=False)
    least: tuple | None = field(default=None, compare=False)  # the smallest field, where sizes vary

    @classmethod
    def of_input(cls, spatial_dims: int) -> "ReceptiveField":
        return cls((1,) * spatial_dims, (1,) * spatial_dims, (0,) * spatial_dims)

    def through(self, windows) -> "ReceptiveField":
        if not windows or len(windows) != len(self.size):
            return self
        size, jump, padding = [], [], []  # one loop: a third of the time of three comprehensions
        period = self.period
        for r, j, p, w in zip(self.size, self.jump, self.padding, windows):
            r2, j2, p2 = r + (w.kernel - 1) * j, j * w.stride, p + w.pad_lo * j
            if type(r2) is not int or type(j2) is not int or type(p2) is not int:
                r2, j2, p2 = exact(r2), exact(j2), exact(p2)
            if type(w.stride) is not int and period is None:
                period = (1,) * len(windows)
            size.append(r2)
            jump.append(j2)
            padding.append(p2)
        if period is not None:
            period = tuple(repeat(q, w.stride) for q, w in zip(period, windows))
        if self.whole:  # nothing more to see: the size stays what the padded input covers
            return ReceptiveField(self.size, tuple(jump), tuple(padding), True, period)
        return ReceptiveField(tuple(size), tuple(jump), tuple(padding), period=period)

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
        return ReceptiveField(self.size, self.jump, self.padding, True, self.period, self.least)

    def finest(self) -> int:
        """The largest denominator among the figures (1 when all are whole)."""
        return max(getattr(v, "denominator", 1) for v in (*self.size, *self.jump, *self.padding))


def repeat(q: int, stride) -> int:
    """The period after a layer of this stride, from the period q before it: the fewest
    output units P whose shift, P*stride input units, is a multiple of q (so that every layer
    before moves by whole periods of its own)."""
    n, d = stride.numerator, stride.denominator
    return q * d // _gcd(q * d, n)


def _periods(fields):
    """The lcm of the inputs' periods per dimension (None when no input has one)."""
    known = [f.period for f in fields if f.period is not None]
    if not known:
        return None
    out = list(known[0])
    for p in known[1:]:
        out = [a * b // _gcd(a, b) for a, b in zip(out, p)]
    return tuple(out)


def merge(fields: list[ReceptiveField], grid: ReceptiveField | None = None) -> ReceptiveField:
    """Per dimension, the largest field among the inputs, with its own jump and padding;
    whole if any input is. `grid` (the merge of the full-size inputs) supplies jump and
    padding when some input is broadcast, like a squeeze-excitation gate that sees the whole
    map from a 1x1 grid."""
    first = fields[0]
    whole = any(f.whole for f in fields)
    if all(f is first for f in fields):
        return first if grid is None else ReceptiveField(first.size, grid.jump, grid.padding, whole, first.period)
    period = _periods(fields)
    dims = range(len(first.size))
    pick = [max(fields, key=lambda f: f.size[d]) for d in dims]
    size = tuple(pick[d].size[d] for d in dims)
    if grid is not None:
        return ReceptiveField(size, grid.jump, grid.padding, whole, period)
    return ReceptiveField(size, tuple(pick[d].jump[d] for d in dims), tuple(pick[d].padding[d] for d in dims),
                          whole, period)
