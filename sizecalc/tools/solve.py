"""`sizecalc solve`: the lecture's formula read backwards.

Given the output size you want and all but one or two of input W, kernel F, stride S,
padding P and dilation D, find every value of the missing ones that tiles exactly. The
formula (geometry.py) says, per dimension,

    out = (W + P_lo + P_hi - D*(F - 1) - 1)/S + 1,  i.e.  W + T - D*(F - 1) - 1 = (out - 1)*S

with T = P_lo + P_hi. `_need` solves that one relation for one missing quantity; with two
missing, the other is swept over sensible bounds. Whatever is found here, and every
alternative offered when nothing fits, is confirmed by `geometry.window_out` before it is
returned: nothing is shown that the forward formula has not checked. No I/O, no click;
rendered by report/solve_out.py.
"""

from __future__ import annotations

from ..core.record import dataclass, field
from fractions import Fraction

from ..core.errors import LayerError
from ..core.geometry import arithmetic, effective_window, extent, fits, window_out
from ..core.units import QUANTITY_NAMES as NAME, QUANTITY_SYMBOLS as SYMBOL

QUANTITIES = ("in", "kernel", "stride", "pad", "dilation")
MINIMUM = {"in": 1, "kernel": 1, "stride": 1, "pad": 0, "dilation": 1}
LARGEST = 1_000_000  # the largest value a quantity may be given
KERNEL_MAX = 11  # sweeps try kernels up to AlexNet's 11x11, the largest in the lecture
DILATION_MAX = 8
SWEEP_MAX = 32  # no stride or padding sweep goes past this, however wide the window
SOLVED_FIRST = ("in", "pad", "stride", "kernel", "dilation")  # the missing one solved; the rest are swept
SWEEP_ORDER = ("dilation", "kernel", "stride", "pad")  # stride and padding bounds depend on the window
FORMAT = 1


@dataclass(frozen=True)
class Setting:
    """One full setting of the five quantities, as window_out confirmed it."""

    size: int
    kernel: int
    stride: int
    pad: tuple[int, int]
    dilation: int
    out: int
    arithmetic: str
    rounding: str = "exact"
    dropped: int = 0  # input rows that floor rounding leaves unread

    def value(self, q: str):
        return {"in": self.size, "kernel": self.kernel, "stride": self.stride, "pad": self.pad,
                "dilation": self.dilation}[q]

    def words(self, quantities) -> str:
        """`stride 1, padding 2` for the named quantities; an asymmetric padding reads `1 + 2`."""
        parts = []
        for q in quantities:
            v = self.value(q)
            if q == "pad":
                v = v[0] if v[0] == v[1] else f"{v[0]} + {v[1]}"
            parts.append(f"{NAME[q]} {v}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {"in": self.size, "kernel": self.kernel, "stride": self.stride, "pad": list(self.pad),
                "dilation": self.dilation, "out": self.out, "rounding": self.rounding,
                "dropped_rows": self.dropped, "arithmetic": self.arithmetic}


@dataclass
class Alternative:
    """A way out when nothing fits: a confirmed setting, what was changed, and why it helps."""

    label: str
    setting: Setting
    changed: tuple[str, ...]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"label": self.label, "changed": list(self.changed), "notes": self.notes, **self.setting.to_dict()}


@dataclass
class Answer:
    out: int | None  # None: every setting of the unknowns that tiles, whatever its output
    given: dict
    unknowns: tuple[str, ...]
    equation: str  # the formula with the missing quantities as symbols
    bounds: list[str]
    solutions: list[Setting]
    reason: list[str]  # why nothing fits (empty when something does)
    alternatives: list[Alternative]
    notes: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return bool(self.solutions)

    def to_dict(self) -> dict:
        given = {q: (list(v) if q == "pad" else v) for q, v in self.given.items()}
        return {"sizecalc_solve": FORMAT, "out": self.out, "given": given, "unknowns": list(self.unknowns),
                "equation": self.equation, "bounds": self.bounds, "fits": self.fits,
                "solutions": [s.to_dict() for s in self.solutions], "reason": self.reason,
                "alternatives": [a.to_dict() for a in self.alternatives], "notes": self.notes}


