"""The lecture's formula, per spatial dimension, in exact integer arithmetic.

    out = (W + P_lo + P_hi - D*(F - 1) - 1) / S + 1      (= (W - F + 2P)/S + 1 when D = 1)

`window_out` applies a rounding rule (`exact` refuses a remainder, `floor` is what PyTorch
convolutions do, `ceil` is PyTorch's `ceil_mode`, with its rule that the last window must
start inside the input or the left padding) and, when the geometry does not fit, raises a
LayerError whose message shows the arithmetic and whose fix lists changes that are checked
to fit. Nothing here knows about layers or YAML.
"""

from __future__ import annotations

from .record import dataclass
from math import gcd

from .errors import Fix, LayerError


def effective_window(kernel: int, dilation: int = 1) -> int:
    """The input span a kernel of `kernel` taps covers at `dilation`: D*(F - 1) + 1."""
    return dilation * (kernel - 1) + 1


@dataclass
class Extent:
    """One sliding dimension as the formula sees it, computed once by `extent` (and rounded by
    `window_out`): everything the layers, the torch builders, lint, solve and the fixes read."""

    size: int
    kernel: int
    stride: int
    lo: int
    hi: int
    dilation: int
    effective: int  # the window the kernel covers, D*(F - 1) + 1
    numerator: int  # W + P_lo + P_hi - effective: out = numerator/S + 1 when it tiles
    out: int  # numerator // S + 1 (floor) from `extent`; after the rounding rule from `window_out`
    explain: str = ""
    dropped: int = 0  # input rows never read (floor) ...
    padded: int = 0  # ... or read past the end (ceil)

    @property
    def tiles(self) -> bool:
        """The windows fit and tile the padded input exactly: no remainder, nothing dropped."""
        return self.numerator >= 0 and self.numerator % self.stride == 0

    @property
    def remainder(self) -> int:
        """The input rows past the last whole window (floor rounding leaves them unread)."""
        return self.numerator % self.stride

    def arithmetic(self) -> str:
        return arithmetic(self.size, self.kernel, self.stride, self.lo, self.hi, self.dilation)


