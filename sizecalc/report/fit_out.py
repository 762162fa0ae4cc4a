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
            fits, next_ = distinct(r["training_bytes"], r["next_training_bytes"], r["budget_bytes"])[:2]
            lines.append(f"  input {side}: batch {r['batch']:,} ({fits}; batch {r['batch'] + 1:,} would need {next_})")
        if "attention_batches" in r:
            lines.append("    " + attention_line(r["attention"], r["attention_batches"]))
    return "\n".join(lines) + "\n"


def attention_line(asked: str, batches: dict) -> str:
    """The batch with each attention kernel: what autograd keeps for attention depends on it."""
    said = f"--attention {asked}" + (" (what torch picks on the CPU or a GPU)" if asked == "auto" else "")
    return (f"attention: batch {batches['fused']:,} with a fused kernel (keeps q, k, v, output, log-sum-exp), "
            f"{batches['math']:,} on the math path (keeps the N x N probabilities of each head); above: {said}")


def distinct(*sizes: int) -> list[str]:
    """The sizes in binary units with as many decimals as it takes to tell different ones
    apart (2 to 6), else in exact bytes: "batch 32,765 (3.00 GiB; batch 32,766 would need
    3.00 GiB)" hid that one needs more than the other, and more than the budget."""
    for decimals in range(2, 7):
        texts = [binary(n, decimals) for n in sizes]
        if len(set(texts)) == len(set(sizes)):
            return texts
    return [f"{n:,} B" for n in sizes]


def json(results: list[dict], total_bytes: int) -> str:
    return _json.dumps(results, indent=2) + "\n"
