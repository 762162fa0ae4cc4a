"""Locally connected layer: the lecture's CONV without parameter sharing.

Every output position has its own filters: H2*W2*K*F*F*C weights and one bias per output
element (H2*W2*K), as in Keras' LocallyConnected2D.
"""

from __future__ import annotations

from math import prod

from .base import NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, Field, LayerError, LayerKind, Sizing, TorchModule, needs_volume
from .window import KERNEL, WINDOW_FIELDS, floor_pads, pad_order, slide


def infer_local(layer, ins) -> Sizing:
    c_in, spatial = needs_volume(ins[0], "locally connected layer")
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
        "kernel": tuple(s.kernel), "stride": tuple(s.stride), "pads": pad_order(floor_pads(s, spatial)),
        "out_size": tuple(out[1:]), "bias": layer.args["bias"]})


LOCAL = LayerKind(
    "local", "local", infer_local, main="filters", windowed=True,
    aliases=("locally_connected", "local2d", "unshared_conv"),
    doc="locally connected layer: a CONV whose filters are not shared across positions",
    fields=(
        Field("filters", "int", None, aliases=("out_channels",), minimum=1, doc="filters K per position"),
        KERNEL,
        *(f for f in WINDOW_FIELDS if f.name != "dilation"),
        Field("bias", "bool", True, doc="one bias per output element"),
    ),
    torch=torch_local, saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE,
)
