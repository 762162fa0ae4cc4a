"""A small, safe evaluator for `$` expressions: `$out * 4`, `$make_divisible($w * 1.1, 8)`,
`$ceil($n * $depth_mult)`, `$stride == 1 and $cin == $cout`, `$a if $se else $b`.

The language (README, "Expressions") is a fixed grammar read by a recursive-descent parser
into a tuple tree, then evaluated; nothing reaches Python's `eval`, no name but a block
parameter or one of FUNCTIONS can be written, and there is no attribute access, indexing
or call of anything else. Every expression is bounded: MAX_EXPR_CHARS characters,
MAX_EXPR_DEPTH levels of nesting (so the parser's recursion is bounded, whatever the
input), and every intermediate number within ±MAX_EXPR_VALUE (so `10 ** 10 ** 10` is an
error before it is computed, not a minute of work).

Numbers are Python's own: exact integers, and float64 where a float appears (a decimal
literal, `/`, `log`, a float parameter), the arithmetic torchvision's model builders use,
so `make_divisible(32 * 1.1, 8)` gives what `torchvision.models._utils._make_divisible`
gives, bit for bit. A float result never becomes an integer silently: where a size or a
count is needed the caller (expand.py) asks for an integer and the spec writes `round`,
`floor`, `ceil`, `int` or `make_divisible`.

Errors are ExprError with one sentence; evaluate() adds the parameters the expression
names with their values (`(with $w = 32, $mult = 1.1)`), the expander adds the expression.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from ..core.errors import cut
from ..core.limits import MAX_EXPR_CHARS, MAX_EXPR_DEPTH, MAX_EXPR_VALUE

MAX_LEN = MAX_EXPR_CHARS  # the names this module had before the limits moved to core/limits.py
MAX_ABS = MAX_EXPR_VALUE
KEYWORDS = ("and", "or", "not", "if", "else", "true", "false")
_TOKEN = re.compile(r"""\s*(?:
    (?P<float>(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)
  | (?P<int>\d+)
  | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>\*\*|//|==|!=|<=|>=|[-+*/%()<>,])
)""", re.VERBOSE)
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class ExprError(ValueError):
    pass


class UnknownName(ExprError):
    """A name that is no parameter; `near` is the parameter it may be a typo of."""

    def __init__(self, message: str, name: str, near: str | None):
        super().__init__(message)
        self.name, self.near = name, near


# -- the functions ---------------------------------------------------------------------------
def make_divisible(v, divisor, min_value=None) -> int:
    """torchvision's `_make_divisible` (models/_utils.py, from TensorFlow's MobileNet): `v`
    rounded to the nearest multiple of `divisor` (halves up), at least `min_value` (default:
    `divisor`), and one `divisor` more if rounding lost more than 10% of `v`. MNASNet's
    `_round_to_multiple_of(val, divisor)` with its default bias 0.9 is the same function."""
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 1:
        raise ExprError(f"make_divisible's divisor must be a whole number >= 1, not {_show(divisor)}")
    if min_value is None:
        min_value = divisor
    elif isinstance(min_value, bool) or not isinstance(min_value, int):
        raise ExprError(f"make_divisible's min_value must be a whole number, not {_show(min_value)}")
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # make sure that rounding down does not go down by more than 10%
        new_v += divisor
    return new_v


def _round(x) -> int:
    """Python's round(): halves to the even neighbour (round(2.5) == 2, round(3.5) == 4), as
    torchvision's `int(round(...))` (RegNet's bottleneck and squeeze-excitation widths)."""
    return round(x)


def _log(x, base=None) -> float:
    if x <= 0 or (base is not None and (base <= 0 or base == 1)):
        raise ExprError(f"log is defined for x > 0 and a base > 0 other than 1, not log({_show(x)}"
                        + (f", {_show(base)})" if base is not None else ")"))
    return math.log(x) if base is None else math.log(x, base)


def _min_max(pick):
    def fn(*args):
        return pick(args)
    return fn


# name -> (fewest arguments, most arguments, function, what it does); all take numbers
FUNCTIONS = {
    "round": (1, 1, _round, "to the nearest integer, halves to even (Python's round)"),
    "floor": (1, 1, math.floor, "the integer at or below"),
    "ceil": (1, 1, math.ceil, "the integer at or above (EfficientNet's depth: ceil(n * depth_mult))"),
    "int": (1, 1, int, "drops the fraction, towards zero (Python's int())"),
    "abs": (1, 1, abs, "the absolute value"),
    "min": (2, 16, _min_max(min), "the smallest argument"),
    "max": (2, 16, _min_max(max), "the largest argument"),
    "log": (1, 2, _log, "natural logarithm, or log(x, base)"),
    "make_divisible": (2, 3, make_divisible, "torchvision's _make_divisible(v, divisor, min_value)"),
}


# -- reading ---------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def parse(text: str) -> tuple:
    """Expression text (without the leading `$`) -> its tree. Remembered: a block used 1,000
    times reads each of its expressions once."""
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"expression longer than {MAX_EXPR_CHARS} characters")
    parser = _Parser(_tokens(text.strip()))
    tree = parser.expr()
    if parser.i != len(parser.tokens):
        raise ExprError(f"unexpected '{cut(parser.tokens[parser.i][1])}'")
    return tree


def _tokens(text: str) -> list[tuple]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            rest = text[pos:].strip()
            if rest.startswith("."):
                raise ExprError(f"cannot read '{cut(rest)}': an expression has no attributes (no `.name`)")
            raise ExprError(f"cannot read '{cut(rest)}' (an expression holds numbers, 'text', parameter names, "
                            "operators, parentheses and its own functions)")
        kind = m.lastgroup
        word = m.group(kind)
        if kind in ("int", "float"):
            number = int(word) if kind == "int" else float(word)
            if not math.isfinite(number) or abs(number) > MAX_EXPR_VALUE:
                raise ExprError(f"the number {cut(word, 20)} is out of range (more than {_limit()} in size)")
            tokens.append(("num", number))
        elif kind == "str":
            tokens.append(("str", word[1:-1]))
        elif kind == "name" and word.lstrip("$") in KEYWORDS:  # `$not $x` reads as `not $x`
            tokens.append(("kw", word.lstrip("$")))
        else:
            tokens.append((kind, word))
        pos = m.end()
    return tokens


class _Parser:
    """Python's precedence, lowest first: `x if c else y`, or, and, not, comparisons (chained
    as in Python), + -, * / // %, unary - +, ** (right-associative), then atoms."""

    def __init__(self, tokens):
        self.tokens, self.i, self.depth = tokens, 0, 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, *wanted) -> str | None:
        token = self.peek()
        if token in wanted:
            self.i += 1
            return token[1]
        return None

    def nested(self):
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            raise ExprError(f"expression nested more than {MAX_EXPR_DEPTH} deep")

    def expr(self):
        self.nested()
        value = self.disjunction()
        if self.take(("kw", "if")):
            cond = self.disjunction()
            if not self.take(("kw", "else")):
                raise ExprError("`x if condition` needs `else y`")
            value = ("if", cond, value, self.expr())
        self.depth -= 1
        return value

    def disjunction(self):
        value = self.conjunction()
        while self.take(("kw", "or")):
            value = ("or", value, self.conjunction())
        return value

    def conjunction(self):
        value = self.negation()
        while self.take(("kw", "and")):
            value = ("and", value, self.negation())
        return value

    def negation(self):
        if self.take(("kw", "not")):
            self.nested()
            value = ("not", self.negation())
            self.depth -= 1
            return value
        return self.comparison()

    def comparison(self):
        first = self.sum()
        ops, operands = [], [first]
        while (op := self.take(*(("op", c) for c in COMPARISONS))) is not None:
            ops.append(op)
            operands.append(self.sum())
        return ("cmp", tuple(ops), tuple(operands)) if ops else first

    def sum(self):
        value = self.product()
        while (op := self.take(("op", "+"), ("op", "-"))) is not None:
            value = ("bin", op, value, self.product())
        return value

    def product(self):
        value = self.unary()
        while (op := self.take(("op", "*"), ("op", "/"), ("op", "//"), ("op", "%"))) is not None:
            value = ("bin", op, value, self.unary())
        return value

    def unary(self):
        op = self.take(("op", "-"), ("op", "+"))
        if op is None:
            return self.power()
        self.nested()
        value = ("neg" if op == "-" else "pos", self.unary())
        self.depth -= 1
        return value

    def power(self):
        base = self.atom()
        if self.take(("op", "**")):
            self.nested()
            base = ("bin", "**", base, self.unary())  # 2 ** -1, and right-associative: 2 ** 3 ** 2
            self.depth -= 1
        return base

    def atom(self):
        kind, val = self.peek()
        self.i += 1
        if kind in ("num", "str"):
            return (kind, val)
        if kind == "kw" and val in ("true", "false"):
            return ("num", val == "true")
        if kind == "name":
            word = val[1:] if val.startswith("$") else val  # `$` before a name is optional
            if self.peek() == ("op", "(") and word in FUNCTIONS:
                return self.call(word)
            if self.peek() == ("op", "("):
                raise ExprError(f"'{cut(word)}' is not a function (functions: {', '.join(FUNCTIONS)})")
            return ("name", word)
        if (kind, val) == ("op", "("):
            value = self.expr()
            if not self.take(("op", ")")):
                raise ExprError("missing ')'")
            return value
        raise ExprError("expression ends too early" if kind is None else f"unexpected '{cut(val)}'")

    def call(self, name: str):
        self.i += 1  # the "("
        args = []
        if not self.take(("op", ")")):
            args.append(self.expr())
            while self.take(("op", ",")):
                args.append(self.expr())
            if not self.take(("op", ")")):
                raise ExprError(f"missing ')' after the arguments of {name}")
        lo, hi = FUNCTIONS[name][:2]
        if not lo <= len(args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}"
            raise ExprError(f"{name} takes {want} argument{'s' if hi > 1 else ''}, not {len(args)}")
        return ("call", name, tuple(args))


