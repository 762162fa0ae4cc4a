"""The engine: one walk over an expanded graph fills a Report (`walk.py`), with the memory
model (`memory.py`). Above layers/ and spec/; knows nothing of rendering, tools or torch.

`analyze` here is the library's entry point: a spec (path, built-in name, YAML text or a
Graph) -> a Report, raising SpecError if the network does not fit.
"""

from __future__ import annotations

from ..core.errors import SpecError
from . import pinned  # noqa: F401  (registers a pinned fc's fix, the input that gives its size, with the walk)


def analyze(spec, batch: int = 1, dtype: str = "fp32", input_shape=None, **options):
    """Size a network: returns a Report (plain records). Raises SpecError if it does not fit.

    options: optimizer ("sgd", "momentum", "adam", "adamw") and amp (mixed precision) for
    the training memory; device ("cpu" or "cuda") where the saved tensors differ."""
    from ..spec import load_any
    from .walk import analyze as walk
    graph = spec if hasattr(spec, "nodes") else load_any(spec, input_shape)
    report = walk(graph, batch=batch, dtype=dtype, **options)
    if report.errors():
        raise SpecError(report.errors())
    return report
