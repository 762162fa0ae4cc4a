"""Every limit sizecalc puts on a spec and on the sizes it computes, in one place.

Specs are untrusted input: these bounds keep the work and the output of any command
proportional to the size of the file, never to a number written in it. A spec over a limit
is an error that names the limit (README.md, "Limits"); nothing here imports anything.
"""

from __future__ import annotations

# reading a spec
MAX_BYTES = 1024 * 1024  # bytes in one spec file
MAX_DEPTH = 64  # nesting of YAML lists and mappings
MAX_VALUES = 200_000  # YAML values (scalars, lists, maps) in one spec: bounds parse time and memory
MAX_INT_DIGITS = 30  # digits of one integer in the YAML
MAX_FINDINGS = 1000  # findings collected for one file: the rest is counted, not listed
MAX_TEXT = 400  # characters of a finding's message and of its fix as printed (a layer id: a quarter)

# expanding it
MAX_LAYERS = 100_000  # layers after repeats and blocks are expanded
MAX_VALUE = 10 ** 9  # any size written in a spec or an option: a side, a kernel, filters, ...
MAX_EXPR_CHARS = 400  # characters of one `$` expression
MAX_EXPR_DEPTH = 24  # parentheses, calls, unary signs and `**` nested in one expression
MAX_EXPR_VALUE = 10 ** 12  # any number an expression computes on the way (so 10 ** 10 ** 10 is refused)

# the tensors it describes
MAX_SIDE = 2 ** 31  # any one dimension of a tensor (a side, the channels, a flattened vector)
MAX_ELEMS = 2 ** 63  # elements of one tensor: an activation (per sample) or a layer's weights
MAX_BATCH = 2 ** 31  # the batch of --batch (memory figures)

# how limits are written in messages
POWERS = {MAX_SIDE: "2^31", MAX_ELEMS: "2^63"}


def approx(n: int) -> str:
    """A large count as a reader scans it: 6.4e19 (exact with commas below a million)."""
    if n < 10 ** 6:
        return f"{n:,}"
    if n.bit_length() > 1000:  # beyond a float: the power of two is enough to show the scale
        return f"about 2^{n.bit_length() - 1}"
    mantissa, exponent = f"{n:.2g}".split("e")
    return f"{mantissa}e{int(exponent)}"
