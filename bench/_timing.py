"""Shared timing helpers for the benchmarks: whole processes, alternated, medians."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time


def sizecalc_cmd(*args: str) -> list[str]:
    """The installed console script if there is one, else `python -m sizecalc`."""
    exe = shutil.which("sizecalc")
    return [exe, *args] if exe else [sys.executable, "-m", "sizecalc", *args]


def run_once(cmd: list[str], env=None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, **(env or {})})
    return time.perf_counter() - start


def alternate(a: list[str], b: list[str], runs: int, warmup: int = 1) -> tuple[list[float], list[float]]:
    """Time A and B alternately (A B A B ...) after a warm-up of each."""
    for _ in range(warmup):
        run_once(a)
        run_once(b)
    ta, tb = [], []
    for _ in range(runs):
        ta.append(run_once(a))
        tb.append(run_once(b))
    return ta, tb


def describe(name: str, times: list[float]) -> str:
    return (f"{name}: min {min(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms over {len(times)} runs")


def median_ratio(num: list[float], den: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(num, den))
