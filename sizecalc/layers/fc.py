"""Fully connected (FC / linear) layer, and flatten.

An FC layer on a volume flattens it first (as the lecture's FC on 7x7x512 does): it is the
same layer as a conv whose kernel covers the whole input, pad 0. params = (in + 1)*out.
"""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Sizing, TorchModule, Window,
                   always, saves_input)
from ..core.units import shape_text


def _global_windows(shape) -> list[Window]:
    return [Window(w, 1, 0) for w in shape[1:]]


def infer_fc(layer, ins) -> Sizing:
    shape = ins[0]
    n_in = prod(shape)
    a = layer.args
    expected = a["inputs"]
    if expected is not None and expected != n_in:
        # a volume with its product (7x7x512 = 25,088), a vector once (65,536)
        got = f"{shape_text(shape)} = {n_in:,}" if len(shape) > 1 else f"{n_in:,}"
        raise LayerError("fc-input-mismatch", f"fc expects {expected:,} inputs but receives {got}", "inputs",
                         f"set inputs: {n_in}, or change the layers before it")
    out = a["outputs"]
    weights = n_in * out
    biases = out if a["bias"] else 0
    terms = "*".join(str(d) for d in (*shape[1:], shape[0])) if len(shape) > 1 else str(n_in)
    plus = " + 1" if a["bias"] else ""
    explain = [f"params ({terms}{plus})*{out} = {weights + biases:,}"]
    return Sizing((out,), weights, biases, 0, weights, _global_windows(shape), explain, other_macs=biases)


def infer_flatten(layer, ins) -> Sizing:
    shape = ins[0]
    return Sizing((prod(shape),), windows=_global_windows(shape),
                  explain=[f"{'*'.join(map(str, shape))} = {prod(shape):,}"])


def torch_fc(layer, ins, out):
    """nn.Linear, with an nn.Flatten in front when the input is a volume."""
    linear = TorchModule("Linear", (prod(ins[0]), out[0]), {"bias": layer.args["bias"]})
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
              doc="expected input size; an error names the difference when it does not match"),
    ),
    torch=torch_fc, saved=saves_input, alias=NO_ALIAS, workspace=NO_WORKSPACE,
)
# flatten is a view of its input (an nn.Flatten of a contiguous tensor)
FLATTEN = LayerKind("flatten", "fc", infer_flatten, doc="C x H x W volume -> vector of C*H*W",
                    torch=torch_flatten, saved=SAVES_NOTHING, alias=always, workspace=NO_WORKSPACE)
