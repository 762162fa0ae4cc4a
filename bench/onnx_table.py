"""`sizecalc table model.onnx` on an exported ResNet-50, as whole processes: its time, and its
params and MACs against the built-in `resnet50` spec (and against onnx-tool's profile of the
same file, when onnx-tool is importable by the python given with --onnx-tool-python).

Export the file first, in an environment with torchvision (no weights are downloaded):

    PY=$(bash ../shared/tools/torchvision-env.sh)
    $PY -c "import torch, torchvision; torch.onnx.export(torchvision.models.resnet50(weights=None).eval(),
            (torch.zeros(1, 3, 224, 224),), 'resnet50.onnx', dynamo=False, opset_version=17)"
    python bench/onnx_table.py resnet50.onnx [--runs 5]

The exporter folds each of ResNet-50's 53 batch norms into its conv: the file stores
25,557,032 - 26,560 (the bn channels: a bias of C gained, 2C bn params lost) = 25,530,472
params; the MACs (4,089,184,256, torchvision's 4.09 GFLOPS) do not change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from _timing import describe, sizecalc_cmd

BN_CHANNELS = 26_560  # ResNet-50's batch-norm channels: 64 + 1,408 + 3,584 + 10,240 + 11,264 (stem, stages)

ONNX_TOOL = """
import sys, time
import onnx_tool
t = time.perf_counter()
m = onnx_tool.Model(sys.argv[1])
m.graph.shape_infer()
m.graph.profile()
print("MACs", m.graph.macs, "params", m.graph.params, "seconds", round(time.perf_counter() - t, 2))
"""


def totals(*args: str) -> dict:
    out = subprocess.run(sizecalc_cmd("table", *args, "--format", "json"), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["totals"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--onnx-tool-python", help="a python that can import onnx_tool")
    a = parser.parse_args()
    times = []
    for _ in range(a.runs + 1):
        start = time.perf_counter()
        subprocess.run(sizecalc_cmd("table", a.file), capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    print(describe(f"table {a.file}", times[1:]), f"(median {statistics.median(times[1:]):.3f} s)")
    onnx, spec = totals(a.file), totals("resnet50")
    folded = spec["params"] - BN_CHANNELS
    print(f"params: file {onnx['params']:,}; spec {spec['params']:,} - {BN_CHANNELS:,} bn channels = {folded:,}: "
          + ("agree" if onnx["params"] == folded else "DIFFER"))
    same = onnx["macs"] == spec["macs"]
    print(f"MACs: file {onnx['macs']:,}; spec {spec['macs']:,}: " + ("agree" if same else "DIFFER"))
    if a.onnx_tool_python:
        out = subprocess.run([a.onnx_tool_python, "-c", ONNX_TOOL, a.file], capture_output=True, text=True)
        print("onnx-tool:", out.stdout.strip() or out.stderr.strip()[-300:])
    sys.exit(0 if onnx["macs"] == spec["macs"] and onnx["params"] == folded else 1)


if __name__ == "__main__":
    main()
