"""`sizecalc list` (every built-in network, each variant of a family its own row) as a
whole process. Target: under 0.5 s. Each child reports its own CPU time (user + system), so
the figure holds while other work shares the cores; the wall time is printed too, with the
load average at the start. The rows come from specs/zoo-figures.json wherever a spec file is
unchanged (tools/zoo_table.py); `--fresh` also times sizing every network in one process,
as `list` would without them.

    python bench/list.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from inputs import run_once
from _timing import sizecalc_cmd


def fresh_once() -> float:
    """Seconds to size every built-in network in this process (no stored figures)."""
    from sizecalc.tools.zoo_table import zoo_rows
    start = time.perf_counter()
    rows = zoo_rows(stored=False)
    took = time.perf_counter() - start
    print(f"sized {len(rows)} networks afresh in one process: {took:.2f} s")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--fresh", action="store_true", help="also time sizing every network without the store")
    args = parser.parse_args()
    cmd = sizecalc_cmd("list")
    print(f"$ sizecalc list   (load average at start: {os.getloadavg()[0]:.2f})")
    run_once(cmd)  # warm-up: the file cache
    walls, cpus = zip(*(run_once(cmd) for _ in range(args.runs)))
    print(f"wall: min {min(walls):.3f} s, median {statistics.median(walls):.3f} s over {args.runs} runs")
    print(f"cpu (user + system): min {min(cpus):.3f} s, median {statistics.median(cpus):.3f} s (target < 0.5 s)")
    if args.fresh:
        fresh_once()
    sys.exit(0)


if __name__ == "__main__":
    main()
