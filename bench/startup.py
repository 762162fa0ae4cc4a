"""Start-up cost of the static path, as whole processes, alternated run by run:

1. `sizecalc table vgg16` against `python -c "import click, yaml, rich"` (its three
   dependencies): target median ratio <= 1.5.
2. `sizecalc table resnet152` (about 500 layers after expansion) against
   `sizecalc table vgg16` (37): target median ratio <= 1.5.
3. The largest members of the families, `sizecalc table efficientnet_b7` (600 px) and
   `sizecalc table regnet_y_128gf` (384 px), against `sizecalc table vgg16`: target <= 1.5.

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import sys

from _timing import alternate, describe, median_ratio, sizecalc_cmd


def compare(label_a: str, a: list[str], label_b: str, b: list[str], runs: int, target: float) -> float:
    ta, tb = alternate(a, b, runs)
    print(describe(label_a, ta))
    print(describe(label_b, tb))
    ratio = median_ratio(ta, tb)
    print(f"median ratio {label_a} / {label_b}: {ratio:.2f} (target <= {target})\n")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    vgg = sizecalc_cmd("table", "vgg16")
    compare("sizecalc table vgg16", vgg, "import click, yaml, rich",
            [sys.executable, "-c", "import click, yaml, rich"], args.runs, 1.5)
    for name in ("resnet152", "efficientnet_b7", "regnet_y_128gf"):
        compare(f"sizecalc table {name}", sizecalc_cmd("table", name), "sizecalc table vgg16", vgg, args.runs, 1.5)


if __name__ == "__main__":
    main()
