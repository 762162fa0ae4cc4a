"""The torch layer: a spec graph as a real nn.Module (`backend`, `modules`), the forward-pass
cross-check, `export --torch`, and `sizecalc import` of a module (`fx_import`: the build, the
trace and the walk over the graph, with `fx_ops`, `fx_patterns`, `fx_blocks`, `fx_nodes` and
`fx_layouts`). The only place sizecalc imports torch, always inside
functions or in modules that only torch-needing code imports; importing this package does
not import torch.
"""

from __future__ import annotations


def installed() -> bool:
    """Whether torch can be imported, found without importing it (that takes seconds)."""
    import sys
    from importlib.util import find_spec
    if "torch" in sys.modules:  # already imported, or marked missing (None)
        return sys.modules["torch"] is not None
    return find_spec("torch") is not None
