"""The cost curve of the static path: generated specs of 100, 1,000 and 10,000 layers
(plain chains, and residual chains with a merge every third layer), timed as whole
processes for `table` (plain text), `lint` and `table --format json`.

    python bench/scale.py [--runs 5] [--sizes 100,1000,10000]

Targets: 10,000 layers under 1 s for `table --format json`; the time per layer at
10,000 within 1.5x of the time per layer at 1,000 (nothing quadratic).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from _timing import run_once, sizecalc_cmd


def chain(n: int) -> str:
    """n layers written out one by one: conv/relu pairs on a small volume."""
    lines = ["sizecalc: 1", f"name: chain-{n}", "input: [8, 16, 16]",
             "defaults: {conv: {kernel: 3, padding: 1}}", "layers:"]
    for _ in range(n // 2):
        lines.append("  - {conv: 8}")
        lines.append("  - relu")
    return "\n".join(lines) + "\n"


def residual(n: int) -> str:
    """n layers as residual units of three: conv, relu, add (with the unit's input)."""
    lines = ["sizecalc: 1", f"name: residual-{n}", "input: [8, 16, 16]",
             "defaults: {conv: {kernel: 3, padding: 1}}", "layers:", "  - {id: u0, relu}"]
    for i in range(1, n // 3 + 1):
        lines.append(f"  - {{id: c{i}, conv: 8}}")
        lines.append(f"  - {{id: r{i}, relu}}")
        lines.append(f"  - {{id: u{i}, add: [r{i}, u{i - 1}]}}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    commands = {"table": ["table"], "lint": ["lint"], "json": ["table", "--format", "json"]}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for shape, make in (("chain", chain), ("residual", residual)):
            for n in sizes:
                path = os.path.join(tmp, f"{shape}-{n}.yaml")
                with open(path, "w") as fh:
                    fh.write(make(n))
                for label, cmd in commands.items():
                    full = sizecalc_cmd(*cmd, path)
                    run_once(full)  # warm-up
                    t = statistics.median(run_once(full) for _ in range(args.runs))
                    results[(shape, n, label)] = t
                    print(f"{shape:8s} {n:>6,} layers  {label:5s} {t * 1000:8.1f} ms  "
                          f"{t / n * 1e6:8.1f} us/layer", flush=True)
    if 1000 in sizes and 10000 in sizes:
        print()
        for shape in ("chain", "residual"):
            for label in commands:
                ratio = (results[(shape, 10000, label)] / 10000) / (results[(shape, 1000, label)] / 1000)
                print(f"{shape:8s} {label:5s} per-layer time at 10,000 / at 1,000: {ratio:.2f} (target <= 1.5)")
        if 100 in sizes:  # the same without the fixed start-up: the added cost of each layer
            for shape in ("chain", "residual"):
                for label in commands:
                    base = results[(shape, 100, label)]
                    m1 = (results[(shape, 1000, label)] - base) / 900
                    m10 = (results[(shape, 10000, label)] - base) / 9900
                    print(f"{shape:8s} {label:5s} added per layer: {m1 * 1e6:.1f} us (100->1,000), "
                          f"{m10 * 1e6:.1f} us (100->10,000), ratio {m10 / m1:.2f}")
        for shape in ("chain", "residual"):
            t = results[(shape, 10000, "json")]
            print(f"{shape:8s} table --format json at 10,000 layers: {t:.3f} s (target < 1 s)")


if __name__ == "__main__":
    main()
