"""Every fix a sliding layer offers is itself valid: checked by sizing the fixed layer again.

Geometry proposes changes that make one dimension's windows tile (core/geometry.py), and a
layer adds its own (a pool's padding limit, AvgPool3d's kernel). None of them knows every
rule of the layer: a pool's padding is at most half its kernel, a 3-D average pool's kernel
fits its unpadded input, the other dimensions must still fit. So `checked` wraps a kind's
`infer`: when it raises, each proposed change (a `Fix`, which carries the change as data) is
applied to the layer (or its input) and the kind's own `infer` sizes it again; only what
passes is shown, its arithmetic the new layer's. Where a kind of change was proposed and no
value of it passes, the nearest value that does is searched (within SEARCH tries), and a
pool whose window cannot fit is offered the global pool. Nothing else is invented.
"""

from __future__ import annotations

from ..core.errors import Fix, LayerError
from ..core.record import replace
from .base import Sizing, lookup
from .window import window_args

SEARCH = 64  # values tried per kind of change when every proposed one failed
KEYS = ("kernel", "padding", "stride")
GLOBAL = {"maxpool": "global_maxpool", "avgpool": "global_avgpool"}
REMEMBERED = 1024  # failing configurations whose checked fixes are kept (see _remembered)
_CHECKED: dict[tuple, tuple[str, ...]] = {}


def checked(infer):
    """`infer`, whose LayerErrors carry only fixes that `infer` itself accepts."""
    def checked_infer(layer, ins) -> Sizing:
        try:
            return infer(layer, ins)
        except LayerError as err:
            if any(isinstance(f, Fix) for f in err.fixes):
                err.fixes = _remembered(infer, layer, ins, err)
            raise
    checked_infer.__wrapped__ = infer
    checked_infer.__doc__ = infer.__doc__
    return checked_infer


def _remembered(infer, layer, ins, err: LayerError) -> tuple[str, ...]:
    """valid_fixes, once per failing configuration: a block repeated 1,000 times fails alike in
    every copy, and sizing each fix again costs a few sizings (a bounded store, by value)."""
    key = (layer.kind.name, repr(layer.args), repr(ins), err.rule, err.axis, err.fixes)
    found = _CHECKED.get(key)
    if found is None:
        if len(_CHECKED) >= REMEMBERED:
            _CHECKED.clear()
        found = _CHECKED[key] = valid_fixes(infer, layer, ins, err)
    return found


def valid_fixes(infer, layer, ins, err: LayerError) -> tuple[str, ...]:
    """The fixes of `err` that `infer` accepts once applied (written as applied), then for each
    kind of change whose proposals all failed the nearest value that passes."""
    axis = _axis(layer, ins, err.axis)
    kept: list[str] = []
    failed: list[str] = []
    for fix in err.fixes:
        if not isinstance(fix, Fix):
            kept.append(fix)
            continue
        good = _applied(infer, layer, ins, fix, axis)
        kept += good
        if not good:
            failed.append(fix.key)
    have = {f.key for f in kept if isinstance(f, Fix)}
    for key in dict.fromkeys(failed):
        if key not in have:
            kept += _searched(infer, layer, ins, key, axis)
    if failed and err.rule == "kernel-exceeds-input" and layer.kind.name in GLOBAL:
        kept += _global(layer, ins)
    return tuple(dict.fromkeys(kept))


def _axis(layer, ins, axis: int | None) -> int | None:
    """The failing dimension, None where every dimension is alike (a fix then changes them all)."""
    sizes = _sizes(layer, ins)
    if axis is None or sizes is None:
        return axis
    dims = list(zip(_spatial(ins), *sizes.values()))
    return None if all(d == dims[0] for d in dims) else axis


def _spatial(ins) -> list[int]:
    return list(ins[0][1:])


def _sizes(layer, ins) -> dict[str, list] | None:
    """kernel, stride, padding and dilation per dimension, as the layer reads them (None: not numbers)."""
    if layer.args.get("padding") in ("same", "valid"):
        return None
    try:
        dims = window_args(layer.args, len(_spatial(ins)), dilation_ok="dilation" in layer.args)
    except LayerError:
        return None
    return {"kernel": [k for k, *_ in dims], "stride": [s for _, s, *_ in dims],
            "padding": [(lo, hi) for _, _, lo, hi, _ in dims], "dilation": [d for *_, d in dims]}


def _written(values: list):
    """One value per dimension as a spec writes it: one number when they are alike."""
    values = [v if not isinstance(v, tuple) else (v[0] if v[0] == v[1] else list(v)) for v in values]
    return values[0] if all(v == values[0] for v in values) and not isinstance(values[0], list) else values


def _with(values: list, value, axis: int | None) -> list:
    return [value if axis is None or i == axis else v for i, v in enumerate(values)]


def _sized(infer, layer, ins) -> Sizing | None:
    try:
        return infer(layer, ins)
    except LayerError:
        return None


