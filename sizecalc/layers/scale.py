"""The residual branch of ConvNeXt (and of the vision transformers): layer scale and
stochastic depth (drop path).

Layer scale multiplies each channel by a learned number (torchvision's ConvNeXt:
`self.layer_scale * x`, a C x 1 x 1 parameter): C params, one multiply per value (counted
only under `--macs all`: no conv or fc MACs). Its initial value (1e-6 in ConvNeXt) changes
no size. Autograd keeps its input, for the gradient of the scale.

Stochastic depth (torchvision.ops.StochasticDepth) drops a whole residual branch per sample
while training: mode `row` draws one number per sample (a noise tensor N x 1 x ... x 1, in
the activation dtype, divided by the survival rate 1 - p) and multiplies; mode `batch` one
number for the whole batch. At inference, and with p = 0 (ConvNeXt's first block), it is
the identity: it returns its input (no storage of its own). In training with p > 0 the
product is a new tensor, and autograd keeps the noise (N values in row mode, 1 in batch
mode: the input needs no saving, the noise needs no gradient). Memory follows the two
regimes as it does for dropout: the saved-for-backward and forward figures are the training
pass's, the inference peak treats it as the identity.
"""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_INPUT, ArgField, LayerKind, Saved, Sizing, TorchModule,
                   channels_field, check_channels)


def infer_layer_scale(layer, ins) -> Sizing:
    check_channels(layer, "dim", ins[0])
    c = ins[0][0]
    return Sizing(ins[0], c, other_macs=prod(ins[0]), explain=[f"params {c:,} (a scale per channel)"])


def torch_layer_scale(layer, ins, out):
    """sizecalc's LayerScale: a C x 1 x ... x 1 parameter times the input."""
    return TorchModule("LayerScale", (ins[0][0], len(ins[0]) - 1), {"init": layer.args["init"]})


def saved_layer_scale(layer, ins, out):
    """The input, for the scale's gradient (the scale itself is a parameter)."""
    return SAVES_INPUT


def infer_drop_path(layer, ins) -> Sizing:
    p = layer.args["p"]
    what = "identity (p = 0)" if p == 0 else f"drops the branch for a fraction {p:g} of the samples while training"
    return Sizing(ins[0], explain=[f"no params; {what}; identity at inference"])


def torch_drop_path(layer, ins, out):
    """sizecalc's DropPath: torchvision.ops.StochasticDepth's forward."""
    return TorchModule("DropPath", (layer.args["p"], layer.args["mode"]))


def saved_drop_path(layer, ins, out):
    """The noise: one value per sample (row) or per batch (batch); nothing at p = 0."""
    if layer.args["p"] == 0:
        return ()
    return (Saved("own", elems=1, per_sample=layer.args["mode"] == "row"),)


def drop_path_alias(layer, ins) -> bool:
    """At p = 0 it returns its input; else (in training) a product of its own."""
    return layer.args["p"] == 0


LAYER_SCALE = LayerKind(
    "layer_scale", "norm", infer_layer_scale, main="init", aliases=("layerscale",),
    doc="a learned scale per channel, times the input (ConvNeXt, CaiT): C params",
    fields=(ArgField("init", "float", 1e-6, doc="the scale's initial value (ConvNeXt: 1e-6): it changes no size"),
            channels_field("dim", "the channels C")),
    torch=torch_layer_scale, saved=saved_layer_scale, alias=NO_ALIAS, workspace=NO_WORKSPACE)
# family "dropout": the memory model passes it through at inference, as dropout
DROP_PATH = LayerKind(
    "drop_path", "dropout", infer_drop_path, main="p", aliases=("stochastic_depth", "droppath"),
    doc="stochastic depth: drops a residual branch per sample while training, identity at inference",
    fields=(ArgField("p", "float", 0.0, aliases=("rate", "drop_prob"), minimum=0, maximum=1,
                     doc="the probability of dropping the branch (torchvision's p)"),
            ArgField("mode", "choice", "row", choices=("row", "batch"),
                     doc="row: a draw per sample; batch: one draw for the whole batch")),
    torch=torch_drop_path, saved=saved_drop_path, alias=drop_path_alias, workspace=NO_WORKSPACE)