# -- evaluating ------------------------------------------------------------------------------
def evaluate(text: str, params: dict):
    """Evaluate `$expr` (text without the `$`) against params. A bare name returns its value
    of any type (so `enabled: $project` passes a boolean, `padding: $pad` a null); anything
    else is computed, with numbers where arithmetic needs them."""
    tree = parse(text)
    if tree[0] == "name":
        return _name(tree[1], params)
    try:
        return _eval(tree, params)
    except ExprError as err:
        named = _names(tree, params)
        if not named:
            raise
        shown = ", ".join(f"${cut(n)} = {cut(_show(params[n]))}" for n in named[:4])
        raise ExprError(f"{err} (with {shown}{', ...' if len(named) > 4 else ''})") from None


def _names(tree, params) -> list[str]:
    """The parameters the expression names, each once, in the order written."""
    found: list[str] = []

    def walk(node):
        if node[0] == "name":
            if node[1] in params and node[1] not in found:
                found.append(node[1])
        else:
            for part in node[1:]:
                if isinstance(part, tuple):
                    for child in (part if not part or isinstance(part[0], tuple) else (part,)):
                        walk(child)
    walk(tree)
    return found


def _name(name: str, params: dict):
    if name not in params:
        from .hints import closest
        near = closest(name, params)
        known = cut(", ".join(sorted(params)), 120) or "none"
        hint = f" (did you mean ${cut(near)}?)" if near else f" (parameters: {known})"
        raise UnknownName(f"unknown parameter ${cut(name)}{hint}", name, near)
    return params[name]


