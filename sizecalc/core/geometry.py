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

from .errors import LayerError


@dataclass
class Extent:
    out: int
    explain: str
    dropped: int = 0  # input rows never read (floor) ...
    padded: int = 0  # ... or read past the end (ceil)


def arithmetic(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int = 1) -> str:
    """The left side of the formula, written as the lecture writes it."""
    if dilation != 1:
        pad = f"2*{lo}" if lo == hi else f"{lo} + {hi}"
        return f"({size} + {pad} - {dilation}*({kernel} - 1) - 1)/{stride} + 1"
    pad = f"2*{lo}" if lo == hi else f"{lo} + {hi}"
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


def raw_out(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int = 1) -> tuple[int, int]:
    """(numerator, remainder): out = numerator // stride + 1 under floor."""
    num = size + lo + hi - dilation * (kernel - 1) - 1
    return num, num % stride


def fits(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int = 1) -> bool:
    num = size + lo + hi - dilation * (kernel - 1) - 1
    return num >= 0 and num % stride == 0


def window_out(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int = 1,
               rounding: str = "exact", *, pool: bool = False) -> Extent:
    """Output length along one dimension, or LayerError with the arithmetic and a fix."""
    left = arithmetic(size, kernel, stride, lo, hi, dilation)
    if stride <= 0:
        raise LayerError("bad-stride", f"stride {stride} must be at least 1", "stride", "use stride 1 or more")
    effective = dilation * (kernel - 1) + 1
    padded = size + lo + hi
    if effective > padded:
        what = f"kernel {kernel}" + (f" (dilation {dilation}: covers {effective})" if dilation != 1 else "")
        raise LayerError("kernel-exceeds-input",
                         f"{what} is larger than the padded input {size} + {lo + hi} = {padded}: "
                         f"{left} = {_decimal(padded - effective + stride, stride)}",
                         "kernel", _kernel_fix(size, kernel, stride, lo, hi, dilation, pool))
    num = padded - effective
    whole, rem = divmod(num, stride)
    out = whole + 1
    if rem == 0:
        return Extent(out, f"{left} = {out}")
    shown = f"{left} = {_decimal(num + stride, stride)}"
    if rounding == "exact":
        raise LayerError("non-integer-output", f"{shown} is not a whole number "
                         f"(the windows do not tile the input)", "stride",
                         _fit_fix(size, kernel, stride, lo, hi, dilation, pool))
    if rounding == "floor":
        return Extent(out, f"{shown}, floored to {out}", dropped=rem)
    # ceil, with PyTorch's rule: the last window must start inside the input or the left padding
    ceil_out = out + 1
    if (ceil_out - 1) * stride >= size + lo:
        return Extent(out, f"{shown}, ceil to {ceil_out} but the last window would start in the "
                      f"right padding, so {out}", dropped=rem)
    return Extent(ceil_out, f"{shown}, ceil to {ceil_out}", padded=stride - rem)


SEARCH = 1000  # candidates tried per search: absurd sizes get fewer suggestions, never a hang


def nearest_padding(size: int, kernel: int, stride: int, dilation: int, want: int, limit: int) -> int | None:
    """The symmetric padding in [0, limit] nearest `want` (the smaller on a tie) with which the
    windows tile exactly: 2P = F_eff - W (mod S), solved in closed form."""
    effective = dilation * (kernel - 1) + 1
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
    start = max(size + 1, dilation * (kernel - 1) + 1 - lo - hi)
    return start + (-(start + lo + hi - dilation * (kernel - 1) - 1)) % stride


def previous_input(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int) -> int | None:
    """The largest input below `size` that tiles exactly, or None."""
    w = size - 1 - (size - 1 + lo + hi - dilation * (kernel - 1) - 1) % stride
    return w if w >= 1 and fits(w, kernel, stride, lo, hi, dilation) else None


