"""Benchmark: `sizecalc lint` over 200 spec files in one process (target: under 3 s).

Writes copies and variants of the built-in specs (other input sizes, renamed, one with an
error in ten) to a temporary directory, then times one `sizecalc lint DIR` process from
start to exit (interpreter start included), and the library call alone, in this process.

    python bench/lint.py [--files 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import describe, sizecalc_cmd  # noqa: E402


def timed(cmd: list[str]) -> float:
    """Wall time of one process; lint exits 1 here (the typos are on purpose), so no check."""
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def write_specs(folder: Path, count: int) -> None:
    from sizecalc.spec import zoo
    names = zoo.names()
    for i in range(count):
        name = names[i % len(names)]
        text = zoo.find(name).read_text()
        variant = i // len(names)
        if variant % 2 == 1:  # another input size: the spec still has to be walked layer by layer
            text = re.sub(r"^input: \[(\d+), (\d+), (\d+)\]", lambda m: f"input: [{m[1]}, {int(m[2]) + 32}, "
                          f"{int(m[3]) + 32}]", text, count=1, flags=re.M)
        if i % 10 == 9:  # a typo: lint reports it with a did-you-mean
            text = text.replace("kernel:", "kernal:", 1)
        (folder / f"{i:03d}_{name}.yaml").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_specs(folder, args.files)
        cmd = sizecalc_cmd("lint", str(folder))
        timed(cmd)  # warm-up: the disk cache and .pyc files
        times = [timed(cmd) for _ in range(args.runs)]
        print(describe(f"sizecalc lint on {args.files} files (one process)", times))
        from sizecalc.tools.lint import lint_paths
        library = []
        for _ in range(args.runs):
            start = time.perf_counter()
            result = lint_paths([str(folder)])
            library.append(time.perf_counter() - start)
        print(describe(f"sizecalc.tools.lint.lint_paths on {len(result.files)} files (in process)", library))
        print(f"findings: {result.count('error')} errors, {result.count('warning')} warnings, "
              f"{result.count('info')} notes; exit code {result.exit_code}")
        median = statistics.median(times)
        print(f"target under 3 s: {'met' if median < 3 else 'MISSED'} ({median:.2f} s median)")


if __name__ == "__main__":
    main()
