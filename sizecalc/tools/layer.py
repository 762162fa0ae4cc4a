"""One layer without a spec file (`sizecalc layer conv --in 32x32x3 --filters 10 ...`).

Builds a one-layer Graph from option values (text as typed on the command line, read the
way YAML reads plain scalars) and sizes it with the same engine as a whole spec.
"""

from __future__ import annotations

from ..engine.walk import analyze
from ..core.errors import Finding, Loc, SpecError
from ..layers import ALIASES, lookup
from ..report.model import Report
from ..spec.expand import did_you_mean, expand
from ..spec.yamlsafe import Map, Seq, parse

WHERE = "<command line>"


def parse_volume(text: str, layout: str = "hwc") -> tuple[int, ...]:
    """`32x32x3` (H x W x C, the lecture's order) or `3x32x32` with layout chw -> (C, H, W)."""
    parts = text.lower().replace("×", "x").replace(",", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"'{text}' is not a volume such as 32x32x3") from None
    if not 1 <= len(dims) <= 4 or any(d < 1 or d > 10 ** 9 for d in dims):
        raise ValueError(f"'{text}' must be 1 to 4 positive sizes, such as 32x32x3")
    if len(dims) == 1:
        return dims
    return (dims[-1], *dims[:-1]) if layout == "hwc" else dims


def _value(text: str):
    if "," in text:
        return [_value(t) for t in text.split(",")]
    try:
        return parse(text, WHERE)
    except SpecError:
        return text


def one_layer(op: str, in_shape: tuple[int, ...], options: dict[str, str], batch: int = 1,
              dtype: str = "fp32") -> Report:
    kind = lookup(op)
    if kind is None:
        hint = did_you_mean(op, ALIASES)
        raise SpecError([Finding("unknown-op", f"unknown op '{op}'" + (f"; {hint}" if hint else ""), None,
                                 fix="ops include conv, local, maxpool, avgpool, fc, bn, relu")])
    here = Loc(WHERE, 1, 1)
    root, layer, inp = Map(here), Map(here), Seq(here)
    inp.extend(in_shape)
    inp.locs = [here] * len(in_shape)
    args = Map(here)
    for key, text in options.items():
        value = _value(text)
        if isinstance(value, list):
            seq = Seq(here)
            seq.extend(value)
            seq.locs = [here] * len(value)
            value = seq
        args[key] = value
        args.key_locs[key] = args.val_locs[key] = Loc(WHERE, 1, 1)
    layer[op] = args
    layer.val_locs[op] = layer.key_locs[op] = here
    layers = Seq(here)
    layers.append(layer)
    layers.locs = [here]
    for key, value in (("input", inp), ("layers", layers)):
        root[key] = value
        root.key_locs[key] = root.val_locs[key] = here
    report = analyze(expand(root, WHERE), batch=batch, dtype=dtype)
    if report.errors():
        raise SpecError(report.errors())
    return report
