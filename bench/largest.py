"""The largest spec the limits allow: 100,000 layers written out (conv, bn, relu in turn),
through `table` and `lint` as whole processes. Each child reports its own CPU time and peak
memory (VmHWM), so a loaded machine's waiting does not count.

    python bench/largest.py [--layers 100000]

Target (issue: everything bounded): each command under 3 s of CPU and 300 MB.
Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

CHILD = ("import os, resource, runpy, sys\n"
         "try:\n"
         "    runpy.run_module('sizecalc', run_name='__main__', alter_sys=True)\n"
         "finally:\n"
         "    r = resource.getrusage(resource.RUSAGE_SELF)\n"
         "    hwm = next((l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')), '0')\n"
         "    os.write(2, f'\\nCPU {r.ru_utime + r.ru_stime} HWM {int(hwm) / 1024}\\n'.encode())\n")


def spec(layers: int) -> str:
    return ("sizecalc: 1\ninput: [3, 32, 32]\ndefaults: {conv: {filters: 8, kernel: 3, padding: 1}}\nlayers:\n"
            + "".join("  - " + ("conv", "bn", "relu")[i % 3] + "\n" for i in range(layers)))


def measure(command: str, path: str) -> tuple[float, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, command, path], capture_output=True, text=True,
                          env={**os.environ, "GITHUB_ACTIONS": "false"})
    if proc.returncode != 0:
        raise SystemExit(f"{command} failed: {proc.stderr[-2000:]}")
    cpu, rss_mb = (float(x) for x in proc.stderr.split()[-3::2])
    return cpu, rss_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "largest.yaml")
        with open(path, "w") as fh:
            fh.write(spec(args.layers))
        missed = 0
        for command in ("table", "lint"):
            cpu, rss_mb = measure(command, path)
            ok = cpu < 3.0 and rss_mb < 300
            missed += not ok
            print(f"{command} {args.layers:,} layers: {cpu:.2f} s of CPU, {rss_mb:.0f} MB"
                  f" ({'ok' if ok else 'over the target of 3 s and 300 MB'})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
