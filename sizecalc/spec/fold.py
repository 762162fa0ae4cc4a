"""Module hierarchy -> blocks: the numbered children of one module (ResNet's `layer1.0`,
`layer1.1`, ...) that have one structure are written once, as a block used with `repeat:`,
as a person writes ResNet's stages (specs/resnet.yaml).

A group folds when all the children `P.0 ... P.n-1` (n >= 2) of a path P follow each other
in the layer order, each reads only its own layers and the layer before it (`in`), nothing
outside reads inside the group but its last layer, and the copies after the first are the
same layers with the same arguments. The first copy may differ in argument values (a stride,
a width: `first:`) and may hold extra single-input layers the others lack (ResNet's
projection shortcut: `enabled: $downsample`, true in `first:`). Arguments that differ become
block parameters, declared with the later copies' values as defaults. A block of the same
layers and parameters is reused by later groups (`with:` gives their values). Anything else
is written flat: folding changes how the spec reads, never what it sizes.
"""

from __future__ import annotations

import re

from ..layers import lookup
from .lines import NETWORK_INPUT, Param, flow, op_line, quote, sanitise


MAX_PARAMS = 4  # more values that differ between the copies, and they are not copies
_NUMBERED = re.compile(r"(.*?)(0|[1-9][0-9]*)$")  # a stem, then a number written without leading zeros


def _parts(path: str) -> list[str]:
    return str(path).split(".")


def _under(op, prefix: list[str]) -> bool:
    """Whether the op lies inside a child of the path `prefix` (not the path's own layer)."""
    parts = _parts(op.id)
    return parts[:len(prefix)] == prefix and len(parts) > len(prefix) + 1


def _leaf_of(op, prefix: list[str]) -> bool:
    """Whether the op is a layer of the path `prefix` itself (P.2 after P.0 and P.1)."""
    parts = _parts(op.id)
    return parts[:len(prefix)] == prefix and len(parts) == len(prefix) + 1


def numbered(name: str):
    """The stem of a numbered child's name (`encoder_layer_3` -> `encoder_layer_`, `3` -> ``)
    and its number, or None."""
    found = _NUMBERED.match(name)
    return (found.group(1), int(found.group(2))) if found else None


def find_group(ops, i: int):
    """(P, depth of its children, the children's [start, stop) ranges, their names' stem) for
    the outermost path P whose first child starts at op i, whose children are numbered 0, 1,
    ... in order (`P.0`, `P.1`, or one stem and a number: ViT's `encoder_layer_0`,
    `encoder_layer_1`) and hold every layer under P; or None."""
    parts = _parts(ops[i].id)
    for k in range(len(parts) - 1):
        prefix = parts[:k]
        first = numbered(parts[k])
        if first is None or first[1] != 0 or (i and _under(ops[i - 1], prefix)):
            continue
        stem = first[0]
        end, ranges = i, []
        while end < len(ops) and _under(ops[end], prefix):
            child = _parts(ops[end].id)[k]
            if not ranges or child != _parts(ops[ranges[-1][0]].id)[k]:
                if child != f"{stem}{len(ranges)}":
                    break
                ranges.append([end, end])
            ranges[-1][1] = end + 1
            end += 1
        if len(ranges) >= 2 and not any(_under(op, prefix) or (k and _leaf_of(op, prefix)) for op in ops[end:]):
            return ".".join(prefix), k, ranges, stem
    return None


def child_body(ops, ids, refs, k: int, start: int, stop: int):
    """The child's layers as (local id, op, local refs), or None when one reads outside."""
    entry = ids[start - 1] if start else NETWORK_INPUT
    local: dict[str, str] = {}
    body = []
    for j in range(start, stop):
        name = sanitise(".".join(_parts(ops[j].id)[k + 1:]))
        while name in local.values():
            name += "_"
        local[ids[j]] = name
        mapped = []
        for r in refs[j]:
            if r in local:
                mapped.append(local[r])
            elif r == entry:
                mapped.append("in")
            else:
                return None
        body.append((name, ops[j], mapped))
    return body


def _shape_key(body, drop=frozenset()):
    """The child's layers without their argument values, the layers in `drop` passed through."""
    through = {}
    key = []
    for name, op, mapped in body:
        mapped = [through.get(r, r) for r in mapped]
        if name in drop:
            through[name] = mapped[0]
            continue
        key.append((name, op.kind, tuple(sorted(op.args)), tuple(mapped)))
    return tuple(key)


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, (list, tuple)) else value


def compare(bodies):
    """(extras of the first copy, {(layer, field): (first value, later value)}) or None."""
    rest = bodies[1:]
    key = _shape_key(rest[0])
    if any(_shape_key(b) != key for b in rest[1:]):
        return None
    later = {name for name, _, _ in rest[0]}
    extras = [name for name, _, _ in bodies[0] if name not in later]
    if _shape_key(bodies[0], frozenset(extras)) != key or (extras and bodies[0][-1][0] in extras):
        return None
    if any(op.kind and (lookup(op.kind) is None or lookup(op.kind).merge or len(m) != 1)
           for name, op, m in bodies[0] if name in extras):
        return None
    varying = {}
    for name, op, _ in rest[0]:
        values = [{n: o for n, o, _ in b}[name].args for b in bodies]
        for f in op.args:
            if any(_hashable(v[f]) != _hashable(values[1][f]) for v in values[2:]):
                return None  # the later copies differ among themselves
            if _hashable(values[0][f]) != _hashable(values[1][f]):
                if isinstance(values[0][f], (list, tuple)) or isinstance(values[1][f], (list, tuple)):
                    return None
                varying[(name, f)] = (values[0][f], values[1][f])
    return extras, varying


