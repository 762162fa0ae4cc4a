"""sizecalc: size convolutional networks before anyone trains them.

    >>> import sizecalc
    >>> report = sizecalc.analyze("vgg16", batch=8)
    >>> report.totals.params
    138357544

The static path (this package without `torch_backend`) never imports torch.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import Finding, InputError, SizecalcError, SpecError  # noqa: E402,F401


def load(spec, input_shape=None):
    """A Graph from a path, a built-in network name or (if it has a newline) YAML text."""
    import os
    from .spec import load as load_path, loads
    if isinstance(spec, str) and "\n" in spec and not os.path.exists(spec):  # a file name may hold a newline
        return loads(spec, "<string>", input_shape)
    return load_path(str(spec), input_shape)


def analyze(spec, batch: int = 1, dtype: str = "fp32", input_shape=None, **options):
    """Size a network: returns a Report (plain dataclasses). Raises SpecError if it does not fit.

    options: optimizer ("sgd", "momentum", "adam", "adamw") and amp (mixed precision) for
    the training memory; device ("cpu" or "cuda") where the saved tensors differ."""
    from .engine import analyze as run
    graph = spec if hasattr(spec, "nodes") else load(spec, input_shape)
    report = run(graph, batch=batch, dtype=dtype, **options)
    if report.errors():
        raise SpecError(report.errors())
    return report


def to_torch(spec, input_shape=None):
    """The spec as a torch.nn.Module (imports torch)."""
    from .torch_backend import build_module
    graph = spec if hasattr(spec, "nodes") else load(spec, input_shape)
    return build_module(graph)
