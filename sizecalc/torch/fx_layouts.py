"""How torch holds each tensor relative to sizecalc's order (channels first; tokens C x N):
`_Layouts`, the record the walk keeps over the graph (a channels-last permute, a token sequence,
MaxViT's groups, MViT's grid), and `_in_layout`, whether a mapped kind may read its input as
torch holds it.
"""

from __future__ import annotations

from .fx_nodes import _prod, _shape

# kinds that work on each value (or each channel) whatever the order of torch's dimensions:
# their output keeps their input's layout (channels last, a token sequence)
KEEP_LAYOUT = {"relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "hardswish",
               "hardsigmoid", "identity", "dropout", "drop_path", "add", "mul", "layernorm", "layer_scale",
               "position_embedding", "attention", "fc", "conv"}


class _Layouts:
    """How torch holds each tensor relative to sizecalc's order (channels first; tokens C x N):
    `perm[node][i]` is the sizecalc dimension at torch's dimension i (absent: the same order),
    `sequence` the nodes that are token sequences."""

    def __init__(self):
        self.perm: dict = {}
        self.sequence: set = set()
        self.grouped: set = set()  # MaxViT's partitioned map: groups x tokens x C, sizecalc's C x N tokens
        self.grid: set = set()  # ... in grid mode, swapped: the grid's groups
        self.thw: dict = {}  # a token sequence's grid (MViT's T x H x W): node -> grid

    def order(self, node) -> tuple:
        if node in self.grouped:
            return ("grouped",)
        return self.perm.get(node) or tuple(range(len(_shape(node))))

    def canonical(self, node) -> tuple:
        """The node's shape in sizecalc's order."""
        if node in self.grouped:
            shape = _shape(node)
            return shape[-1], _prod(shape[:-1])
        shape, perm = _shape(node), self.perm.get(node)
        if not perm:
            return shape
        out = [0] * len(shape)
        for i, d in enumerate(perm):
            out[d] = shape[i]
        return tuple(out)

    def same(self, node) -> bool:
        return self.order(node) == tuple(range(len(_shape(node))))

    def channels_last(self, node) -> bool:
        order = self.order(node)
        return len(order) == 1 or order[-1] == 0 or node in self.grouped

    def keep(self, node, source):
        if source in self.perm:
            self.perm[node] = self.perm[source]
        if source in self.sequence:
            self.sequence.add(node)
        if source in self.grouped:
            self.grouped.add(node)
        if source in self.grid:
            self.grid.add(node)
        if source in self.thw:
            self.thw[node] = self.thw[source]


def _in_layout(node, mapped, inputs, layouts):
    """The mapping, where sizecalc's kind reads its input as torch holds it: a kind that works
    per value keeps any layout; any other needs sizecalc's own order (not a token sequence,
    unless it reads one)."""
    if mapped is None or mapped == "pass":
        return mapped  # a view that keeps the shape, contiguous: the layout stays
    kind = (mapped[0] if isinstance(mapped, list) else mapped)[0]
    if kind in KEEP_LAYOUT and len({layouts.order(n) for n in inputs}) <= 1 \
            and len({n in layouts.sequence for n in inputs}) <= 1:
        return mapped
    if kind in ("select_token", "tokens") or all(layouts.same(n) and n not in layouts.sequence for n in inputs):
        return mapped
    return None
