"""Checking one YAML value against a layer field's type, with the location to blame.

Whole numbers must be YAML integers (not 2.5, not true, not NaN), within the field's range;
`dims` fields take one integer or one per spatial dimension; `padding` also takes `same`,
`valid` and `[lo, hi]` pairs. Every failure is a `type` Finding at the value's own line and
column, with what was found, what is accepted and an example. The spec's `input:` and
`layout:` are read here too (core/layout.py says how a volume is typed).
"""

from __future__ import annotations

import math

from ..core.errors import WARNING, Finding, Loc, cut
from ..core.layout import (LAYOUTS, looks_swapped, missing_channels, missing_message, other, swapped_message,
                           to_shape, with_channels)
from ..layers.base import ArgField
from .hints import closest
from ..core.limits import MAX_VALUE as MAX_DIM
from ..core.units import DILATION_COUNTS


class BadValue(Exception):
    def __init__(self, finding: Finding):
        super().__init__(finding.message)
        self.finding = finding


def describe(value) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "NaN" if math.isnan(value) else "infinity"
        return f"the decimal {value!r}" if value.is_integer() else f"the fraction {value:g}"
    if isinstance(value, str):
        return f"the text '{cut(value)}'"
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def as_id(value):
    """An id as text: `id: 3` (YAML reads a number) is the id '3', as torch names Sequential's
    children; anything else is returned as it is, for the caller to refuse."""
    return str(value) if type(value) is int and value >= 0 else value


def _fail(field: ArgField, value, loc: Loc, expected: str, example: str, layer: str | None) -> BadValue:
    fix = f"write e.g. {field.name}: {example}"
    if isinstance(value, str) and "$" in value and not value.startswith("$"):  # `2 * $w`, `not $se`
        fix = f"an expression starts with $: write {field.name}: ${value}" if value == cut(value) else \
            "an expression starts with $: put one in front of it"
    return BadValue(Finding("type", f"{field.name} must be {expected}, not {describe(value)}", loc, layer, fix))


def _int(field: ArgField, value, loc: Loc, layer, minimum=None) -> int:
    lo = field.minimum if minimum is None else minimum
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, value, loc, "a whole number" + (f" >= {lo:g}" if lo is not None else ""),
                    "3" if field.name == "kernel" else str(field.default) if isinstance(field.default, int)
                    and not isinstance(field.default, bool) else str(max(int(lo or 1), 1)), layer)
    if lo is not None and value < lo:
        rule = "bad-stride" if field.name == "stride" else "range"
        why = f" ({DILATION_COUNTS})" if field.name == "dilation" and value == 0 else ""
        raise BadValue(Finding(rule, f"{field.name} {value} is out of range: it must be at least {lo:g}{why}",
                               loc, layer, f"use {field.name}: {int(lo)}"))
    if abs(value) > MAX_DIM or (field.maximum is not None and value > field.maximum):
        top = field.maximum if field.maximum is not None else MAX_DIM
        raise BadValue(Finding("range", f"{field.name} {value:,} is out of range (at most {top:,})",
                               loc, layer, f"use a realistic {field.name}"))
    return value


def coerce(field: ArgField, value, loc: Loc, layer: str | None = None, item_locs=None):
    """Return the checked value, or raise BadValue."""
    t = field.type
    if value is None and field.default is None:
        return None
    if t == "int":
        return _int(field, value, loc, layer)
    if t in ("dims", "padding"):
        if t == "padding" and value in ("same", "valid"):
            return value
        if isinstance(value, list):
            if not value:
                raise _fail(field, value, loc, "a number or a non-empty list", "[3, 3]", layer)
            out = []
            for i, item in enumerate(value):
                at = item_locs[i] if item_locs and i < len(item_locs) else loc
                if t == "padding" and isinstance(item, list):
                    if len(item) != 2:
                        raise _fail(field, item, at, "a [lo, hi] pair", "[1, 2]", layer)
                    out.append(tuple(_int(field, v, at, layer) for v in item))
                else:
                    out.append(_int(field, item, at, layer))
            return out
        if t == "padding" and isinstance(value, str):
            near = closest(value, ["same", "valid"])
            raise BadValue(Finding("type", f"padding '{cut(value)}' is not a number, 'same' or 'valid'", loc, layer,
                                   f"write padding: {near or 1}"))
        return _int(field, value, loc, layer)
    if t == "bool":
        if not isinstance(value, bool):
            raise _fail(field, value, loc, "true or false", "false", layer)
        return value
    if t == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _fail(field, value, loc, "a finite number", str(field.default), layer)
        if (field.minimum is not None and value < field.minimum) or \
                (field.maximum is not None and value > field.maximum):
            raise BadValue(Finding("range", f"{field.name} {value:g} is out of range "
                                   f"[{field.minimum:g}, {field.maximum if field.maximum is not None else math.inf:g}]",
                                   loc, layer, f"use {field.name}: {field.default}"))
        return float(value)
    if t == "choice":
        if value not in field.choices:
            near = closest(value, field.choices)
            raise BadValue(Finding("type", f"{field.name} must be one of {', '.join(field.choices)}, "
                                   f"not {describe(value)}", loc, layer,
                                   f"write {field.name}: {near or field.choices[0]}"))
        return value
    if t in ("ids", "id"):
        return _ids(field, value, loc, layer)
    if t == "scale":
        return _scale(field, value, loc, layer, item_locs)
    if t == "str":
        if not isinstance(value, str):
            raise _fail(field, value, loc, "text", "name", layer)
        return value
    raise AssertionError(f"unknown field type {t}")


