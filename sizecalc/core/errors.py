"""Findings and the exceptions that carry them.

A Finding is one thing wrong (or worth knowing) about a spec: a rule id, a severity, the
place in the YAML it points at, the layer it concerns, what is wrong (with the arithmetic)
and one fix. Every user-facing error of sizecalc is a Finding; nothing here formats colour.
"""

from __future__ import annotations

from typing import NamedTuple

from .escape import printable
from .record import dataclass, field

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
        return f"{printable(self.file)}:{self.line}:{self.col}"


@dataclass
class Finding:
    """One finding. Its fix options are data (`fixes`, each a change that works); `fix` is their
    text, one option or several joined by "; or ", made here for every output format."""

    rule: str
    message: str
    loc: Loc | None = None
    layer: str | None = None
    fixes: tuple[str, ...] = ()
    severity: str = ERROR
    # where the block holding this layer was used, outermost first ("used at" lines)
    trail: tuple[Loc, ...] = field(default_factory=tuple)
    block: str | None = None  # the innermost block holding this layer
    copies: int = 1  # the copies of the layer (repeats, blocks used many times) it stands for

    def __init__(self, rule: str, message: str, loc: Loc | None = None, layer: str | None = None,
                 fix: str | None = None, severity: str = ERROR, trail: tuple[Loc, ...] = (),
                 block: str | None = None, copies: int = 1, *, fixes: tuple[str, ...] = ()):
        """`fix` is one option (as text), `fixes` several; give one or the other."""
        self.rule, self.message, self.loc, self.layer, self.severity = rule, message, loc, layer, severity
        self.fixes = tuple(fixes) if fixes else ((fix,) if fix else ())
        self.trail, self.block, self.copies = trail, block, copies

    @property
    def fix(self) -> str | None:
        """The fix options as one text ("a; or b"), None when there is none."""
        return "; or ".join(self.fixes) or None

    def line(self) -> str:
        """The one-line form: `file:line:col: error: [layer] message; fix: ... [rule]`.

        Every part that can hold user text is printable() (see sizecalc/escape.py), so the
        line stays one line and carries no control character or CI command."""
        where = f"{self.loc}: " if self.loc else ""
        who = f"{printable(self.layer)}: " if self.layer else ""
        text = f"{where}{self.severity}: {who}{printable(self.message)}{self.used_at()}"
        if self.fix:
            text += f"; fix: {printable(self.fix)}"
        return f"{text} [{self.rule}]"

    def used_at(self) -> str:
        """Where the block holding this layer was used, and how many copies of it share this
        finding, as a suffix of the message ("" if none)."""
        if self.copies > 1:
            what = f"block '{self.block}'" if self.block else ("a block" if self.trail else "this layer")
            first = self.trail[0] if self.trail else None
            first = "" if first is None else ", first used at " + (
                f"line {first.line}:{first.col}" if self.loc and first.file == self.loc.file else str(first))
            return f" (in {self.copies:,} copies of {what}{first})"
        return " (in a block used at " + ", ".join(str(t) for t in self.trail) + ")" if self.trail else ""

    def same_problem(self) -> tuple:
        """Findings with this key are one problem seen in several copies of a layer."""
        return (self.rule, self.severity, self.loc, self.message, self.fix)

    def to_dict(self) -> dict:
        """The finding as JSON-ready values, user text printable() as in line()."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": printable(self.loc.file) if self.loc else None,
            "line": self.loc.line if self.loc else None,
            "col": self.loc.col if self.loc else None,
            "layer": printable(self.layer) if self.layer is not None else None,
            "message": printable(self.message),
            "fix": printable(self.fix) if self.fix is not None else None,
            "used_at": [str(t) for t in self.trail],
            "copies": self.copies,
        }


class Findings(list):
    """A list of findings in which a problem repeated by copies of a layer (a block used 1,000
    times, a repeat) is one finding that counts its copies, not one finding per copy."""

    def __init__(self):
        super().__init__()
        self.seen: dict[tuple, Finding] = {}

    def add(self, finding: Finding, origin=None) -> bool:
        """Add `finding` about the layer written at `origin` (its YAML item); False, and one more
        copy counted, when the same problem of the same item is here already."""
        key = (*finding.same_problem(), origin)
        first = self.seen.get(key)
        if first is not None:
            first.copies += 1
            return False
        self.seen[key] = finding
        self.append(finding)
        return True


class Fix(str):
    """One fix option: its text, and the change it makes as data, so that the layer can be
    sized again with the change applied before the option is shown (layers/fixes.py).

    `key` names what changes: a layer argument ("kernel", "stride", "padding", "rounding"),
    "input" (the layer's input size; `value` is then a tuple of sizes, each an option) or "op"
    (another kind of layer in its place). `value` is the new value of the failing dimension
    (of every dimension where the layer's dimensions are alike). `template` is the text with
    `{value}` where the value goes, so that the text can be written again for a value given
    per dimension. A plain str among the fixes is advice that changes nothing sizable."""

    key: str
    value: object
    template: str
    shown: str | None

    def __new__(cls, template: str, key: str, value, shown=None):
        text = template.format(value=value if shown is None else shown)
        self = super().__new__(cls, text)
        self.key, self.value, self.template, self.shown = key, value, template, shown
        return self

    def __reduce__(self):  # copy and pickle as the record it is, not as its text alone
        return (Fix, (self.template, self.key, self.value, self.shown))

    def written(self, value, shown: str) -> "Fix":
        """The same change with `value` in place (`shown` as the text writes it)."""
        return Fix(self.template, self.key, value, shown)


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
    """A layer's geometry or arguments do not fit, as data: the `rule`, the sentence `what`, the
    YAML `key` to point at, the spatial dimension `dim` ("H", "W"...; None when the
    dimensions are alike) and its index `axis` (None when not one dimension's), the `arithmetic`
    that failed, the fix options `fixes` (each a change that works) and, for merges, the
    `inputs` that disagree. `message` and `fix` are the text made from them; a caller adds
    context by setting fields, never by editing that text."""

    def __init__(self, rule: str, what: str, key: str | None = None, fix: str | None = None, *,
                 fixes: tuple[str, ...] = (), dim: str | None = None, arithmetic: str | None = None,
                 inputs: tuple[str, ...] = ()):
        super().__init__(rule, what)
        self.rule, self.what, self.key = rule, what, key
        self.fixes = tuple(fixes) if fixes else ((fix,) if fix else ())
        self.dim, self.arithmetic, self.inputs = dim, arithmetic, tuple(inputs)
        self.axis: int | None = None

    def describe(self, inputs: tuple[str, ...] | None = None, sep: str = ", ") -> str:
        """The message: the dimension, the sentence, then the inputs listed (`inputs` in place of
        the error's own listing, as the engine names the layers that give them)."""
        listed = self.inputs if inputs is None else inputs
        text = f"{self.what}: {sep.join(listed)}" if listed else self.what
        return f"{self.dim}: {text}" if self.dim else text

    @property
    def message(self) -> str:
        return self.describe()

    @property
    def fix(self) -> str | None:
        """The fix options as one text ("a; or b"), None when there is none."""
        return "; or ".join(self.fixes) or None

    def __str__(self) -> str:
        return self.message
