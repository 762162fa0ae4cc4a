"""JSON: the whole Report with exact integers (documented in README.md, "JSON output").

A spec with errors gets the same document (exit 1): the layers that could be sized, every
finding, and `totals` and `memory` null, since sums over part of a network would read as
the network's; a spec that could not be expanded at all (unsized) has no layers either.

User text (name, source, ids, ops, inputs) is printable() as in every other format, so a
consumer that prints a field cannot be handed a control sequence; json.dumps keeps its
default ensure_ascii, so the document itself is plain ASCII."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..core.escape import printable
from .weight_layers import weight_layers

if TYPE_CHECKING:
    from .model import Report

FORMAT = 1


def report_dict(report: Report, rows=None) -> dict:
    t = report.totals
    whole = not report.errors()
    return {
        "sizecalc_json": FORMAT,
        "name": printable(report.name),
        "source": printable(report.source),
        "input": list(report.input_shape),
        "batch": report.batch,
        "dtype": report.dtype,
        "dtype_bytes": report.dtype_bytes,
        "layers": [layer_dict(r) for r in (rows if rows is not None else report.rows)],
        "totals": {
            "params": t.params, "weights": t.weights, "biases": t.biases, "buffers": t.buffers,
            "activations": t.activations, "macs": t.macs, "forward_activations": t.forward_activations,
            "forward_bytes": t.forward_bytes, "weight_layers": weight_layers(report.rows),
        } if whole else None,
        "memory": memory_dict(report.memory) if whole else None,
        "findings": [f.to_dict() for f in report.findings],
    }


def unsized(name: str, input_shape, batch: int, dtype: str, findings) -> str:
    """The document for a spec that could not be read or expanded: no layers, no totals,
    its findings."""
    from ..core.units import DTYPE_BYTES
    data = {"sizecalc_json": FORMAT, "name": printable(name), "source": printable(name),
            "input": list(input_shape) if input_shape else None, "batch": batch, "dtype": dtype,
            "dtype_bytes": DTYPE_BYTES[dtype], "layers": [], "totals": None, "memory": None,
            "findings": [f.to_dict() for f in findings]}
    return json.dumps(data, indent=2) + "\n"


def layer_dict(r) -> dict:
    return {
        "id": printable(r.id), "op": printable(r.op), "depth": r.depth,
        "inputs": [printable(i) for i in r.inputs], "output": list(r.output),
        "params": r.params, "weights": r.weights, "biases": r.biases, "buffers": r.buffers,
        "activations": r.activations, "macs": r.macs,
        "receptive_field": field_dict(r.receptive_field),
        "saved_bytes": r.saved_bytes, "shares_storage": r.shares_storage,
        "explain": [printable(e) for e in r.explain], "loc": r.loc,
    }


def field_dict(rf) -> dict | None:
    """size, jump and padding per dimension, exact: an int, or a string "3/2" for a fraction
    of a pixel (after an upsampling); `global` when every unit sees the whole input (its
    size is then the padded input it covers). Where the size depends on the output unit
    (past an upsampling): size is the largest, `smallest` the smallest, and the units repeat
    every `period`."""
    if not rf or not rf.size:
        return None
    if type(sum(rf.size) + sum(rf.jump) + sum(rf.padding)) is int:  # whole numbers: nearly every field
        out = {"size": list(rf.size), "jump": list(rf.jump), "padding": list(rf.padding), "global": rf.whole}
    else:
        out = {"size": _exact(rf.size), "jump": _exact(rf.jump), "padding": _exact(rf.padding), "global": rf.whole}
    if rf.least is not None:  # past an upsampling the size depends on the unit: size is the largest
        out["smallest"], out["period"] = list(rf.least), list(rf.period)
    return out


def _exact(values) -> list:
    return [v if type(v) is int else str(v) for v in values]


def memory_dict(m) -> dict | None:
    if m is None:
        return None
    return {"forward_bytes": m.forward_bytes, "saved_bytes": m.saved_bytes, "params_bytes": m.params_bytes,
            "buffers_bytes": m.buffers_bytes, "gradient_bytes": m.gradient_bytes,
            "optimizer_bytes": m.optimizer_bytes, "training_bytes": m.training_bytes,
            "inference_peak_bytes": m.inference_peak_bytes, "optimizer": m.optimizer, "amp": m.amp}


def render(report: Report, layout: str = "hwc", explain: bool = False, rows=None, bars: bool = False) -> str:
    """Indented JSON with one line per layer (json's C encoder: fast for 10,000 layers).
    Every figure is there, so the table options (layout, explain, bars) change nothing."""
    rows = rows if rows is not None else report.rows
    data = report_dict(report, [])
    data["layers"] = None
    # one layer's dict at a time: 100,000 of them at once took more memory than the report
    body = ",\n".join("    " + json.dumps(layer_dict(r)) for r in rows)
    # `"layers": null` with both quotes bare can only be the key itself: inside any JSON string
    # (a spec's name, a path) a quote is escaped, so no user value can stand in for it
    layers = "[\n" + body + "\n  ]" if rows else "[]"
    text = json.dumps(data, indent=2).replace('"layers": null', '"layers": ' + layers, 1)
    return text + "\n"
