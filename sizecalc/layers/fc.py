"""Fully connected (FC / linear) layer, and flatten.

An FC layer on a volume flattens it first (as the lecture's FC on 7x7x512 does): it is the
same layer as a conv whose kernel covers the whole input, pad 0. params = (in + 1)*out.

On a token sequence (core.units.Tokens, C x N) it is one linear map per token, as nn.Linear
acts on the last dimension of batch x N x C: C_in -> C_out for each of the N tokens, params
(C_in + 1)*C_out, MACs N*C_in*C_out, and the output is a sequence of N tokens (the MLP of a
transformer block).

Its input size may be pinned (`inputs:`, torch's `in_features`): the params are then those of
the pinned size, and any other flattened input is an error with both sizes, never a silent
change of the params (VGG16's fc6 is 7x7x512 = 25,088 inputs; at 256x256 it would get 8x8x512).
"""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Sizing, TorchModule, Window,
                   always, saves_input)
from ..core.units import is_tokens, shape_text, with_channels


def _global_windows(shape) -> list[Window]:
    return [Window(w, 1, 0) for w in shape[1:]]


def infer_fc(layer, ins) -> Sizing:
    shape = ins[0]
    if is_tokens(shape):
        return _per_token(layer, shape)
    n_in = prod(shape)
    a = layer.args
    expected = a["inputs"]
    if expected is not None and expected != n_in:
        raise input_mismatch(shape, expected, a["outputs"], a["bias"])
    out = a["outputs"]
    weights = n_in * out
    biases = out if a["bias"] else 0
    terms = "*".join(str(d) for d in (*shape[1:], shape[0])) if len(shape) > 1 else str(n_in)
    plus = " + 1" if a["bias"] else ""
    explain = [f"params ({terms}{plus})*{out} = {weights + biases:,}"]
    return Sizing((out,), weights, biases, 0, weights, _global_windows(shape), explain, other_macs=biases)


def _per_token(layer, shape) -> Sizing:
    c, n = shape
    a = layer.args
    if a["inputs"] is not None and a["inputs"] != c:
        raise LayerError("channels-mismatch", f"fc expects {a['inputs']:,} channels per token, gets {c:,} "
                         f"({shape_text(shape)} tokens)", "inputs", f"inputs: {c}")
    out = a["outputs"]
    weights, biases = c * out, out if a["bias"] else 0
    explain = [f"params ({c}{' + 1' if biases else ''})*{out} = {weights + biases:,}, per token",
               f"MACs {n:,}*{c}*{out} = {n * weights:,}"]
    return Sizing(with_channels(shape, out), weights, biases, 0, n * weights, None, explain, other_macs=n * biases)


def input_mismatch(shape, expected: int, outputs: int, bias: bool) -> LayerError:
    """`fc expects 6x6x256 = 9,216 inputs, gets 7x7x256 = 12,544`. The fix here is the one that
    is always valid (size the fc for what it gets); the engine adds the input size that gives
    the pinned size, checked through the whole network (engine/pinned.py)."""
    n_in = prod(shape)
    params = f"({n_in:,} + 1)*{outputs:,} = {(n_in + 1) * outputs:,}" if bias else \
        f"{n_in:,}*{outputs:,} = {n_in * outputs:,}"
    return LayerError("fc-input-mismatch", f"fc expects {pinned_text(shape, expected)} inputs, gets "
                      f"{shape_text(shape) + ' = ' if len(shape) > 1 else ''}{n_in:,}", "inputs",
                      f"inputs: {n_in}, a classifier for this input (params {params})")


def pinned_shape(shape, expected: int) -> tuple[int, ...] | None:
    """The volume of `shape`'s channels and rank whose size is `expected`, when its sides can be
    equal or keep `shape`'s proportions: 9,216 on 256 channels, 2-D -> (256, 6, 6)."""
    c, spatial = shape[0], shape[1:]
    if not spatial or expected % c:
        return None
    per_channel, dims = expected // c, len(spatial)
    side = round(per_channel ** (1 / dims))
    for s in (side - 1, side, side + 1):
        if s >= 1 and s ** dims == per_channel:
            return (c, *([s] * dims))
    return None


def pinned_text(shape, expected: int) -> str:
    """The pinned size as the volume it stands for where there is one: `6x6x256 = 9,216`."""
    volume = pinned_shape(shape, expected)
    return f"{shape_text(volume)} = {expected:,}" if volume else f"{expected:,}"


def infer_flatten(layer, ins) -> Sizing:
    shape = ins[0]
    return Sizing((prod(shape),), windows=_global_windows(shape),
                  explain=[f"{'*'.join(map(str, shape))} = {prod(shape):,}"])


def torch_fc(layer, ins, out):
    """nn.Linear, with an nn.Flatten in front when the input is a volume."""
    if is_tokens(ins[0]):  # per token: nn.Linear on batch x N x C
        return TorchModule("Linear", (ins[0][0], out[0]), {"bias": layer.args["bias"]})
    n_in = layer.args["inputs"] or prod(ins[0])  # pinned: infer has checked it equals the input
    linear = TorchModule("Linear", (n_in, out[0]), {"bias": layer.args["bias"]})
    return TorchModule("Sequential", (TorchModule("Flatten"), linear)) if len(ins[0]) > 1 else linear


def torch_flatten(layer, ins, out):
    return TorchModule("Flatten")


FC = LayerKind(
    "fc", "fc", infer_fc, main="outputs", aliases=("linear", "dense", "fully_connected"),
    doc="fully connected layer: every output sees the whole (flattened) input",
    fields=(
        ArgField("outputs", "int", aliases=("out_features", "units", "neurons"), minimum=1,
              doc="number of outputs (neurons)"),
        ArgField("bias", "bool", True, doc="one bias per output"),
        ArgField("inputs", "int", None, aliases=("in_features",), minimum=1,
              doc="the input size it was built for (torch's in_features, the flattened input): any other "
                  "input is an error with both sizes, never a silent change of the params"),
    ),
    torch=torch_fc, saved=saves_input, alias=NO_ALIAS, workspace=NO_WORKSPACE,
)
# flatten is a view of its input (an nn.Flatten of a contiguous tensor)
FLATTEN = LayerKind("flatten", "fc", infer_flatten, doc="C x H x W volume -> vector of C*H*W",
                    torch=torch_flatten, saved=SAVES_NOTHING, alias=always, workspace=NO_WORKSPACE)
