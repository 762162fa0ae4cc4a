"""`sizecalc inputs resnet152 --range 1:4096` as a whole process: every square input size
from 1 to 4,096 (the most one sweep may try) on ResNet-152 (515 layers after expansion).
Target: under 2 s. Each child process reports its own CPU time (user + system), so the
figure says what the sweep costs even while other work shares the cores; the wall time is
printed too, with the load average at the start.

    python bench/inputs.py [--runs 5] [--spec resnet152] [--range 1:4096]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time

from _timing import sizecalc_cmd


def run_once(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--spec", default="resnet152")
    parser.add_argument("--range", dest="size_range", default="1:4096")
    args = parser.parse_args()
    cmd = sizecalc_cmd("inputs", args.spec, "--range", args.size_range)
    print(f"$ {' '.join(cmd[-4:])}   (load average at start: {os.getloadavg()[0]:.2f})")
    run_once(cmd)  # warm-up: the file cache
    walls, cpus = zip(*(run_once(cmd) for _ in range(args.runs)))
    print(f"wall: min {min(walls):.2f} s, median {statistics.median(walls):.2f} s over {args.runs} runs")
    print(f"cpu (user + system): min {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s (target < 2 s)")


if __name__ == "__main__":
    main()
