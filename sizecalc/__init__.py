"""sizecalc: size convolutional networks before anyone trains them.

    >>> import sizecalc
    >>> report = sizecalc.analyze("vgg16", batch=8)
    >>> report.totals.params
    138357544

The package is in layers; each imports only the layers below it:
core (findings, geometry, receptive field) -> layers (one module per layer family) ->
spec (YAML -> graph) -> report (the Report and its renderers) -> engine (one walk fills a
Report; memory model) -> tools (lint, solve, inputs, fit, compare) -> torch (the only
place torch is imported) -> cli (click commands only). The static path never imports torch.
"""

from __future__ import annotations

from .core.errors import Finding, InputError, SizecalcError, SpecError  # noqa: F401
from .core.version import __version__  # noqa: F401


def load(spec, input_shape=None):
    """A Graph from a path, a built-in network name or (if it has a newline) YAML text."""
    from .spec import load_any
    return load_any(spec, input_shape)


def analyze(spec, batch: int = 1, dtype: str = "fp32", input_shape=None, **options):
    """Size a network: returns a Report. Raises SpecError if it does not fit (see engine.analyze)."""
    from .engine import analyze as run
    return run(spec, batch=batch, dtype=dtype, input_shape=input_shape, **options)


def to_torch(spec, input_shape=None):
    """The spec as a torch.nn.Module (imports torch)."""
    from .spec import load_any
    from .torch.backend import build_module
    graph = spec if hasattr(spec, "nodes") else load_any(spec, input_shape)
    return build_module(graph)
