"""An imported network (a list of `Op`s) -> readable spec text that sizecalc loads.

The importers (`sizecalc.torch.fx_import` for a PyTorch module, the ONNX reader) turn a model
into `Op`s: a layer's kind, its arguments as sizecalc's fields name them, its id (the module
path it came from, `layer1.0.conv1`) and the ids of the layers it reads. This module is the
one place that turns those into YAML, as a person would write it:

- ids are the module paths, sanitised to sizecalc's id rules and made unique;
- `from:` only where a layer does not read the layer above it;
- arguments equal to the kind's default are left out, and a value most layers of a kind
  share goes to `defaults:` (`relu: {inplace: true}`, `rounding: floor`);
- the module hierarchy is turned back into blocks (`fold.py`): identical numbered sibling
  submodules (ResNet's `layer1.0`, `layer1.1`, ...) become one block used with `repeat:`, with
  the first copy's differences in `first:`.

Names come from untrusted models: every string written is either a plain ASCII word that
YAML reads back as that same string, or double-quoted with every other character escaped;
nothing a model names ever reaches a comment. The text is data for `sizecalc.spec.loads`,
never evaluated. Pure Python: no torch, no onnx.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter

from ..core.record import dataclass, field
from ..layers import lookup
from ..layers.base import REQUIRED

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


def unique_ids(ops: list[Op]) -> dict[int, str]:
    """op index -> its id: sanitised, unique (a second `relu` becomes `relu_2`)."""
    seen: set[str] = set()
    out = {}
    for i, op in enumerate(ops):
        base = sanitise(op.id) if op.id else op.kind
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        out[i] = name
    return out


# -- defaults ----------------------------------------------------------------------------
def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, (list, tuple)) else value


def factor_defaults(ops: list[Op]) -> tuple[dict, str | None]:
    """(kind -> {field: value}, rounding): a switch or constant that at least two layers of a
    kind share, that is most of them and is not the kind's own default; the rounding most
    layers state."""
    by_kind: dict[str, list[Op]] = {}
    for op in ops:
        by_kind.setdefault(op.kind, []).append(op)
    defaults: dict = {}
    roundings = Counter(op.args["rounding"] for op in ops if "rounding" in op.args)
    rounding = None
    if roundings:
        value, count = roundings.most_common(1)[0]
        rounding = value if value != "exact" else None
    for kind_name, group in by_kind.items():
        kind = lookup(kind_name)
        if kind is None:
            continue
        for f in kind.fields:
            # only switches and constants (bias, inplace, eps, mode): a kernel, stride or width
            # stays on its layer's line, where a reader looks for it
            if f.name == "rounding" or f.type not in ("bool", "float", "choice") or f.name == kind.main:
                continue
            counts = Counter(_hashable(op.args[f.name]) for op in group if f.name in op.args)
            if not counts:
                continue
            value, count = counts.most_common(1)[0]
            own = f.default if f.default is not REQUIRED else ...
            if count >= 2 and count * 2 > len(group) and value != _hashable(own) and value is not None:
                defaults.setdefault(kind_name, {})[f.name] = value
    return defaults, rounding


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
        if _hashable(value) != _hashable(default) or (f.name in given and value is None):
            pairs.append((f.name, value))
    return pairs


# -- the layers --------------------------------------------------------------------------
def _main_value(op: Op, kind, refs: list[str]):
    if kind is not None and kind.merge:
        return refs
    if kind is not None and kind.main and op.args.get(kind.main) is not None:
        return op.args[kind.main]
    return ...


def op_line(op: Op, own_id: str, refs: list[str], prev: str | None, defaults: dict, rounding) -> str:
    """One layer as a flow mapping: id, from (if not the layer above), the op and its args."""
    kind = lookup(op.kind)
    pairs: list = [("id", own_id)]
    if not (kind is not None and kind.merge) and refs and (refs[0] != prev):
        pairs.append(("from", refs[0]))
    pairs.append((op.kind, _main_value(op, kind, refs)))
    pairs += layer_args(op, defaults, rounding)
    return flow(pairs)


def _resolve_refs(ops: list[Op], ids: dict[int, str]) -> list[list[str]]:
    """Each op's inputs as written ids (`input` for the network's input)."""
    by_path = {op.id: ids[i] for i, op in enumerate(ops)}
    out = []
    for i, op in enumerate(ops):
        if not op.inputs:
            out.append([ids[i - 1] if i else NETWORK_INPUT])
        else:
            out.append([NETWORK_INPUT if r == NETWORK_INPUT else by_path.get(r, sanitise(r)) for r in op.inputs])
    return out


def _ref_fields(op: Op) -> list[str]:
    kind = lookup(op.kind)
    return [f.name for f in kind.fields if f.type == "id"] if kind else []


def renamed_ref_args(ops: list[Op], ids: dict[int, str]) -> list[Op]:
    """Ops whose `like:` (a field naming a layer) holds the written id of that layer."""
    by_path = {op.id: ids[i] for i, op in enumerate(ops)}
    out = []
    for op in ops:
        names = [n for n in _ref_fields(op) if isinstance(op.args.get(n), str)]
        if names:
            args = dict(op.args)
            for n in names:
                args[n] = args[n] if args[n] == NETWORK_INPUT else by_path.get(args[n], sanitise(args[n]))
            op = Op(op.id, op.kind, args, op.inputs)
        out.append(op)
    return out


def write_spec(ops: list[Op], input_shape, name: str = "imported", source: str | None = None,
               notes: tuple = (), fold: bool = True) -> str:
    """The spec's YAML text. `input_shape` is [C, H, W] (or any rank sizecalc takes);
    `source` (e.g. `torchvision.models:resnet50`) and `notes` (plain sentences) are kept as
    data in `description:`, quoted, never as comments. `fold` turns repeated numbered
    submodules back into blocks (see fold.py)."""
    ids = unique_ids(ops)
    refs = _resolve_refs(ops, ids)
    ops = renamed_ref_args(ops, ids)
    defaults, rounding = factor_defaults(ops)
    lines = ["# written by `sizecalc import`; check it with `sizecalc table` or `sizecalc lint`", "sizecalc: 1",
             f"name: {quote(str(name))}"]
    text = " ".join([*(["from " + source] if source else []), *notes]).strip()
    if text:
        lines.append(f"description: {quote(text)}")
    lines.append(f"input: {value_text(list(input_shape))}")
    if defaults or rounding:
        lines.append("defaults:")
        if rounding:
            lines.append(f"  rounding: {scalar(rounding)}")
        for kind_name, args in defaults.items():
            lines.append(f"  {quote(kind_name)}: {flow(list(args.items()))}")
    body = None
    if fold:
        from .fold import fold_layers
        body = fold_layers(ops, ids, refs, defaults, rounding)
    if body is None:
        body = {"blocks": [], "layers": flat_lines(ops, ids, refs, defaults, rounding)}
    if body["blocks"]:
        lines.append("blocks:")
        lines += body["blocks"]
    lines.append("layers:")
    lines += body["layers"]
    return "\n".join(lines) + "\n"


def flat_lines(ops: list[Op], ids: dict[int, str], refs: list[list[str]], defaults: dict, rounding) -> list[str]:
    out = []
    prev = NETWORK_INPUT
    for i, op in enumerate(ops):
        out.append("  - " + op_line(op, ids[i], refs[i], prev, defaults, rounding))
        prev = ids[i]
    return out
