"""The JSON Schema (draft-07) of the spec format, generated from the layer registry.

Every op name and alias, every field with its type, default, range, choices and doc, the
keys every layer may carry, and the top-level, block, `use:` and group keys all come from
the declarations the loader itself checks against (`layers/`, `spec/expand.py`), so the
schema cannot drift from what `sizecalc lint` accepts. Editors use it for completion and
red squiggles; the loader stays the judge (it also checks geometry, ids and wiring).
`sizecalc schema -o specs/sizecalc.schema.json` regenerates the shipped copy.
"""

from __future__ import annotations

import json

from ..layers import ALIASES, REGISTRY, TORCH_NAMES, lookup
from ..layers.base import COMMON_KEYS, REQUIRED, ROUNDING, ArgField, LayerKind
from .expand import (BLOCK_KEYS, FORMAT_VERSION, GROUP_KEYS, MAX_LAYERS, PARAM_TYPES, TOP_KEYS, USE_KEYS,
                     VARIANT_KEYS)
from ..core.layout import LAYOUTS
from .values import MAX_DIM

DRAFT = "http://json-schema.org/draft-07/schema#"
MAX_SPATIAL = 3  # [L], [H, W] or [D, H, W]

PARAM = {"type": "string", "pattern": "^\\$",
         "description": "an expression of block parameters: $filters, $out * 4, $make_divisible($w * 1.1, 8), "
                        "$not $se (README, Expressions)"}
ID = {"anyOf": [{"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_\\-]*$"}, {"type": "integer", "minimum": 0}],
      "description": "this layer's id: ASCII letters, digits, _ and - (`features_3`, `0`)"}
LAYER_REF = {"type": ["string", "integer"]}  # an id written as a number (`from: 3`) is the id '3'


def _ref(name: str) -> dict:
    return {"$ref": f"#/definitions/{name}"}


def _or_param(*schemas: dict) -> list[dict]:
    return [*schemas, _ref("param")]


def _scale_or_id(kind: str) -> list[dict]:
    """A scale (a number above 0, or one per dimension) or one layer id (`like: low`)."""
    if kind == "id":
        return [LAYER_REF]
    number = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DIM}
    return _or_param(number, {"type": "array", "minItems": 1, "maxItems": MAX_SPATIAL,
                              "items": {"anyOf": _or_param(number)}})


