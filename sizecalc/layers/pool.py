"""Pooling: max and average over F x F windows (0 params), plus global and adaptive pools.

Stride defaults to the kernel, as in PyTorch. Padding may be at most half the kernel
(PyTorch's rule, which ignores dilation), and a 3-D average pool's kernel no larger than its
unpadded input (AvgPool3d's). `rounding: ceil` is PyTorch's ceil_mode (Caffe, GoogLeNet).
Adaptive pools give a fixed output size; PyTorch's window for output i spans
[floor(i*W/out), ceil((i+1)*W/out)).
"""

from __future__ import annotations

from math import gcd, prod

from ..core.receptive import ratio
from ..core.units import dims_text
from .base import (NO_ALIAS, NO_WORKSPACE, ROUNDING, SAVES_NOTHING, ArgField, LayerError, LayerKind, Saved, Sizing,
                   TorchModule, Window, needs_volume, per_dim)
from ..core.errors import Fix
from .fixes import checked
from .window import DILATION, KERNEL, PADDING, Slide, pad_order, slide

INDEX_BYTES = 8  # max pooling's indices are int64, whatever the activation dtype
STRIDE_OR_KERNEL = ArgField("stride", "dims", None, aliases=("s",), minimum=1, doc="step (default: the kernel)")


def _slide(layer, spatial) -> Slide:
    """The pool's window over every dimension (stride unset = the kernel: `window_args`)."""
    return slide(layer.args, spatial, pool=True, dilation_ok="dilation" in layer.args)


def _pool(what: str):
    def infer(layer, ins) -> Sizing:
        c, spatial = needs_volume(ins[0], what)
        s = _slide(layer, spatial)
        if what == "average pool" and len(spatial) == 3 and any(e.size < e.kernel for e in s.extents):
            raise LayerError("kernel-exceeds-input", f"kernel {dims_text(s.kernel)} is larger than the "
                             f"input {dims_text(spatial)}: PyTorch's AvgPool3d refuses that, padding "
                             "or not", "kernel", fixes=(
                                 Fix("kernel {value}", "kernel", [min(e.kernel, e.size) for e in s.extents]),
                                 Fix("an input of {value} to this layer", "input",
                                     ([max(e.kernel, e.size) for e in s.extents],))))
        return Sizing((c, *s.out), windows=s.windows(), explain=s.explain, notes=s.notes,
                      other_macs=c * prod(s.out) * prod(s.kernel))
    return checked(infer)


def _torch_pool(layer, ins, kind: str):
    c, spatial = needs_volume(ins[0], "pool")
    args = layer.args
    s = _slide(layer, spatial)
    cls = f"{kind}Pool{len(spatial)}d"
    window = dict(kernel_size=tuple(s.kernel), stride=tuple(s.stride))
    rest = dict(dilation=tuple(s.dilation)) if kind == "Max" else dict(count_include_pad=args["count_include_pad"])
    if all(lo == hi for lo, hi in s.pads):
        return TorchModule(cls, kwargs={**window, "padding": tuple(lo for lo, _ in s.pads), **rest,
                                        "ceil_mode": args["rounding"] == "ceil"})
    # torch pools pad evenly only: pad explicitly (ceil's extra rows included), then pool unpadded
    pool = TorchModule(cls, kwargs={**window, "padding": 0, **rest})
    return TorchModule("PaddedPool", (pool, pad_order(s.floor_pads())),
                       {"count_include_pad": args.get("count_include_pad", True)})


def torch_maxpool(layer, ins, out):
    """nn.MaxPool1d/2d/3d (ceil_mode = rounding ceil); uneven padding pads with -inf first."""
    return _torch_pool(layer, ins, "Max")


def torch_avgpool(layer, ins, out):
    """nn.AvgPool1d/2d/3d (ceil_mode = rounding ceil, count_include_pad); uneven padding pads first."""
    return _torch_pool(layer, ins, "Avg")


