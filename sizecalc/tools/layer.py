"""One layer without a spec file (`sizecalc layer conv --in 32x32x3 --filters 10 ...`).

Builds a one-layer Graph from option values (text as typed on the command line, read the
way YAML reads plain scalars) and sizes it with the same engine as a whole spec.
"""

from __future__ import annotations

from ..engine.walk import analyze
from ..core.errors import Finding, Loc, SpecError
from ..core.layout import to_shape
from ..layers import lookup
from ..core.limits import MAX_VALUE
from ..report.model import Report
from ..spec.expand import expand
from ..spec.hints import op_hint
from ..spec.yamlsafe import Map, Seq, parse

WHERE = "<command line>"


def parse_sizes(text: str) -> tuple[int, ...]:
    """`32x32x3` (or `32,32,3`, `32×32×3`) -> the sizes in the order typed, each a whole
    number from 1 to MAX_VALUE; ValueError says what is wrong. core/layout.py reads them."""
    parts = text.lower().replace("×", "x").replace(",", "x").split("x")
    if not 1 <= len(parts) <= 4:
        raise ValueError(f"'{short(text)}' has {len(parts)} sizes; a volume has 1 to 4, such as 3x224x224")
    for p in parts:  # digits are checked before int(): a 5,000-digit side must not reach Python's int limit
        digits = p.strip()
        if not (digits.isdigit() and digits.isascii() and len(digits) <= 10) or not 1 <= int(digits) <= MAX_VALUE:
            raise ValueError(f"'{short(text)}' is not a volume such as 3x224x224: each size is a whole number "
                             f"from 1 to {MAX_VALUE:,}, not '{short(p)}'")
    return tuple(int(p) for p in parts)


def parse_volume(text: str, layout: str = "hwc") -> tuple[int, ...]:
    """`32x32x3` (H x W x C, the lecture's order) or `3x32x32` with layout chw -> (C, H, W)."""
    return to_shape(parse_sizes(text), layout)


def short(text: str, most: int = 40) -> str:
    """A value the user typed, cut to a prefix a message can quote."""
    return text if len(text) <= most else text[:most] + "..."


def _value(text: str):
    """An option's text as the spec would hold it: `3`, `3,5` (one per dimension), `1:2` (a
    [lo, hi] padding pair, kept a tuple until one_layer knows the rank), `[[1, 2], [0, 1]]`
    (YAML, as in a spec)."""
    if text.lstrip().startswith("["):
        try:
            return parse(text, WHERE)
        except SpecError:
            return text
    if "," in text:
        return [_value(t) for t in text.split(",")]
    lo, colon, hi = text.partition(":")
    if colon and lo.strip().isdigit() and hi.strip().isdigit() and max(len(lo), len(hi)) <= 10:
        return int(lo), int(hi)
    try:
        return parse(text, WHERE)
    except SpecError:
        return text


def _spec_value(value, rank: int, here: Loc):
    """_value's result as a spec value: lists become Seqs, a `lo:hi` pair alone applies to
    every one of the `rank` spatial dimensions."""
    if isinstance(value, tuple):
        value = [value] * max(rank, 1)
    if not isinstance(value, list) or isinstance(value, Seq):
        return value
    seq = Seq(here)
    seq.extend(list(v) if isinstance(v, tuple) else v for v in value)
    seq.locs = [here] * len(value)
    return seq


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
        args[key] = _spec_value(_value(text), len(in_shape) - 1, here)
        args.key_locs[key] = args.val_locs[key] = Loc(WHERE, 1, 1)
    layer[op] = args
    layer.val_locs[op] = layer.key_locs[op] = here
    layers = Seq(here)
    layers.append(layer)
    layers.locs = [here]
    for key, value in (("input", inp), ("layers", layers)):
        root[key] = value
        root.key_locs[key] = root.val_locs[key] = here
    # the shape is given as --input gives it: read already (the CLI checked and warned)
    report = analyze(expand(root, WHERE, tuple(in_shape)), batch=batch, dtype=dtype)
    if report.errors():
        raise SpecError(report.errors())
    return report
