"""Did-you-mean: the nearest known name to a word the spec got wrong, offered only when it
plausibly means the same, at a bounded cost.

A suggestion that leads to wrong numbers is worse than none: by spelling alone `layernorm`
is near `norm` (AlexNet's LRN, no params, where LayerNorm has 2*C), `deconv` near `conv` and
`attention` near `flatten`. So a name is suggested only when
- it is within a few edits of the word (`edits_allowed`: none for a word of 1 or 2 letters,
  one up to 11 letters, two beyond; an edit is an insertion, deletion, substitution or swap
  of neighbours: `kernal`, `strides`, `maxpol`, `rleu`), case and `_`/`-` aside;
and, for ops and keys (`strict`), also when
- every word of it that differs from the word's is itself a typo of it, and numbers are
  equal: `global_minpool` is not `global_maxpool`, `conv4d` not `conv3d` (`same_words`);
- an op whose name says conv, pool or norm is of that family (`same_family`):
  `transposed_conv` is not `unshared_conv`, a locally connected layer.
A name sizecalc knows of but does not have yet (`layers/missing.py`: LayerNorm, transposed
convolution, attention, ...) is answered plainly, and wins over a real name as near or
nearer: `layernrom` is told LayerNorm is not in sizecalc yet, never offered `norm`.

Cost: a word longer than MAX_WORD gets no hint, only candidates whose length is within the
allowed edits are compared (the first MAX_CANDIDATES of them among MAX_SCAN), each answer is
remembered (the expander also remembers one per name: Expander.hint), and a process makes at
most MAX_COMPARISONS comparisons in all.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import islice

from ..core.errors import cut
from ..core.record import dataclass
from ..layers import ALIASES, MISSING_KEYS, MISSING_OPS, Missing, fold, lookup

MAX_WORD = 64  # longer words are not typos of a name
MAX_CANDIDATES = 100
MAX_SCAN = 10_000  # candidates looked at for their length
MAX_COMPARISONS = 20_000  # per process, then no more hints
FAMILY_WORDS = ("conv", "pool", "norm")  # a name that says one of these is of that LayerKind.family
_WORDS = re.compile(r"[a-z]+|[0-9]+")


def edits_allowed(word: str) -> int:
    """How many edits a typo of a name of this length may hold."""
    n = len(fold(word))
    return 0 if n <= 2 else 1 if n <= 11 else 2


def distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b; limit + 1 when more."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return min(row[-1], limit + 1)


def same_words(word: str, name: str) -> bool:
    """Where the name, or another spelling of the same op, has as many words as the word
    (`global_avgpol`, `global_avgpool`), each differing word is a typo of the other's and
    numbers are equal: `global_minpool` is not `global_maxpool`, whatever `global_max_pool`'s
    spelling distance."""
    ours = _WORDS.findall(word.lower())
    kind = lookup(name)
    spellings = [name, *((kind.name, *kind.aliases) if kind is not None else ())]
    alike = [theirs for theirs in (_WORDS.findall(s.lower()) for s in spellings) if len(theirs) == len(ours)]
    if len(ours) < 2 or not alike:
        return True
    return any(all(_word_typo(a, b) for a, b in zip(ours, theirs)) for theirs in alike)


def _word_typo(a: str, b: str) -> bool:
    """One word of a name is the same word, or a typo of it (never another number)."""
    if a == b:
        return True
    return not (a.isdigit() or b.isdigit()) and distance(a, b, edits_allowed(a)) <= edits_allowed(a)


def same_family(word: str, name: str) -> bool:
    """An op whose name says conv, pool or norm is suggested only an op of that family."""
    said = [w for w in FAMILY_WORDS if w in fold(word)]
    kind = lookup(name)
    return not said or kind is None or kind.family in said


def plausible(word: str, name: str, strict: bool) -> bool:
    return not strict or (same_words(word, name) and same_family(word, name))


def closest(word, choices, strict: bool = False) -> str | None:
    """The candidate nearest `word` within `edits_allowed`, or None."""
    found = _nearest(word, choices, strict)
    return found[0] if found else None


def _nearest(word, choices, strict: bool) -> tuple[str, int] | None:
    """(the nearest candidate, its distance) within the allowed edits, or None."""
    word = str(word)
    if len(word) > MAX_WORD:
        return None
    folded, limit = fold(word), edits_allowed(word)
    near = []
    for c in islice(choices, MAX_SCAN):
        if isinstance(c, str) and abs(len(fold(c)) - len(folded)) <= limit:
            near.append(c)
            if len(near) == MAX_CANDIDATES:
                break
    key = (word, strict, tuple(near))
    if key not in _seen:
        global _budget
        if _budget < len(near):
            return None  # hints spent: a spec of a thousand misspellings gets the first few hundred
        _budget -= len(near)
        if len(_seen) >= 4096:
            _seen.clear()
        best, rank = None, None
        for c in near:
            d = distance(folded, fold(c), limit)
            # equal distance: the one with more letters in common (`vgg61` is `vgg16` swapped, not `vgg11`)
            r = (d, -sum((Counter(folded) & Counter(fold(c))).values())) if d <= limit else None
            if r is not None and (rank is None or r < rank) and plausible(word, c, strict):
                best, rank = (c, d), r
        _seen[key] = best
    return _seen[key]


_seen: dict[tuple, tuple[str, int] | None] = {}  # the same question again (copies of a block) is answered once
_budget = MAX_COMPARISONS


@dataclass(frozen=True)
class Hint:
    """What to say about an unknown op or key, and the fix. `whole`: the message says it all
    ("'deconv' (ConvTranspose, ...) is not in sizecalc yet"); otherwise it follows "unknown
    op 'x'; " or "conv has no key 'x'; "."""

    message: str
    fix: str
    whole: bool = False

    def after(self, what: str) -> str:
        return self.message if self.whole else f"{what}; {self.message}"


