"""The lecture's formula, per spatial dimension, in exact integer arithmetic.

    out = (W + P_lo + P_hi - D*(F - 1) - 1) / S + 1      (= (W - F + 2P)/S + 1 when D = 1)

`window_out` applies a rounding rule (`exact` refuses a remainder, `floor` is what PyTorch
convolutions do, `ceil` is PyTorch's `ceil_mode`, with its rule that the last window must
start inside the input or the left padding) and, when the geometry does not fit, raises a
LayerError whose message shows the arithmetic and whose fix lists changes that are checked
to fit. Nothing here knows about layers or YAML.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    text = f"{num / den:.2f}".rstrip("0").rstrip(".")
    return text


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
                         "kernel", _kernel_fix(size, kernel, lo, hi, dilation))
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


def _kernel_fix(size: int, kernel: int, lo: int, hi: int, dilation: int) -> str:
    biggest = (size + lo + hi - 1) // dilation + 1
    return f"use a kernel of at most {biggest}, or more padding, or a larger input"


def fitting_paddings(size: int, kernel: int, stride: int, dilation: int = 1, limit: int | None = None) -> list[int]:
    """Symmetric paddings (smallest first) for which the windows tile exactly."""
    effective = dilation * (kernel - 1) + 1
    top = limit if limit is not None else effective
    return [p for p in range(0, top + 1) if fits(size, kernel, stride, p, p, dilation)]


def _fit_fix(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int, pool: bool) -> str:
    options: list[str] = []
    pad_limit = (dilation * (kernel - 1) + 1) // 2 if pool else dilation * (kernel - 1) + 1
    pads = [p for p in fitting_paddings(size, kernel, stride, dilation, pad_limit)]
    if pads:
        p = min(pads, key=lambda q: (abs(q - lo), q))
        options.append(f"padding {p} ({arithmetic(size, kernel, stride, p, p, dilation)} = "
                       f"{(size + 2 * p - dilation * (kernel - 1) - 1) // stride + 1})")
    strides = [s for s in range(1, stride + 3) if s != stride and fits(size, kernel, s, lo, hi, dilation)]
    if strides:
        s = min(strides, key=lambda q: (abs(q - stride), q))
        options.append(f"stride {s} ({arithmetic(size, kernel, s, lo, hi, dilation)} = "
                       f"{(size + lo + hi - dilation * (kernel - 1) - 1) // s + 1})")
    below = next((w for w in range(size - 1, 0, -1) if fits(w, kernel, stride, lo, hi, dilation)), None)
    above = next(w for w in range(size + 1, size + stride + 1) if fits(w, kernel, stride, lo, hi, dilation))
    sizes = [str(w) for w in (below, above) if w is not None]
    options.append(f"an input of {' or '.join(sizes)} to this layer")
    options.append("`rounding: floor` (what PyTorch does: the last "
                   f"{(size + lo + hi - dilation * (kernel - 1) - 1) % stride} input row(s) are never read)")
    return "; or ".join(options)
