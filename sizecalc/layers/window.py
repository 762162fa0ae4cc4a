"""Sliding a window over every spatial dimension: shared by conv, locally connected and pool.

Turns a layer's kernel/stride/padding/dilation arguments (one number or one per dimension;
padding also `same`, `valid` or `[lo, hi]` pairs) into per-dimension extents through
`geometry.window_out`, and reports rows that floor or ceil rounding drops or pads.
"""

from __future__ import annotations

from ..core.record import dataclass

from ..core.geometry import window_out
from .base import ROUNDING, Field, LayerError, Window, per_dim

STRIDE = Field("stride", "dims", 1, aliases=("s",), minimum=1, doc="step between windows (S)")
PADDING = Field("padding", "padding", 0, aliases=("pad", "p"), minimum=0,
                doc="zero padding (P): a number, one per dimension, [lo, hi] pairs, `same` or `valid`")
DILATION = Field("dilation", "dims", 1, minimum=1, doc="spacing between kernel taps")
KERNEL = Field("kernel", "dims", aliases=("kernel_size", "f", "filter_size"), minimum=1,
               doc="window size (F): a number or one per spatial dimension")
WINDOW_FIELDS = (STRIDE, PADDING, DILATION, ROUNDING)


@dataclass
class Slide:
    out: list[int]
    kernel: list[int]
    stride: list[int]
    pads: list[tuple[int, int]]
    dilation: list[int]
    explain: list[str]
    notes: list[tuple[str, str, str]]

    def windows(self) -> list[Window]:
        return [Window(d * (k - 1) + 1, s, lo)
                for k, s, (lo, _), d in zip(self.kernel, self.stride, self.pads, self.dilation)]


def paddings(value, kernel: list[int], stride: list[int], dilation: list[int]) -> list[tuple[int, int]]:
    n = len(kernel)
    if value == "valid":
        return [(0, 0)] * n
    if value == "same":
        if any(s != 1 for s in stride):
            raise LayerError("same-padding-stride", "padding: same needs stride 1 (PyTorch refuses "
                             "it for strided convolutions)", "padding",
                             "give the padding as a number (e.g. (F - 1)/2), or use stride 1")
        # PyTorch puts the odd extra row at the end
        return [((d * (k - 1)) // 2, d * (k - 1) - (d * (k - 1)) // 2) for k, d in zip(kernel, dilation)]
    pads = []
    for p in per_dim(value, n, "padding"):
        pads.append((p[0], p[1]) if isinstance(p, (list, tuple)) else (p, p))
    return pads


def slide(args: dict, spatial: list[int], *, pool: bool = False, dilation_ok: bool = True) -> Slide:
    n = len(spatial)
    kernel = per_dim(args["kernel"], n, "kernel")
    stride = per_dim(args["stride"], n, "stride")
    dilation = per_dim(args.get("dilation", 1), n, "dilation") if dilation_ok else [1] * n
    pads = paddings(args.get("padding", 0), kernel, stride, dilation)
    rounding = args.get("rounding", "exact")
    out, explain, notes = [], [], []
    names = "HW" if n == 2 else ("L" if n == 1 else "DHW")
    for dim, (w, k, s, (lo, hi), d) in enumerate(zip(spatial, kernel, stride, pads, dilation)):
        if pool:
            limit = k // 2  # torch's rule: half the kernel, whatever the dilation
            if lo > limit or hi > limit:
                raise LayerError("pool-padding", f"padding {max(lo, hi)} is more than half the "
                                 f"pooling kernel {k} (PyTorch allows at most {limit})",
                                 "padding", f"use padding {limit} or less, or a larger kernel")
        try:
            ext = window_out(w, k, s, lo, hi, d, rounding, pool=pool)
        except LayerError as err:
            if n > 1 and len(set(spatial)) > 1:
                err.message = f"{names[dim]}: {err.message}"
            raise
        out.append(ext.out)
        label = f"{names[dim]}: " if n > 1 and len(set(spatial)) > 1 else ""
        explain.append(label + ext.explain)
        if ext.dropped:
            notes.append(("rounding-drops-input", f"{label}{rounding} rounding leaves the last "
                          f"{ext.dropped} input row(s) unread", "rounding"))
        if ext.padded:
            notes.append(("rounding-pads-input", f"{label}ceil rounding reads {ext.padded} row(s) "
                          "past the end of the input", "rounding"))
    if n > 1 and len(set(spatial)) == 1 and len(set(explain)) == 1:
        explain = explain[:1]
    return Slide(out, kernel, stride, pads, dilation, explain, list(dict.fromkeys(notes)))



def floor_pads(s: Slide, spatial: list[int]) -> list[tuple[int, int]]:
    """Per-dimension (lo, hi) paddings under which flooring, as torch does, gives `s.out`:
    the rows that ceil rounding reads past the end become padding at the high end."""
    pads = []
    for w, o, k, st, (lo, hi), d in zip(spatial, s.out, s.kernel, s.stride, s.pads, s.dilation):
        reach = (o - 1) * st + d * (k - 1) + 1
        pads.append((lo, hi + max(0, reach - (w + lo + hi))))
    return pads


def pad_order(pads: list[tuple[int, int]]) -> tuple[int, ...]:
    """(lo, hi) per dimension, first dimension first -> F.pad's order (last dimension first)."""
    return tuple(p for lo, hi in reversed(pads) for p in (lo, hi))
