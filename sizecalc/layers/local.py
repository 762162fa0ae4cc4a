"""Locally connected layer: the lecture's CONV without parameter sharing.

Every output position has its own filters: H2*W2*K*F*F*C weights and one bias per output
element (H2*W2*K), as in Keras' LocallyConnected2D.
"""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, ArgField, LayerError, LayerKind, Saved, Sizing, TorchModule, channels_field,
                   check_channels, needs_volume)
from .window import KERNEL, WINDOW_FIELDS, pad_order, slide


def infer_local(layer, ins) -> Sizing:
    c_in, spatial = needs_volume(ins[0], "locally connected layer")
    check_channels(layer, "in_channels", ins[0])
    a = layer.args
    if a["filters"] is None:
        raise LayerError("missing-value", "local needs a number of filters", None, "write {local: 30}")
    s = slide(a, spatial, dilation_ok=False)
    positions = prod(s.out)
    per_neuron = prod(s.kernel) * c_in
    out = (a["filters"], *s.out)
    weights = positions * a["filters"] * per_neuron
    biases = prod(out) if a["bias"] else 0
    taps = "*".join(str(k) for k in s.kernel)
    at = "*".join(str(o) for o in s.out)
    explain = s.explain + [f"weights {at}*{a['filters']}*{taps}*{c_in} = {weights:,} (no sharing)"]
    return Sizing(out, weights, biases, 0, positions * a["filters"] * per_neuron, s.windows(), explain, s.notes,
                  other_macs=biases)


def torch_local(layer, ins, out):
    """torch has no locally connected layer: sizecalc's LocallyConnected (unfold, per-position weights)."""
    c_in, spatial = needs_volume(ins[0], "locally connected layer")
    s = slide(layer.args, spatial, dilation_ok=False)
    return TorchModule("LocallyConnected", (c_in, out[0]), {
        "kernel": tuple(s.kernel), "stride": tuple(s.stride), "pads": pad_order(s.floor_pads()),
        "out_size": tuple(out[1:]), "bias": layer.args["bias"]})


def _patches(layer, ins, out) -> int:
    """Elements per sample of LocallyConnected's patch matrix: P positions x C*F^n taps."""
    c_in, spatial = needs_volume(ins[0], "locally connected layer")
    s = slide(layer.args, spatial, dilation_ok=False)
    return prod(out[1:]) * c_in * prod(s.kernel)


def saved_local(layer, ins, out):
    """What autograd keeps for LocallyConnected.forward (sizecalc/torch/modules.py): F.pad and
    the unfolds keep nothing; permute + reshape copies the windows into a patch matrix
    N x P x C*F^n, and the einsum (a batched matmul over the P positions) keeps that matrix
    and the weight (a parameter); the bias add keeps nothing. So it saves P*C*F^n elements
    per sample, where a conv would save its C*H*W input: for a 3x16x16 input and F = 3,
    P = 14*14 = 196 and 196*3*3*3 = 5,292 elements, 21,168 bytes in fp32."""
    return (Saved("own", elems=_patches(layer, ins, out)),)


def workspace_local(layer, ins, out):
    """Without autograd, at its peak forward holds, besides its output: the padded copy of
    the input that F.pad makes (a copy even when every pad is 0) and the patch matrix, both
    alive until forward returns; with a bias, also the matmul's result (the output is the
    sum of it and the bias; without one, the output is a view of it)."""
    c_in, spatial = needs_volume(ins[0], "locally connected layer")
    s = slide(layer.args, spatial, dilation_ok=False)
    padded = c_in * prod(w + lo + hi for w, (lo, hi) in zip(spatial, s.floor_pads()))
    held = (Saved("own", elems=padded), Saved("own", elems=_patches(layer, ins, out)))
    return held + ((Saved("own", elems=prod(out)),) if layer.args["bias"] else ())


LOCAL = LayerKind(
    "local", "local", infer_local, main="filters",
    aliases=("locally_connected", "local2d", "unshared_conv"),
    doc="locally connected layer: a CONV whose filters are not shared across positions",
    fields=(
        ArgField("filters", "int", None, aliases=("out_channels",), minimum=1, doc="filters K per position"),
        channels_field("in_channels", "input depth C"),
        KERNEL,
        *(f for f in WINDOW_FIELDS if f.name != "dilation"),
        ArgField("bias", "bool", True, doc="one bias per output element"),
    ),
    torch=torch_local, saved=saved_local, alias=NO_ALIAS, workspace=workspace_local,
)
