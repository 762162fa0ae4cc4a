"""Spec (located YAML values) -> Graph: defaults, repeats, blocks, ids and `from:` wiring.

What it guarantees: every node has a unique hierarchical id (`layer3.1.conv2`), its
arguments are type-checked against its layer kind's fields, its inputs are layers defined
above it, and the whole expansion stops at MAX_LAYERS. Every problem becomes a Finding at
the YAML location of the offending value, with the `use:` sites that led there.
"""

from __future__ import annotations

import re
from math import prod
from contextlib import contextmanager
from itertools import islice
from ..core.record import dataclass

from ..core.errors import Finding, Findings, InputError, Loc, SpecError, cut
from ..core.layout import typed_as
from ..layers import lookup
from ..layers.base import COMMON_KEYS, REQUIRED, LayerKind, spelled_rank
from .expr import ExprError, UnknownName, evaluate
from .graph import NETWORK_INPUT, Graph, Node
from .hints import Hint, closest, key_hint, op_hint
from .values import MAX_DIM, BadValue, as_id, coerce, describe, input_layout, input_volume
from .yamlsafe import MAX_FINDINGS, Map, Seq, parse, too_many
from ..core.limits import MAX_ELEMS, MAX_LAYERS, POWERS, approx
MAX_USE_DEPTH = 64  # blocks used inside blocks, as deep as YAML nesting may go
FORMAT_VERSION = 1
TOP_KEYS = ("sizecalc", "name", "input", "layout", "params", "variants", "defaults", "blocks", "layers", "description",
            "source")
VARIANT_KEYS = ("with", "input", "name", "description")
GROUP_KEYS = ("repeat", "layers", "id", "from")
USE_KEYS = ("use", "with", "repeat", "first", "id", "from", "enabled")
REPEAT_INDEX = "repeat_index"  # the copy number (0, 1, ...) that a repeated `use:`'s `with:` may read
BLOCK_KEYS = ("params", "layers", "description", "doc")
PARAM_TYPES = {"int": int, "bool": bool, "float": float, "str": str}
# an id: what a torch module path holds once flattened (`features_3`, Sequential's `0`): ASCII
# letters, digits, `_` and `-`, not starting with `-`; `.` joins ids into paths (layer1.0.conv1)
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*$")
_NOT_ID = re.compile(r"[^A-Za-z0-9_\-]")
RESERVED_IDS = ("in", "input")  # the names `from:` and merges use for the block's and the network's input
SPEC_KEYS = ("sizecalc", "layers", "input")  # a YAML file with none at its top is not a sizecalc spec
# the same test on text that does not parse: a line (or flow mapping) that starts with one of them
_SPEC_KEY = re.compile(r"""(?:^|[{,])[ \t]*["']?(?:sizecalc|layers|input)["']?[ \t]*:""", re.MULTILINE)


class NotASpec(InputError):
    """A YAML file that is not a sizecalc spec (exit 2). Its content is never quoted: a
    workflow or docker-compose file in a linted folder may hold a secret."""


def not_a_spec(name: str) -> NotASpec:
    return NotASpec([Finding("not-a-spec", "not a sizecalc spec: its top level has no `sizecalc:` key "
                             "(nor `layers:` or `input:`); none of its content is shown", Loc(name, 1, 1),
                             fix="if it is meant to be a spec, start it with `sizecalc: 1`")])


def parse_spec(text: str, name: str = "<spec>", loader=None) -> Map:
    """YAML text -> the located top-level mapping of a spec. A file that is YAML but not a
    spec (its top is not a mapping with `sizecalc:`, `layers:` or `input:`; or it does not
    parse and no line starts with one of them) raises NotASpec instead of any finding that quotes it."""
    try:
        root = parse(text, name, loader)
    except SpecError as err:
        if err.findings and err.findings[0].rule != "empty" and not _SPEC_KEY.search(text):
            raise not_a_spec(name) from None
        raise
    if not isinstance(root, Map) or not any(key in root for key in SPEC_KEYS):
        raise not_a_spec(name)
    return root


class Abort(Exception):
    """Stop expanding: a limit was hit and nothing after it can be trusted."""


def did_you_mean(word, choices) -> str:
    near = closest(word, choices)
    return f"did you mean '{cut(near)}'?" if near else ""


@dataclass
class Scope:
    prefix: str
    input: int
    params: dict
    trail: tuple
    names: dict
    counters: dict
    block: str | None = None  # the innermost block being expanded

    def child(self, prefix: str, input: int, params: dict | None = None, trail=None, block=None) -> "Scope":
        return Scope(prefix, input, self.params if params is None else params,
                     self.trail if trail is None else trail, {}, {}, block or self.block)


def _copy_scope(scope: Scope, item, i: int) -> Scope:
    """Where a repeated block's `with:` is read: its caller's scope, with the copy's number
    (0 first) as $repeat_index."""
    return scope.child(scope.prefix, scope.input, {**scope.params, REPEAT_INDEX: i}) if "repeat" in item else scope


