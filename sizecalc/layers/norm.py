"""Normalisation: batch norm (learned scale and shift per channel, running statistics as
buffers), instance norm (batch norm of each sample alone), group norm, layer norm, and the
local response normalisation of AlexNet (no params).

Instance norm normalises each channel of each sample over its own H x W (style transfer,
CycleGAN, pix2pix). torch's defaults differ from batch norm's: no scale and shift
(affine false: 0 params; true: 2*C) and no running statistics (track_running_stats false: 0
buffers; true: running mean and variance, 2*C, and num_batches_tracked, 1, as batch norm).
torch computes it as a batch norm of a 1 x N*C x H x W view, repeating the per-channel
weight and running statistics N times: those copies are what memory counts besides the
statistics. For the receptive field it is pointwise, as batch and group norm are: the
statistics it divides by come from the whole map, but the field follows the windows only.

Layer norm normalises the C channels at each position on their own (a token of a C x N
sequence, a pixel of ConvNeXt's C x H x W map): a mean and an inverse deviation per sample
and position, then (elementwise_affine) a learned scale and (bias) shift per channel, 2*C
params, no buffers. torch's nn.LayerNorm normalises the LAST dimensions, so for a volume
torch runs it channels last, as ConvNeXt's LayerNorm2d does: permute to N x ... x C,
F.layer_norm, permute back. Storage, as torch keeps it:
- a permute is a view: it costs nothing, and autograd saves nothing for it;
- F.layer_norm wants its input contiguous: a channels-first input permuted channels last is
  not, so it makes a contiguous copy of it (the input's size) for as long as it runs, and
  frees it; autograd saves the permuted view (the input's own storage), not the copy, and
  the mean and inverse deviation (one each per sample and position: in the activation dtype
  on the CPU, fp32 on CUDA). The output is a storage of its own (channels last in memory,
  seen channels first through the permute back), the input's size.
- an input whose memory is already channels last (the output of a layer after a layer norm
  in ConvNeXt) permutes to a contiguous tensor and is not copied: the copy is counted as the
  layer's workspace at inference, the larger case (an input laid out channels first). A
  vector (C,) needs no permute and no copy, nor does a token sequence (core.units.Tokens: torch
  holds it as batch x N x C, nn.LayerNorm's own case, as torchvision's ViT).
For the receptive field it is pointwise: each position is normalised over its own channels.
"""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, ArgField, LayerError, LayerKind, Saved, Sizing, TorchModule, channels_field,
                   check_channels, needs_volume)
from ..core.units import is_tokens


def infer_batchnorm(layer, ins) -> Sizing:
    check_channels(layer, "num_features", ins[0])
    c = ins[0][0]
    affine = layer.args["affine"]
    # buffers: running mean and variance (C each) and PyTorch's num_batches_tracked counter
    buffers = 2 * c + 1 if layer.args["track_running_stats"] else 0
    return Sizing(ins[0], c if affine else 0, c if affine else 0, buffers, other_macs=prod(ins[0]),
                  explain=[f"params 2*{c} = {2 * c if affine else 0:,} (scale, shift); "
                           f"buffers 2*{c} + 1 = {buffers:,}"])


def infer_instancenorm(layer, ins) -> Sizing:
    c, spatial = needs_volume(ins[0], "instance_norm")  # a sample's channel needs values to normalise over
    check_channels(layer, "num_features", ins[0])
    affine = layer.args["affine"]
    buffers = 2 * c + 1 if layer.args["track_running_stats"] else 0
    return Sizing(ins[0], c if affine else 0, c if affine else 0, buffers, other_macs=prod(ins[0]),
                  explain=[f"params {'2*' + str(c) if affine else 'none (affine: false)'} = {2 * c if affine else 0:,};"
                           f" buffers {'2*' + str(c) + ' + 1' if buffers else 'none'} = {buffers:,}"])


def infer_groupnorm(layer, ins) -> Sizing:
    check_channels(layer, "num_channels", ins[0])
    c = ins[0][0]
    g = layer.args["groups"]
    if c % g:
        raise LayerError("groups", f"groups {g} does not divide the {c} channels", "groups",
                         f"use a divisor of {c}")
    return Sizing(ins[0], c, c, explain=[f"params 2*{c} = {2 * c:,} (scale, shift)"], other_macs=prod(ins[0]))


def infer_layernorm(layer, ins) -> Sizing:
    check_channels(layer, "normalized_shape", ins[0])
    c = ins[0][0]
    a = layer.args
    weights = c if a["elementwise_affine"] else 0
    biases = c if a["elementwise_affine"] and a["bias"] else 0
    terms = "+".join(name for name, n in (("scale", weights), ("shift", biases)) if n) or "none"
    return Sizing(ins[0], weights, biases, other_macs=prod(ins[0]),
                  explain=[f"params {(weights > 0) + (biases > 0)}*{c} = {weights + biases:,} ({terms} per channel, "
                           f"normalised over the {c} channels at each of {prod(ins[0][1:]):,} positions)"])