def _arithmetic(sizing: Sizing, axis: int | None) -> str:
    """The new layer's arithmetic for the changed dimension (every dimension's where they all
    changed; one line where they are alike). Labelled lines are per dimension (window.slide)."""
    lines = [e for e in sizing.explain if e[1:3] == ": "] or sizing.explain[:1]
    return lines[axis] if axis is not None and axis < len(lines) else "; ".join(lines)


def _applied(infer, layer, ins, fix: Fix, axis: int | None) -> list[Fix]:
    """The fix (for input, each of its sizes) that passes once applied, written as applied."""
    if fix.key == "rounding":
        return [fix] if _sized(infer, replace(layer, args={**layer.args, "rounding": fix.value}), ins) else []
    if fix.key == "input":
        spatial = _spatial(ins)
        good = [v for v in fix.value if _sized(infer, layer, _input(ins, _resized(spatial, v, axis)))]
        if good == list(fix.value) and axis is None and not isinstance(fix.value[0], list):
            return [fix]
        return _input_fix(infer, layer, ins, good, axis)
    if fix.key in KEYS:
        return _option(infer, layer, ins, fix.key, fix.value, axis) or _option(infer, layer, ins, fix.key,
                                                                              fix.value, None)
    return []


def _option(infer, layer, ins, key: str, value: int, axis: int | None) -> list[Fix]:
    """`key` set to `value` (in dimension `axis`, or all), as a Fix with its arithmetic, if it passes."""
    sizes = _sizes(layer, ins)
    if sizes is None:
        return []
    if isinstance(value, list):  # one value per dimension already
        new = _written([(v, v) if key == "padding" else v for v in value])
    else:
        new = _written(_with(sizes[key], (value, value) if key == "padding" else value, axis))
    sizing = _sized(infer, replace(layer, args={**layer.args, key: new}), ins)
    if sizing is None:
        return []
    return [Fix(f"{key} {{value}} ({_arithmetic(sizing, axis)})", key, new, str(new).replace("'", ""))]


def _input_fix(infer, layer, ins, good: list, axis: int | None) -> list[Fix]:
    """Input sizes that pass, as one fix (with the arithmetic when there is one size)."""
    if not good:
        return []
    spatial = _spatial(ins)
    shown = " or ".join(_volume(_resized(spatial, v, axis), axis) for v in good)
    gives = ""
    if len(good) == 1:
        gives = f" ({_arithmetic(infer(layer, _input(ins, _resized(spatial, good[0], axis))), axis)})"
    return [Fix("an input of {value} to this layer" + gives, "input", tuple(good), shown)]


def _searched(infer, layer, ins, key: str, axis: int | None) -> list[Fix]:
    """The nearest value of `key` (for the input: the next larger size) that passes, if any."""
    if key == "input":
        spatial = _spatial(ins)
        here = spatial[axis or 0]
        for v in range(here + 1, here + 1 + SEARCH):
            if _sized(infer, layer, _input(ins, _with(spatial, v, axis))):
                return _input_fix(infer, layer, ins, [v], axis)
        return []
    sizes = _sizes(layer, ins)
    if key not in KEYS or sizes is None:
        return []
    current = sizes[key][axis or 0]
    here = max(current) if key == "padding" else current
    low, top = _bounds(key, sizes, _spatial(ins))
    for delta in range(1, SEARCH + 1):
        for v in (here - delta, here + delta):  # the nearer value, the smaller on a tie
            if low <= v <= top:
                found = _option(infer, layer, ins, key, v, axis) or (
                    axis is not None and _option(infer, layer, ins, key, v, None))
                if found:
                    return found
    return []


def _bounds(key: str, sizes: dict, spatial: list[int]) -> tuple[int, int]:
    """The values of `key` worth trying: a window within the padded input, padding up to the
    window (more pads only zeros), a stride up to the padded input (more gives one window)."""
    padded = max(w + lo + hi for w, (lo, hi) in zip(spatial, sizes["padding"]))
    if key == "padding":
        return 0, max(sizes["kernel"]) * max(sizes["dilation"])
    return 1, padded


def _global(layer, ins) -> list[str]:
    """The pool's global form: one value per channel, whatever the input."""
    kind = lookup(GLOBAL[layer.kind.name])
    shape = "x".join(map(str, _spatial(ins)))
    return [Fix(f"`{{value}}` in its place (one value per channel: {shape} -> 1)", "op", kind.name)]


def _resized(spatial: list[int], value, axis: int | None) -> list[int]:
    """The input's spatial sizes with `value` (one size, or one per dimension) in place."""
    return list(value) if isinstance(value, list) else _with(spatial, value, axis)


def _input(ins, spatial: list[int]) -> list:
    return [(ins[0][0], *spatial), *ins[1:]]


def _volume(spatial: list[int], axis: int | None) -> str:
    """A changed input as the fix writes it: the one size, or every spatial size where one changed."""
    return str(spatial[0]) if axis is None and len(set(spatial)) == 1 else "x".join(map(str, spatial))
