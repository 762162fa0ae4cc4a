"""Normalisation: batch norm (learned scale and shift per channel, running statistics as
buffers), group norm, and the local response normalisation of AlexNet (no params)."""

from __future__ import annotations

from .base import Field, LayerError, LayerKind, Sizing, register


def infer_batchnorm(layer, ins) -> Sizing:
    c = ins[0][0]
    affine = layer.args["affine"]
    # buffers: running mean and variance (C each) and PyTorch's num_batches_tracked counter
    buffers = 2 * c + 1 if layer.args["track_running_stats"] else 0
    return Sizing(ins[0], c if affine else 0, c if affine else 0, buffers,
                  explain=[f"params 2*{c} = {2 * c if affine else 0:,} (scale, shift); "
                           f"buffers 2*{c} + 1 = {buffers:,}"])


def infer_groupnorm(layer, ins) -> Sizing:
    c = ins[0][0]
    g = layer.args["groups"]
    if c % g:
        raise LayerError("groups", f"groups {g} does not divide the {c} channels", "groups",
                         f"use a divisor of {c}")
    return Sizing(ins[0], c, c, explain=[f"params 2*{c} = {2 * c:,} (scale, shift)"])


def infer_lrn(layer, ins) -> Sizing:
    return Sizing(ins[0], explain=["no params"])


register(LayerKind("bn", "norm", infer_batchnorm, aliases=("batchnorm", "batch_norm", "batchnorm2d", "bn2d"),
                   doc="batch normalisation: scale and shift per channel, running mean/var buffers",
                   fields=(Field("eps", "float", 1e-5, minimum=0), Field("momentum", "float", 0.1, minimum=0, maximum=1),
                           Field("affine", "bool", True), Field("track_running_stats", "bool", True))))
register(LayerKind("groupnorm", "norm", infer_groupnorm, main="groups", aliases=("group_norm", "gn"),
                   doc="group normalisation: scale and shift per channel",
                   fields=(Field("groups", "int", aliases=("num_groups",), minimum=1),
                           Field("eps", "float", 1e-5, minimum=0))))
register(LayerKind("lrn", "norm", infer_lrn, main="size",
                   aliases=("local_response_norm", "norm", "localresponsenorm"),
                   doc="local response normalisation across channels (AlexNet's NORM)",
                   fields=(Field("size", "int", 5, minimum=1), Field("alpha", "float", 1e-4),
                           Field("beta", "float", 0.75), Field("k", "float", 1.0))))
