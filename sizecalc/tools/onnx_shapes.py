"""The exporter's size arithmetic (Shape, Gather, Slice, Concat, Add, Div ...) followed statically:
`evaluate` gives a static node's value where it can be followed. A size read from a data tensor's
shape is a `Dim` of that tensor (with the arithmetic done on it), so that onnx_ops.py can make
torch.chunk's Slices sizecalc's split and F.interpolate(x, size=y.shape[-2:]) a resize `like:` y's
layer. Bounded: at most MAX_CONST values, STEPS steps on one size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .onnx_read import MAX_CONST, OnnxNode

if TYPE_CHECKING:
    from .onnx_map import Mapper


STEPS = 8  # the arithmetic steps followed on one size (torch.chunk's bounds take three)
TRIES = (720720, 1441440)  # sizes an arithmetic on a size is evaluated at (divisible by 2 to 16)


@dataclass(frozen=True)
class Dim:
    """Axis `axis` of the data tensor `tensor`, through `steps` ((op, number) each: the
    exporter's arithmetic on it, as torch.chunk's (x.shape[1] + 1) // 2 * k): a size known
    only when the spec is sized."""

    tensor: str
    axis: int
    steps: tuple = ()

    def at(self, size: int):
        """The value at a size of the axis; None where the arithmetic fails (a division by 0)."""
        try:
            for op, k in self.steps:
                size = arith(op, size, k)
        except (ArithmeticError, ValueError):
            return None
        return size

    def identity(self) -> bool:
        return all(self.at(n) == n for n in TRIES)

    def then(self, op: str, k) -> "Dim":
        if len(self.steps) >= STEPS:
            raise ValueError("too many steps")
        return Dim(self.tensor, self.axis, (*self.steps, (op, k)))


def number(v) -> bool:
    """A finite int or float (a file's float bound can be inf or nan)."""
    return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and math.isfinite(v)


def arith(op: str, a, b):
    """ONNX's Add, Sub, Mul, Div (integer Div truncates); `r` ops take the operands swapped."""
    if op.startswith("r"):
        op, a, b = op[1:], b, a
    if op == "Add":
        return a + b
    if op == "Sub":
        return a - b
    if op == "Mul":
        return a * b
    if isinstance(a, int) and isinstance(b, int):
        q = abs(a) // abs(b)  # a zero raises ZeroDivisionError: no value
        return q if (a >= 0) == (b > 0) else -q
    return a / b


def evaluate(m: Mapper, node: OnnxNode) -> list | None:
    """The value of a static node's first output where it can be followed (Shape, Gather,
    Slice, Concat, Unsqueeze, Squeeze, Cast, Identity and arithmetic on sizes), else None.
    Bounded: at most MAX_CONST values, STEPS steps on one size."""
    try:
        value = _evaluate(m, node)
    except (ArithmeticError, TypeError, ValueError, IndexError, OverflowError):
        return None
    return value if value is not None and len(value) <= MAX_CONST else None


def _evaluate(m: Mapper, node: OnnxNode) -> list | None:
    op = node.op
    if op == "Shape":
        x = node.inputs[0]
        rank = m.rank.get(x) if x not in m.g.weights else len(m.g.weights[x])
        if not rank:
            return None
        dims = list(m.g.weights[x]) if x in m.g.weights else [Dim(x, i) for i in range(rank)]
        start, end = node.attrs.get("start") or 0, node.attrs.get("end")
        return dims[start:end] if end is not None else dims[start:]
    args = [m.value(node, i) for i in range(len(node.inputs))]
    if not args or args[0] is None:
        return None
    if op in ("Identity", "Cast", "Squeeze", "Unsqueeze"):
        return args[0]
    if op == "Gather" and not node.attrs.get("axis") and args[1] is not None:
        return [args[0][int(i)] for i in args[1]]
    if op == "Concat" and all(a is not None for a in args):
        return [v for a in args for v in a]
    if op == "Slice" and all(a is not None and all(number(v) for v in a) for a in args[1:]):
        if len(args) > 3 and [int(a) for a in args[3]] not in ([0], [-1]):
            return None
        step = int(args[4][0]) if len(args) > 4 else 1
        return args[0][int(args[1][0]):int(args[2][0]):step]
    if op in ("Add", "Sub", "Mul", "Div") and len(args) == 2 and args[1] is not None:
        a, b = args
        if len(a) != len(b) and 1 not in (len(a), len(b)):
            return None
        n = max(len(a), len(b))
        a, b = (a * n if len(a) == 1 else a), (b * n if len(b) == 1 else b)
        out = []
        for u, v in zip(a, b):
            if isinstance(u, Dim) and isinstance(v, Dim):
                return None
            out.append(u.then(op, v) if isinstance(u, Dim) else v.then("r" + op, u) if isinstance(v, Dim)
                       else arith(op, u, v))
        return out
    return None
