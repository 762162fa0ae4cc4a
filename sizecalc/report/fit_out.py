"""`sizecalc fit`: the largest batch per input size (tools/fit.fit's results) as text or JSON."""

from __future__ import annotations

import json as _json

from ..core.escape import printable
from ..core.units import dims_text
from .text import binary


def text(results: list[dict], total_bytes: int) -> str:
    first = results[0]
    lines = [f"{printable(first['name'])}: {binary(first['budget_bytes'])} usable of {binary(total_bytes)}, "
             f"{first['optimizer']}, {first['dtype']}"]
    for r in results:
        side = dims_text(r["input"])
        if r["batch"] == 0:
            lines.append(f"  input {side}: not even batch 1 fits (needs {binary(r['training_bytes'])})")
        else:
            lines.append(f"  input {side}: batch {r['batch']:,} ({binary(r['training_bytes'])}; batch "
                         f"{r['batch'] + 1:,} would need {binary(r['next_training_bytes'])})")
    return "\n".join(lines) + "\n"


def json(results: list[dict], total_bytes: int) -> str:
    return _json.dumps(results, indent=2) + "\n"
