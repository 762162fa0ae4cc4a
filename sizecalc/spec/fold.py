"""Module hierarchy -> blocks: numbered sibling submodules of one structure (ResNet's
`layer1.0`, `layer1.1`, ...) written once as a block used with `repeat:` and `first:`.
(Filled in by the next commit; None = write the layers flat.)"""

from __future__ import annotations


def fold_layers(ops, ids, refs, defaults, rounding):
    return None
