"""JSON: the whole Report with exact integers (documented in README.md, "JSON output")."""

from __future__ import annotations

import json

from .model import Report

FORMAT = 1


def report_dict(report: Report, rows=None) -> dict:
    t = report.totals
    return {
        "sizecalc_json": FORMAT,
        "name": report.name,
        "source": report.source,
        "input": list(report.input_shape),
        "batch": report.batch,
        "dtype": report.dtype,
        "dtype_bytes": report.dtype_bytes,
        "layers": [
            {
                "id": r.id, "op": r.op, "depth": r.depth, "inputs": r.inputs, "output": list(r.output),
                "params": r.params, "weights": r.weights, "biases": r.biases, "buffers": r.buffers,
                "activations": r.activations, "macs": r.macs,
                "receptive_field": ({"size": list(r.receptive_field.size), "jump": list(r.receptive_field.jump),
                                     "padding": list(r.receptive_field.padding)}
                                    if r.receptive_field and r.receptive_field.size else None),
                "explain": r.explain, "loc": r.loc,
            }
            for r in (rows if rows is not None else report.rows)
        ],
        "totals": {
            "params": t.params, "weights": t.weights, "biases": t.biases, "buffers": t.buffers,
            "activations": t.activations, "macs": t.macs, "forward_bytes": t.forward_bytes,
        },
        "findings": [f.to_dict() for f in report.findings],
    }


def render(report: Report, rows=None) -> str:
    return json.dumps(report_dict(report, rows), indent=2) + "\n"
