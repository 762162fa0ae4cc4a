"""One layer without a spec file (`sizecalc layer conv --in 32x32x3 --filters 10 ...`).

Builds a one-layer Graph from option values (text as typed on the command line, read the
way YAML reads plain scalars) and sizes it with the same engine as a whole spec.
"""

from __future__ import annotations

from ..engine.walk import analyze
from ..core.errors import Finding, Loc, SpecError
from ..layers import lookup
from ..core.limits import MAX_VALUE
from ..report.model import Report
from ..spec.expand import expand
from ..spec.hints import op_hint
from ..spec.yamlsafe import Map, Seq, parse

WHERE = "<command line>"


def parse_volume(text: str, layout: str = "hwc") -> tuple[int, ...]:
    """`32x32x3` (H x W x C, the lecture's order) or `3x32x32` with layout chw -> (C, H, W)."""
    parts = text.lower().replace("×", "x").replace(",", "x").split("x")
    if not 1 <= len(parts) <= 4:
        raise ValueError(f"'{short(text)}' must be 1 to 4 sizes, such as 32x32x3")
    for p in parts:  # digits are checked before int(): a 5,000-digit side must not reach Python's int limit
        digits = p.strip()
        if not (digits.isdigit() and digits.isascii() and len(digits) <= 10) or not 1 <= int(digits) <= MAX_VALUE:
            raise ValueError(f"'{short(text)}' is not a volume such as 32x32x3: each size is a whole number "
                             f"from 1 to {MAX_VALUE:,}, not '{short(p)}'")
    dims = tuple(int(p) for p in parts)
    if len(dims) == 1:
        return dims
    return (dims[-1], *dims[:-1]) if layout == "hwc" else dims


def short(text: str, most: int = 40) -> str:
    """A value the user typed, cut to a prefix a message can quote."""
    return text if len(text) <= most else text[:most] + "..."


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
        hint = op_hint(op)
        what = f"unknown op '{op}'"
        raise SpecError([Finding("unknown-op", hint.after(what) if hint else what, None,
                                 fix=hint.fix if hint else "ops include conv, local, maxpool, avgpool, fc, bn, relu")])
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
