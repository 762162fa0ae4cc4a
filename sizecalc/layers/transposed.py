"""Transposed convolution, 1-D/2-D/3-D (torch's ConvTranspose; "deconvolution", "up-convolution").

A transposed conv runs the conv's formula the other way: the input a conv of the same
kernel F, stride S, padding P and dilation D would shrink to W comes out, per dimension,

    out = (W - 1)*S - 2P + D*(F - 1) + output_padding + 1

(DCGAN's 4x4 stride 2 padding 1 doubles: (4 - 1)*2 - 2*1 + 4 = 8; U-Net's 2x2 stride 2
doubles with no padding). Since a conv of stride S sends S inputs to one output size,
`output_padding` (less than the stride or the dilation: torch's rule) picks which.

Each input position's C_in values, times a C_in x (C_out/groups * F^d) matrix, are spread
over an F^d window of the output and summed where the windows overlap (col2im): the
weights are one tensor C_in x C_out/groups x F x F (torch's order, input channels first),
params C_in*(C_out/groups)*F^d + C_out, and the MACs are counted per *input* position,
C_in*(C_out/groups)*F^d each (what FlopCounterMode counts). The bias adds, one per output
element, are other MACs, as conv's.

For the receptive field it is a conv of stride 1 on the input spread S apart (zeros between: a
unit reads only the inputs that land inside its window, `spread`): the window
compose(upsample(S), Window(D*(F - 1) + 1, 1, D*(F - 1) - P)) (core/receptive.py).
"""

from __future__ import annotations

from math import prod

from ..core.errors import Fix
from ..core.geometry import effective_window, transposed_arithmetic, transposed_out
from ..core.receptive import compose
from ..core.record import replace
from ..core.units import dims_text, shape_text
from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_INPUT, ArgField, LayerError, LayerKind, Sizing, TorchModule,
                   Window, channels_field, check_channels, needs_volume, per_dim, upsample)
from .window import DILATION, KERNEL, STRIDE

PADDING = ArgField("padding", "dims", 0, aliases=("pad", "p"), minimum=0,
                   doc="zero padding (P) taken off each end of the output: a number or one per dimension "
                       "(symmetric, as torch's ConvTranspose)")
OUTPUT_PADDING = ArgField("output_padding", "dims", 0, minimum=0,
                          doc="rows added at the end of each output dimension (less than the stride or the "
                              "dilation): which of the S sizes a stride-S conv shrinks to W this one gives")
NAMES = "HW", "L", "DHW"


def _settings(args: dict, n: int) -> list[tuple[int, int, int, int, int]]:
    """(kernel, stride, padding, dilation, output_padding) per spatial dimension."""
    return list(zip(*(per_dim(args[key], n, key) for key in ("kernel", "stride", "padding", "dilation",
                                                               "output_padding"))))


def _dim_names(n: int) -> str:
    return NAMES[0] if n == 2 else (NAMES[1] if n == 1 else NAMES[2])


def grow(spatial: list[int], settings) -> tuple[list[int], list[str]]:
    """The output per dimension and its arithmetic, or a LayerError with torch's rule, the
    arithmetic and the dimension; `infer_transposed` checks the fixes."""
    n = len(spatial)
    labelled = n > 1 and (len(set(spatial)) > 1 or len(set(settings)) > 1)
    out, explain = [], []
    for axis, (w, (k, s, p, d, op)) in enumerate(zip(spatial, settings)):
        label = f"{_dim_names(n)[axis]}: " if labelled else ""
        size = transposed_out(w, k, s, p, d, op)
        shown = f"{transposed_arithmetic(w, k, s, p, d, op)} = {size}"
        try:
            if op >= s and op >= d:
                raise LayerError("output-padding", f"output_padding {op} must be smaller than the stride {s} or "
                                 f"the dilation {d} (torch's rule): {shown}", "output_padding", arithmetic=shown)
            if size < 1:
                raise LayerError("output-too-small", f"padding {p} leaves no output (torch: output size is too "
                                 f"small): {shown}", "padding", arithmetic=shown)
        except LayerError as err:
            err.axis, err.dim = axis, (_dim_names(n)[axis] if labelled else None)
            raise
        out.append(size)
        explain.append(label + shown + (f", output_padding {op} included" if op else ""))
    if n > 1 and len(set(explain)) == 1:
        explain = explain[:1]
    return out, explain


