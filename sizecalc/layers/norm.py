"""Normalisation: batch norm (learned scale and shift per channel, running statistics as
buffers), group norm, and the local response normalisation of AlexNet (no params)."""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, ArgField, LayerError, LayerKind, Saved, Sizing, TorchModule, channels_field,
                   check_channels, needs_volume)


def infer_batchnorm(layer, ins) -> Sizing:
    check_channels(layer, "num_features", ins[0])
    c = ins[0][0]
    affine = layer.args["affine"]
    # buffers: running mean and variance (C each) and PyTorch's num_batches_tracked counter
    buffers = 2 * c + 1 if layer.args["track_running_stats"] else 0
    return Sizing(ins[0], c if affine else 0, c if affine else 0, buffers, other_macs=prod(ins[0]),
                  explain=[f"params 2*{c} = {2 * c if affine else 0:,} (scale, shift); "
                           f"buffers 2*{c} + 1 = {buffers:,}"])


def infer_groupnorm(layer, ins) -> Sizing:
    check_channels(layer, "num_channels", ins[0])
    c = ins[0][0]
    g = layer.args["groups"]
    if c % g:
        raise LayerError("groups", f"groups {g} does not divide the {c} channels", "groups",
                         f"use a divisor of {c}")
    return Sizing(ins[0], c, c, explain=[f"params 2*{c} = {2 * c:,} (scale, shift)"], other_macs=prod(ins[0]))


def infer_lrn(layer, ins) -> Sizing:
    needs_volume(ins[0], "lrn")  # PyTorch normalises across channels of a volume, not a vector
    return Sizing(ins[0], explain=["no params"], other_macs=prod(ins[0]) * layer.args["size"])


def torch_bn(layer, ins, out):
    """nn.BatchNorm1d for vectors and 1-D volumes, 2d for images, 3d for 3-D volumes."""
    a = layer.args
    return TorchModule(f"BatchNorm{max(len(ins[0]) - 1, 1)}d", (ins[0][0],), {
        "eps": a["eps"], "momentum": a["momentum"], "affine": a["affine"],
        "track_running_stats": a["track_running_stats"]})


def torch_groupnorm(layer, ins, out):
    return TorchModule("GroupNorm", (layer.args["groups"], ins[0][0]), {"eps": layer.args["eps"]})


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


def _group_stats(layer) -> Saved:
    """Mean and inverse deviation per sample and group, in the activation dtype."""
    return Saved("own", elems=2 * layer.args["groups"])


def saved_groupnorm(layer, ins, out):
    return (Saved("input"), _group_stats(layer))


def workspace_groupnorm(layer, ins, out):
    """native_group_norm returns the statistics at inference too."""
    return (_group_stats(layer),)


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
GROUPNORM = LayerKind("groupnorm", "norm", infer_groupnorm, main="groups", aliases=("group_norm", "gn"),
                      doc="group normalisation: scale and shift per channel",
                      fields=(ArgField("groups", "int", aliases=("num_groups",), minimum=1),
                              channels_field("num_channels", "the input's channels C"),
                              ArgField("eps", "float", 1e-5, minimum=0)),
                      torch=torch_groupnorm, saved=saved_groupnorm, alias=NO_ALIAS, workspace=workspace_groupnorm)
LRN = LayerKind("lrn", "norm", infer_lrn, main="size", aliases=("local_response_norm", "norm", "localresponsenorm"),
                doc="local response normalisation across channels (AlexNet's NORM)",
                fields=(ArgField("size", "int", 5, minimum=1), ArgField("alpha", "float", 1e-4),
                        ArgField("beta", "float", 0.75), ArgField("k", "float", 1.0)),
                torch=torch_lrn, saved=saved_lrn, alias=NO_ALIAS, workspace=workspace_lrn)
