"""Findings and the exceptions that carry them.

A Finding is one thing wrong (or worth knowing) about a spec: a rule id, a severity, the
place in the YAML it points at, the layer it concerns, what is wrong (with the arithmetic)
and one fix. Every user-facing error of sizecalc is a Finding; nothing here formats colour.
"""

from __future__ import annotations

from .record import dataclass, field
from typing import NamedTuple

ERROR = "error"
WARNING = "warning"
INFO = "info"
QUOTE_CHARS = 40  # a user's value quoted in a message is cut to this many characters


def cut(value, limit: int = QUOTE_CHARS) -> str:
    """A user's value as quoted in a message: its first `limit` characters, then "…" if longer.
    Keeps messages one short line, and a long secret out of a CI log."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class Loc(NamedTuple):
    """A place in a spec file: 1-based line and column, as editors count them."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Finding:
    rule: str
    message: str
    loc: Loc | None = None
    layer: str | None = None
    fix: str | None = None
    severity: str = ERROR
    # where the block holding this layer was used, outermost first ("used at" lines)
    trail: tuple[Loc, ...] = field(default_factory=tuple)

    def line(self) -> str:
        """The one-line form: `file:line:col: error: [layer] message; fix: ... [rule]`."""
        where = f"{self.loc}: " if self.loc else ""
        who = f"{self.layer}: " if self.layer else ""
        text = f"{where}{self.severity}: {who}{self.message}{self.used_at()}"
        if self.fix:
            text += f"; fix: {self.fix}"
        return f"{text} [{self.rule}]"

    def used_at(self) -> str:
        """Where the block holding this layer was used, as a suffix of the message ("" if none)."""
        return " (in a block used at " + ", ".join(str(t) for t in self.trail) + ")" if self.trail else ""

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.loc.file if self.loc else None,
            "line": self.loc.line if self.loc else None,
            "col": self.loc.col if self.loc else None,
            "layer": self.layer,
            "message": self.message,
            "fix": self.fix,
            "used_at": [str(t) for t in self.trail],
        }


class SizecalcError(Exception):
    """Base of the errors sizecalc raises for a user's mistake."""

    exit_code = 1

    def __init__(self, findings: list[Finding]):
        self.findings = list(findings)
        super().__init__("\n".join(f.line() for f in self.findings))


class SpecError(SizecalcError):
    """The spec was read but does not describe a network that fits: exit 1."""

    exit_code = 1


class InputError(SizecalcError):
    """The input could not be read at all (missing, binary, too large): exit 2."""

    exit_code = 2


class LayerError(Exception):
    """A layer's geometry or arguments do not fit; `field` names the YAML key to point at."""

    def __init__(self, rule: str, message: str, field: str | None = None, fix: str | None = None):
        super().__init__(message)
        self.rule, self.message, self.field, self.fix = rule, message, field, fix