def solve(out: int | None, size: int | None = None, kernel: int | None = None, stride: int | None = None,
          pad: int | None = None, dilation: int | None = 1, *, relax_dilation: bool = False) -> Answer:
    """Every value of the missing quantities (None) for which the windows tile exactly and give
    `out`; with `out` None, every value within the bounds that tiles, whatever its output
    (the input must then be given: every input tiles with some padding).

    At most two of size, kernel, stride, pad and dilation may be missing (dilation is 1 unless
    passed as None). When nothing fits, Answer.reason says which constraint fails and
    Answer.alternatives offer the nearest confirmed changes. `relax_dilation` lets an
    alternative change a given dilation (the CLI sets it when --dilation was typed).
    Raises ValueError for a value out of range or too few givens.
    """
    values = dict(zip(QUANTITIES, (size, kernel, stride, pad, dilation)))
    check_range(out, values, MINIMUM)
    unknowns = tuple(q for q in QUANTITIES if values[q] is None)
    if len(unknowns) > 2:
        raise ValueError(f"give at least three of input, kernel, stride, padding and dilation "
                         f"(dilation is 1 unless asked for); missing: {', '.join(NAME[q] for q in unknowns)}")
    if out is None and "in" in unknowns:
        raise ValueError("give the input size, or the output size you want: without either, every input "
                         "tiles with some setting")
    given = {q: v for q, v in values.items() if v is not None}
    if "pad" in given:
        given["pad"] = (given["pad"], given["pad"])
    solutions = sorted(_search(unknowns, given, out), key=lambda s: _order(s, unknowns))
    bounds = _bounds(unknowns, given, every=out is None)
    answer = Answer(out, given, unknowns, _equation(given, out), bounds, solutions, [], [],
                    _notes(solutions) if out is None else [])
    if not solutions:
        answer.reason = _reason(unknowns, given, out) if out is not None else _reason_any(unknowns, given)
        relaxable = [q for q in QUANTITIES if q in given and (q != "dilation" or relax_dilation)]
        answer.alternatives = _alternatives(unknowns, given, out, relaxable)
    return answer


def check_range(out, values: dict, minimum: dict) -> None:
    """ValueError for a given value (`out` or one of `values`) that is not a whole number
    from its minimum (1 for `out`) to LARGEST."""
    for q, v in {"out": out, **values}.items():
        low = 1 if q == "out" else minimum[q]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not low <= v <= LARGEST):
            raise ValueError(f"{q} must be a whole number from {low} to {LARGEST:,}, not {v!r}")