def extent(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int = 1) -> Extent:
    """The one place the formula is written: out = (W + P_lo + P_hi - D*(F - 1) - 1)/S + 1."""
    effective = effective_window(kernel, dilation)
    numerator = size + lo + hi - effective
    return Extent(size, kernel, stride, lo, hi, dilation, effective, numerator,
                  numerator // stride + 1 if stride > 0 else 0)


def arithmetic(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int = 1) -> str:
    """The left side of the formula, written as the lecture writes it."""
    pad = f"2*{lo}" if lo == hi else f"{lo} + {hi}"
    if dilation != 1:
        return f"({size} + {pad} - {dilation}*({kernel} - 1) - 1)/{stride} + 1"
    return f"({size} - {kernel} + {pad})/{stride} + 1"


def _decimal(num: int, den: int) -> str:
    """num/den with two decimals (14.5, 2.33), more where two would hide a remainder."""
    if num % den == 0:
        return str(num // den)
    for places in (2, 4, 6):
        text = f"{num / den:.{places}f}".rstrip("0").rstrip(".")
        if "." in text:
            return text
    whole, rem = divmod(num, den)
    return f"{whole} + {rem}/{den}"


def fits(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int = 1) -> bool:
    return extent(size, kernel, stride, lo, hi, dilation).tiles


def window_out(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int = 1,
               rounding: str = "exact", *, pool: bool = False) -> Extent:
    """The dimension's Extent under `rounding`, or LayerError with the arithmetic and fixes."""
    if stride <= 0:
        raise LayerError("bad-stride", f"stride {stride} must be at least 1", "stride", "use stride 1 or more")
    e = extent(size, kernel, stride, lo, hi, dilation)
    left = e.arithmetic()
    if e.numerator < 0 and rounding == "ceil" and pool and e.numerator > -stride:
        # PyTorch's ceil_mode: ceil(numerator/S) = 0, one window that starts on the input and reads
        # past its end (MaxPool1d(4, ceil_mode=True) takes a length of 1 to 3 to 1)
        e.out, e.padded = 1, -e.numerator
        e.explain = f"{left} = {_decimal(e.numerator + stride, stride)}, ceil to 1"
        return e
    if e.numerator < 0:
        what = f"kernel {kernel}" + (f" (dilation {dilation}: covers {e.effective})" if dilation != 1 else "")
        shown = f"{left} = {_decimal(e.numerator + stride, stride)}"
        raise LayerError("kernel-exceeds-input", f"{what} is larger than the padded input {size} + {lo + hi} = "
                         f"{size + lo + hi}: {shown}", "kernel", arithmetic=shown,
                         fixes=_kernel_fix(e, pool))
    rem = e.remainder
    if rem == 0:
        e.explain = f"{left} = {e.out}"
        return e
    shown = f"{left} = {_decimal(e.numerator + stride, stride)}"
    if rounding == "exact":
        raise LayerError("non-integer-output", f"{shown} is not a whole number "
                         f"(the windows do not tile the input)", "stride", arithmetic=shown,
                         fixes=_fit_fix(e, pool))
    if rounding == "floor":
        e.explain, e.dropped = f"{shown}, floored to {e.out}", rem
        return e
    # ceil, with PyTorch's rule: the last window must start inside the input or the left padding
    ceil_out = e.out + 1
    if (ceil_out - 1) * stride >= size + lo:
        e.explain = f"{shown}, ceil to {ceil_out} but the last window would start in the right padding, so {e.out}"
        e.dropped = rem
        return e
    e.out, e.explain, e.padded = ceil_out, f"{shown}, ceil to {ceil_out}", stride - rem
    return e


SEARCH = 1000  # candidates tried per search: absurd sizes get fewer suggestions, never a hang


def nearest_padding(size: int, kernel: int, stride: int, dilation: int, want: int, limit: int) -> int | None:
    """The symmetric padding in [0, limit] nearest `want` (the smaller on a tie) with which the
    windows tile exactly: 2P = F_eff - W (mod S), solved in closed form."""
    effective = effective_window(kernel, dilation)
    low = max(0, -(-(effective - size) // 2))  # the windows must fit at all
    if low > limit:
        return None
    residue, twos = (effective - size) % stride, gcd(2, stride)
    if residue % twos:
        return None  # an odd remainder and an even stride: no symmetric padding fits
    period = stride // twos
    base = (residue // twos) * pow(2 // twos, -1, period) % period if period > 1 else 0
    target = min(max(want, low), limit)
    below = target - (target - base) % period
    options = [p for p in (below, below + period) if low <= p <= limit]
    return min(options, key=lambda p: (abs(p - want), p)) if options else None


def nearest_stride(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int) -> int | None:
    """The stride nearest `stride` (up to stride + 2) other than it with which the windows tile."""
    for delta in range(1, min(max(stride - 1, 2), SEARCH) + 1):
        for s in (stride - delta, stride + delta):
            if 1 <= s <= stride + 2 and fits(size, kernel, s, lo, hi, dilation):
                return s
    return None


def next_input(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int) -> int:
    """The smallest input above `size` (and large enough for the kernel) that tiles exactly."""
    start = max(size + 1, effective_window(kernel, dilation) - lo - hi)
    return start + (-extent(start, kernel, stride, lo, hi, dilation).numerator) % stride


def previous_input(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int) -> int | None:
    """The largest input below `size` that tiles exactly, or None."""
    w = size - 1 - extent(size - 1, kernel, stride, lo, hi, dilation).remainder
    return w if w >= 1 and fits(w, kernel, stride, lo, hi, dilation) else None


def pool_padding_ok(kernel: int, lo: int, hi: int) -> bool:
    """PyTorch's rule for pools: padding at most half the kernel, whatever the dilation."""
    return max(lo, hi) <= kernel // 2


def padding_limit(kernel: int, dilation: int, pool: bool) -> int:
    """The largest padding a suggestion may use: half the kernel for a pool (PyTorch's rule),
    else the effective window (more pads windows that read only zeros)."""
    return kernel // 2 if pool else effective_window(kernel, dilation)


def smaller_kernel(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int, pool: bool) -> int | None:
    """The largest kernel below `kernel` that tiles exactly; one covering the padded input
    exactly first, since it fits whatever the stride (a pool's stride follows its kernel)."""
    padded = size + lo + hi
    ok = (lambda k: pool_padding_ok(k, lo, hi)) if pool else (lambda k: True)
    if (padded - 1) % dilation == 0 and (padded - 1) // dilation + 1 < kernel and ok((padded - 1) // dilation + 1):
        return (padded - 1) // dilation + 1
    top = min(kernel - 1, (padded - 1) // dilation + 1)
    return next((k for k in range(top, max(top - SEARCH, 0), -1) if ok(k) and fits(size, k, stride, lo, hi, dilation)),
                None)


def _gives(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int) -> str:
    """`(arithmetic) = out` for a changed setting that tiles."""
    e = extent(size, kernel, stride, lo, hi, dilation)
    return f"({e.arithmetic()} = {e.out})"


def _kernel_fix(e: Extent, pool: bool) -> tuple[Fix, ...]:
    """A smaller kernel, more padding or a larger input, each checked to tile exactly (the layer
    checks its own further rules before showing them: layers/fixes.py)."""
    w, k, s, lo, hi, d = e.size, e.kernel, e.stride, e.lo, e.hi, e.dilation
    options: list[Fix] = []
    smaller = smaller_kernel(w, k, s, lo, hi, d, pool)
    if smaller is not None:
        options.append(Fix(f"kernel {{value}} {_gives(w, smaller, s, lo, hi, d)}", "kernel", smaller))
    pad = nearest_padding(w, k, s, d, max(lo, hi), padding_limit(k, d, pool))
    if pad is not None:
        options.append(Fix(f"padding {{value}} {_gives(w, k, s, pad, pad, d)}", "padding", pad))
    larger = next_input(w, k, s, lo, hi, d)
    options.append(Fix(f"an input of {{value}} to this layer {_gives(larger, k, s, lo, hi, d)}", "input", (larger,),
                       larger))
    return tuple(options)


def _fit_fix(e: Extent, pool: bool) -> tuple[Fix | str, ...]:
    """Padding, stride or input changes that tile exactly, or floor rounding."""
    w, k, s, lo, hi, d = e.size, e.kernel, e.stride, e.lo, e.hi, e.dilation
    options: list[Fix] = []
    p = nearest_padding(w, k, s, d, lo, padding_limit(k, d, pool))
    if p is not None:
        options.append(Fix(f"padding {{value}} {_gives(w, k, s, p, p, d)}", "padding", p))
    other = nearest_stride(w, k, s, lo, hi, d)
    if other is not None:
        options.append(Fix(f"stride {{value}} {_gives(w, k, other, lo, hi, d)}", "stride", other))
    sizes = tuple(v for v in (previous_input(w, k, s, lo, hi, d), next_input(w, k, s, lo, hi, d)) if v is not None)
    options.append(Fix("an input of {value} to this layer", "input", sizes, " or ".join(map(str, sizes))))
    options.append(Fix(f"`rounding: {{value}}` (what PyTorch does: the last {e.remainder} input row(s) are never "
                       "read)", "rounding", "floor"))
    return tuple(options)


def fit_every_dim(dims: list[tuple[int, int, int, int, int, int]], pool: bool = False) -> list[tuple[str, list]]:
    """Changes that make every dimension of a layer tile exactly at once, for layers whose
    dimensions differ (a fix for one dimension alone may break another). `dims` holds one
    (size, kernel, stride, pad_lo, pad_hi, dilation) per dimension; returns (what, values) with
    what in padding/stride/kernel/input and one value per dimension (a (lo, hi) pair for padding)."""
    def ok(w, k, s, lo, hi, d):
        return fits(w, k, s, lo, hi, d) and (not pool or pool_padding_ok(k, lo, hi))

    def per_dim(choose):
        values = []
        for w, k, s, lo, hi, d in dims:
            value = choose(w, k, s, lo, hi, d)
            if value is None:
                return None
            values.append(value)
        return values

    def padding(w, k, s, lo, hi, d):
        if ok(w, k, s, lo, hi, d):
            return (lo, hi)
        p = nearest_padding(w, k, s, d, lo, padding_limit(k, d, pool))
        return None if p is None else (p, p)

    def stride(w, k, s, lo, hi, d):
        return s if ok(w, k, s, lo, hi, d) else nearest_stride(w, k, s, lo, hi, d)

    def kernel(w, k, s, lo, hi, d):
        return k if ok(w, k, s, lo, hi, d) else smaller_kernel(w, k, s, lo, hi, d, pool)

    def size(w, k, s, lo, hi, d):
        if ok(w, k, s, lo, hi, d):
            return w
        v = next_input(w, k, s, lo, hi, d)
        return v if ok(v, k, s, lo, hi, d) else None

    return [(what, values) for what, values in (("padding", per_dim(padding)), ("stride", per_dim(stride)),
                                                ("kernel", per_dim(kernel)), ("input", per_dim(size)))
            if values is not None]


def exact_pad_hi(size: int, kernel: int, stride: int, lo: int, out: int, dilation: int = 1) -> int | None:
    """The padding at the high end under which `out` windows tile the input exactly: what floor
    (rows dropped) or ceil (rows read past the end) rounding computes, written without rounding."""
    hi = (out - 1) * stride + effective_window(kernel, dilation) - size - lo
    return hi if hi >= 0 else None


# --- the transposed convolution: the formula run forwards the other way ------------------------

def transposed_out(size: int, kernel: int, stride: int, pad: int, dilation: int = 1, output_padding: int = 0) -> int:
    """A transposed convolution's output, per dimension, as torch computes it:
    (W - 1)*S - 2P + D*(F - 1) + output_padding + 1 (the input a conv of the same kernel,
    stride and padding would shrink to W; output_padding picks one of the S inputs that do)."""
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1


def transposed_arithmetic(size, kernel, stride, pad, dilation=1, output_padding=0) -> str:
    """The transposed formula with the numbers in, as the lecture writes the forward one:
    (32 - 1)*2 - 2*1 + 4 for a 4x4 kernel at stride 2 and padding 1 (D*(F - 1) + 1 = F)."""
    window = f"{kernel}" if dilation == 1 else f"{dilation}*({kernel} - 1) + 1"
    extra = f" + {output_padding}" if output_padding else ""
    return f"({size} - 1)*{stride} - 2*{pad} + {window}{extra}"