def _eval(node, params):
    kind = node[0]
    if kind in ("num", "str"):
        return node[1]
    if kind == "name":
        return _name(node[1], params)
    if kind == "bin":
        return _binary(node[1], _number(_eval(node[2], params), node[1]), _number(_eval(node[3], params), node[1]))
    if kind == "neg":
        return -_number(_eval(node[1], params), "-")
    if kind == "pos":
        return _number(_eval(node[1], params), "+")
    if kind == "cmp":
        return _compare(node[1], node[2], params)
    if kind == "not":
        return not _truth(_eval(node[1], params), "not")
    if kind in ("and", "or"):
        left = _truth(_eval(node[1], params), kind)
        if left == (kind == "or"):  # true or ..., false and ...: the right side is not evaluated
            return left
        return _truth(_eval(node[2], params), kind)
    if kind == "if":
        chosen = node[2] if _truth(_eval(node[1], params), "if") else node[3]
        return _eval(chosen, params)
    return _call(node[1], [_eval(arg, params) for arg in node[2]])


def _call(name: str, args: list):
    for arg in args:
        _number(arg, f"{name}()")
    value = FUNCTIONS[name][2](*args)
    return _check(value)


def _binary(op: str, a, b):
    if op in ("/", "//", "%") and b == 0:
        raise ExprError("division by zero")
    if op == "**":
        return _power(a, b)
    value = (a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b if op == "/"
             else a // b if op == "//" else a % b)
    return _check(value)


def _power(a, b):
    """a ** b, refused before it is computed when the result would pass MAX_EXPR_VALUE."""
    if isinstance(a, int) and isinstance(b, int) and b >= 0:
        if abs(a) >= 2 and b * math.log2(abs(a)) > math.log2(MAX_EXPR_VALUE) + 1:
            raise ExprError(f"{_operand(a)} ** {_operand(b)} is out of range (more than {_limit()})")
        return _check(a ** b)
    if a == 0 and b < 0:
        raise ExprError("division by zero (0 to a negative power)")
    try:
        value = math.pow(a, b)  # what Python's float ** does, but a ValueError, never a complex number
    except OverflowError:
        raise ExprError(f"{_operand(a)} ** {_operand(b)} is out of range (more than {_limit()})") from None
    except ValueError:
        raise ExprError(f"{_operand(a)} ** {_operand(b)} is not a real number") from None
    return _check(value)


def _compare(ops: tuple, operands: tuple, params) -> bool:
    left = _eval(operands[0], params)
    for op, operand in zip(ops, operands[1:]):
        right = _eval(operand, params)
        _comparable(left, right, op)
        if not (left == right if op == "==" else left != right if op == "!=" else left < right if op == "<"
                else left <= right if op == "<=" else left > right if op == ">" else left >= right):
            return False
        left = right
    return True


def _comparable(a, b, op: str) -> None:
    kinds = {_kind(a), _kind(b)}
    if len(kinds) > 1 or (op not in ("==", "!=") and kinds != {"number"}):
        raise ExprError(f"cannot compare {_show(a)} {op} {_show(b)}"
                        + (" (only numbers are ordered)" if len(kinds) == 1 else ""))


def _kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "text" if isinstance(value, str) else "other"


def _number(value, where: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExprError(f"{where} needs numbers, not {_show(value)}")
    return value


def _truth(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"`{where}` needs true or false, not {_show(value)} (compare it: x > 0, x == 1)")
    return value


def _check(value):
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_EXPR_VALUE:
        raise ExprError(f"value {_show(value)} is out of range (more than {_limit()} in size)")
    return value


def _limit() -> str:
    exp = round(math.log10(MAX_EXPR_VALUE))
    return f"10^{exp}" if 10 ** exp == MAX_EXPR_VALUE else f"{MAX_EXPR_VALUE:,}"


def _show(value) -> str:
    """A value as an expression would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(cut(value))
    if isinstance(value, int) and abs(value) >= 10 ** 15:
        return f"about 10^{len(str(abs(value))) - 1}"
    return repr(value) if isinstance(value, (int, float)) else f"a {type(value).__name__}"


def _operand(value) -> str:
    return f"({_show(value)})" if value < 0 else _show(value)