def padded_copy(layer, ins) -> int:
    """Elements per sample of the padded copy PaddedPool makes (uneven padding, or ceil's
    extra rows with it: see _torch_pool), 0 when torch's pool pads inside itself."""
    c, spatial = needs_volume(ins[0], "pool")
    s = _slide(layer, spatial)
    if all(lo == hi for lo, hi in s.pads):
        return 0
    return c * prod(w + lo + hi for w, (lo, hi) in zip(spatial, s.floor_pads()))


def _pool_input(layer, ins) -> tuple:
    """What the pool reads: its input, or PaddedPool's padded copy of it."""
    copy = padded_copy(layer, ins)
    return (Saved("own", elems=copy),) if copy else (Saved("input"),)


def _divisor(layer, ins, out) -> tuple:
    """PaddedPool without count_include_pad divides by a 1 x 1 x out count of the real
    elements under each window (one per batch)."""
    if layer.args.get("count_include_pad", True) or not padded_copy(layer, ins):
        return ()
    return (Saved("own", elems=prod(out[1:]), per_sample=False),)


def saves_input_and_indices(layer, ins, out):
    """Max pooling keeps its input and the int64 index of each maximum."""
    return (Saved("input"), Saved("own", elems=prod(out), nbytes=INDEX_BYTES))


def saved_maxpool(layer, ins, out):
    """A windowed max pool keeps what it pools (its input, or the padded copy) and the indices."""
    return _pool_input(layer, ins) + (Saved("own", elems=prod(out), nbytes=INDEX_BYTES),)


def saved_avgpool(layer, ins, out):
    """Average pooling keeps its input (or the padded copy), and the divisor it divides by."""
    return _pool_input(layer, ins) + _divisor(layer, ins, out)


def indices(layer, ins, out):
    """PyTorch's CPU max pooling computes the int64 indices even without autograd."""
    return (Saved("own", elems=prod(out), nbytes=INDEX_BYTES),)


def workspace_maxpool(layer, ins, out):
    """The indices, and the padded copy while the pool runs."""
    copy = padded_copy(layer, ins)
    return indices(layer, ins, out) + ((Saved("own", elems=copy),) if copy else ())


def workspace_avgpool(layer, ins, out):
    """The padded copy and the divisor, alive while the pool runs."""
    copy = padded_copy(layer, ins)
    return ((Saved("own", elems=copy),) if copy else ()) + _divisor(layer, ins, out)


def saves_unless_global(layer, ins, out):
    """PyTorch averages to 1x1 with mean(), which keeps no tensor; other sizes keep the input."""
    return () if all(d == 1 for d in out[1:]) else (Saved("input"),)


def _window_fields(dilation: bool) -> tuple:
    if dilation:
        return (KERNEL, STRIDE_OR_KERNEL, PADDING, DILATION, ROUNDING)
    return (KERNEL, STRIDE_OR_KERNEL, PADDING, ROUNDING,
            ArgField("count_include_pad", "bool", True, doc="average over padding zeros too (PyTorch's default)"))


MAXPOOL = LayerKind("maxpool", "pool", _pool("max pool"), main="kernel",
                    aliases=("max_pool", "maxpool1d", "maxpool2d", "maxpool3d", "pool"),
                    doc="max pooling over F x F windows", fields=_window_fields(True),
                    torch=torch_maxpool, saved=saved_maxpool, alias=NO_ALIAS, workspace=workspace_maxpool)
AVGPOOL = LayerKind("avgpool", "pool", _pool("average pool"), main="kernel",
                    aliases=("avg_pool", "avgpool1d", "avgpool2d", "avgpool3d", "average_pool"),
                    doc="average pooling over F x F windows", fields=_window_fields(False),
                    torch=torch_avgpool, saved=saved_avgpool, alias=NO_ALIAS, workspace=workspace_avgpool)


