"""sizecalc against torchinfo on the same networks, as whole processes.

For each network, alternately (A B A B ...) after a warm-up of each:
  A: `sizecalc table NAME` (static: no torch import, nothing built or run);
  B: a script that builds the same network with `sizecalc.to_torch` and prints
     `torchinfo.summary(model, input_size=(1, 3, 224, 224))`.
Prints min/median/max of each, the median of the per-pair ratios B/A, and checks that both
print the same total parameter count. Target: ratio >= 20 for vgg16.

    pip install ".[bench]"      # torchinfo (install torch==2.13.0 first on a CPU-only machine)
    python bench/vs_torchinfo.py [--runs 5] [--networks vgg16,resnet50,resnet152]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from _timing import alternate, describe, median_ratio, sizecalc_cmd

TORCHINFO = """
import sys
import torchinfo
import sizecalc
model = sizecalc.to_torch(sys.argv[1])
print(torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0))
"""


def total_params(cmd: list[str], pattern: str) -> int:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(pattern, out)
    if not match:
        raise SystemExit(f"no parameter total in the output of {' '.join(cmd)}")
    return int(match.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--networks", default="vgg16,resnet50,resnet152")
    args = parser.parse_args()
    for name in args.networks.split(","):
        a = sizecalc_cmd("table", name)
        b = [sys.executable, "-c", TORCHINFO, name]
        ours = total_params(a, r"params: ([\d,]+)")
        theirs = total_params(b, r"Total params: ([\d,]+)")
        same = "same" if ours == theirs else "DIFFERENT"
        ta, tb = alternate(a, b, args.runs)
        print(f"== {name}: total params {ours:,} (sizecalc) and {theirs:,} (torchinfo): {same}")
        print("  " + describe("A sizecalc table", ta))
        print("  " + describe("B to_torch + torchinfo.summary", tb))
        print(f"  median ratio B/A: {median_ratio(tb, ta):.1f}" + ("  (target >= 20)" if name == "vgg16" else ""))


if __name__ == "__main__":
    main()
