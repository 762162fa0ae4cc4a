"""Printing text that came from a user (a spec, a file name, an option) without letting it act.

Specs arrive in pull requests and sizecalc's output lands in terminals and CI logs, so a
name, id, key or file name must print as what it is and never as a control sequence:
- no raw control character: C0 and C1 controls, DEL, line and paragraph separators
  (U+2028/U+2029), bidi overrides and other invisible format characters (a terminal runs
  ESC sequences; a newline would start a line the user wrote);
- no CI log command: GitHub Actions reads `::cmd::` at the start of any log line and its
  legacy `##[cmd]` anywhere in a line (so do Azure's `##vso[` and TeamCity's `##teamcity[`),
  whatever step printed it.

`printable` is the one function that does this; every renderer calls it on user text.
Escapes are Python's: `\\n`, `\\r`, `\\t`, `\\x1b`, `\\u2028`; a byte of a file name that is not
UTF-8 (a surrogate escape, as os.fsdecode gives it) prints as that byte, `\\xff`. A `::` or
`##` in user text prints as `:\\x3a` or `#\\x23`, which no CI runner reads as a command, and
so does a leading `:` (a file named `:` must not make `::` with the `:line:col` after it).
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_COMMAND = re.compile(r"::|##")
_COMMAND_ESCAPE = {"::": ":\\x3a", "##": "#\\x23"}


def printable(text: str) -> str:
    """`text` with every non-printable character escaped and no CI command left in it.

    Non-printable is str.isprintable's sense: controls, format characters (bidi overrides,
    zero-width marks), line and paragraph separators, surrogates, spaces other than ' ',
    unassigned code points. Printable text without `::`, `##` or a leading `:` is returned
    as it is, so printable(printable(x)) == printable(x).
    """
    if not isinstance(text, str):
        text = str(text)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else _escape_char(c) for c in text)
    if "::" in text or "##" in text:
        text = _COMMAND.sub(lambda m: _COMMAND_ESCAPE[m.group()], text)
    if text.lstrip().startswith(":"):
        i = text.index(":")
        text = text[:i] + "\\x3a" + text[i + 1:]
    return text


def _escape_char(c: str) -> str:
    code = ord(c)
    if c in _NAMED:
        return _NAMED[c]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


_MARKDOWN = re.compile(r"([\\`*\[\]<>|])")


def markdown_cell(text: str) -> str:
    """Text for GitHub-flavoured markdown (a table cell or a heading): printable, then the
    characters that would make a cell, a link, code, emphasis or HTML backslash-escaped
    (CommonMark renders `\\|` as `|`), so the text renders as itself."""
    return _MARKDOWN.sub(r"\\\1", printable(text))