def _param_names(varying, extras) -> dict:
    fields = [f for _, f in varying]
    names = {}
    for (layer, f) in varying:
        names[(layer, f)] = sanitise(f if fields.count(f) == 1 else f"{layer}_{f}").replace("-", "_")
    if extras:
        name = sanitise(extras[0].split("_")[0] or "extra").replace("-", "_")
        while name in names.values():
            name += "_"
        names["extras"] = name
    return names


def block_lines(name, body, extras, varying, names, defaults, rounding) -> list[str]:
    params = {names[key]: later for key, (_, later) in varying.items()}
    if extras:
        params[names["extras"]] = False
    lines = [f"  {quote(name)}:"]
    if params:
        lines.append(f"    params: {flow(list(params.items()))}")
    lines.append("    layers:")
    prev = "in"
    for local, op, mapped in body:
        args = dict(op.args)
        for (layer, f) in varying:
            if layer == local:
                args[f] = Param(names[(layer, f)])
        extra = [("enabled", Param(names["extras"]))] if local in extras else []
        lines.append("      - " + op_line(type(op)(op.id, op.kind, args, op.inputs), local, mapped, prev, defaults,
                                          rounding, extra))
        prev = local
    return lines


def fold_layers(ops, ids, refs, defaults, rounding):
    """{"blocks": lines, "layers": lines}, or None when nothing folds."""
    blocks: dict = {}  # structure -> (block name, param names, declared values)
    block_text: list[str] = []
    layers: list[str] = []
    renamed: dict[str, str] = {}
    used = set(ids.values())
    prev, i = NETWORK_INPUT, 0
    while i < len(ops):
        folded = _try_group(ops, ids, refs, i)
        if folded is None:
            mine = [renamed.get(r, r) for r in refs[i]]
            layers.append("  - " + op_line(ops[i], ids[i], mine, prev, defaults, rounding))
            prev, i = ids[i], i + 1
            continue
        path, k, ranges, stem, bodies, extras, varying = folded
        names = _param_names(varying, extras)
        text = block_lines("", bodies[0], extras, varying, names, defaults, rounding)
        key = "\n".join(text)  # the same layers, arguments and parameters: the same block
        if key not in blocks:
            block = _block_name(stem, len(blocks), {b for b, _ in blocks.values()} | used)
            blocks[key] = (block, {names[v]: later for v, (_, later) in varying.items()})
            block_text += [f"  {quote(block)}:"] + text[1:]
        block, declared = blocks[key]
        uid = sanitise(path)
        while uid in used:
            uid += "_"
        used.add(uid)
        entry = [renamed.get(r, r) for r in refs[ranges[0][0]] if r not in {ids[j] for j in range(*ranges[0])}]
        pairs = [("id", uid)] + ([("from", entry[0])] if entry and entry[0] != prev else [])
        pairs += [("use", block), ("repeat", len(ranges))]
        with_ = {names[v]: later for v, (_, later) in varying.items() if declared[names[v]] != later}
        first = {names[v]: one for v, (one, _) in varying.items()}
        if extras:
            first[names["extras"]] = True
        pairs += ([("with", with_)] if with_ else []) + ([("first", first)] if first else [])
        layers.append("  - " + flow(pairs))
        renamed[ids[ranges[-1][1] - 1]] = uid
        prev, i = uid, ranges[-1][1]
    return {"blocks": block_text, "layers": layers} if block_text else None


def _block_name(stem: str, n: int, taken: set) -> str:
    """`block1`, `block2`, ... for children numbered `0`, `1`; the children's own stem
    (`encoder_layer` for ViT's `encoder_layer_0`, ...) where they have one."""
    name = sanitise(stem.rstrip("_-")) if stem.rstrip("_-") else ""
    if name and lookup(name) is not None:
        name += "_block"  # a block named like an op (or an op's alias) reads as that op
    if not name or name in taken:
        name = f"{name or 'block'}{n + 1}"
    while name in taken:
        name += "_"
    return name


def _try_group(ops, ids, refs, i):
    group = find_group(ops, i)
    if group is None:
        return None
    path, k, ranges, stem = group
    inside = {ids[j] for j in range(ranges[0][0], ranges[-1][1])}
    last = ids[ranges[-1][1] - 1]
    outside = [r for j in range(len(ops)) if not ranges[0][0] <= j < ranges[-1][1] for r in refs[j]]
    if any(r in inside and r != last for r in outside) or any(_reads_like(op) for op in ops[i:ranges[-1][1]]):
        return None
    bodies = [child_body(ops, ids, refs, k, a, b) for a, b in ranges]
    if any(b is None for b in bodies):
        return None
    found = compare(bodies)
    if found is None or len(found[1]) > MAX_PARAMS:
        return None  # children that differ in many values are not copies of one block
    return (path, k, ranges, stem, bodies, *found)


def _reads_like(op) -> bool:
    kind = lookup(op.kind)
    return bool(kind) and any(f.type == "id" and op.args.get(f.name) is not None for f in kind.fields)

