"""`sizecalc fit`: the largest batch whose training memory fits a budget, per input size.

Training memory is linear in the batch (engine/memory.py; the Report's Memory states the
line), so the batch comes from one division and is then checked: it fits, and one more
sample does not. Rendered by report/fit_out.py.
"""

from __future__ import annotations

from ..engine.memory import largest_batch

MAX_SIDE = 100_000


def square_inputs(channels_and_dims: tuple, sizes: str) -> list[tuple]:
    """`224,320` -> [(C, 224, 224), (C, 320, 320)] with the spec's channels and rank."""
    c, rank = channels_and_dims[0], len(channels_and_dims) - 1
    if not rank:
        raise ValueError(f"the spec's input is a vector of {c:,} features: it has no sides to sweep")
    if "x" in sizes.lower():  # a volume, as table's --input takes: the sides are what fit sweeps
        raise ValueError(f"'{sizes[:40]}' is a volume; --input here takes the sides of square inputs, "
                         f"separated by commas (the channels, {c}, come from the spec), e.g. 224,320")
    try:
        sides = [int(s) for s in sizes.split(",")]
    except ValueError:
        raise ValueError(f"'{sizes}' must be sizes separated by commas, e.g. 224,320") from None
    if any(not 1 <= s <= MAX_SIDE for s in sides):
        raise ValueError(f"sizes must be from 1 to {MAX_SIDE:,}")
    return [(c,) + (s,) * rank for s in sides]


def fit(spec, budget_bytes: int, optimizer: str = "sgd", dtype: str = "fp32", amp: bool = False,
        inputs: list[tuple] | None = None, attention: str = "auto") -> list[dict]:
    """For each input shape (default: the spec's), the largest batch that fits and the
    training memory at that batch and at one more (exact bytes). A network with attention
    layers also gets the largest batch with each kernel (`attention_batches`: math, fused),
    since what autograd keeps for attention depends on it (engine/memory.py)."""
    from ..engine import analyze
    from .source import load
    results = []
    for shape in inputs or [None]:
        graph = load(spec, shape)
        report = analyze(graph, dtype=dtype, optimizer=optimizer, amp=amp, attention=attention)
        training_at = report.memory.training_at
        batch = largest_batch(training_at, budget_bytes)
        result = {"name": report.name, "input": list(report.input_shape), "batch": batch,
                  "training_bytes": training_at(max(batch, 1)),
                  "next_training_bytes": training_at(batch + 1),
                  "budget_bytes": budget_bytes, "optimizer": optimizer, "dtype": "amp" if amp else dtype,
                  "attention": attention}
        if any(row.op == "attention" for row in report.rows):
            result["attention_batches"] = {
                path: largest_batch(analyze(graph, dtype=dtype, optimizer=optimizer, amp=amp,
                                            attention=path).memory.training_at, budget_bytes)
                for path in ("math", "fused")}
        results.append(result)
    return results
