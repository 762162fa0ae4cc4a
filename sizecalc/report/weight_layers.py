"""Depth as the papers count it: the weight layers on the longest path through the network.

"VGG16", "ResNet-152", "GoogLeNet is 22 layers deep when counting only layers with
parameters" (Szegedy et al. 2014): the number is the conv and fc layers that one input
passes through on its way to the output, along the path with the most of them. Counted:
layers of the conv, fc and local families that have weights (a flatten has none); not
counted: normalisation (its scale and shift are parameters, but no paper counts a batch
norm), pooling, activations and merges. Along the longest path, ResNet's 1x1 projection
shortcuts (one conv beside two or three) and GoogLeNet's parallel branches do not add,
so VGG16 is 16, ResNet-50 50, ResNet-152 152, GoogLeNet 22, DenseNet-121 121, AlexNet 8,
LeNet-5 5 (C1, C3, C5, F6 and the output). A squeeze-excitation gate's two fc (conv 1x1)
layers lie on the longest path of their block and count.
"""

from __future__ import annotations

from ..layers import lookup

FAMILIES = ("conv", "fc", "local")  # the families whose weighted layers count
DEFINITION = "conv and fc on the longest path: the depth in names such as VGG16, ResNet-50"


def weight_layers(rows) -> int:
    """The weight layers on the longest path from the input to the last row (0 for no rows).
    One pass over the rows, which are in topological order."""
    counted = {op: kind is not None and kind.family in FAMILIES for op in {r.op for r in rows}
               for kind in (lookup(op),)}
    longest: dict[str, int] = {}
    last = 0
    for row in rows:
        last = max((longest.get(i, 0) for i in row.inputs), default=0) + (counted[row.op] and row.weights > 0)
        longest[row.id] = last
    return last
