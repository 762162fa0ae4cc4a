"""`sizecalc solve --transposed`: a transposed convolution's formula read backwards.

    out = (W - 1)*S - 2P + D*(F - 1) + output_padding + 1

Every quantity appears once, with a whole coefficient, so one missing quantity is solved
directly (`_need`); with two missing, the other is swept over the bounds tools/solve.py
uses (kernel up to 11, dilation up to 8, stride and padding up to the window, output
padding below the stride or the dilation). Each answer is confirmed by the forward formula
(`geometry.transposed_out`) and torch's rules (output_padding smaller than the stride or the
dilation, an output of at least 1) before it is returned. Answers are tools/solve.py's
Answer, so that report/solve_out.py renders both. No I/O, no click.
"""

from __future__ import annotations

from fractions import Fraction

from ..core.geometry import effective_window, transposed_arithmetic, transposed_out
from ..core.record import dataclass
from ..core.units import QUANTITY_NAMES as NAMES, QUANTITY_SYMBOLS as SYMBOLS
from .solve import DILATION_MAX, KERNEL_MAX, SWEEP_MAX, Alternative, Answer, Setting, check_range

QUANTITIES = ("in", "kernel", "stride", "pad", "dilation", "output_padding")
MINIMUM = {"in": 1, "kernel": 1, "stride": 1, "pad": 0, "dilation": 1, "output_padding": 0}
SOLVED_FIRST = ("in", "pad", "output_padding", "stride", "kernel", "dilation")


@dataclass(frozen=True)
class TransposedSetting(Setting):
    """A full setting of a transposed conv, confirmed by the formula and torch's rules."""

    output_padding: int = 0

    def value(self, q: str):
        """One quantity's value (the padding as one number: it is symmetric)."""
        if q == "output_padding":
            return self.output_padding
        return self.pad[0] if q == "pad" else super().value(q)

    def words(self, quantities) -> str:
        return ", ".join(f"{NAMES[q]} {self.value(q)}" for q in quantities)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "output_padding": self.output_padding, "transposed": True}


def solve_transposed(out: int, size: int | None = None, kernel: int | None = None, stride: int | None = None,
                     pad: int | None = None, dilation: int | None = 1, output_padding: int | None = 0) -> Answer:
    """Every value of the missing quantities (None; at most two) with which a transposed conv
    gives `out` exactly. Raises ValueError for a value out of range or too few givens."""
    values = dict(zip(QUANTITIES, (size, kernel, stride, pad, dilation, output_padding)))
    check_range(out, values, MINIMUM)
    unknowns = tuple(q for q in QUANTITIES if values[q] is None)
    if len(unknowns) > 2:
        raise ValueError("give all but one or two of input, kernel, stride, padding, dilation and output_padding; "
                         f"missing: {', '.join(NAMES[q] for q in unknowns)}")
    given = {q: v for q, v in values.items() if v is not None}
    solved = next((q for q in SOLVED_FIRST if q in unknowns), None)
    swept = [q for q in unknowns if q != solved]
    equation = _equation(given, out)
    answer = Answer(out, {q: ((v, v) if q == "pad" else v) for q, v in given.items()}, unknowns, equation,
                    _bounds(swept), _search(unknowns, given, out), [], [])
    if not answer.solutions:
        answer.reason = [_why(solved, given, out)] if solved and not swept else [
            f"no {' and '.join(NAMES[q] for q in unknowns)} within the bounds gives {out}"]
        if not unknowns:
            answer.reason = [f"{equation.rsplit(' = ', 1)[0]} = {_out(given)}, not {out}" + _rule(given)]
        answer.alternatives = _alternatives(unknowns, given, out)
    return answer


def _search(unknowns: tuple, given: dict, out: int) -> list[TransposedSetting]:
    """Every confirmed setting of the unknowns: the first solved, the other swept."""
    solved = next((q for q in SOLVED_FIRST if q in unknowns), None)
    swept = [q for q in unknowns if q != solved]
    found = []
    for v in _sweep(swept, given):
        need = _need(solved, v, out) if solved else None
        candidates = [v] if solved is None else ([{**v, solved: need}] if isinstance(need, int) else [])
        found += [s for c in candidates if (s := _check(c, out, bounded=bool(swept))) is not None]
    return sorted(found, key=lambda s: tuple(s.value(q) for q in unknowns))


def _alternatives(unknowns: tuple, given: dict, out: int) -> list[Alternative]:
    """When nothing fits: each given quantity changed as little as possible (below and above),
    the unknowns solved with it; output_padding and padding first, the input last."""
    found: list[Alternative] = []
    for q in ("output_padding", "pad", "stride", "kernel", "dilation", "in"):
        if q not in given or len(unknowns) > 1:
            continue
        rest = {k: v for k, v in given.items() if k != q}
        options = _search((*unknowns, q) if q != "in" else (q, *unknowns), rest, out)
        here = given[q]
        for side, pick in (([s for s in options if s.value(q) < here], max), ([s for s in options
                                                                              if s.value(q) > here], min)):
            if side:
                s = pick(side, key=lambda s: s.value(q))
                found.append(Alternative(s.words([q, *unknowns]), s, (q,)))
    return found[:6]


