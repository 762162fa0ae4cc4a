"""Start-up cost of the static path: `sizecalc table vgg16` against importing its three
dependencies (`python -c "import click, yaml, rich"`), as whole processes.

    python bench/startup.py [--runs 15]

Prints min/median/max of each and the median of the per-pair ratios. Target: <= 1.5.
"""

from __future__ import annotations

import argparse
import sys

from _timing import alternate, describe, median_ratio, sizecalc_cmd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--network", default="vgg16")
    args = parser.parse_args()
    ours = sizecalc_cmd("table", args.network)
    base = [sys.executable, "-c", "import click, yaml, rich"]
    t_ours, t_base = alternate(ours, base, args.runs)
    print(describe(f"sizecalc table {args.network}", t_ours))
    print(describe("import click, yaml, rich", t_base))
    ratio = median_ratio(t_ours, t_base)
    print(f"median ratio: {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
