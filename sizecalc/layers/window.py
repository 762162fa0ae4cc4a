"""Sliding a window over every spatial dimension: shared by conv, locally connected and pool.

Turns a layer's kernel/stride/padding/dilation arguments (one number or one per dimension;
padding also `same`, `valid` or `[lo, hi]` pairs) into per-dimension extents through
`geometry.window_out` (one `Extent` record each), and reports rows that floor or ceil
rounding drops or pads.
"""

from __future__ import annotations

from ..core.record import dataclass

from ..core.geometry import Extent, effective_window, pool_padding_ok, window_out
from .base import ROUNDING, ArgField, LayerError, Window, per_dim

STRIDE = ArgField("stride", "dims", 1, aliases=("s",), minimum=1, doc="step between windows (S)")
PADDING = ArgField("padding", "padding", 0, aliases=("pad", "p"), minimum=0,
                doc="zero padding (P): a number, one per dimension, [lo, hi] pairs, `same` or `valid`")
DILATION = ArgField("dilation", "dims", 1, minimum=1, doc="spacing between kernel taps")
KERNEL = ArgField("kernel", "dims", aliases=("kernel_size", "f", "filter_size"), minimum=1,
               doc="window size (F): a number or one per spatial dimension")
WINDOW_FIELDS = (STRIDE, PADDING, DILATION, ROUNDING)


@dataclass
class Slide:
    """A layer's window over every spatial dimension: one geometry Extent per dimension (what
    `infer`, the torch builders and lint read), the arguments as given, and the text."""

    extents: list[Extent]
    pads: list[tuple[int, int]]  # (lo, hi) as given
    explain: list[str]
    notes: list[tuple[str, str, str]]

    @property
    def out(self) -> list[int]:
        return [e.out for e in self.extents]

    @property
    def kernel(self) -> list[int]:
        return [e.kernel for e in self.extents]

    @property
    def stride(self) -> list[int]:
        return [e.stride for e in self.extents]

    @property
    def dilation(self) -> list[int]:
        return [e.dilation for e in self.extents]

    def windows(self) -> list[Window]:
        return [Window(e.effective, e.stride, e.lo) for e in self.extents]

    def floor_pads(self) -> list[tuple[int, int]]:
        """Per-dimension (lo, hi) paddings under which flooring, as torch does, gives `out`:
        the rows that ceil rounding reads past the end become padding at the high end."""
        return [(e.lo, e.hi + e.padded) for e in self.extents]


def paddings(value, kernel: list[int], stride: list[int], dilation: list[int]) -> list[tuple[int, int]]:
    n = len(kernel)
    if value == "valid":
        return [(0, 0)] * n
    if value == "same":
        if any(s != 1 for s in stride):
            raise LayerError("same-padding-stride", "padding: same needs stride 1 (PyTorch refuses "
                             "it for strided convolutions)", "padding",
                             "give the padding as a number (e.g. (F - 1)/2), or use stride 1")
        # the window less one row, split: PyTorch puts the odd extra row at the end
        totals = [effective_window(k, d) - 1 for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    pads = []
    for p in per_dim(value, n, "padding"):
        pads.append((p[0], p[1]) if isinstance(p, (list, tuple)) else (p, p))
    return pads


def window_args(args: dict, n: int, *, dilation_ok: bool = True) -> list[tuple[int, int, int, int, int]]:
    """(kernel, stride, pad_lo, pad_hi, dilation) per spatial dimension, from a layer's arguments.
    A stride left unset (None) is the kernel's: the pools' default, as in PyTorch."""
    kernel = per_dim(args["kernel"], n, "kernel")
    stride = per_dim(args["kernel"] if args.get("stride") is None else args["stride"], n, "stride")
    dilation = per_dim(args.get("dilation", 1), n, "dilation") if dilation_ok else [1] * n
    pads = paddings(args.get("padding", 0), kernel, stride, dilation)
    return [(k, s, lo, hi, d) for k, s, (lo, hi), d in zip(kernel, stride, pads, dilation)]


def slide(args: dict, spatial: list[int], *, pool: bool = False, dilation_ok: bool = True) -> Slide:
    """The one computation of a sliding layer's geometry: `infer` and the torch builders call it."""
    n = len(spatial)
    dims = window_args(args, n, dilation_ok=dilation_ok)
    rounding = args.get("rounding", "exact")
    extents, explain, notes = [], [], []
    names = "HW" if n == 2 else ("L" if n == 1 else "DHW")
    # a layer that is not the same in every dimension (input sides, kernel, stride, padding or
    # dilation) labels each line of its arithmetic, and its errors, with the dimension
    labelled = n > 1 and (len(set(spatial)) > 1 or len(set(dims)) > 1)
    for dim, (w, (k, s, lo, hi, d)) in enumerate(zip(spatial, dims)):
        if pool and not pool_padding_ok(k, lo, hi):
            raise LayerError("pool-padding", f"padding {max(lo, hi)} is more than half the "
                             f"pooling kernel {k} (PyTorch allows at most {k // 2})",
                             "padding", f"use padding {k // 2} or less, or a larger kernel")
        try:
            ext = window_out(w, k, s, lo, hi, d, rounding, pool=pool)
        except LayerError as err:
            if labelled:
                err.dim = names[dim]
            raise
        extents.append(ext)
        label = f"{names[dim]}: " if labelled else ""
        explain.append(label + ext.explain)
        if ext.dropped:
            notes.append(("rounding-drops-input", f"{label}{rounding} rounding leaves the last "
                          f"{ext.dropped} input row(s) unread", "rounding"))
        if ext.padded:
            notes.append(("rounding-pads-input", f"{label}ceil rounding reads {ext.padded} row(s) "
                          "past the end of the input", "rounding"))
    if n > 1 and len(set(spatial)) == 1 and len(set(explain)) == 1:
        explain = explain[:1]
    return Slide(extents, [(lo, hi) for _, _, lo, hi, _ in dims], explain, list(dict.fromkeys(notes)))


def pad_order(pads: list[tuple[int, int]]) -> tuple[int, ...]:
    """(lo, hi) per dimension, first dimension first -> F.pad's order (last dimension first)."""
    return tuple(p for lo, hi in reversed(pads) for p in (lo, hi))
