"""Reading a volume as it was typed: channels first (C x H x W: PyTorch's order, and the
default of `--input` and of a spec's `input:`) or channels last (H x W x C: the lecture's,
and the default of `layer --in`), and noticing when what was typed looks like the other.

Inside sizecalc a shape is always channels first, per sample: (C,) a vector of features,
(C, L), (C, H, W) or (C, D, H, W). A typed volume is reordered here, once. The checks
return what to say (data); the CLI and the spec loader turn it into a warning or an error.
Nothing here prints.
"""

from __future__ import annotations


LAYOUTS = ("chw", "hwc")  # channels first, channels last
SMALL_CHANNELS = (1, 2, 3, 4)  # grey, grey + alpha, RGB, RGBA: an image's channels
IMAGE_SIDE = 8  # a side at least this long is a plausible image side
_SPATIAL = {1: (), 2: ("L",), 3: ("H", "W"), 4: ("D", "H", "W")}


def order_text(layout: str, rank: int) -> str:
    """How `rank` typed sizes are read in `layout`: 'C x H x W', 'L x C', 'C' (a vector)."""
    spatial = _SPATIAL[rank]
    if not spatial:
        return "C (a vector of features)"
    return " x ".join(("C", *spatial) if layout == "chw" else (*spatial, "C"))


def other(layout: str) -> str:
    return "hwc" if layout == "chw" else "chw"


def to_shape(typed: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """The sizes as typed in `layout` -> (C, *spatial)."""
    if layout == "chw" or len(typed) == 1:
        return tuple(typed)
    return (typed[-1], *typed[:-1])


def typed_as(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """(C, *spatial) -> the sizes as they are typed in `layout` (to_shape's inverse)."""
    if layout == "chw" or len(shape) == 1:
        return tuple(shape)
    return (*shape[1:], shape[0])


def looks_swapped(typed: tuple[int, ...], layout: str) -> tuple[int, ...] | None:
    """When `typed`, read in `layout`, looks like a volume typed in the other layout, the same
    volume as it is typed in `layout` (224x224x3 read channels first -> (3, 224, 224));
    else None. It looks so when the other reading has an image's 1 to 4 channels and every
    side at least IMAGE_SIDE, which this reading does not (it makes a side of the channels)."""
    if len(typed) < 2:
        return None
    theirs = to_shape(typed, other(layout))
    mine = to_shape(typed, layout)
    if theirs[0] in SMALL_CHANNELS and min(theirs[1:]) >= IMAGE_SIDE and mine[0] not in SMALL_CHANNELS:
        return typed_as(theirs, layout)
    return None


def missing_channels(typed: tuple[int, ...]) -> bool:
    """Two equal sizes of an image's side (32x32, 224x224): an image typed without its
    channels, not a 1-D volume of as many channels as samples."""
    return len(typed) == 2 and typed[0] == typed[1] >= IMAGE_SIDE


def swapped_message(typed: tuple[int, ...], layout: str, written: str, how: str) -> str:
    """What a warning of looks_swapped says: the volume as `written`, the reading taken (and
    `how` it was chosen), and the other reading."""
    shape = to_shape(typed, layout)
    theirs = to_shape(typed, other(layout))
    rank = len(typed)
    return (f"{written} is read {order_text(layout, rank)} ({how}): {shape[0]:,} channels of "
            f"{_sides(shape)}; it looks like {order_text(other(layout), rank)}, {theirs[0]} channel"
            f"{'s' if theirs[0] != 1 else ''} of {_sides(theirs)}")


def missing_message(typed: tuple[int, ...], layout: str, written: str, how: str) -> str:
    """What the error of missing_channels says."""
    shape = to_shape(typed, layout)
    return (f"{written} has no channels: read {order_text(layout, 2)} ({how}) it would be a 1-D volume of "
            f"{shape[0]:,} channels of length {shape[1]:,}, not a {typed[0]:,} x {typed[1]:,} image")


def with_channels(typed: tuple[int, ...], layout: str, channels: int = 3) -> tuple[int, ...]:
    """An image of the typed sides with `channels`, as typed in `layout` (the fix of
    missing_message)."""
    return (channels, *typed) if layout == "chw" else (*typed, channels)


def _sides(shape: tuple[int, ...]) -> str:
    return " x ".join(f"{d:,}" for d in shape[1:])
