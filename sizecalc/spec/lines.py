"""Spec text line by line: YAML scalars that read back as themselves, flow mappings, ids
made from module paths, and one layer as the line a person writes (`writer.py` puts the
lines together, `fold.py` writes blocks of them). Pure Python, no torch.

Names come from untrusted models: every string written is either a plain ASCII word that
YAML reads back as that same string, or double-quoted with every other character escaped.
"""

from __future__ import annotations

import json
import math
import re

from ..core.record import dataclass, field
from ..layers import lookup

NETWORK_INPUT = "input"  # what `Op.inputs` calls the network's input
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*$")  # a word YAML reads back as the same string ...
_YAML_WORDS = frozenset(  # ... unless it is one of YAML 1.1's booleans or nulls
    "y n yes no true false on off null".split())
_NOT_ID = re.compile(r"[^A-Za-z0-9_\-]+")
RESERVED = ("in", "input")


@dataclass
class Op:
    """One imported layer. `kind` is a sizecalc kind (`conv`), `args` its fields as sizecalc
    names them (`filters`, `kernel`, ...; plain ints, floats, bools, strings and lists of
    those), `id` the path it came from (any text: the writer sanitises it), `inputs` the ids
    of the layers it reads (`"input"` for the network's input; empty = the layer above).
    A merge (add, concat, mul) takes its operands from `inputs`; a field that names a layer
    (resize's `like:`) holds that layer's id."""

    id: str
    kind: str
    args: dict = field(default_factory=dict)
    inputs: tuple = ()


class Param(str):
    """A block parameter used as an argument (fold.py): written `$name`, unquoted (the name is
    sizecalc's own, made from sanitised ids and field names)."""


# -- scalars -----------------------------------------------------------------------------
def scalar(value) -> str:
    """One YAML scalar that reads back as exactly `value` (bool, int, float, str or None)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return _float_e(text) if "e" in text else text if "." in text else text + ".0"
    return quote(str(value))


def _float_e(text: str) -> str:
    """PyYAML (YAML 1.1) reads `1e-05` as a string: it wants a dot in the mantissa."""
    mantissa, exponent = text.split("e")
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"


def quote(text: str) -> str:
    """A string as YAML: a plain word where YAML reads it back unchanged, else double-quoted
    with every non-printable-ASCII character escaped (JSON's escapes are YAML's)."""
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    out = json.dumps(text, ensure_ascii=True)
    # a lone surrogate (from a hostile name) has no YAML escape that PyYAML accepts
    return re.sub(r"\\ud[89a-f][0-9a-f]{2}", r"\\ufffd", out, flags=re.IGNORECASE)


def value_text(value) -> str:
    if isinstance(value, Param):
        return f"${value}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{quote(str(k))}: {value_text(v)}" for k, v in value.items()) + "}"
    return scalar(value)


def flow(pairs: list) -> str:
    """`{key: value, ...}`; a pair whose value is `...` is written as the bare key (`{id: f, flatten}`)."""
    return "{" + ", ".join(quote(k) if v is ... else f"{quote(k)}: {value_text(v)}" for k, v in pairs) + "}"


# -- ids ---------------------------------------------------------------------------------
def sanitise(path: str, sep: str = "_") -> str:
    """A module path as an id: `.` (and anything else an id may not hold) becomes `_`."""
    parts = [_NOT_ID.sub("_", p).strip("_") or "x" for p in str(path).split(".")]
    text = sep.join(parts)
    if text.startswith("-"):
        text = "_" + text
    return text if text not in RESERVED else text + "_"


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, (list, tuple)) else value



# -- one layer ---------------------------------------------------------------------------
def layer_args(op: Op, defaults: dict, rounding: str | None) -> list:
    """The (key, value) pairs an op's line states: what differs from its defaults."""
    kind = lookup(op.kind)
    pairs = []
    given = defaults.get(op.kind, {})
    for f in kind.fields if kind else ():
        if f.name not in op.args or f.name == kind.main:
            continue
        value = op.args[f.name]
        if f.name == "rounding":
            default = rounding if rounding is not None else f.default
        else:
            default = given.get(f.name, f.default)
        if isinstance(value, Param) or _hashable(value) != _hashable(default) or (f.name in given and value is None):
            pairs.append((f.name, value))
    return pairs


# -- the layers --------------------------------------------------------------------------
def _main_value(op: Op, kind, refs: list[str]):
    if kind is not None and kind.merge:
        return refs
    if kind is not None and kind.main and op.args.get(kind.main) is not None:
        return op.args[kind.main]
    return ...


def op_line(op: Op, own_id: str, refs: list[str], prev: str | None, defaults: dict, rounding, extra=()) -> str:
    """One layer as a flow mapping: id, from (if not the layer above), the op, its args and
    `extra` (key, value) pairs."""
    kind = lookup(op.kind)
    pairs: list = [("id", own_id)]
    if not (kind is not None and kind.merge) and refs and (refs[0] != prev):
        pairs.append(("from", refs[0]))
    pairs.append((op.kind, _main_value(op, kind, refs)))
    pairs += layer_args(op, defaults, rounding)
    return flow(pairs + list(extra))