def _out(v: dict) -> int:
    return transposed_out(v["in"], v["kernel"], v["stride"], v["pad"], v["dilation"], v["output_padding"])


def _rule(v: dict) -> str:
    """torch's refusal of this setting, as a suffix ("" when torch takes it)."""
    op, s, d = v["output_padding"], v["stride"], v["dilation"]
    return "" if op < s or op < d else f" (and torch refuses output_padding {op}: it must be smaller than the " \
                                       f"stride {s} or the dilation {d})"


def _need(q: str, v: dict, out: int):
    """The value of q that out - 1 = (W - 1)*S - 2P + D*(F - 1) + OP asks for: an int, or a Fraction
    when it is not whole, or None when every value does (its coefficient is 0)."""
    W, F, S, P, D, OP = (v.get(k) for k in QUANTITIES)
    steps = out - 1
    if q == "in":
        return _whole(Fraction(steps + 2 * P - D * (F - 1) - OP, S)) + 1
    if q == "pad":
        return _whole(Fraction((W - 1) * S + D * (F - 1) + OP - steps, 2))
    if q == "output_padding":
        return steps - (W - 1) * S + 2 * P - D * (F - 1)
    if q == "stride":
        return None if W == 1 else _whole(Fraction(steps + 2 * P - D * (F - 1) - OP, W - 1))
    if q == "kernel":
        return _whole(Fraction(steps - (W - 1) * S + 2 * P - OP, D)) + 1
    return None if F == 1 else _whole(Fraction(steps - (W - 1) * S + 2 * P - OP, F - 1))


def _whole(x: Fraction):
    return x.numerator if x.denominator == 1 else x


def _limit(q: str, v: dict) -> int:
    """The sweep's upper bound of q (tools/solve.py's, and torch's for output_padding)."""
    if q == "output_padding":
        return max(v.get("stride", SWEEP_MAX), v.get("dilation", 1)) - 1
    if q in ("stride", "pad"):
        window = effective_window(v.get("kernel", KERNEL_MAX), v.get("dilation", 1))
        return min(window - (q == "pad"), SWEEP_MAX)
    return {"kernel": KERNEL_MAX, "dilation": DILATION_MAX}[q]


def _sweep(swept: list[str], given: dict):
    """Every setting of the swept quantities (at most one), within its bounds."""
    if not swept:
        yield dict(given)
        return
    (q,) = swept
    for x in range(MINIMUM[q], _limit(q, given) + 1):
        yield {**given, q: x}


def _check(v: dict, out: int, bounded: bool) -> TransposedSetting | None:
    """The setting, if every value is in range, torch takes it and the formula gives `out`."""
    if any(not isinstance(v[q], int) or v[q] < MINIMUM[q] for q in QUANTITIES):
        return None
    if _rule(v) or _out(v) != out or (bounded and any(v[q] > _limit(q, v) for q in ("pad", "output_padding"))):
        return None
    text = f"{transposed_arithmetic(*(v[q] for q in QUANTITIES))} = {out}"
    return TransposedSetting(v["in"], v["kernel"], v["stride"], (v["pad"], v["pad"]), v["dilation"], out, text,
                             output_padding=v["output_padding"])


def _equation(v: dict, out: int) -> str:
    """The formula with the missing quantities as symbols (output_padding shown when not 0)."""
    shown = {q: v.get(q, SYMBOLS[q]) for q in QUANTITIES}
    return f"{transposed_arithmetic(*shown.values())} = {out}"


def _bounds(swept: list[str]) -> list[str]:
    texts = {"stride": "S up to the window", "pad": "P up to the window - 1", "kernel": f"F up to {KERNEL_MAX}",
             "dilation": f"D up to {DILATION_MAX}", "output_padding": "OP below the stride or the dilation"}
    return [texts[q] for q in swept]


def _why(q: str, given: dict, out: int) -> str:
    """Why the one missing quantity has no value: not whole, too small, or refused by torch."""
    need = _need(q, given, out)
    sym = SYMBOLS[q]
    if need is None:
        return f"{NAMES[q]} has no effect here, and the rest gives {_out({**given, q: MINIMUM[q]})}, not {out}"
    if isinstance(need, Fraction):
        return f"needs {sym} = {need.numerator}/{need.denominator}, not a whole number"
    if need < MINIMUM[q]:
        return f"needs {sym} = {need}, but {NAMES[q]} must be at least {MINIMUM[q]}"
    return f"needs {sym} = {need}, but torch refuses it" + _rule({**given, q: need})