class Expander:
    def __init__(self, root, source: str, variant: str | None = None, lenient: bool = False):
        self.root, self.source, self.variant = root, source, variant
        # lenient (lint): expand every layer that can be, past the findings, and stand in an
        # unsized placeholder for each item that failed (see placeholder)
        self.lenient = lenient
        self.skipped = 0  # items left out (lenient) for an error reported elsewhere
        self.unsure_ops: set[str] = set()  # ops whose `defaults:` had a finding
        self.unsure_blocks: set[str] = set()  # blocks whose definition had a finding
        self.input_ok = True  # the input volume was read without a finding
        self.stopped = False  # a limit (findings, layers) stopped the expansion part way
        self.nodes: list[Node] = []
        self.findings = Findings()
        self.layout: str | None = None  # the spec's layout: (how input: is written), once read
        self.warnings: list[Finding] = []  # about a spec that expands (its input's layout): the engine reports them
        self.reported = 0  # findings reported, copies included: tells whether a layer failed
        self.global_ids: dict[str, int] = {}
        self.blocks: dict = {}
        self.defaults: dict[str, Map] = {}
        self.default_keys: dict[str, dict] = {}  # op -> field name -> the key written in defaults
        self.default_cache: dict = {}
        self.rounding: tuple | None = None
        self.using: list[str] = []
        self.position = ("", 0)  # the item being read (prefix, index), for errors before it has an id
        self.origin = None  # the YAML item being expanded: findings of its copies are one finding
        self.multiplier = 1  # copies that the enclosing repeats make of what is being expanded
        self.sizes: dict[str, int] = {}  # block name -> the fewest layers one use of it makes
        self.hints: dict[tuple, object] = {}  # (what, name) -> the nearest known name, or a Hint
        self.interned: dict[tuple, dict] = {}  # (op, arguments) -> the one dict of them (see shared)
        self.bare: dict[str, tuple] = {}  # op -> (args, arg_locs) of a layer without arguments of its own
        self.pending: list = []  # `like:` ids that named no layer above (see references)
        self.network: dict = {}  # the spec's own params (a family's width, depth): seen in every block too

    def hint(self, what: str, word, choices) -> str | None:
        """The nearest name to `word` among `choices()`, computed once per (what, word): a
        misspelling in a block used 1,000 times costs one search."""
        return self.remembered(what, word, lambda: closest(word, choices()))

    def remembered(self, what: str, word, answer):
        key = (what, str(word)[:100])
        if key not in self.hints:
            self.hints[key] = answer()
        return self.hints[key]

    # -- reporting -------------------------------------------------------------------------
    def fail(self, rule, message, loc, scope=None, layer=None, fix=None, fixes=()) -> None:
        self.reported += 1
        if self.findings.add(Finding(rule, message, loc, layer, fix or None, trail=scope.trail if scope else (),
                                     block=scope.block if scope else None, fixes=fixes), self.origin) \
                and len(self.findings) > MAX_FINDINGS:
            self.findings[-1] = too_many(loc)
            raise Abort

    # -- top level -----------------------------------------------------------------------
    def run(self, input_override: tuple | None = None) -> Graph:
        try:
            return self.expand(input_override)
        except Abort:  # a limit was hit outside the layers (too many errors)
            raise SpecError(self.findings) from None

    def expand(self, input_override: tuple | None) -> Graph:
        root = self.root
        if not isinstance(root, Map):
            raise SpecError([Finding("type", f"a spec is a mapping with input: and layers:, not {describe(root)}",
                                     getattr(root, "loc", Loc(self.source, 1, 1)),
                                     fix="start with `sizecalc: 1`, `input: [3, 224, 224]`, `layers: [...]`")])
        for key in root:
            if key not in TOP_KEYS:
                hint = did_you_mean(key, TOP_KEYS)
                self.fail("unknown-key", f"unknown top-level key '{cut(key)}'" + (f"; {hint}" if hint else ""),
                          root.key_locs[key], fix=f"the top-level keys are {', '.join(TOP_KEYS)}")
        version = root.get("sizecalc", FORMAT_VERSION)
        if type(version) is not int or version != FORMAT_VERSION:  # true == 1.0 == 1 in Python, not in a spec
            self.fail("version", f"sizecalc: {describe(version)} is not a format version this sizecalc reads; "
                      f"the format version is {FORMAT_VERSION}", root.at("sizecalc"),
                      fix=f"write sizecalc: {FORMAT_VERSION}")
        chosen = self.read_variant(root)
        params = self.network_params(root, chosen)
        self.network = params or {}
        name = (chosen or root).get("name", root.get("name", None))
        if name is not None and not isinstance(name, str):
            name = str(name)
        written_at = chosen if chosen is not None and "input" in chosen else root  # a variant's input wins
        before = self.reported
        shape, input_loc = self.input_shape(written_at, input_override)
        self.input_ok = input_ok = self.reported == before
        self.read_defaults(root.get("defaults"), root.at("defaults"))
        self.read_blocks(root.get("blocks"), root.at("blocks"))
        layers = root.get("layers")
        if not isinstance(layers, Seq) or not layers:
            self.fail("missing-key", "the spec has no layers" if layers is None else
                      f"layers must be a non-empty list, not {describe(layers)}",
                      root.at("layers") if "layers" in root else root.loc,
                      fix="add `layers:` with a list such as [{conv: 64}, relu, maxpool]")
        elif (not self.findings or (self.lenient and input_ok)) and params is not None:
            try:
                self.sequence(layers, Scope("", NETWORK_INPUT, params, (), {}, {}), NETWORK_INPUT)
                self.unresolved()
            except Abort:
                self.stopped = True
        if self.findings and not self.lenient:
            raise SpecError(self.findings)
        written = shape if input_override is None else written_input(written_at.get("input"), self.layout)
        return Graph(name or self.source, shape, self.nodes, self.source, input_loc, written, self.warnings)

    # -- a family: one architecture at several scales ------------------------------------
    def read_variant(self, root: Map) -> Map | None:
        """The variant to expand: the one asked for, or the first one written. A variant is
        a mapping with `with:` (values of the spec's `params:`), and its own `input:` and `name:`."""
        variants = root.get("variants")
        if variants is None:
            if self.variant is not None:
                raise InputError([Finding("unknown-variant", f"'{cut(self.variant)}': this spec has no variants",
                                          root.loc, fix="leave out the variant (the spec is one network)")])
            return None
        if not isinstance(variants, Map) or not variants:
            self.fail("type", f"variants must be a mapping of names to {{with: ..., input: ...}}, not "
                      f"{describe(variants)}", root.at("variants"),
                      fix="write variants: {small: {with: {width: 0.5}}, large: {with: {width: 2.0}}}")
            return None
        name = self.variant if self.variant is not None else next(iter(variants))
        if name not in variants:
            hint = did_you_mean(name, list(variants))
            raise InputError([Finding("unknown-variant", f"no variant '{cut(name)}' in this spec"
                                      + (f"; {hint}" if hint else ""), root.at("variants"),
                                      fix=f"its variants are {cut(', '.join(variants), 200)}")])
        chosen = variants[name]
        if not isinstance(chosen, Map):
            self.fail("type", f"variant '{cut(name)}' must be a mapping such as {{with: {{width: 1.0}}}}, not "
                      f"{describe(chosen)}", variants.at(name), fix="write {with: {width: 1.0}, input: [3, 224, 224]}")
            return None
        for key in chosen:
            if key not in VARIANT_KEYS:
                hint = did_you_mean(key, VARIANT_KEYS)
                self.fail("unknown-key", f"unknown key '{cut(key)}' in variant '{cut(name)}'"
                          + (f"; {hint}" if hint else ""), chosen.key_locs[key],
                          fix=f"a variant has {', '.join(VARIANT_KEYS)}")
        if "name" not in chosen:
            chosen["name"] = name  # the variant's key names the network
        return chosen

    def network_params(self, root: Map, chosen: Map | None) -> dict | None:
        """The values of the spec's own `params:` (`$width` anywhere in it): their defaults,
        overridden by the variant's `with:`. None when they do not type-check."""
        decls = root.get("params")
        if decls is None:
            if chosen is not None and chosen.get("with"):
                self.fail("unknown-key", "the variant gives values (with:) but the spec declares no params:",
                          chosen.at("with"), fix="declare them at the top: params: {width: 1.0}")
                return None
            return {}
        if not isinstance(decls, Map):
            self.fail("type", f"params must be a mapping such as {{width: 1.0, depth: int}}, not {describe(decls)}",
                      root.at("params"), fix="write params: {width: 1.0}")
            return None
        family = Map(root.loc)
        family["params"] = decls
        item = chosen if chosen is not None else Map(root.loc)
        if "use" not in item.val_locs:
            item.val_locs["use"] = item.loc
        return self.block_params("the network", family, item, False, Scope("", NETWORK_INPUT, {}, (), {}, {}))

    def input_shape(self, root: Map, override):
        """The network's input (C, *spatial) and its location: `--input`'s `override` (read
        by the CLI), else `input:` of `root` (the spec's or its variant's) read in the spec's
        `layout:` (spec/values.py input_volume)."""
        loc = root.at("input") if "input" in root else root.loc
        try:
            self.layout = layout = input_layout(self.root.get("layout"), self.root.at("layout"))
        except BadValue as err:
            self.fail(err.finding.rule, err.finding.message, err.finding.loc, fix=err.finding.fix)
            layout = None
        if override is not None:
            return self.bounded_input(tuple(override), loc, "chw")
        value = root.get("input")
        if value is None:
            self.fail("missing-key", "the spec has no input volume", loc, fix="add `input: [3, 224, 224]` "
                      "(channels first: [C, H, W]; [C] a vector, [C, L] 1-D, [C, D, H, W] 3-D)")
            return (1, 1), loc
        try:
            shape, warning = input_volume(value, loc, layout)
        except BadValue as err:
            self.findings.add(err.finding)
            self.reported += 1
            return (1, 1), loc
        if warning is not None:
            self.warnings.append(warning)
        return self.bounded_input(shape, loc, layout or "chw")

    def bounded_input(self, shape: tuple, loc, layout: str):
        """The input is a tensor too: at most MAX_ELEMS elements (each side is at most MAX_DIM)."""
        if prod(shape) <= MAX_ELEMS:
            return shape, loc
        c, n = shape[0], len(shape) - 1
        side = next(s for s in (min(int((MAX_ELEMS // c) ** (1 / n)) + d, MAX_DIM) for d in (1, 0, -1, -2))
                    if c * s ** n <= MAX_ELEMS)  # n >= 1: a vector has at most MAX_DIM elements
        smaller = typed_as((c, *[side] * n), layout)
        self.fail("too-large", f"input {' x '.join(f'{d:,}' for d in (*shape[1:], c))} = {approx(prod(shape))} "
                  f"elements is more than {POWERS[MAX_ELEMS]} (the limit per tensor)", loc,
                  fix=f"a smaller input, e.g. [{', '.join(map(str, smaller))}]")
        return (1, 1), loc

    def read_defaults(self, value, loc) -> None:
        if value is None:
            return
        if not isinstance(value, Map):
            self.fail("type", f"defaults must be a mapping of op names to arguments, not {describe(value)}", loc,
                      fix="write defaults: {conv: {kernel: 3, padding: 1}}")
            return
        for key, args in value.items():
            if key == "rounding":
                self.rounding = (args, value.at(key))
                continue
            kind, before = lookup(key), self.reported
            self.read_default(kind, key, args, value)
            if kind is not None and self.reported > before:
                self.unsure_ops.add(kind.name)

    def read_default(self, kind, key, args, value) -> None:
        """The defaults of one op (`key`, looked up as `kind`) in the mapping `value`."""
        if kind is None:
            hint = op_hint(key, ["rounding"])
            what = f"defaults for unknown op '{cut(key)}'"
            self.fail("unknown-op", hint.after(what) if hint else what,
                      value.key_locs[key], fix=hint.fix if hint else "name an op such as conv or maxpool")
        elif not isinstance(args, Map):
            self.fail("type", f"defaults for {key} must be a mapping, not {describe(args)}", value.at(key),
                      fix=f"write {key}: {{stride: 1}}")
        else:
            for arg in args:
                if kind.field(arg) is None:
                    self.unknown_key(kind, arg, args.key_locs[arg], None, None)
            self.defaults[kind.name] = args
            self.default_keys[kind.name] = {kind.field(k).name: k for k in args if kind.field(k) is not None}

    def read_blocks(self, value, loc) -> None:
        if value is None:
            return
        if not isinstance(value, Map):
            self.fail("type", f"blocks must be a mapping of block names to definitions, not {describe(value)}",
                      loc, fix="write blocks: {stage: {params: {filters: int}, layers: [...]}}")
            return
        for name, block in value.items():
            before = self.reported
            self.read_block(name, block, value)
            if self.reported > before:
                self.unsure_blocks.add(name)

    def read_block(self, name, block, value: Map) -> None:
        """One block's definition (`block`, under `name` in the mapping `value`)."""
        at = value.key_locs[name]
        kind = lookup(name)
        if kind is not None and kind.name == name:
            self.fail("block-name", f"block '{cut(name)}' has the name of the op {kind.name}: a reader "
                      f"of `- {kind.name}` could not tell them apart", at, fix=f"rename it, e.g. '{name}_block'")
        elif not isinstance(block, Map) or not isinstance(block.get("layers"), Seq):
            self.fail("type", f"block '{cut(name)}' needs a `layers:` list", value.at(name),
                      fix="write {params: {filters: int}, layers: [{conv: $filters}, relu]}")
        else:
            for key in block:
                if key not in BLOCK_KEYS:
                    hint = did_you_mean(key, BLOCK_KEYS)
                    self.fail("unknown-key", f"unknown key '{cut(key)}' in block '{cut(name)}'" +
                              (f"; {hint}" if hint else ""), block.key_locs[key],
                              fix=f"a block has {', '.join(BLOCK_KEYS)}")
            params = block.get("params")
            if params is not None and not isinstance(params, Map):
                self.fail("type", f"params of block '{cut(name)}' must be a mapping", block.at("params"),
                          fix="write params: {filters: int, stride: 1}")
            self.blocks[name] = block

    # -- sequences -----------------------------------------------------------------------
    def sequence(self, items, scope: Scope, prev: int) -> int:
        if not isinstance(items, Seq):
            self.fail("type", f"layers must be a list, not {describe(items)}",
                      getattr(items, "loc", None), scope, fix="write layers: [{conv: 64}, relu]")
            return prev
        locs = items.locs if len(items.locs) == len(items) else [items.at(i) for i in range(len(items))]
        for i, (item, loc) in enumerate(zip(items, locs)):
            self.position = scope.prefix, i
            before = self.reported + self.skipped
            out = self.item(item, loc, scope, prev)
            if out == prev and self.lenient and self.reported + self.skipped > before:
                out = self.placeholder(prev, loc, scope)
            prev = out
        return prev

    def placeholder(self, prev: int, loc: Loc, scope: Scope) -> int:
        """(lenient) A node for an item that failed: it reads its own output, which is never
        sized, so the engine sizes nothing that depends on it (rather than sizing the layers
        after it from the wrong input); `prev` is listed too, so it counts as used."""
        index = len(self.nodes)
        prefix, position = self.position
        inputs = [index] if prev is None else [index, prev]  # None: its own input failed to resolve
        self.nodes.append(Node(f"{prefix}<layer {position + 1}, not expanded>", None, {}, inputs, loc, {},
                               scope.trail, prefix.count(".") + 1, scope.block))
        return index

    def item(self, item, loc: Loc, scope: Scope, prev: int) -> int:
        self.origin = loc
        if isinstance(item, str):
            kind = lookup(item)
            if kind is not None and item in self.blocks:
                self.fail("block-name", f"'{cut(item)}' names both block '{cut(item)}' and the op {kind.name} "
                          f"('{cut(item)}' is its alias)", loc, scope,
                          fix=f"write {{use: {item}}} to use the block (or rename the block)")
                return prev
            if kind is not None and kind.name in self.bare and prev is not None:
                # `- conv` again: no id, wiring or arguments of its own, its fields resolved before
                node_id = self.auto_id(kind.name, scope)
                return self.add_node(kind, node_id, scope.prefix + node_id, self.bare[kind.name], [prev], loc, loc,
                                     scope, item)
            if kind is not None:
                return self.layer(kind, item, None, Map(loc), loc, scope, prev)
            if item in self.blocks:
                fake = Map(loc)
                fake["use"] = item
                fake.key_locs["use"] = fake.val_locs["use"] = loc
                return self.use(fake, loc, scope, prev)
            self.unknown_op(item, loc, scope)
            return prev
        if not isinstance(item, Map) or not item:
            self.fail("type", f"a layer is an op name or a mapping such as {{conv: 64}}, not {describe(item)}",
                      loc, scope, fix="write e.g. - {conv: 64, kernel: 3}")
            return prev
        if "use" in item:
            return self.use(item, loc, scope, prev)
        ops = [k for k in item if lookup(k) is not None and k not in COMMON_KEYS]
        if len(ops) > 1:  # a key of the other op is its argument, not an op: {conv: 64, pad: 1} is conv's padding
            ops = [k for k in ops if not any(o != k and lookup(o).field(k) for o in ops)] or ops
        if "layers" in item and not ops:
            return self.group(item, loc, scope, prev)
        if not ops:
            first = next((k for k in item if k not in COMMON_KEYS and k != "repeat"), next(iter(item)))
            self.unknown_op(first, item.key_locs[first], scope)
            return prev
        if len(ops) > 1:
            self.fail("two-ops", f"one layer names two ops: {' and '.join(ops)}", item.key_locs[ops[1]], scope,
                      fix="put each op in its own list item")
            return prev
        kind = lookup(ops[0])
        count = self.count(item, scope) if "repeat" in item else 1
        for _ in range(count):
            prev = self.layer(kind, ops[0], item[ops[0]], item, loc, scope, prev)
        return prev

    def unknown_op(self, name, loc, scope) -> None:
        hint: Hint | None = self.remembered("op", name, lambda: op_hint(name, self.blocks))
        prefix, index = self.position
        what = f"unknown op '{cut(name)}'"
        self.fail("unknown-op", hint.after(what) if hint else what,
                  loc, scope, f"{prefix}layer {index + 1}",
                  fix=hint.fix if hint else "run `sizecalc schema` for the list of ops")

    def enabled(self, item: Map, scope: Scope):
        """`enabled:` (a boolean, or an expression that gives one); _BAD when it is not (reported)."""
        value = self.sub(item.get("enabled", True), item.at("enabled"), scope, "bool", "enabled")
        if value is not _BAD and not isinstance(value, bool):
            self.fail("type", f"enabled must be true or false, not {describe(value)}", item.at("enabled"), scope,
                      fix=_dollar("enabled", value) or "write enabled: false")
            return _BAD
        return value

    def count(self, item: Map, scope: Scope, body: int = 1, what: str = "this layer") -> int:
        value = self.sub(item["repeat"], item.at("repeat"), scope, "int", "repeat")
        if value is _BAD:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail("type", f"repeat must be a whole number >= 0, not {describe(value)}", item.at("repeat"),
                      scope, fix="write repeat: 2")
            return 0
        if value > MAX_LAYERS:
            self.fail("expansion-cap", f"repeat {value:,} would make more than {MAX_LAYERS:,} layers",
                      item.at("repeat"), scope, fix=f"use a repeat of at most {MAX_LAYERS:,}")
            raise Abort
        self.budget(value, body, item.at("repeat"), scope, what)
        return value

    def budget(self, count: int, body: int, loc, scope: Scope, what: str) -> None:
        """Stop before expanding `count` copies of `body` layers that would pass MAX_LAYERS
        (nested repeats, blocks of blocks): expanding first would take seconds to find out."""
        if count * max(body, 1) * self.multiplier <= MAX_LAYERS:
            return
        detail = [f"repeat {count:,}"] if count != 1 else []
        if 1 < body <= MAX_LAYERS:
            detail.append(f"at least {body:,} layers each")
        if self.multiplier > 1:
            detail.append(f"inside repeats that make {self.multiplier:,} copies")
        self.fail("expansion-cap", f"{what} would expand to more than {MAX_LAYERS:,} layers"
                  + (f" ({', '.join(detail)})" if detail else ""),
                  loc, scope, fix=f"reduce the repeats: a spec may expand to at most {MAX_LAYERS:,} layers")
        raise Abort

    @contextmanager
    def copies(self, count: int):
        """Expand the body of a repeat, with its copies counted in `multiplier`."""
        outer = self.multiplier
        self.multiplier = outer * max(count, 1)
        try:
            yield range(count)
        finally:
            self.multiplier = outer

    def min_size(self, items, depth: int = 0) -> int:
        """The fewest layers `items` can expand to, from literal repeats only (a `$param` repeat
        counts 0), capped just past MAX_LAYERS: lets a bomb of nested blocks fail before expanding."""
        if not isinstance(items, Seq) or depth > MAX_USE_DEPTH:
            return 0
        total = 0
        for item in items:
            if isinstance(item, str):
                n = 1 if lookup(item) is not None else self.block_size(item, depth)
            elif not isinstance(item, Map) or item.get("enabled", True) is not True:
                n = 0  # disabled, or enabled by a parameter: perhaps no layer at all
            elif "use" in item:
                n = self.block_size(item["use"], depth)
            elif any(lookup(k) is not None and k not in COMMON_KEYS for k in item):
                n = 1
            else:
                n = self.min_size(item.get("layers"), depth + 1)
            if isinstance(item, Map) and "repeat" in item:
                repeat = item["repeat"]
                n *= repeat if isinstance(repeat, int) and not isinstance(repeat, bool) and repeat > 0 else 0
            total += n
            if total > MAX_LAYERS:
                return MAX_LAYERS + 1
        return total

    def block_size(self, name, depth: int = 0) -> int:
        if not isinstance(name, str) or name not in self.blocks:
            return 0
        if name not in self.sizes:
            self.sizes[name] = 0  # a block that uses itself counts 0 here; block-recursion reports it
            self.sizes[name] = self.min_size(self.blocks[name].get("layers"), depth + 1)
        return self.sizes[name]

    def group(self, item: Map, loc: Loc, scope: Scope, prev: int) -> int:
        for key in item:
            if key not in GROUP_KEYS:
                self.unknown_key(None, key, item.key_locs[key], scope, None, GROUP_KEYS)
        if "from" in item:
            prev = self.resolve_one(item["from"], item.at("from"), scope)
        body = self.min_size(item["layers"])
        count = self.count(item, scope, body, "this group") if "repeat" in item else 1
        gid = self.own_id(item, scope)
        if gid is None:
            with self.copies(count) as copies:
                for _ in copies:
                    prev = self.sequence(item["layers"], scope, prev)
            return prev
        with self.copies(count) as copies:
            for i in copies:
                child = scope.child(f"{scope.prefix}{gid}.{i}.", prev)
                self.global_ids[f"{scope.prefix}{gid}.{i}"] = prev
                prev = self.sequence(item["layers"], child, prev)
        self.name(gid, prev, item.at("id"), scope)
        return prev

    # -- blocks --------------------------------------------------------------------------
    def use(self, item: Map, loc: Loc, scope: Scope, prev: int) -> int:
        for key in item:
            if key not in USE_KEYS:
                self.unknown_key(None, key, item.key_locs[key], scope, None, USE_KEYS)
        name = item["use"]
        if self.lenient and isinstance(name, str) and name in self.unsure_blocks:
            self.skipped += 1  # its definition's finding says why
            return prev
        if not isinstance(name, str) or name not in self.blocks:
            hint = did_you_mean(name, self.blocks)
            self.fail("unknown-block", f"unknown block '{cut(name)}'" + (f"; {hint}" if hint else ""), item.at("use"),
                      scope, fix="define it under `blocks:`"
                      + (f" (defined: {', '.join(self.blocks)})" if self.blocks else ""))
            return prev
        if name in self.using:
            chain = cut(" -> ".join(cut(n) for n in self.using[self.using.index(name):] + [name]), 200)
            self.fail("block-recursion", f"block '{cut(name)}' uses itself ({chain})", item.at("use"), scope,
                      fix="a block may use other blocks, but never itself")
            return prev
        if len(self.using) >= MAX_USE_DEPTH:
            self.fail("nesting", f"blocks used inside blocks more than {MAX_USE_DEPTH} deep "
                      f"({' -> '.join(self.using[:3])} -> ... -> {name})", item.at("use"),
                      fix="flatten the chain of blocks")
            raise Abort
        enabled = self.enabled(item, scope)
        if enabled is _BAD:
            return prev
        if "from" in item:
            prev = self.resolve_one(item["from"], item.at("from"), scope)
        if enabled is False:
            return prev
        body = self.block_size(name)
        if "repeat" in item:
            count = self.count(item, scope, body, f"block '{cut(name)}'")
        else:
            count = 1
            self.budget(1, body, item.at("use"), scope, f"block '{cut(name)}'")
        block = self.blocks[name]
        uid = self.own_id(item, scope) or self.auto_id(name, scope)
        self.using.append(name)
        try:
            with self.copies(count) as copies:
                for i in copies:
                    params = self.block_params(name, block, item, i == 0, _copy_scope(scope, item, i))
                    if params is None:
                        return prev
                    path = f"{scope.prefix}{uid}" + (f".{i}" if "repeat" in item else "")
                    self.global_ids[path] = prev
                    # the network's params are seen in the block; its own parameter of a name wins
                    child = scope.child(path + ".", prev, {**self.network, **params}, scope.trail + (loc,), name)
                    prev = self.sequence(block["layers"], child, prev)
        finally:
            self.using.pop()
        self.name(uid, prev, item.at("id") if "id" in item else loc, scope)
        return prev

    def block_params(self, name: str, block: Map, item: Map, first: bool, scope: Scope) -> dict | None:
        decls = block.get("params") or Map(block.loc)
        values: dict = {}
        given: dict = {}
        for part in ("with", "first") if first else ("with",):
            args = item.get(part)
            if args is None:
                continue
            if not isinstance(args, Map):
                self.fail("type", f"{part} must be a mapping of block parameters, not {describe(args)}",
                          item.at(part), scope, fix=f"write {part}: {{{cut(next(iter(decls), 'filters'))}: 64}}")
                return None
            for key, value in args.items():
                if key not in decls:
                    hint = did_you_mean(key, decls)
                    self.fail("unknown-key", f"block '{cut(name)}' has no parameter '{cut(key)}'"
                              + (f"; {hint}" if hint else ""),
                              args.key_locs[key], scope,
                              fix=f"its parameters are {cut(', '.join(decls), 120) or 'none'}")
                    continue
                decl = decls[key]
                need = _NEED.get(decl if isinstance(decl, str) else type(decl).__name__)
                given[key] = (self.sub(value, args.at(key), scope, need, key), args.at(key))
        ok = True
        for key, decl in decls.items():
            declared = PARAM_TYPES.get(decl) if isinstance(decl, str) else type(decl)
            if isinstance(decl, str) and declared is None:
                self.fail("type", f"parameter type '{cut(decl)}' is not one of {', '.join(PARAM_TYPES)}",
                          decls.at(key), scope, fix=f"write {cut(key)}: int (or a default value such as {cut(key)}: 1)")
                ok = False
                continue
            if key in given:
                value, at = given[key]
                if value is _BAD:  # an expression that failed (reported)
                    ok = False
                    continue
            elif isinstance(decl, str):
                self.fail("missing-value", f"block '{cut(name)}' needs parameter '{cut(key)}' ({cut(decl)})",
                          item.at("use"), scope, fix=f"add with: {{{cut(key)}: ...}}")
                ok = False
                continue
            else:
                value, at = decl, decls.at(key)
            if declared in (int, bool, float, str) and not (
                    isinstance(value, declared) and not (declared is int and isinstance(value, bool))
                    or (declared is float and isinstance(value, int) and not isinstance(value, bool))):
                self.fail("type", f"parameter '{cut(key)}' of block '{cut(name)}' must be {declared.__name__}, "
                          f"not {describe(value)}", at, scope,
                          fix=f"write {cut(key)}: {cut(decl) if not isinstance(decl, str) else 1}")
                ok = False
                continue
            values[key] = value
        return values if ok else None

    # -- one layer -----------------------------------------------------------------------
    def layer(self, kind: LayerKind, opkey: str, main, item: Map, loc: Loc, scope: Scope, prev: int) -> int:
        if self.lenient and kind.name in self.unsure_ops:
            self.skipped += 1  # its defaults' finding says why
            return prev
        node_id = self.own_id(item, scope) or self.auto_id(kind.name, scope)
        layer_id = scope.prefix + node_id
        before = self.reported
        explicit = self.explicit_args(kind, opkey, main, item, scope, layer_id)
        enabled = self.enabled(item, scope)
        inputs = self.layer_inputs(kind, item, explicit, loc, scope, layer_id, prev)
        if inputs is None or None in inputs or self.reported > before:
            return prev
        if enabled is False:
            if "id" in item:
                self.name(node_id, inputs[0], item.at("id"), scope)
            return inputs[0]
        found = self.all_args(kind, explicit, loc, scope, layer_id)
        if found is None or any(v is _BAD for v, _, _ in explicit.values()):
            return prev
        refs = self.references(kind, found, loc, scope, layer_id) if _ref_fields(kind) else ()
        if refs is None:
            return prev
        return self.add_node(kind, node_id, layer_id, found, inputs, loc, item.at("id") if "id" in item else loc,
                             scope, opkey, refs)

    def add_node(self, kind: LayerKind, node_id: str, layer_id: str, found: tuple, inputs: list, loc: Loc,
                 id_loc: Loc, scope: Scope, opkey: str, refs: tuple = ()) -> int:
        """Append the node (unless that passes MAX_LAYERS) and name it; returns its index.
        `opkey` is the op's name as written: conv2d states a rank, which the engine checks."""
        if len(self.nodes) >= MAX_LAYERS:
            self.fail("expansion-cap", f"the spec expands to more than {MAX_LAYERS:,} layers", loc, scope,
                      fix="reduce the repeats")
            raise Abort
        args, arg_locs = found
        # positional (id, kind, args, inputs, loc, arg_locs, trail, depth, block): a tenth of the
        # time of expanding a bare layer went into matching keyword arguments
        rank = spelled_rank(kind, opkey)
        self.nodes.append(Node(layer_id, kind, args, inputs, loc, arg_locs, scope.trail, layer_id.count(".") + 1,
                               scope.block, rank, opkey if rank else None, refs))
        self.name(node_id, len(self.nodes) - 1, id_loc, scope)
        return len(self.nodes) - 1

    def explicit_args(self, kind: LayerKind, opkey: str, main, item: Map, scope: Scope, layer_id: str) -> dict:
        """The arguments written on the layer (its op key's value, then its other keys): field
        name -> (value, loc, item_locs)."""
        explicit: dict = {}
        if isinstance(main, Map):
            for key, value in main.items():
                self.arg(kind, key, value, main.at(key), main.key_locs[key], explicit, scope, layer_id)
        elif main is not None:
            if kind.main is None:
                self.fail("type", f"{kind.name} takes no value, but got {describe(main)}", item.at(opkey), scope,
                          layer_id, fix=f"write just `{kind.name}`")
            else:
                self.arg(kind, kind.main, main, item.at(opkey), item.at(opkey), explicit, scope, layer_id)
        for key, value in item.items():
            if key == opkey or key in COMMON_KEYS or key == "repeat":
                continue
            self.arg(kind, key, value, item.at(key), item.key_locs[key], explicit, scope, layer_id)
        self.implied(kind, opkey, item.at(opkey), explicit, scope, layer_id)
        return explicit

    def implied(self, kind: LayerKind, opkey: str, at: Loc, explicit: dict, scope: Scope, layer_id: str) -> None:
        """The arguments the op's spelling states (ReflectionPad2d: mode reflect), unless written
        otherwise, which is an error: the spelling and the argument contradict each other."""
        folded = opkey.lower().replace("_", "") if isinstance(opkey, str) else ""
        for prefix, name, value in kind.implied:
            if not folded.startswith(prefix):
                continue
            given = explicit.get(name, (value,))[0]
            if given is not _BAD and given != value:
                self.fail("contradiction", f"{opkey} means {name}: {value}, but the layer says {name}: {given}", at,
                          scope, layer_id,
                          fix=f"write {kind.name} in place of {opkey} to keep {name}: {given}, or remove {name}")
            explicit.setdefault(name, (value, at, None))

    def layer_inputs(self, kind: LayerKind, item: Map, explicit: dict, loc: Loc, scope: Scope, layer_id: str,
                     prev: int) -> list | None:
        """The layer's inputs (a merge's named ones, `from:`, else the previous layer); None
        when they are wrong (reported)."""
        if kind.merge:
            if "inputs" not in explicit:
                self.fail("missing-value", f"{kind.name} needs the ids of the layers it merges", loc, scope,
                          layer_id, fix=f"write {{{kind.name}: [a, b]}}")
                return None
            value, at, locs = explicit["inputs"]
            if value is _BAD:  # already reported
                return None
            if len(value) < 2:
                self.fail("missing-value", f"{kind.name} merges two or more layers, but names {len(value)}", at,
                          scope, layer_id, fix=f"write {{{kind.name}: [{cut(value[0]) if value else 'a'}, b]}} "
                          "(`in` is a block's input, `input` the network's)")
                return None
            return [self.resolve(v, locs[i] if locs else at, scope) for i, v in enumerate(value)]
        if "from" in item:
            return [self.resolve_one(item["from"], item.at("from"), scope)]
        return [prev]

    def all_args(self, kind: LayerKind, explicit: dict, loc: Loc, scope: Scope, layer_id: str):
        """(args, arg_locs) for every field of the kind: written, from `defaults:`, or the
        field's default, each dict shared with the layers of equal ones; None when one is
        missing or bad (reported). A layer with no arguments of its own (`- conv`) gets those
        of the last one when they depend on nothing else: 100,000 such layers resolve their
        fields once."""
        if not explicit and kind.name in self.bare:
            return self.bare[kind.name]
        args, arg_locs = {}, {}
        from_defaults = self.default_keys.get(kind.name, ())
        for field in kind.fields:
            if field.name in explicit:
                value, at, _ = explicit[field.name]
            elif field.name in from_defaults:
                value, at = self.default(kind, field, scope, layer_id)
            elif field.name == "rounding" and self.rounding is not None:
                value = self.checked(field, self.rounding[0], self.rounding[1], scope, layer_id)
                at = self.rounding[1]
            elif field.default is REQUIRED:
                self.fail("missing-value", f"{kind.name} needs {field.name}" +
                          (f" ({field.doc})" if field.doc else ""), loc, scope, layer_id,
                          fix=f"add {field.name}: ..." if field.name != kind.main else f"write {{{kind.name}: ...}}")
                return None
            else:
                value, at = field.default, None
            if value is _BAD:
                return None
            args[field.name] = value
            if at is not None:
                arg_locs[field.name] = at
        found = self.shared(kind, args), self.shared(kind, arg_locs)
        if not explicit and all((kind.name, name) in self.default_cache for name in from_defaults) \
                and not _ref_fields(kind):  # a `like:` is resolved where the layer is
            self.bare[kind.name] = found  # no `$param` in its defaults: the same wherever it is
        return found

    def shared(self, kind: LayerKind, values: dict) -> dict:
        """One dict for every layer with the same arguments (nothing changes a node's args in
        place): 100,000 copies of a layer hold one, not 100,000."""
        try:
            return self.interned.setdefault((kind.name, *values.items()), values)
        except TypeError:  # a list among the values
            return self.interned.setdefault((kind.name, *((k, _hashable(v)) for k, v in values.items())), values)

    def default(self, kind: LayerKind, field, scope: Scope, layer_id: str):
        """A field's value from `defaults:`, checked once unless it names block parameters."""
        src = self.defaults[kind.name]
        key = self.default_keys[kind.name][field.name]
        cached = self.default_cache.get((kind.name, field.name))
        if cached is not None:
            return cached
        raw = src[key]
        value = self.checked(field, self.sub(raw, src.at(key), scope, _NEED.get(field.type), field.name), src.at(key),
                             scope, layer_id,
                             getattr(raw, "locs", None))
        if "$" not in repr(raw) and value is not _BAD:
            self.default_cache[(kind.name, field.name)] = (value, src.at(key))
        return value, src.at(key)

    def arg(self, kind, key, value, at, key_at, explicit, scope, layer_id) -> None:
        field = kind.field(key)
        if field is None:
            self.unknown_key(kind, key, key_at, scope, layer_id)
            return
        if field.name in explicit:
            self.fail("duplicate-key", f"{field.name} is given twice (as '{cut(key)}' too)", key_at, scope, layer_id,
                      fix=f"keep one {field.name}")
            return
        locs = getattr(value, "locs", None)
        value = self.sub(value, at, scope, _NEED.get(field.type), field.name)
        if value is None and field.default not in (None, REQUIRED):
            return  # null means "the default" (a block parameter left unset)
        explicit[field.name] = (self.checked(field, value, at, scope, layer_id, locs), at, locs)

    def checked(self, field, value, at, scope, layer_id, locs=None):
        if value is _BAD:
            return _BAD
        try:
            return coerce(field, value, at, layer_id, locs)
        except BadValue as bad:
            bad.finding.trail, bad.finding.block = scope.trail, scope.block
            self.reported += 1
            if self.findings.add(bad.finding, self.origin) and len(self.findings) > MAX_FINDINGS:
                self.findings[-1] = too_many(at)
                raise Abort from None
            return _BAD

    def unknown_key(self, kind, key, loc, scope, layer_id, allowed=None) -> None:
        if kind is not None and key in (*COMMON_KEYS, "repeat"):  # an item's key written among the op's arguments
            self.fail("unknown-key", f"{kind.name} has no key '{key}': `{key}:` belongs to the list item, beside "
                      "the op, not among its arguments", loc, scope, layer_id,
                      fix=f"write - {{{kind.name}: {{...}}, {key}: ...}} (or - {{{kind.name}: 64, {key}: ...}})")
            return
        if allowed is None:
            allowed = [n for f in kind.fields for n in (f.name, *f.aliases)] + list(COMMON_KEYS) + ["repeat"]
        hint: Hint | None = self.remembered(f"key of {kind.name if kind else allowed}", key,
                                            lambda: key_hint(kind, key, allowed))
        what = f"{kind.name} has no key '{cut(key)}'" if kind else f"unknown key '{cut(key)}'"
        names = [f.name for f in kind.fields] + list(COMMON_KEYS) if kind else list(allowed)
        self.fail("unknown-key", hint.after(what) if hint else what, loc, scope,
                  layer_id, fix=hint.fix if hint else f"use one of: {cut(', '.join(names), 400)}")

    # -- names ---------------------------------------------------------------------------
    def own_id(self, item: Map, scope: Scope) -> str | None:
        if "id" not in item:
            return None
        value = as_id(item["id"])
        if not isinstance(value, str) or not _ID.match(value):
            why, fix = bad_id(value)
            self.fail("type", why, item.at("id"), scope, fix=fix)
            return None
        if value in RESERVED_IDS:  # `from: input` would name the network's input, never this layer
            self.fail("type", f"id '{value}' is reserved: `input` names the network's input and `in` a "
                      "block's input", item.at("id"), scope, fix=f"write id: {value}_layer")
            return None
        return value

    def auto_id(self, base: str, scope: Scope) -> str:
        n = scope.counters.get(base, 0)
        while True:
            n += 1
            candidate = f"{base}{n}"
            if candidate not in scope.names:
                scope.counters[base] = n
                return candidate

    def name(self, local: str | None, index: int, loc: Loc, scope: Scope) -> None:
        if local is None:
            return
        if local in scope.names and scope.names[local] != index:
            self.fail("duplicate-id", f"id '{cut(scope.prefix + local)}' is used twice", loc, scope,
                      fix="give each layer its own id (a repeated group needs an id of its own: "
                          "its copies are then named id.0, id.1, ...)")
            return
        scope.names[local] = index
        self.global_ids[scope.prefix + local] = index

    def resolve_one(self, value, loc, scope) -> int | None:
        if isinstance(value, Seq) and len(value) == 1:
            value = value[0]
        value = as_id(value)
        if isinstance(value, str) and value.startswith("$"):  # a block's parameter naming the layer (U-Net's skip)
            value = self.sub(value, loc, scope, None, "from")
            if value is _BAD:
                return None
        if not isinstance(value, str):
            self.fail("type", f"from must name one layer id, not {describe(value)}", loc, scope,
                      fix="write from: conv1 (to merge several, use {add: [a, b]} or {concat: [a, b]})")
            return None
        return self.resolve(value, loc, scope)

    def references(self, kind: LayerKind, found: tuple, loc, scope: Scope, layer_id: str) -> tuple | None:
        """The layers whose shape the layer reads (`like: low`), by index; None when one is not
        above it (its finding is written once the whole spec is expanded, when it can say
        whether the id names a layer below)."""
        args, arg_locs = found
        refs = []
        for name in _ref_fields(kind):
            value = args.get(name)
            if value is None:
                continue
            index = self.known(value, scope)
            if index is None:
                self.reported += 1  # the layer is not added; the finding follows in unresolved()
                self.pending.append((name, value, arg_locs.get(name, loc), scope, layer_id, self.origin))
                return None
            refs.append(index)
        return tuple(refs)

    def known(self, name: str, scope) -> int | None:
        """The index of the layer `name` names from this scope (`in`, `input`, a local or a
        global id), or None."""
        if name == "in":
            return scope.input
        if name == "input":
            return NETWORK_INPUT
        found = scope.names.get(name)
        return found if found is not None else self.global_ids.get(name)

    def unresolved(self) -> None:
        """The findings of `like:` ids that named no layer above: a layer below (defined later,
        with its line), or no layer at all (with the nearest id above)."""
        for key, name, at, scope, layer_id, origin in self.pending:
            self.origin = origin
            below = self.global_ids.get(scope.prefix + name, self.global_ids.get(name))
            above = [n for n, i in scope.names.items() if i < (below if below is not None else len(self.nodes))]
            near = self.hint("from", name, lambda above=above: ["input", *_last(dict.fromkeys(above)),
                                                                 *_last(self.global_ids)])
            fixes = (*((f"write {key}: {near}",) if near and near != name else ()), f"write {key}: input")
            if below is not None:
                node = self.nodes[below]
                where = f" (line {node.loc.line})" if node.loc else ""
                message = (f"{key}: '{cut(name)}' is a layer below this one{where}: {key} reads the size of a "
                           "layer above")
            else:
                message = f"{key}: no layer '{cut(name)}' is defined above this one" + \
                    (f"; did you mean '{cut(near)}'?" if near and near != name else "")
            self.fail("unknown-from", message, at, scope, layer_id, fixes=fixes)

    def resolve(self, name: str, loc, scope) -> int | None:
        if name == "in":
            return scope.input
        if name == "input":
            return NETWORK_INPUT
        if name in scope.names:
            return scope.names[name]
        if name in self.global_ids:
            return self.global_ids[name]
        near = self.hint("from", name, lambda: ["in", "input", *_last(scope.names), *_last(self.global_ids)])
        self.fail("unknown-from", f"no layer '{cut(name)}' is defined above this one"
                  + (f"; did you mean '{cut(near)}'?" if near else ""), loc, scope,
                  fix=f"write '{cut(near)}'" if near else "name a layer above by its id (`in` is the block's input)")
        return None

    # -- parameters ----------------------------------------------------------------------
    def sub(self, value, loc, scope, need: str | None = None, what: str = "the value"):
        """Substitute `$expr` strings (also inside lists) with their values. `need` is "int"
        where a size or a count must come out, "bool" where a condition must (`enabled:`):
        an expression that gives something else is reported with its value and a fix."""
        if isinstance(value, str) and value.startswith("$"):
            try:
                result = evaluate(value[1:], scope.params)
            except ExprError as err:
                self.fail("param", f"cannot evaluate '{cut(value)}': {err}", loc, scope,
                          fix=_expr_fix(value, err, scope.params, scope.block is not None))
                return _BAD
            return self.wanted(value, result, need, what, loc, scope)
        if isinstance(value, Seq) and any(isinstance(v, (str, Seq)) for v in value):
            out = Seq(value.loc)
            out.locs = value.locs
            out.extend(self.sub(v, value.at(i), scope, need, what) for i, v in enumerate(value))
            return out
        return value

    def wanted(self, text: str, value, need: str | None, what: str, loc, scope):
        """An expression's value where a whole number or a boolean is needed, or _BAD
        (reported): a float is made an integer by the spec (round, ceil, make_divisible), never
        silently. Other values (a null, a text such as `same`) go on to the field's own check."""
        shown = f"{what}: '{cut(text)}' = {_expr_show(value)}"
        inner = text if text == cut(text) else "..."  # a fix quotes no more of the spec than a message
        if need == "int" and isinstance(value, (bool, float)):
            if isinstance(value, bool):
                self.fail("param", f"{shown}, a condition, where a whole number is needed", loc, scope,
                          fix=f"choose numbers with it: $1 if {inner} else 0")
            else:
                self.fail("param", f"{shown}, not a whole number" if not value.is_integer() else
                          f"{shown}, a float (`/` and decimals give floats), where a whole number is needed", loc,
                          scope, fix=f"say how to round it: $round({inner}) (or $floor, $ceil, $int, "
                          f"$make_divisible({inner}, 8))")
            return _BAD
        if need == "bool" and not isinstance(value, bool) and value is not None:
            number = isinstance(value, (int, float))
            self.fail("param", f"{shown}, not true or false", loc, scope,
                      fix=f"compare it: {inner} > 0" if number else "write true or false, or a comparison")
            return _BAD
        return value


_BAD = object()
_NEED = {"int": "int", "dims": "int", "padding": "int", "bool": "bool"}  # field type -> what an expression must give


def _ref_fields(kind: LayerKind) -> tuple[str, ...]:
    """The fields of a kind that name another layer whose shape it reads (`like`); asked per
    layer, so found once per kind."""
    found = _REF_FIELDS.get(kind.name)
    if found is None:
        found = _REF_FIELDS[kind.name] = tuple(f.name for f in kind.fields if f.type == "id")
    return found


_REF_FIELDS: dict[str, tuple[str, ...]] = {}


def _dollar(key: str, value) -> str | None:
    """The fix for an expression written without its `$` (`enabled: not $se`), else None."""
    if isinstance(value, str) and "$" in value and not value.startswith("$"):
        return f"an expression starts with $: write {key}: ${value}" if value == cut(value) else \
            "an expression starts with $: put one in front of it"
    return None


def bad_id(value) -> tuple[str, str]:
    """(why `value` is not an id, a fix that is one)."""
    rule = "ASCII letters, digits, _ and -"
    if not isinstance(value, str):
        return f"id must be a name ({rule}), not {describe(value)}", "write id: conv1"
    if not value:
        return "id is empty", "write id: conv1"
    safe = _NOT_ID.sub("_", value).lstrip("-") or "layer"
    safe += "_layer" if safe in RESERVED_IDS else ""
    fix = f"write id: {safe}" if value == cut(value) else f"use only {rule}"
    if value.startswith("-"):
        return f"id '{cut(value)}' starts with '-' (an id starts with a letter, a digit or _)", fix
    bad = _NOT_ID.search(value).group()
    if bad == ".":
        return (f"id '{cut(value)}' holds '.', which joins a block's id to the ids inside it "
                "(layer1.0.conv1 is layer conv1 of copy 0 of layer1)", fix)
    return f"id '{cut(value)}' holds {bad!r}, but an id is {rule} (a torch module path, flattened)", fix


def _expr_fix(text: str, err: ExprError, params: dict, in_block: bool) -> str:
    if isinstance(err, UnknownName):
        fixed = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(err.name)}(?![A-Za-z0-9_])", err.near, text) if err.near else ""
        if fixed and fixed == cut(fixed) and text == cut(text):
            return f"write {fixed}"
        known = ", ".join(f"${p}" for p in params)
        if params:
            return f"name a parameter of the block: {cut(known, 120)}"
        return "declare it under the block's `params:` (this block has none)" if in_block else \
            f"declare it at the top of the spec: params: {{{cut(err.name)}: 1}}"
    if "missing ')'" in str(err) and text.count("(") > text.count(")"):
        # `{conv: $max($a, 8)}`: YAML ends a value at the comma of a flow mapping or list
        return "inside {...} or [...] a comma ends the value: quote the expression, e.g. \"$max($a, 8)\""
    return "see README, \"Expressions\", for what an expression may hold"


def _expr_show(value) -> str:
    """An expression's value as the spec would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, (int, float)) else describe(value)


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, (list, tuple)) else value


def _last(names: dict, count: int = 100) -> list[str]:
    """The names defined last (the layers just above): a did-you-mean over 100,000 ids would
    cost seconds per unknown name."""
    return list(islice(reversed(names), count))


def written_input(value, layout: str | None) -> tuple | None:
    """The spec's own `input:` (read in its `layout:`) when --input replaced it: None unless it
    is a valid input."""
    try:
        shape, _ = input_volume(value, Loc("<spec>", 1, 1), layout)
    except BadValue:
        return None
    return shape if prod(shape) <= MAX_ELEMS else None


def expand(root, source: str, input_override: tuple | None = None, variant: str | None = None) -> Graph:
    return Expander(root, source, variant).run(input_override)


def expand_all(root, source: str) -> tuple[Graph | None, list[Finding]]:
    """For lint: the graph of every layer that expands, past the findings, and the findings.
    An item that failed is an unsized placeholder (see Expander.placeholder), so the engine
    sizes the layers that do not depend on it and reports their errors too, and never sizes
    a layer from a guess; a failed `defaults:` entry leaves its op's layers unsized, a failed
    block definition its uses. None for the graph when the input volume itself is wrong or
    a limit stopped the expansion. A family's first variant, as `expand` reads it."""
    expander = Expander(root, source, lenient=True)
    try:
        graph = expander.expand(None)
    except Abort:
        return None, list(expander.findings)
    return (graph if expander.input_ok and not expander.stopped else None), list(expander.findings)
