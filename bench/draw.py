"""Wall time of `sizecalc draw NAME` as a whole process (start-up, analysis, layout, SVG).

    python bench/draw.py [NAME ...]      (default: resnet152 vgg16 googlenet)

Prints the best of 5 runs per network; bench/README.md states the figures.
"""

from __future__ import annotations

import subprocess
import sys
import time


def best_of(args: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sizecalc", "draw", *args], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return min(times)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["resnet152", "vgg16", "googlenet"]:
        print(f"sizecalc draw {name}: {best_of([name]):.2f} s")