def smaller_kernel(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int, pool: bool) -> int | None:
    """The largest kernel below `kernel` that tiles exactly; one covering the padded input
    exactly first, since it fits whatever the stride (a pool's stride follows its kernel)."""
    padded = size + lo + hi
    ok = (lambda k: max(lo, hi) <= k // 2) if pool else (lambda k: True)  # torch: pool padding <= kernel/2
    if (padded - 1) % dilation == 0 and (padded - 1) // dilation + 1 < kernel and ok((padded - 1) // dilation + 1):
        return (padded - 1) // dilation + 1
    top = min(kernel - 1, (padded - 1) // dilation + 1)
    return next((k for k in range(top, max(top - SEARCH, 0), -1) if ok(k) and fits(size, k, stride, lo, hi, dilation)),
                None)


def _kernel_fix(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int, pool: bool) -> str:
    """A smaller kernel, more padding or a larger input, each checked to tile exactly."""
    options: list[str] = []
    k = smaller_kernel(size, kernel, stride, lo, hi, dilation, pool)
    if k is not None:
        options.append(f"kernel {k} ({arithmetic(size, k, stride, lo, hi, dilation)} = "
                       f"{(size + lo + hi - dilation * (k - 1) - 1) // stride + 1})")
    effective = dilation * (kernel - 1) + 1
    pad = nearest_padding(size, kernel, stride, dilation, max(lo, hi), kernel // 2 if pool else effective)
    if pad is not None:
        options.append(f"padding {pad} ({arithmetic(size, kernel, stride, pad, pad, dilation)} = "
                       f"{(size + 2 * pad - effective) // stride + 1})")
    w = next_input(size, kernel, stride, lo, hi, dilation)
    options.append(f"an input of {w} to this layer ({arithmetic(w, kernel, stride, lo, hi, dilation)} = "
                   f"{(w + lo + hi - effective) // stride + 1})")
    return "; or ".join(options)


def _fit_fix(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int, pool: bool) -> str:
    options: list[str] = []
    pad_limit = kernel // 2 if pool else dilation * (kernel - 1) + 1  # torch: pool padding <= kernel/2
    p = nearest_padding(size, kernel, stride, dilation, lo, pad_limit)
    if p is not None:
        options.append(f"padding {p} ({arithmetic(size, kernel, stride, p, p, dilation)} = "
                       f"{(size + 2 * p - dilation * (kernel - 1) - 1) // stride + 1})")
    s = nearest_stride(size, kernel, stride, lo, hi, dilation)
    if s is not None:
        options.append(f"stride {s} ({arithmetic(size, kernel, s, lo, hi, dilation)} = "
                       f"{(size + lo + hi - dilation * (kernel - 1) - 1) // s + 1})")
    below = previous_input(size, kernel, stride, lo, hi, dilation)
    above = next_input(size, kernel, stride, lo, hi, dilation)
    sizes = [str(w) for w in (below, above) if w is not None]
    options.append(f"an input of {' or '.join(sizes)} to this layer")
    options.append("`rounding: floor` (what PyTorch does: the last "
                   f"{(size + lo + hi - dilation * (kernel - 1) - 1) % stride} input row(s) are never read)")
    return "; or ".join(options)


def fit_every_dim(dims: list[tuple[int, int, int, int, int, int]], pool: bool = False) -> list[tuple[str, list]]:
    """Changes that make every dimension of a layer tile exactly at once, for layers whose
    dimensions differ (a fix for one dimension alone may break another). `dims` holds one
    (size, kernel, stride, pad_lo, pad_hi, dilation) per dimension; returns (what, values) with
    what in padding/stride/kernel/input and one value per dimension (a (lo, hi) pair for padding)."""
    def ok(w, k, s, lo, hi, d):
        return fits(w, k, s, lo, hi, d) and (not pool or max(lo, hi) <= k // 2)

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
        p = nearest_padding(w, k, s, d, lo, k // 2 if pool else d * (k - 1) + 1)
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
    hi = (out - 1) * stride + dilation * (kernel - 1) + 1 - size - lo
    return hi if hi >= 0 else None
