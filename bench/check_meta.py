"""What `sizecalc check --device meta` costs beyond importing torch.

Times whole processes, as a user meets them: `python -c "import torch"` against
`python -m sizecalc check resnet152 --device meta` (vgg16 while the zoo has no resnet152),
over several runs each, and prints the medians and their difference. Target: under 2 s added.

    python bench/check_meta.py [--runs 7] [--spec NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from sizecalc.spec import zoo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--spec", default="resnet152" if zoo.find("resnet152") else "vgg16")
    args = parser.parse_args()

    commands = {
        "import torch": [sys.executable, "-c", "import torch"],
        f"sizecalc check {args.spec} --device meta": [sys.executable, "-m", "sizecalc", "check", args.spec,
                                                      "--device", "meta"],
    }
    for command in commands.values():  # warm the file cache once, untimed
        seconds(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):  # interleaved, so drift hits both alike
        for name, command in commands.items():
            times[name].append(seconds(command))
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"{args.runs} runs each, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    for name, median in medians.items():
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"  {name:<40} median {median:6.2f} s  (range {spread} s)")
    base, full = medians.values()
    added = full - base
    print(f"  {'added by sizecalc check':<40} {added:+13.2f} s  ({'within' if added < 2 else 'OVER'} the 2 s target)")


if __name__ == "__main__":
    main()
