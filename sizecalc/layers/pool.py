"""Pooling: max and average over F x F windows (0 params), plus global and adaptive pools.

Stride defaults to the kernel, as in PyTorch. Padding may be at most half the (effective)
window, PyTorch's rule. `rounding: ceil` is PyTorch's ceil_mode (Caffe, GoogLeNet).
Adaptive pools give a fixed output size; PyTorch's window for output i spans
[floor(i*W/out), ceil((i+1)*W/out)).
"""

from __future__ import annotations

from .base import ROUNDING, Field, LayerKind, Sizing, Window, needs_volume, per_dim, register
from .window import DILATION, KERNEL, PADDING, slide

STRIDE_OR_KERNEL = Field("stride", "dims", None, aliases=("s",), minimum=1, doc="step (default: the kernel)")


def _pool(what: str):
    def infer(layer, ins) -> Sizing:
        c, spatial = needs_volume(ins[0], what)
        args = dict(layer.args)
        if args["stride"] is None:
            args["stride"] = args["kernel"]
        s = slide(args, spatial, pool=True, dilation_ok=what == "max pool")
        return Sizing((c, *s.out), windows=s.windows(), explain=s.explain, notes=s.notes)
    return infer


def _window_fields(dilation: bool) -> tuple:
    if dilation:
        return (KERNEL, STRIDE_OR_KERNEL, PADDING, DILATION, ROUNDING)
    return (KERNEL, STRIDE_OR_KERNEL, PADDING, ROUNDING,
            Field("count_include_pad", "bool", True, doc="average over padding zeros too (PyTorch's default)"))


register(LayerKind("maxpool", "pool", _pool("max pool"), main="kernel", windowed=True,
                   aliases=("max_pool", "maxpool1d", "maxpool2d", "maxpool3d", "pool"),
                   doc="max pooling over F x F windows", fields=_window_fields(True)))
register(LayerKind("avgpool", "pool", _pool("average pool"), main="kernel", windowed=True,
                   aliases=("avg_pool", "avgpool1d", "avgpool2d", "avgpool3d", "average_pool"),
                   doc="average pooling over F x F windows", fields=_window_fields(False)))


def adaptive_window(w: int, out: int) -> Window:
    longest = max(-(-(i + 1) * w // out) - (i * w // out) for i in range(out))
    return Window(longest, max(w // out, 1), 0)


def infer_global(layer, ins) -> Sizing:
    c, spatial = needs_volume(ins[0], "global pool")
    return Sizing((c, *[1] * len(spatial)), windows=[Window(w, 1, 0) for w in spatial],
                  explain=[f"one value per channel: {'x'.join(map(str, spatial))} -> 1"])


def infer_adaptive(layer, ins) -> Sizing:
    c, spatial = needs_volume(ins[0], "adaptive pool")
    sizes = per_dim(layer.args["output"], len(spatial), "output")
    return Sizing((c, *sizes), windows=[adaptive_window(w, o) for w, o in zip(spatial, sizes)],
                  explain=[f"fixed output {'x'.join(map(str, sizes))} from {'x'.join(map(str, spatial))}"])


register(LayerKind("global_avgpool", "pool", infer_global,
                   aliases=("gap", "global_avg_pool", "global_average_pool", "global_pool"),
                   doc="average over all positions: C x 1 x 1"))
register(LayerKind("global_maxpool", "pool", infer_global, aliases=("global_max_pool",),
                   doc="maximum over all positions: C x 1 x 1"))
OUTPUT = Field("output", "dims", aliases=("output_size", "size"), minimum=1, doc="output size per dimension")
register(LayerKind("adaptive_avgpool", "pool", infer_adaptive, main="output",
                   aliases=("adaptive_avg_pool", "adaptiveavgpool2d"), fields=(OUTPUT,),
                   doc="average pooling to a fixed output size (PyTorch AdaptiveAvgPool)"))
register(LayerKind("adaptive_maxpool", "pool", infer_adaptive, main="output",
                   aliases=("adaptive_max_pool", "adaptivemaxpool2d"), fields=(OUTPUT,),
                   doc="max pooling to a fixed output size (PyTorch AdaptiveMaxPool)"))