def _notes(solutions: list[Setting]) -> list[str]:
    """PyTorch's pools take at most half the kernel as padding, its convolutions any: say which
    of the settings listed only a convolution takes."""
    conv_only = [s for s in solutions if max(s.pad) > s.kernel // 2]
    if not conv_only:
        return []
    pads = sorted({max(s.pad) for s in conv_only})
    words = ", ".join(map(str, pads[:-1])) + (" and " if len(pads) > 1 else "") + str(pads[-1])
    return [f"padding {words}: a convolution only; a pool (MaxPool, AvgPool) takes P <= F//2 (PyTorch's rule)"]


# --- the relation, solved for one quantity ---------------------------------------------------

def _need(q: str, v: dict, out: int):
    """The value of q that W + T - D*(F - 1) - 1 = (out - 1)*S asks for, given the others in v:
    a Fraction (the total padding T for q == "pad"), None when every value does, or a sentence
    when none can."""
    steps = out - 1
    W, F, S, D = (v.get(k) for k in ("in", "kernel", "stride", "dilation"))
    T = sum(v["pad"]) if "pad" in v else None
    if q == "in":
        return Fraction(steps * S + effective_window(F, D) - T)
    if q == "pad":
        return Fraction(steps * S + effective_window(F, D) - W)
    if q == "stride":
        e = extent(W, F, 1, *v["pad"], D)
        if steps == 0:  # one window: any stride, if the window covers the padded input exactly
            return None if e.numerator == 0 else (f"out 1 means one window covering the whole padded input "
                                                  f"({W} + {T} = {W + T}), but the window covers {e.effective}")
        return Fraction(e.numerator, steps)
    rest = W + T - 1 - steps * S  # = D*(F - 1)
    if q == "kernel":
        return Fraction(rest, D) + 1
    if F == 1:  # q == "dilation": a 1-wide kernel reads one element at any dilation
        return None if rest == 0 else "a kernel of 1 reads one element at any dilation, so dilation changes nothing"
    return Fraction(rest, F - 1)


def _window(v: dict) -> int:
    return effective_window(v["kernel"], v["dilation"])


def _limit(q: str, v: dict) -> int | None:
    """The sensible upper bound of q when it is swept (None: no bound)."""
    if q == "stride":
        return min(_window(v), SWEEP_MAX)  # a stride past the window skips input between windows
    if q == "pad":
        return min(_window(v) - 1, SWEEP_MAX)  # more padding gives windows that read only zeros
    return {"kernel": KERNEL_MAX, "dilation": DILATION_MAX}.get(q)


def _within(c: dict, unknowns) -> bool:
    for q in unknowns:
        top = _limit(q, c)
        value = max(c[q]) if q == "pad" else c[q]
        if top is not None and value > top:
            return False
    return True


def _pads(total: int, asymmetric: bool) -> tuple[int, int] | None:
    """Total padding T as (lo, hi): symmetric halves, or TensorFlow's split (the odd row last)."""
    if asymmetric:
        return (total // 2, total - total // 2)
    return (total // 2, total // 2) if total % 2 == 0 else None


def _check(v: dict, out: int | None, rounding: str = "exact") -> Setting | None:
    """The setting, if the forward formula confirms that it gives `out` (any, if None) under `rounding`."""
    if any(v[q] < MINIMUM[q] for q in ("in", "kernel", "stride", "dilation")) or min(v["pad"]) < 0:
        return None
    lo, hi = v["pad"]
    if rounding == "exact" and not fits(v["in"], v["kernel"], v["stride"], lo, hi, v["dilation"]):
        return None  # window_out would refuse it too, after composing a costly fix message
    try:
        ext = window_out(v["in"], v["kernel"], v["stride"], lo, hi, v["dilation"], rounding)
    except LayerError:
        return None
    if out is not None and ext.out != out:
        return None
    return Setting(v["in"], v["kernel"], v["stride"], (lo, hi), v["dilation"], ext.out, ext.explain, rounding,
                   ext.dropped)


def _search(unknowns, given: dict, out: int | None, rounding: str = "exact",
            asymmetric: bool = False) -> list[Setting]:
    """Every confirmed setting of the unknowns: one solved from the relation (exact rounding),
    the others swept within their bounds (all of them under floor rounding, or for any `out`).
    A single unknown is not bounded, except in an uneven (asymmetric) padding."""
    exact = rounding == "exact" and out is not None
    solved = next((q for q in SOLVED_FIRST if q in unknowns), None) if exact else None
    swept = [q for q in SWEEP_ORDER if q in unknowns and q != solved]
    bounded = len(unknowns) > 1 or not exact or asymmetric
    found: list[Setting] = []

    def finish(v: dict) -> None:
        if solved is None:
            candidates = [v]
        else:
            need = _need(solved, v, out)
            if isinstance(need, str):
                return
            if need is None:
                values = range(MINIMUM[solved], (_limit(solved, v) or MINIMUM[solved]) + 1)
            elif need.denominator != 1:
                return
            else:
                values = [int(need)]
            candidates = []
            for x in values:
                value = _pads(x, asymmetric) if solved == "pad" else x
                if value is not None:
                    candidates.append({**v, solved: value})
        for c in candidates:
            if bounded and not _within(c, unknowns):
                continue
            setting = _check(c, out, rounding)
            if setting is not None:
                found.append(setting)

    def walk(i: int, v: dict) -> None:
        if i == len(swept):
            finish(v)
            return
        q = swept[i]
        top = _limit(q, v)
        for x in range(MINIMUM[q], top + 1):
            walk(i + 1, {**v, q: (x, x) if q == "pad" else x})
            if q == "pad" and asymmetric and x < top:
                walk(i + 1, {**v, q: (x, x + 1)})

    walk(0, dict(given))
    return found


def _order(s: Setting, quantities) -> tuple:
    return tuple(sum(s.pad) if q == "pad" else s.value(q) for q in quantities)


# --- when nothing fits ---------------------------------------------------------------------

def _equation(v: dict, out: int | None) -> str:
    pad = v.get("pad")
    lo, hi = pad if pad else ("P", "P")
    return arithmetic(v.get("in", "W"), v.get("kernel", "F"), v.get("stride", "S"), lo, hi,
                      v.get("dilation", "D")) + (f" = {out}" if out is not None else "")


def _bounds(unknowns, given: dict, every: bool = False) -> list[str]:
    """The sweep's bounds, in words: for two unknowns, or for one when every value is listed."""
    if len(unknowns) < 2 and not (every and unknowns):
        return []
    known = "kernel" in given and "dilation" in given
    window = _window(given) if known else None
    texts = {
        "stride": f"S up to the window{f' {min(window, SWEEP_MAX)}' if known else ''}",
        "pad": f"P up to the window - 1{f' = {min(window - 1, SWEEP_MAX)}' if known else ''}",
        "kernel": f"F up to {KERNEL_MAX}",
        "dilation": f"D up to {DILATION_MAX}",
    }
    return [texts[q] for q in unknowns if q in texts]


def _number(x: Fraction) -> str:
    if x.denominator == 1:
        return str(x.numerator)
    return f"{float(x):.2f}".rstrip("0").rstrip(".")


def _why(q: str, need, v: dict, out: int, bounded: bool) -> str:
    """Which constraint the needed value of q breaks, in words."""
    if isinstance(need, str):
        return need
    if need is None:
        return f"every {NAME[q]} satisfies the relation, yet none is within the bounds"
    if q == "pad":
        value, sym = need / 2, "P"
    else:
        value, sym = need, SYMBOL[q]
    text = f"needs {sym} = {_number(value)}"
    if q == "stride" and value.denominator != 1:
        num, steps = extent(v["in"], v["kernel"], 1, *v["pad"], v["dilation"]).numerator, out - 1
        return f"needs S = {num}/{steps} = {_number(value)}, not a whole number"
    if value.denominator != 1:
        if q == "pad" and value >= 0:
            W, F, S, D = v["in"], v["kernel"], v["stride"], v["dilation"]
            base = extent(W, F, S, 0, 0, D).numerator
            left = f"{W} - {F}" if D == 1 else f"{W} - {D}*({F} - 1) - 1"
            return (text + f": {left} + 2*P = {base} + 2*P is {'odd' if base % 2 else 'even'} for every P, "
                    f"but it must equal ({out} - 1)*{S} = {(out - 1) * S}")
        return text + ", not a whole number"
    if value < MINIMUM[q]:
        return text + f", but {NAME[q]} must be at least {MINIMUM[q]}"
    top = _limit(q, v) if bounded else None
    if top is not None and value > top:
        return text + f", more than {top}"
    return text + f", yet {_equation({**v, q: _pads(int(need), False) if q == 'pad' else int(value)}, out)}" \
                  " does not check"


def _reason(unknowns, given: dict, out: int) -> list[str]:
    if not unknowns:
        lo, hi = given["pad"]
        try:
            ext = window_out(given["in"], given["kernel"], given["stride"], lo, hi, given["dilation"], "exact")
        except LayerError as err:
            return [err.message]
        return [f"{ext.explain}, not {out}"]
    solved = next(q for q in SOLVED_FIRST if q in unknowns)
    swept = [q for q in unknowns if q != solved]
    if not swept:
        return [_why(solved, _need(solved, given, out), given, out, False)]
    q = swept[0]
    reasons = []
    if "in" not in unknowns:  # say so when out lies beyond every output these bounds can give
        reach = _search(unknowns, given, None)
        most = max(reach, key=lambda s: (s.out, [-x for x in _order(s, unknowns)]), default=None)
        least = min(reach, key=lambda s: (s.out, _order(s, unknowns)), default=None)
        if most and out > most.out:
            reasons.append(f"out {out} is more than any of these settings gives: the most is {most.out} "
                           f"({most.words(unknowns)}: {most.arithmetic})")
        elif least and out < least.out:
            reasons.append(f"out {out} is less than any of these settings gives: the least is {least.out} "
                           f"({least.words(unknowns)}: {least.arithmetic})")
    for x in range(MINIMUM[q], _limit(q, given) + 1):
        v = {**given, q: (x, x) if q == "pad" else x}
        reasons.append(f"{NAME[q]} {x} " + _why(solved, _need(solved, v, out), v, out, True))
    if len(reasons) > 6:
        reasons = reasons[:5] + [f"... and {len(reasons) - 5} more {NAME[q]} values, none of which fits"]
    return reasons


def _reason_any(unknowns, given: dict) -> list[str]:
    """Why no value of the unknowns within the bounds tiles (no output asked for)."""
    if not unknowns:
        return _reason(unknowns, given, 0)[:1]
    if unknowns == ("pad",):
        W, F, S, D = given["in"], given["kernel"], given["stride"], given["dilation"]
        base = extent(W, F, S, 0, 0, D).numerator
        if S % 2 == 0 and base % 2:
            left = f"{W} - {F}" if D == 1 else f"{W} - {D}*({F} - 1) - 1"
            return [f"{left} + 2*P = {base} + 2*P is odd for every P, but stride {S} needs a multiple of {S}"]
    q = unknowns[0]
    reasons = []
    for x in range(MINIMUM[q], _limit(q, given) + 1):
        v = {**given, q: (x, x) if q == "pad" else x}
        if len(unknowns) == 1:
            e = extent(v["in"], v["kernel"], v["stride"], *v["pad"], v["dilation"])
            shown = "a negative output" if e.numerator < 0 else _number(Fraction(e.numerator, e.stride) + 1)
            reasons.append(f"{NAME[q]} {x}: {e.arithmetic()} = {shown}")
        else:
            reasons.append(f"{NAME[q]} {x}: no {NAME[unknowns[1]]} within the bounds tiles")
    if len(reasons) > 6:
        reasons = reasons[:5] + [f"... and {len(reasons) - 5} more {NAME[q]} values, none of which tiles"]
    return reasons


def _alternatives(unknowns, given: dict, out: int | None, relaxable) -> list[Alternative]:
    alternatives: list[Alternative] = []
    seen: set[tuple] = set()

    def add(label, setting, changed, notes=()):
        key = (setting.size, setting.kernel, setting.stride, setting.pad, setting.dilation, setting.rounding)
        if key not in seen:
            seen.add(key)
            alternatives.append(Alternative(label, setting, tuple(changed), list(notes)))

    # floor rounding, what PyTorch convolutions do: fewest input rows left unread
    if "in" not in unknowns:
        floors = _search(unknowns, given, out, "floor")
        if floors:
            s = min(floors, key=lambda s: (s.dropped, _order(s, unknowns)))
            label = (s.words(unknowns) + ", " if unknowns else "") + "floor rounding"
            rows = "row is" if s.dropped == 1 else "rows are"
            add(label, s, ("rounding",), [f"what PyTorch does: the last {s.dropped} input {rows} never read"])

    # padding split unevenly, the odd row last: TensorFlow's padding="same"
    if "in" not in unknowns:
        free = tuple(q for q in QUANTITIES if q in unknowns or q == "pad")
        rest = {q: v for q, v in given.items() if q != "pad"}
        uneven = [s for s in _search(free, rest, out, asymmetric=True) if s.pad[0] != s.pad[1]]
        if uneven:
            ref = sum(given["pad"]) if "pad" in given else 0
            s = min(uneven, key=lambda s: (abs(sum(s.pad) - ref), _order(s, unknowns)))
            lo, hi = s.pad
            same = s.out == -(-s.size // s.stride)
            notes = [("what TensorFlow's padding='same' does" if same else "padding split unevenly")
                     + f": {lo} before, {hi} after",
                     f"spec: padding: [[{lo}, {hi}], [{lo}, {hi}]]; PyTorch: F.pad(x, ({lo}, {hi}, {lo}, {hi})) "
                     "then padding 0"]
            add(s.words([q for q in free if q != "pad"] + ["pad"]), s, ("pad",), notes)

    # change one given quantity, as little as possible each way
    for g in relaxable:
        free = tuple(q for q in QUANTITIES if q in unknowns or q == g)
        rest = {q: v for q, v in given.items() if q != g}
        here = given[g][0] if g == "pad" else given[g]
        if out is None and g == "in":  # nothing to solve the input from: the nearest inputs each way
            near = range(max(here - SWEEP_MAX, 1), here + SWEEP_MAX + 1)
            found = [(w, s) for w in near if w != here for s in _search(unknowns, {**rest, "in": w}, None)]
        else:
            found = [(s.pad[0] if g == "pad" else s.value(g), s) for s in _search(free, rest, out)]
        for side, pick in (([f for f in found if f[0] < here], max), ([f for f in found if f[0] > here], min)):
            if side:
                best = pick(x for x, _ in side)
                s = min((s for x, s in side if x == best), key=lambda s: _order(s, unknowns))
                add(s.words([g, *unknowns]), s, (g,))
    return alternatives
