"""The pictures' vocabulary: a colour per layer family (fill, outline), the legend's names,
and the family of a row's op."""

from __future__ import annotations

# colours by layer family (fill, outline); the legend names them
COLOURS = {
    "input": ("#d9d9d9", "#7f7f7f"),
    "conv": ("#9ecae1", "#2b6c9e"),
    "local": ("#c6dbef", "#2b6c9e"),
    "pool": ("#fc9272", "#b2402a"),
    "fc": ("#a1d99b", "#31803a"),
    "norm": ("#fdd49e", "#b06f12"),
    "activation": ("#f0f0f0", "#8c8c8c"),
    "dropout": ("#f0f0f0", "#8c8c8c"),
    "merge": ("#dadaeb", "#5e4fa2"),
    "channel": ("#e5f5e0", "#557a55"),
    "block": ("#bcbddc", "#4a3f8c"),
    "other": ("#eeeeee", "#777777"),
}
FAMILY_NAMES = {"input": "input", "conv": "conv", "local": "locally connected", "pool": "pool",
                "fc": "fc (fully connected)", "norm": "norm", "activation": "activation", "dropout": "dropout",
                "merge": "merge (add, concat, mul)", "channel": "reshape / channels", "block": "block (folded)",
                "other": "other"}


def family(op: str) -> str:
    """The family of a row's op (its colour), `block` for a folded block."""
    if op == "block":
        return "block"
    from ...layers import lookup
    kind = lookup(op)
    return kind.family if kind is not None and kind.family in COLOURS else "other"
