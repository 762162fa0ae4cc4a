"""The `sizecalc check` renderer: a torch_backend.CheckReport -> a rich table and summary lines.

Shapes are N x C x ... as torch gives them. The first mismatch is spelled out (the ones after
it usually follow from it); nothing here imports torch. Names, ids and torch's messages
(which quote them) are printable(); table cells are rich Text, never markup.
"""

from __future__ import annotations

from ..core.escape import printable
from ..core.units import dims_text
from .text import binary


def shape(dims) -> str:
    return dims_text(dims) if dims is not None else "-"


def table(result):
    from rich import box
    from rich.table import Table
    from rich.text import Text
    t = Table(box=box.SIMPLE_HEAD,
              title=Text(f"{printable(result.name)}: static vs torch (N={result.batch}, {result.dtype})"))
    for i, h in enumerate(("layer", "static shape", "torch shape", "static params", "torch params", "")):
        t.add_column(h, justify="right" if i in (3, 4) else "left")
    for row in result.layers:
        mark = "✓" if row.ok else ("✗" if row.torch_shape is not None or row.id == result.error_layer else "")
        t.add_row(Text(printable(row.id)), shape(row.static_shape), shape(row.torch_shape),
                  f"{row.static_params:,}", f"{row.torch_params:,}", mark)
    return t


def totals(result) -> list[str]:
    """Totals and measured figures (stdout)."""
    lines = []
    for what, static, torch in (("params", result.static_params, result.torch_params),
                                ("buffers", result.static_buffers, result.torch_buffers)):
        lines.append(f"{what}: static {static:,}, torch {torch:,} {'✓' if static == torch else '✗'}")
    m = result.measured
    if m:
        lines.append(f"forward + backward on {m.device}, batch {result.batch}, {result.dtype}: "
                     f"{m.seconds * 1000:,.1f} ms")
        if m.saved_bytes is not None and m.training_mode:
            p, s = result.predicted_saved_bytes, m.saved_bytes
            close = abs(p - s) <= 0.01 * max(s, 1)
            lines.append(f"saved for backward: predicted {binary(p)} ({p:,} B), measured {binary(s)} ({s:,} B) "
                         f"{'✓' if close else '✗'}")
        elif m.saved_bytes is not None:
            lines.append("saved for backward: not compared (batch 1 runs in eval mode; use --batch 2 or more)")
        line = f"training memory (sgd): predicted {binary(result.estimated_bytes)}"
        if m.peak_bytes is not None:
            diff = (result.estimated_bytes - m.peak_bytes) / max(m.peak_bytes, 1)
            line += f", torch.cuda.max_memory_allocated {binary(m.peak_bytes)} ({diff:+.1%})"
        lines.append(line)
    return lines


def problems(result) -> list[str]:
    """What went wrong or was not done, one line each (stderr), printable()."""
    return [printable(line) for line in _problems(result)]


def _problems(result) -> list[str]:
    lines = [f"note: {note}" for note in result.notes]
    if result.refused:
        lines.append(result.refused)
    if result.error:
        where = f" at {result.error_layer}" if result.error_layer else ""
        lines.append(f"torch refused the module{where}: {result.error}")
    if result.run_error:
        lines.append(f"the real pass on {result.device} failed: {result.run_error}")
    bad = result.mismatches()
    for row in bad[:1]:
        parts = []
        if row.static_shape != row.torch_shape:
            parts.append(f"output static {shape(row.static_shape)}, torch {shape(row.torch_shape)}")
        if row.static_params != row.torch_params:
            parts.append(f"params static {row.static_params:,}, torch {row.torch_params:,}")
        if row.static_buffers != row.torch_buffers:
            parts.append(f"buffers static {row.static_buffers:,}, torch {row.torch_buffers:,}")
        lines.append(f"mismatch at {row.id}: {'; '.join(parts)}")
    if len(bad) > 1:
        lines.append(f"{len(bad) - 1} more layer(s) differ after it (marked ✗)")
    if result.static_params != result.torch_params and not bad:
        lines.append(f"the module has {result.torch_params:,} params, the spec {result.static_params:,}")
    return lines