def _channels(layer, ins) -> tuple[int, list[int], int, int]:
    """(C_in, spatial, C_out, groups), with torch's rules on channels and groups."""
    c_in, spatial = needs_volume(ins[0], "transposed conv")
    check_channels(layer, "in_channels", ins[0])
    filters, groups = layer.args["filters"], layer.args["groups"]
    if filters is None:
        raise LayerError("missing-value", "a transposed conv needs a number of filters (its output depth)", None,
                         "write {conv_transpose: 64, kernel: 2, stride: 2} (64 filters)")
    if c_in % groups:
        raise LayerError("groups", f"groups {groups} does not divide the {c_in} input channels", "groups",
                         f"use a divisor of {c_in} as groups")
    if filters % groups:
        raise LayerError("groups", f"groups {groups} does not divide the {filters} filters", "filters",
                         f"use a multiple of {groups} filters")
    return c_in, spatial, filters, groups


def sized(layer, ins) -> Sizing:
    c_in, spatial, filters, groups = _channels(layer, ins)
    a = layer.args
    settings = _settings(a, len(spatial))
    out, explain = grow(spatial, settings)
    kernel = [k for k, *_ in settings]
    per_position = c_in * (filters // groups) * prod(kernel)
    weights, biases = per_position, filters if a["bias"] else 0
    taps = "*".join(map(str, kernel))
    per_group = f"({filters}/{groups})" if groups > 1 else f"{filters}"
    plus = f" + {filters}" if a["bias"] else ""
    explain += [f"params {taps}*{c_in}*{per_group}{plus} = {weights + biases:,}",
                *matrix_lines(c_in, groups, filters, kernel, spatial, out)]
    windows = [compose(upsample([s], spread=True),
                       [Window(effective_window(k, d), 1, effective_window(k, d) - 1 - p)])[0]
               for k, s, p, d, _ in settings]
    return Sizing((filters, *out), weights, biases, 0, prod(spatial) * per_position, windows, explain,
                  other_macs=filters * prod(out) if a["bias"] else 0)


def matrix_lines(c_in: int, groups: int, filters: int, kernel: list[int], spatial: list[int],
                 out: list[int]) -> list[str]:
    """The weight tensor, and the transposed conv as the conv's matrix multiply read backwards:
    W_row^T (F*F*C_out x C_in) times the input X (C_in x the input positions) gives one column
    per input position, which col2im sums, overlapping, into the output volume."""
    per_group, k = c_in // groups, filters // groups
    rows, cols = prod(kernel) * k, prod(spatial)
    tensor = dims_text((c_in, k, *kernel))
    what = "input channels x filters" + (" per group" if groups > 1 else "") + " x kernel"
    stretched = f"{'*'.join(map(str, kernel))}*{k} x {per_group:,}"
    product = (f"W_row^T {rows:,} x {per_group:,} ({stretched}), X {per_group:,} x {cols:,} "
               f"({'*'.join(map(str, spatial))} input positions), W_row^T X {rows:,} x {cols:,}")
    target = shape_text((filters, *out))
    if groups == 1:
        return [f"weights {tensor} ({what}) = {c_in * rows:,}", f"col2im: {product} -> summed into {target}"]
    return [f"weights {tensor} ({what}) = {c_in * rows:,}",
            f"col2im per group ({groups:,} groups): {product}; {groups:,} results stacked -> summed into {target}"]


def infer_transposed(layer, ins) -> Sizing:
    """`sized`, whose errors offer only changes that `sized` itself accepts (each with its arithmetic)."""
    try:
        return sized(layer, ins)
    except LayerError as err:
        if err.rule in ("output-padding", "output-too-small"):
            err.fixes = _fixes(layer, ins, err)
        raise


def _fixes(layer, ins, err: LayerError) -> tuple[str, ...]:
    """For too large an output_padding: the largest that torch takes, or a larger stride; for an
    output of nothing: the largest padding that leaves one, or a larger kernel. Each is sized again."""
    n = len(ins[0]) - 1
    k, s, p, d, op = _settings(layer.args, n)[err.axis]
    if err.rule == "output-padding":
        tries = [("output_padding", v) for v in range(max(s, d) - 1, -1, -1)] + [("stride", op + 1)]
    else:
        top = ((ins[0][1 + err.axis] - 1) * s + d * (k - 1) + op) // 2
        short = 2 * p - (ins[0][1 + err.axis] - 1) * s - op  # what D*(F - 1) must at least be
        tries = [("padding", top), ("kernel", 1 + -(-short // d))]
    found: list[str] = []
    for key, value in tries:
        if key in {f.key for f in found}:
            continue
        fix = _tried(layer, ins, key, value, err)
        if fix:
            found.append(fix)
    return tuple(found)


def _tried(layer, ins, key: str, value: int, err: LayerError) -> Fix | None:
    """`key` set to `value` in the failing dimension (in all of them where they are alike), as a
    Fix showing that dimension's new arithmetic, if the layer sizes with it."""
    n = len(ins[0]) - 1
    values = per_dim(layer.args[key], n, key)
    values = [value if err.dim is None or i == err.axis else v for i, v in enumerate(values)]
    new = values[0] if len(set(values)) == 1 else values
    args = {**layer.args, key: new}
    try:
        sized(replace(layer, args=args), ins)
    except LayerError:
        return None
    k, s, p, d, op = _settings(args, n)[err.axis]
    w = ins[0][1 + err.axis]
    label = f"{err.dim}: " if err.dim else ""
    shown = f"{label}{transposed_arithmetic(w, k, s, p, d, op)} = {transposed_out(w, k, s, p, d, op)}"
    return Fix(f"{key} {{value}} ({shown})", key, new, str(new))


def torch_transposed(layer, ins, out):
    """nn.ConvTranspose1d/2d/3d, with torch's argument order."""
    c_in, spatial = needs_volume(ins[0], "transposed conv")
    k, s, p, d, op = (tuple(v) for v in zip(*_settings(layer.args, len(spatial))))
    return TorchModule(f"ConvTranspose{len(spatial)}d", (c_in, out[0]), {
        "kernel_size": k, "stride": s, "padding": p, "output_padding": op, "groups": layer.args["groups"],
        "bias": layer.args["bias"], "dilation": d})


def saves_input(layer, ins, out):
    """Autograd keeps the input, for the weights' gradient (and the weight, a parameter)."""
    return SAVES_INPUT


CONV_TRANSPOSE = LayerKind(
    "conv_transpose", "conv", infer_transposed, main="filters",
    aliases=("deconv", "deconvolution", "transposed_conv", "transpose_conv", "upconv", "convtranspose",
             "convtranspose1d", "convtranspose2d", "convtranspose3d"),
    doc="transposed convolution (ConvTranspose): grows the volume, (W - 1)*S - 2P + D*(F - 1) + output_padding + 1",
    fields=(
        ArgField("filters", "int", None, aliases=("out_channels", "k_filters", "num_filters"), minimum=1,
                 doc="number of filters = output depth"),
        channels_field("in_channels", "input depth C"),
        KERNEL,
        STRIDE,
        PADDING,
        OUTPUT_PADDING,
        DILATION,
        ArgField("groups", "int", 1, minimum=1, doc="channel groups: each maps C_in/groups inputs to "
                                                    "C_out/groups outputs"),
        ArgField("bias", "bool", True, doc="one bias per filter"),
    ),
    torch=torch_transposed, saved=saves_input, alias=NO_ALIAS, workspace=NO_WORKSPACE,
)
