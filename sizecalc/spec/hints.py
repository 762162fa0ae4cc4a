"""Did-you-mean: the nearest known name to a word the spec got wrong, at a bounded cost.

difflib compares the word with every candidate, in time that grows with both lengths, and a
spec may hold a megabyte-long name, or ask about a name among 100,000 layer ids, a thousand
times over. So a word longer than MAX_WORD gets no hint, only candidates whose length could
reach the cutoff are compared (the first MAX_CANDIDATES of them among MAX_SCAN), each
answer is remembered (the expander also remembers one per name: Expander.hint), and a process
makes at most MAX_COMPARISONS comparisons in all.
"""

from __future__ import annotations

from difflib import get_close_matches
from itertools import islice

MAX_WORD = 64  # longer words are not typos of a name
MAX_CANDIDATES = 100
MAX_SCAN = 10_000  # candidates looked at for their length
MAX_COMPARISONS = 20_000  # per process: about 0.2 s of difflib, then no more hints


def closest(word, choices, cutoff: float = 0.6) -> str | None:
    """The candidate nearest `word` with difflib's ratio of at least `cutoff`, or None."""
    word = str(word)
    n = len(word)
    if n > MAX_WORD:
        return None
    # ratio = 2*matches/(n + len(c)) <= 2*min(n, len(c))/(n + len(c)): these lengths cannot reach it
    lo, hi = n * cutoff / (2 - cutoff), n * (2 - cutoff) / cutoff
    near = []
    for c in islice(choices, MAX_SCAN):
        if isinstance(c, str) and lo - 1e-9 <= len(c) <= hi + 1e-9:
            near.append(c)
            if len(near) == MAX_CANDIDATES:
                break
    key = (word, cutoff, tuple(near))
    if key not in _seen:
        global _budget
        if _budget < len(near):
            return None  # hints spent: a spec of a thousand misspellings gets the first few hundred
        _budget -= len(near)
        if len(_seen) >= 4096:
            _seen.clear()
        found = get_close_matches(word, near, 1, cutoff)
        _seen[key] = found[0] if found else None
    return _seen[key]


_seen: dict[tuple, str | None] = {}  # the same question asked again (copies of a block) is answered once
_budget = MAX_COMPARISONS