def _not_yet(word: str, missing: Missing, exact: bool) -> str:
    """`'layernorm' (LayerNorm) is not in sizecalc yet`, or `'layernrom' looks like LayerNorm, ...`."""
    name = cut(word)
    if not exact:
        return f"'{name}' looks like {missing.title or 'a layer'}, which is not in sizecalc yet"
    named = missing.title and missing.title.split(",")[0] != word
    return f"'{name}' ({missing.title}) is not in sizecalc yet" if named else f"'{name}' is not in sizecalc yet"


def _missing(said: str, missing: Missing, whole: bool, has_field=None) -> Hint:
    if missing.unlike:
        said += f"; {missing.unlike}"
    usable = missing.instead and (not missing.needs or (has_field is not None and has_field(missing.needs)))
    return Hint(said, missing.instead if usable else "leave it out; `sizecalc schema` lists what sizecalc has", whole)


def _missing_near(word: str, table: dict[str, Missing], real: tuple[str, int] | None) -> Missing | None:
    """The entry of `table` that `word` is a typo of, when no real name (`real`) is nearer."""
    other = _nearest(word, table, strict=True)
    if other is None or (real is not None and real[1] < other[1]):
        return None
    return table[other[0]]


def op_hint(word, extra=()) -> Hint | None:
    """What to say about an op name that is not an op: sizecalc does not have it yet, or the
    op (or block, among `extra`) it is a typo of; None when nothing plausible is near."""
    word = str(word)
    missing = MISSING_OPS.get(fold(word))
    if missing is not None:
        return _missing(_not_yet(word, missing, exact=True), missing, whole=True)
    real = _nearest(word, [*ALIASES, *extra], strict=True)
    other = _missing_near(word, MISSING_OPS, real)
    if other is not None:
        return _missing(_not_yet(word, other, exact=False), other, whole=True)
    if real is None:
        return None
    return Hint(f"did you mean '{cut(real[0])}'?", f"write '{cut(real[0])}'")


def key_hint(kind, word, allowed) -> Hint | None:
    """What to say about a key `kind` (a LayerKind, or None for a group or `use:`) does not
    take: not in sizecalc yet, or the key among `allowed` it is a typo of (named by its
    field's own name); None when nothing plausible is near."""
    word = str(word)
    has_field = (lambda name: kind.field(name) is not None) if kind is not None else None
    missing = MISSING_KEYS.get(fold(word))
    if missing is None:
        real = _nearest(word, allowed, strict=True)
        missing = _missing_near(word, MISSING_KEYS, real)
        if missing is None and real is not None:
            near = kind.field(real[0]).name if kind is not None and kind.field(real[0]) is not None else real[0]
            return Hint(f"did you mean '{cut(near)}'?", f"write '{cut(near)}'")
    if missing is None:
        return None
    return _missing(missing.said or f"{missing.title} is not in sizecalc yet", missing, whole=False,
                    has_field=has_field)