def infer_lrn(layer, ins) -> Sizing:
    needs_volume(ins[0], "lrn")  # PyTorch normalises across channels of a volume, not a vector
    return Sizing(ins[0], explain=["no params"], other_macs=prod(ins[0]) * layer.args["size"])


def torch_bn(layer, ins, out):
    """nn.BatchNorm1d for vectors and 1-D volumes, 2d for images, 3d for 3-D volumes."""
    a = layer.args
    return TorchModule(f"BatchNorm{max(len(ins[0]) - 1, 1)}d", (ins[0][0],), {
        "eps": a["eps"], "momentum": a["momentum"], "affine": a["affine"],
        "track_running_stats": a["track_running_stats"]})


def torch_instancenorm(layer, ins, out):
    """nn.InstanceNorm1d/2d/3d by the input's rank."""
    a = layer.args
    return TorchModule(f"InstanceNorm{len(ins[0]) - 1}d", (ins[0][0],), {
        "eps": a["eps"], "momentum": a["momentum"], "affine": a["affine"],
        "track_running_stats": a["track_running_stats"]})


def torch_groupnorm(layer, ins, out):
    return TorchModule("GroupNorm", (layer.args["groups"], ins[0][0]), {"eps": layer.args["eps"]})


def torch_layernorm(layer, ins, out):
    """sizecalc's ChannelLayerNorm: nn.LayerNorm(C) run channels last (permute, F.layer_norm,
    permute back), as ConvNeXt's LayerNorm2d; a vector (C,) is nn.LayerNorm's own case."""
    a = layer.args
    if is_tokens(ins[0]):  # batch x N x C in torch: nn.LayerNorm's own case, as torchvision's ViT
        return TorchModule("LayerNorm", (ins[0][0],), {
            "eps": a["eps"], "elementwise_affine": a["elementwise_affine"], "bias": a["bias"]})
    return TorchModule("ChannelLayerNorm", (ins[0][0],), {
        "eps": a["eps"], "elementwise_affine": a["elementwise_affine"], "bias": a["bias"]})


def torch_lrn(layer, ins, out):
    a = layer.args
    return TorchModule("LocalResponseNorm", (a["size"],), {"alpha": a["alpha"], "beta": a["beta"], "k": a["k"]})


def _batch_stats(ins) -> Saved:
    """The per-channel mean and inverse deviation of the batch: in the activation dtype on
    the CPU (no mixed dtypes there), fp32 on CUDA."""
    return Saved("own", elems=2 * ins[0][0], per_sample=False, cuda_nbytes=4)


def saved_batchnorm(layer, ins, out):
    """Training keeps the input and the batch statistics."""
    return (Saved("input"), _batch_stats(ins))


def workspace_batchnorm(layer, ins, out):
    """Without running statistics, inference normalises with the batch's, computed on the spot."""
    return () if layer.args["track_running_stats"] else (_batch_stats(ins),)


def _instance_copies(layer, ins, training: bool) -> tuple:
    """torch's instance norm repeats the per-channel tensors it hands batch norm for each of
    the N samples (C per sample each, in the activation dtype): the running mean and variance
    when tracked, the weight when affine (and, without autograd, the bias: batch norm's
    backward needs no bias, so training keeps it not)."""
    c = ins[0][0]
    count = 2 * layer.args["track_running_stats"] + (2 - training) * layer.args["affine"]
    return (Saved("own", elems=count * c),) if count else ()


def saved_instancenorm(layer, ins, out):
    """Training keeps the input, each sample's mean and inverse deviation per channel (2*C,
    as batch norm's statistics of the N*C channels), and the repeated tensors it needs."""
    c = ins[0][0]
    return (Saved("input"), Saved("own", elems=2 * c, cuda_nbytes=4)) + _instance_copies(layer, ins, True)


def workspace_instancenorm(layer, ins, out):
    """At inference the statistics are the sample's (computed on the spot: 2*C), or the
    running ones repeated per sample (2*C), and the weight and bias repeated when affine."""
    c = ins[0][0]
    copies = 2 * c * layer.args["affine"]
    return (Saved("own", elems=2 * c, cuda_nbytes=None if layer.args["track_running_stats"] else 4),) + (
        (Saved("own", elems=copies),) if copies else ())


def _group_stats(layer) -> Saved:
    """Mean and inverse deviation per sample and group, in the activation dtype."""
    return Saved("own", elems=2 * layer.args["groups"])


def saved_groupnorm(layer, ins, out):
    return (Saved("input"), _group_stats(layer))


def workspace_groupnorm(layer, ins, out):
    """native_group_norm returns the statistics at inference too."""
    return (_group_stats(layer),)


