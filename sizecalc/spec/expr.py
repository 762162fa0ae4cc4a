"""A tiny, safe evaluator for block parameters: `$out`, `$out * 4`, `$c // 2 + 1`.

Integers, parameter names, + - * // % and parentheses; nothing else (no Python `eval`,
no attribute access, no calls). Expressions are limited in length and results in size.
"""

from __future__ import annotations

import re

from ..core.errors import cut

MAX_LEN = 200
MAX_ABS = 10 ** 12
_TOKEN = re.compile(r"\s*(?:(\d+)|\$?([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*%()]))")


class ExprError(ValueError):
    pass


def evaluate(text: str, params: dict):
    """Evaluate `$expr` (text without the `$`) against params. A bare name returns its value
    of any type (so `enabled: $project` passes a boolean); arithmetic needs integers."""
    if len(text) > MAX_LEN:
        raise ExprError(f"expression longer than {MAX_LEN} characters")
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"cannot read '{cut(text[pos:])}' (allowed: integers, parameter names, "
                            "+ - * // % and parentheses)")
        tokens.append(m.group(1) and ("num", int(m.group(1))) or m.group(2) and ("name", m.group(2))
                      or ("op", m.group(3)))
        pos = m.end()
    if len(tokens) == 1 and tokens[0][0] == "name":
        return _name(tokens[0][1], params)
    parser = _Parser(tokens, params)
    value = parser.sum()
    if parser.i != len(tokens):
        raise ExprError(f"unexpected '{cut(tokens[parser.i][1])}'")
    return value


def _name(name: str, params: dict):
    if name not in params:
        from .hints import closest
        near = closest(name, params)
        known = cut(", ".join(sorted(params)), 120) or "none"
        hint = f" (did you mean ${cut(near)}?)" if near else f" (parameters: {known})"
        raise ExprError(f"unknown parameter ${cut(name)}{hint}")
    return params[name]


class _Parser:
    def __init__(self, tokens, params):
        self.tokens, self.params, self.i = tokens, params, 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def sum(self):
        value = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.tokens[self.i][1]
            self.i += 1
            rhs = self.product()
            value = _check(value + rhs if op == "+" else value - rhs)
        return value

    def product(self):
        value = self.unary()
        while self.peek() in (("op", "*"), ("op", "//"), ("op", "%")):
            op = self.tokens[self.i][1]
            self.i += 1
            rhs = self.unary()
            if op != "*" and rhs == 0:
                raise ExprError("division by zero")
            value = _check(value * rhs if op == "*" else value // rhs if op == "//" else value % rhs)
        return value

    def unary(self):
        if self.peek() == ("op", "-"):
            self.i += 1
            return -self.unary()
        return self.atom()

    def atom(self):
        kind, val = self.peek()
        self.i += 1
        if kind == "num":
            return _check(val)
        if kind == "name":
            value = _name(val, self.params)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ExprError(f"${cut(val)} is {cut(repr(value))}, not an integer, "
                                "so it cannot take part in arithmetic")
            return value
        if (kind, val) == ("op", "("):
            value = self.sum()
            if self.peek() != ("op", ")"):
                raise ExprError("missing ')'")
            self.i += 1
            return value
        raise ExprError("expression ends too early" if kind is None else f"unexpected '{cut(val)}'")


def _check(value: int) -> int:
    if abs(value) > MAX_ABS:
        raise ExprError(f"value {value} is out of range")
    return value