def adaptive_window(w: int, out: int) -> Window:
    """PyTorch's windows [floor(i*W/out), ceil((i+1)*W/out)) for the receptive field. Their
    lengths vary, so the field is the conservative one: the longest window, in closed form
    (an output of 10^9 must not mean 10^9 steps). With W = q*out + r and g = gcd(W, out),
    window i is q + (a + r > 0) + (a + r > out) long, a = i*W mod out, which runs over the
    multiples of g below out: q when out divides W, else q + 2 when r > g, else q + 1. The
    windows start i*W/out apart, rounded down: the jump is W/out, exactly (a fraction when
    W/out is not whole, below 1 when the pool raises the resolution)."""
    q, r = divmod(w, out)
    longest = q if r == 0 else q + 2 if r > gcd(w, out) else q + 1
    return Window(longest, ratio(w, out), 0, "adaptive")


def infer_global(layer, ins) -> Sizing:
    c, spatial = needs_volume(ins[0], "global pool")
    return Sizing((c, *[1] * len(spatial)), windows=[Window(w, 1, 0) for w in spatial], other_macs=prod(ins[0]),
                  explain=[f"one value per channel: {dims_text(spatial)} -> 1"])


def infer_adaptive(layer, ins) -> Sizing:
    c, spatial = needs_volume(ins[0], "adaptive pool")
    sizes = per_dim(layer.args["output"], len(spatial), "output")
    return Sizing((c, *sizes), windows=[adaptive_window(w, o) for w, o in zip(spatial, sizes)],
                  other_macs=prod(ins[0]),
                  explain=[f"fixed output {dims_text(sizes)} from {dims_text(spatial)}"])


def _torch_adaptive(kind: str, ins, size):
    return TorchModule(f"Adaptive{kind}Pool{len(ins[0]) - 1}d", (size,))


def torch_global_avgpool(layer, ins, out):
    """nn.AdaptiveAvgPool1d/2d/3d to 1."""
    return _torch_adaptive("Avg", ins, 1)


def torch_global_maxpool(layer, ins, out):
    """nn.AdaptiveMaxPool1d/2d/3d to 1."""
    return _torch_adaptive("Max", ins, 1)


def torch_adaptive_avgpool(layer, ins, out):
    return _torch_adaptive("Avg", ins, tuple(out[1:]))


def torch_adaptive_maxpool(layer, ins, out):
    return _torch_adaptive("Max", ins, tuple(out[1:]))


# a global average is mean(), whose gradient needs only the input's shape
GLOBAL_AVGPOOL = LayerKind("global_avgpool", "pool", infer_global,
                           aliases=("gap", "global_avg_pool", "global_average_pool", "global_pool"),
                           doc="average over all positions: C x 1 x 1", torch=torch_global_avgpool,
                           saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
GLOBAL_MAXPOOL = LayerKind("global_maxpool", "pool", infer_global, aliases=("global_max_pool",),
                           doc="maximum over all positions: C x 1 x 1", torch=torch_global_maxpool,
                           saved=saves_input_and_indices, alias=NO_ALIAS, workspace=indices)
OUTPUT = ArgField("output", "dims", aliases=("output_size", "size"), minimum=1, doc="output size per dimension")
ADAPTIVE_AVGPOOL = LayerKind("adaptive_avgpool", "pool", infer_adaptive, main="output",
                             aliases=("adaptive_avg_pool", "adaptiveavgpool1d", "adaptiveavgpool2d",
                                      "adaptiveavgpool3d"), fields=(OUTPUT,),
                             doc="average pooling to a fixed output size (PyTorch AdaptiveAvgPool)",
                             torch=torch_adaptive_avgpool, saved=saves_unless_global, alias=NO_ALIAS,
                             workspace=NO_WORKSPACE)
ADAPTIVE_MAXPOOL = LayerKind("adaptive_maxpool", "pool", infer_adaptive, main="output",
                             aliases=("adaptive_max_pool", "adaptivemaxpool1d", "adaptivemaxpool2d",
                                      "adaptivemaxpool3d"), fields=(OUTPUT,),
                             doc="max pooling to a fixed output size (PyTorch AdaptiveMaxPool)",
                             torch=torch_adaptive_maxpool, saved=saves_input_and_indices, alias=NO_ALIAS,
                             workspace=indices)