def _position_stats(ins) -> Saved:
    """The mean and inverse deviation of each position (per sample): in the activation dtype
    on the CPU, fp32 on CUDA."""
    return Saved("own", elems=2 * prod(ins[0][1:]), cuda_nbytes=4)


def saved_layernorm(layer, ins, out):
    """Training keeps the input (the permuted view: its storage) and the statistics per position."""
    return (Saved("input"), _position_stats(ins))


def workspace_layernorm(layer, ins, out):
    """The statistics, and F.layer_norm's contiguous copy of a channels-first input permuted
    channels last (none for a vector)."""
    copy = (Saved("own", elems=prod(ins[0])),) if len(ins[0]) > 1 and not is_tokens(ins[0]) else ()
    return (_position_stats(ins),) + copy


def saved_lrn(layer, ins, out):
    """PyTorch computes LRN from smaller ops: it keeps the input, the squared input padded by
    size - 1 channels (for the average pool), and two C x H x W intermediates."""
    c, spatial = ins[0][0], prod(ins[0][1:])
    return (Saved("input"), Saved("own", elems=(c + layer.args["size"] - 1) * spatial),
            Saved("own", elems=2 * c * spatial))


def workspace_lrn(layer, ins, out):
    """Without autograd, two C x H x W intermediates of that computation are alive at its peak."""
    return (Saved("own", elems=2 * prod(out)),)


BN = LayerKind("bn", "norm", infer_batchnorm, main="num_features",
               aliases=("batchnorm", "batch_norm", "batchnorm1d", "batchnorm2d", "batchnorm3d", "bn2d"),
               doc="batch normalisation: scale and shift per channel, running mean/var buffers",
               fields=(channels_field("num_features", "the input's channels C"),
                       ArgField("eps", "float", 1e-5, minimum=0),
                       ArgField("momentum", "float", 0.1, minimum=0, maximum=1),
                       ArgField("affine", "bool", True), ArgField("track_running_stats", "bool", True)),
               torch=torch_bn, saved=saved_batchnorm, alias=NO_ALIAS, workspace=workspace_batchnorm)
INSTANCE_NORM = LayerKind(
    "instance_norm", "norm", infer_instancenorm, main="num_features",
    aliases=("instancenorm", "instancenorm1d", "instancenorm2d", "instancenorm3d", "inorm"),
    doc="instance normalisation: each sample's channel over its own positions (torch: affine and running "
        "stats off by default)",
    fields=(channels_field("num_features", "the input's channels C"), ArgField("eps", "float", 1e-5, minimum=0),
            ArgField("momentum", "float", 0.1, minimum=0, maximum=1),
            ArgField("affine", "bool", False, doc="a learned scale and shift per channel (2*C params)"),
            ArgField("track_running_stats", "bool", False,
                     doc="running mean and variance as buffers (2*C + 1, with num_batches_tracked)")),
    torch=torch_instancenorm, saved=saved_instancenorm, alias=NO_ALIAS, workspace=workspace_instancenorm)
GROUPNORM = LayerKind("groupnorm", "norm", infer_groupnorm, main="groups", aliases=("group_norm", "gn"),
                      doc="group normalisation: scale and shift per channel",
                      fields=(ArgField("groups", "int", aliases=("num_groups",), minimum=1),
                              channels_field("num_channels", "the input's channels C"),
                              ArgField("eps", "float", 1e-5, minimum=0)),
                      torch=torch_groupnorm, saved=saved_groupnorm, alias=NO_ALIAS, workspace=workspace_groupnorm)
LAYERNORM = LayerKind(
    "layernorm", "norm", infer_layernorm, main="normalized_shape",
    aliases=("layer_norm", "ln", "layernorm2d"),
    doc="layer normalisation over the channels at each position (tokens, ConvNeXt's LayerNorm2d): "
        "scale and shift per channel, no buffers",
    fields=(channels_field("normalized_shape", "the channels C normalised at each position"),
            ArgField("eps", "float", 1e-5, minimum=0),
            ArgField("elementwise_affine", "bool", True, aliases=("affine",),
                     doc="a learned scale per channel (C params), and a shift unless bias: false"),
            ArgField("bias", "bool", True, doc="the learned shift per channel (C params; torch's bias)")),
    torch=torch_layernorm, saved=saved_layernorm, alias=NO_ALIAS, workspace=workspace_layernorm)
LRN = LayerKind("lrn", "norm", infer_lrn, main="size", aliases=("local_response_norm", "norm", "localresponsenorm"),
                doc="local response normalisation across channels (AlexNet's NORM)",
                fields=(ArgField("size", "int", 5, minimum=1), ArgField("alpha", "float", 1e-4),
                        ArgField("beta", "float", 0.75), ArgField("k", "float", 1.0)),
                torch=torch_lrn, saved=saved_lrn, alias=NO_ALIAS, workspace=workspace_lrn)