def _ids(field: ArgField, value, loc: Loc, layer):
    """Layer ids (a merge's `[a, b]`), or one (`like: low`, an `id` field); the expander resolves them."""
    if field.type == "id":
        value = as_id(value)
        if not isinstance(value, str):
            raise _fail(field, value, loc, "one layer id (`input` for the network's input)", "input", layer)
        return value
    items = [as_id(v) for v in (value if isinstance(value, list) else [value])]
    if not items or not all(isinstance(v, str) for v in items):
        raise _fail(field, value, loc, "a layer id or a list of ids", "[a, b]", layer)
    return list(items)


def _scale(field: ArgField, value, loc: Loc, layer, item_locs=None):
    """A scale factor, or one per spatial dimension: each a whole number or a decimal above 0
    (1.5, 0.5), kept as written (the layer takes it exactly, as torch reads its double)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _fail(field, value, loc, "a number or a non-empty list", "[2, 2]", layer)
    for i, item in enumerate(items):
        at = item_locs[i] if isinstance(value, list) and item_locs and i < len(item_locs) else loc
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise _fail(field, item, at, "a number above 0 (2, 1.5, 0.5) or one per dimension", "2", layer)
        if not 0 < item <= MAX_DIM:
            raise BadValue(Finding("range", f"{field.name} {item:g} is out of range: it must be above 0 and at most "
                                   f"{MAX_DIM:,}", at, layer, f"use {field.name}: 2"))
    return list(items) if isinstance(value, list) else value


INPUT_FIX = ("write input: [3, 224, 224] ([C, H, W], channels first; [C] is a vector of features, [C, L] 1-D, "
             "[C, D, H, W] 3-D; with layout: hwc, [H, W, C])")


def input_layout(value, loc: Loc) -> str | None:
    """The spec's `layout:` (how `input:` is written): chw, hwc, or None when not given."""
    if value is None or value in LAYOUTS:
        return value
    near = closest(value, list(LAYOUTS)) if isinstance(value, str) else None
    raise BadValue(Finding("type", f"layout must be chw (input: [C, H, W]) or hwc (input: [H, W, C]), "
                           f"not {describe(value)}", loc, fix=f"write layout: {near or 'chw'}"))


def input_volume(value, loc: Loc, layout: str | None) -> tuple[tuple[int, ...], Finding | None]:
    """The spec's `input:` -> ((C, *spatial), a warning or None), read in `layout` (None:
    channels first, the default). Raises BadValue: not a list of 1 to 4 sizes; two equal sizes
    with the layout unstated (an image without its channels). A volume that looks written in
    the other layout gets the warning, which names the other reading and its fix."""
    chosen = layout or "chw"
    how = f"layout: {layout}" if layout else "the default; layout: hwc reads [H, W, C]"
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        what = describe(value) if not isinstance(value, list) else \
            "an empty list" if not value else f"a list of {len(value)} sizes"
        raise BadValue(Finding("type", f"input must be a list of 1 to 4 sizes, not {what}", loc, fix=INPUT_FIX))
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_DIM:
            what = f"{v:,} (at most {MAX_DIM:,})" if isinstance(v, int) and not isinstance(v, bool) and v > 0 \
                else describe(v)
            raise BadValue(Finding("type", f"each size of input is a whole number from 1 to {MAX_DIM:,}, not {what}",
                                   value.at(i) if hasattr(value, "at") else loc, fix=INPUT_FIX))
    typed = tuple(value)
    if layout is None and missing_channels(typed):
        raise BadValue(Finding("missing-channels", missing_message(typed, chosen, f"input {_listed(typed)}", how),
                               loc, fixes=(*(f"write input: {_listed(with_channels(typed, chosen, c))} ({c} channel"
                                             f"{'s' if c > 1 else ''})" for c in (3, 1)),
                                           "add layout: chw to mean the 1-D volume")))
    fixed = looks_swapped(typed, chosen)
    warning = None if fixed is None else Finding(
        "layout", swapped_message(typed, chosen, f"input {_listed(typed)}", how), loc,
        fixes=(f"write input: {_listed(fixed)}", f"add layout: {other(chosen)}"), severity=WARNING)
    return to_shape(typed, chosen), warning


def _listed(sizes) -> str:
    return "[" + ", ".join(map(str, sizes)) + "]"
