"""Checking one YAML value against a layer field's type, with the location to blame.

Whole numbers must be YAML integers (not 2.5, not true, not NaN), within the field's range;
`dims` fields take one integer or one per spatial dimension; `padding` also takes `same`,
`valid` and `[lo, hi]` pairs. Every failure is a `type` Finding at the value's own line and
column, with what was found, what is accepted and an example.
"""

from __future__ import annotations

import math

from ..core.errors import Finding, Loc, cut
from ..layers.base import ArgField
from .hints import closest
from ..core.limits import MAX_VALUE as MAX_DIM


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
        raise BadValue(Finding(rule, f"{field.name} {value} is out of range: it must be at least {lo:g}",
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
    if t == "ids":
        items = [as_id(v) for v in (value if isinstance(value, list) else [value])]
        if not items or not all(isinstance(v, str) for v in items):
            raise _fail(field, value, loc, "a layer id or a list of ids", "[a, b]", layer)
        return list(items)
    if t == "str":
        if not isinstance(value, str):
            raise _fail(field, value, loc, "text", "name", layer)
        return value
    raise AssertionError(f"unknown field type {t}")
