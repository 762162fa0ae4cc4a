"""Channel bookkeeping: split (one part of the channels) and shuffle (ShuffleNet). No params,
no MACs. (Upsampling is a resize: layers/resize.py.)"""

from __future__ import annotations

from .base import NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Sizing, TorchModule, always


def infer_split(layer, ins) -> Sizing:
    c = ins[0][0]
    parts, part = layer.args["parts"], layer.args["part"]
    if c % parts:
        raise LayerError("split", f"{c} channels do not split into {parts} equal parts", "parts",
                         f"use a divisor of {c}")
    if part >= parts:
        raise LayerError("split", f"part {part} does not exist: parts are numbered 0 to {parts - 1}",
                         "part", f"use a part from 0 to {parts - 1}")
    return Sizing((c // parts, *ins[0][1:]), explain=[f"channels {c}/{parts} = {c // parts} (part {part})"])


def infer_shuffle(layer, ins) -> Sizing:
    c, g = ins[0][0], layer.args["groups"]
    if c % g:
        raise LayerError("groups", f"{c} channels do not shuffle in {g} groups", "groups",
                         f"use a divisor of {c}")
    return Sizing(ins[0])


def torch_split(layer, ins, out):
    """torch.chunk(x, parts, dim=1)[part]."""
    return TorchModule("Split", (layer.args["parts"], layer.args["part"]))


def torch_shuffle(layer, ins, out):
    """torchvision's channel_shuffle (ShuffleNet)."""
    return TorchModule("ChannelShuffle", (layer.args["groups"],))


def shuffle_is_view(layer, ins) -> bool:
    """With 1 group, or one channel per group, the transpose moves a dimension of size 1:
    `contiguous()` then returns its input, and the shuffle is a view."""
    return layer.args["groups"] in (1, ins[0][0])


# a chunk is a view of its input; shuffle's view/transpose/contiguous keep nothing for backward
# (their gradients need only shapes)
SPLIT = LayerKind("split", "channel", infer_split, main="parts", aliases=("chunk",),
                  doc="one of `parts` equal slices of the channels (ShuffleNet's channel split)",
                  fields=(ArgField("parts", "int", 2, minimum=1), ArgField("part", "int", 0, minimum=0)),
                  torch=torch_split, saved=SAVES_NOTHING, alias=always, workspace=NO_WORKSPACE)
SHUFFLE = LayerKind("shuffle", "channel", infer_shuffle, main="groups", aliases=("channel_shuffle", "channelshuffle"),
                    doc="channel shuffle between groups (ShuffleNet)",
                    fields=(ArgField("groups", "int", 2, minimum=1),), torch=torch_shuffle,
                    saved=SAVES_NOTHING, alias=shuffle_is_view, workspace=NO_WORKSPACE)