def field_schema(f: ArgField) -> dict:
    """One field's value: its type (with `$param` strings allowed wherever a value is)."""
    integer: dict = {"type": "integer"}
    if f.minimum is not None:
        integer["minimum"] = int(f.minimum)
    integer["maximum"] = int(f.maximum) if f.maximum is not None else MAX_DIM
    per_dim = {"type": "array", "minItems": 1, "maxItems": MAX_SPATIAL, "items": {"anyOf": _or_param(integer)}}
    if f.type == "int":
        options = _or_param(integer)
    elif f.type == "dims":
        options = _or_param(integer, per_dim)
    elif f.type == "padding":
        pair = {"type": "array", "minItems": 2, "maxItems": 2, "items": {"anyOf": _or_param(integer)},
                "description": "[lo, hi]"}
        options = _or_param(integer, {"enum": ["same", "valid"]},
                            {**per_dim, "items": {"anyOf": _or_param(integer, pair)}})
    elif f.type == "bool":
        options = _or_param({"type": "boolean"})
    elif f.type == "float":
        number: dict = {"type": "number"}
        if f.minimum is not None:
            number["minimum"] = f.minimum
        if f.maximum is not None:
            number["maximum"] = f.maximum
        options = _or_param(number)
    elif f.type == "choice":
        options = _or_param({"enum": list(f.choices)})
    elif f.type == "ids":
        options = [LAYER_REF, {"type": "array", "minItems": 1, "items": LAYER_REF}]
    elif f.type in ("scale", "id"):
        options = _scale_or_id(f.type)
    elif f.type == "str":
        options = [{"type": "string"}]
    else:
        raise ValueError(f"field {f.name}: no schema for type {f.type!r}")
    if f.default is not REQUIRED:
        options.append({"type": "null", "description": "the default"})
    schema: dict = {"anyOf": options}
    if f.doc:
        schema["description"] = f.doc
    if f.default not in (REQUIRED, None):
        schema["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
    return schema


def _field_defs(kinds) -> tuple[dict, dict]:
    """definitions per distinct field schema, named by field (kind-field where two differ)."""
    by_name: dict[str, list] = {}
    for kind in kinds:
        for f in kind.fields:
            by_name.setdefault(f.name, []).append((kind, f, field_schema(f)))
    defs, names = {}, {}
    for name, uses in by_name.items():
        distinct = {json.dumps(s, sort_keys=True) for _, _, s in uses}
        for kind, f, schema in uses:
            def_name = f"field-{name}" if len(distinct) == 1 else f"field-{kind.name}-{name}"
            defs[def_name] = schema
            names[(kind.name, f.name)] = def_name
    return defs, names


def _common() -> dict:
    known = {"id": _ref("id"),
             "from": {"anyOf": [LAYER_REF, {"type": "array", "minItems": 1, "maxItems": 1, "items": LAYER_REF}],
                      "description": "the id of this layer's input (default: the layer above; "
                                     "`in` = the block's input, `input` = the network's)"},
             "enabled": {"anyOf": _or_param({"type": "boolean"}),
                         "description": "false makes the layer a pass-through"},
             "repeat": _ref("repeat")}
    return {key: known.get(key, {}) for key in (*COMMON_KEYS, "repeat")}


def kind_schemas(kind: LayerKind, field_names: dict) -> tuple[dict, dict]:
    """(the mapping form of a layer of this kind, its arguments as a mapping)."""
    args = {n: _ref(field_names[(kind.name, f.name)]) for f in kind.fields for n in (f.name, *f.aliases)}
    args_schema = {"type": "object", "properties": args, "additionalProperties": False}
    main = next((f for f in kind.fields if f.name == kind.main), None)
    value = [_ref(f"args-{kind.name}")]
    if main is not None:
        value.insert(0, _ref(field_names[(kind.name, main.name)]))
    if main is None or main.default is not REQUIRED:
        value.append({"type": "null"})
    what = f"the op's main value ({main.name}), or its arguments as a mapping" if main else \
        "nothing, or the op's arguments as a mapping"
    op_value = {"anyOf": value, "description": what}
    names = spellings(kind)
    layer = {"type": "object", "description": kind.doc or kind.name,
             "properties": {**dict.fromkeys(names, op_value), **args, **_common()},
             "additionalProperties": False}
    if len(names) == 1:
        layer["required"] = [kind.name]
    else:
        layer["oneOf"] = [{"required": [n]} for n in names]
    return layer, args_schema


def spellings(kind: LayerKind) -> tuple[str, ...]:
    """A kind's name, its aliases and PyTorch's class names for it (`Conv2d`): the loader
    takes op names in any case, the schema lists these."""
    return (kind.name, *kind.aliases, *(n for n, k in TORCH_NAMES.items() if k == kind.name))


def schema() -> dict:
    """The JSON Schema of the spec format, from the layer registry."""
    kinds = list(REGISTRY.values())
    ops = sorted({*ALIASES, *TORCH_NAMES})
    field_defs, field_names = _field_defs(kinds)
    defs: dict = {"param": PARAM, "id": ID,
                  "repeat": {"anyOf": _or_param({"type": "integer", "minimum": 0, "maximum": MAX_LAYERS}),
                             "description": "how many copies (ids gain .0, .1, ... where the item has an id)"}}
    defs.update(_layer_defs(kinds, field_names))
    defs.update(field_defs)
    defs.update(_structure_defs(ops, [_ref("name"), _ref("use"), _ref("group")] +
                                [_ref(f"layer-{kind.name}") for kind in kinds]))
    top_keys = _top_keys(ops)
    return {
        "$schema": DRAFT,
        "title": "sizecalc spec",
        "description": "A CNN architecture for sizecalc. Generated by `sizecalc schema` from the layer "
                       "registry; do not edit by hand.",
        "type": "object",
        "properties": {k: top_keys.get(k, {}) for k in TOP_KEYS},
        "required": ["input", "layers"],
        "additionalProperties": False,
        "definitions": dict(sorted(defs.items())),
    }


def _layer_defs(kinds, field_names) -> dict:
    """layer-KIND (a layer of that kind) and args-KIND (its arguments) for every kind."""
    defs = {}
    for kind in kinds:
        defs[f"layer-{kind.name}"], defs[f"args-{kind.name}"] = kind_schemas(kind, field_names)
    return defs


def _structure_defs(ops: list[str], layer_refs: list[dict]) -> dict:
    """What a list of layers may hold besides layers: names, block uses, groups; and blocks."""
    common = _common()
    use_keys = {"use": {"type": "string", "description": "the name of a block under `blocks:`"},
                "with": {"type": "object", "description": "values of the block's parameters"},
                "first": {"type": "object", "description": "parameter values for the first copy only"},
                **common}
    group_keys = {"layers": _ref("layers"), **common}
    param_decl = {"anyOf": [{"enum": list(PARAM_TYPES), "description": "a required parameter of this type"},
                            {"type": ["integer", "number", "boolean", "null", "array"],
                             "description": "an optional parameter with this default"}]}
    block_keys = {"params": {"type": "object", "additionalProperties": _ref("param-decl"),
                             "description": "typed parameters: {filters: int, stride: 1}"},
                  "layers": _ref("layers"), "description": {"type": "string"}, "doc": {"type": "string"}}
    variant_keys = {"with": {"type": "object", "description": "values of the spec's params"},
                    "input": _ref("input"), "name": {"type": ["string", "number"]},
                    "description": {"type": "string"}}
    return {
        "param-decl": param_decl,
        "input": {"type": "array", "minItems": 1, "maxItems": 4,
                  "items": {"type": "integer", "minimum": 1, "maximum": MAX_DIM},
                  "description": "the input volume per sample, channels first unless layout: hwc: [C] (a vector "
                                 "of features), [C, L], [C, H, W] or [C, D, H, W]"},
        "variant": {"type": "object", "properties": {k: variant_keys.get(k, {}) for k in VARIANT_KEYS},
                    "additionalProperties": False},
        "name": {"type": "string", "description": "an op with its defaults (relu, flatten, ...) or a block name",
                 "examples": ops},
        "use": {"type": "object", "description": "a copy (or `repeat:` copies) of a block",
                "properties": {k: use_keys.get(k, {}) for k in USE_KEYS},
                "required": ["use"], "additionalProperties": False},
        "group": {"type": "object", "description": "a list of layers, optionally repeated",
                  "properties": {k: group_keys.get(k, {}) for k in GROUP_KEYS},
                  "required": ["layers"], "additionalProperties": False},
        "layer": {"anyOf": layer_refs},
        "layers": {"type": "array", "items": _ref("layer")},
        "block": {"type": "object", "properties": {k: block_keys.get(k, {}) for k in BLOCK_KEYS},
                  "required": ["layers"], "additionalProperties": False},
    }


def _top_keys(ops: list[str]) -> dict:
    """The schema of each top-level key of a spec."""
    defaults = {n: _ref(f"args-{lookup(n).name}") for n in ops}
    defaults["rounding"] = field_schema(ROUNDING)
    return {
        "sizecalc": {"const": FORMAT_VERSION, "description": "format version"},
        "name": {"type": ["string", "number"]},
        "description": {"type": "string"},
        "source": {"type": "string", "description": "where the architecture comes from"},
        "input": _ref("input"),
        "layout": {"enum": list(LAYOUTS), "description": "how input: is written (a variant's too): chw = "
                                                        "[C, H, W] (the default), hwc = [H, W, C]"},
        "params": {"type": "object", "additionalProperties": _ref("param-decl"),
                   "description": "the network's own parameters ($width anywhere in it), with defaults; "
                                  "a variant gives them values"},
        "variants": {"type": "object", "minProperties": 1, "additionalProperties": _ref("variant"),
                     "description": "named scales of one architecture (a model family); `sizecalc table NAME` "
                                    "picks one, the first by default"},
        "defaults": {"type": "object", "properties": defaults, "additionalProperties": False,
                     "description": "per-op defaults that any layer may override; `rounding` for every layer"},
        "blocks": {"type": "object", "additionalProperties": _ref("block"),
                   "propertyNames": {"not": {"enum": ops}}, "description": "reusable blocks with typed parameters"},
        "layers": {"allOf": [_ref("layers")], "minItems": 1},
    }


def render() -> str:
    return json.dumps(schema(), indent=2) + "\n"
