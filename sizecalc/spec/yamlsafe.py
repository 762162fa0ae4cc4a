"""Bounded, safe YAML: text -> plain values that remember where they came from.

The spec is read from YAML *events* (never `yaml.load`, never a constructor that can make
objects), with an explicit stack instead of recursion, so that hostile input cannot run
code, expand aliases, recurse past the interpreter's limit or grow without bound:
aliases, anchors-as-references and explicit tags are refused, duplicate keys are
reported, and size, the number of values, nesting depth and integer length are capped.

Mappings come back as `Map` (a dict) and sequences as `Seq` (a list); each knows its own
location and the location of every item, so any later error can name `file:line:col`.
"""

from __future__ import annotations

import errno
import math
import os
import re
import stat

import yaml
from yaml.events import (AliasEvent, MappingEndEvent, MappingStartEvent, ScalarEvent,
                         SequenceEndEvent, SequenceStartEvent)

from ..core.errors import QUOTE_CHARS, Finding, InputError, Loc, SpecError, cut

from ..core.limits import MAX_BYTES, MAX_DEPTH, MAX_FINDINGS, MAX_INT_DIGITS, MAX_VALUES  # noqa: F401

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()
_OCTAL = re.compile(r"[-+]?0[0-7_]+$")


class Map(dict):
    """A YAML mapping: `loc` of the mapping, `key_locs`/`val_locs` per key."""

    __slots__ = ("loc", "key_locs", "val_locs")

    def __init__(self, loc: Loc):
        super().__init__()
        self.loc = loc
        self.key_locs: dict = {}
        self.val_locs: dict = {}

    def at(self, key) -> Loc:
        return self.val_locs.get(key, self.loc)


class Seq(list):
    """A YAML sequence: `loc` of the sequence, `locs[i]` of item i."""

    __slots__ = ("loc", "locs")

    def __init__(self, loc: Loc):
        super().__init__()
        self.loc = loc
        self.locs: list[Loc] = []

    def at(self, i: int) -> Loc:
        return self.locs[i] if 0 <= i < len(self.locs) else self.loc


def read_text(path: str) -> tuple[str, str]:
    """Read a spec file as UTF-8 text, refusing what cannot be a spec. Returns (name, text).

    Only a regular file is opened, and without blocking: a FIFO, a device or a socket is
    refused from its `stat` (and again from `fstat` after opening, in case it was swapped),
    so that a named pipe can never hang lint. Every refusal names the path, exit 2."""
    if path == "-":
        import sys
        if sys.stdin is None:  # `<&-`: Python leaves sys.stdin None when fd 0 is closed
            raise _unreadable("<stdin>", "cannot be read: stdin is closed", "pipe a spec in, or name a file")
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        return "<stdin>", decode(data, "<stdin>")
    try:
        info = os.stat(path)
        _check_regular(path, info.st_mode)
        if info.st_size > MAX_BYTES:
            raise _unreadable(path, f"is {info.st_size:,} bytes; specs are limited to {MAX_BYTES:,} bytes",
                              "split it, or use `repeat:` and `blocks:` instead of writing layers out")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as fh:
            _check_regular(path, os.fstat(fh.fileno()).st_mode)
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        what = "is a symlink to a missing file" if os.path.islink(path) else "no such file"
        raise _unreadable(path, what, "check the path, or run `sizecalc list` "
                          "for the built-in networks") from None
    except OSError as exc:
        raise _os_error(path, exc) from None
    except ValueError:  # a NUL in the path (only from the library API: argv cannot hold one)
        raise _unreadable(path.replace("\0", "\\0"), "is not a valid path (it holds a NUL character)",
                          "check the path") from None
    return path, decode(data, path)


MAX_PATH_SHOWN = 160  # characters of a path quoted in a message


def _check_regular(path: str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise _unreadable(path, "is a directory, not a spec file",
                          "name a .yaml file inside it (sizecalc lint accepts directories)")
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    raise _unreadable(path, f"is {kind}, not a regular file: not read",
                      "name a spec file; to read a spec from a pipe, pass `-` and pipe it to stdin")


def _os_error(path: str, exc: OSError) -> InputError:
    if exc.errno == errno.ENAMETOOLONG:
        return _unreadable(path, f"is a path too long for the file system ({len(path):,} characters)",
                           "shorten the path")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return _unreadable(path, "cannot be read (permission denied)", "make it readable to this user")
    if exc.errno == errno.ELOOP:
        return _unreadable(path, "cannot be read (a loop of symlinks)", "point the symlink at a spec file")
    return _unreadable(path, f"cannot be read ({exc.strerror or type(exc).__name__})", None)


def decode(data: bytes, name: str) -> str:
    if len(data) > MAX_BYTES:
        raise _unreadable(name, f"is over {MAX_BYTES:,} bytes, the limit for a spec", None)
    if b"\x00" in data:
        raise _unreadable(name, "is a binary file (it holds NUL bytes), not a YAML spec",
                          "name a YAML spec: a UTF-8 text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise InputError([Finding("encoding", f"invalid UTF-8 (byte 0x{data[exc.start]:02x})",
                                  Loc(name, line, col), fix="save the file as UTF-8")]) from None


def too_many(loc: Loc | None) -> Finding:
    return Finding("too-many-errors", f"more than {MAX_FINDINGS:,} errors; stopped looking here", loc,
                   fix="fix the errors above first (one mistake in a block repeats in every copy)")


def _unreadable(name: str, what: str, fix: str | None) -> InputError:
    return InputError([Finding("unreadable", f"{cut(name, MAX_PATH_SHOWN)} {what}", None, fix=fix)])


def _loc(name: str, mark) -> Loc:
    return Loc(name, mark.line + 1, mark.column + 1)


def parse(text: str, name: str = "<spec>", loader=None):
    """Parse YAML text into Map/Seq/scalars. Raises SpecError with locations.

    `loader` is the YAML loader class whose parser reads the text: libyaml's CSafeLoader
    where PyYAML has it, else the pure-Python SafeLoader (tests pass either)."""
    loader = loader or _Loader
    try:
        return _parse(text, name, loader)
    except _ParserTooDeep as deep:
        # The parser's own nesting limit (libyaml's, since PyYAML 6.0.4) fired while it read
        # ahead, before our events reached MAX_DEPTH. Read the text again up to that place:
        # the parser's limit cannot fire there, so ours names the level that passes it.
        try:
            _parse(text[:deep.index], name, loader)
        except SpecError as err:
            if err.findings and err.findings[0].rule == "nesting":
                raise SpecError(err.findings[:1]) from None
        except InputError:
            pass
        raise SpecError([Finding("nesting", "nesting deeper than the YAML parser allows", deep.loc,
                                 fix=_FLATTEN)]) from None


_FLATTEN = "flatten the spec; use `blocks:` for structure"
_NESTING_ERROR = re.compile(r"nest|depth", re.IGNORECASE)
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE  # what PyYAML's reader (and libyaml's) refuses
MAX_PROBLEM = 200  # characters of a parser's own problem text kept in a message


class _ParserTooDeep(Exception):
    """The YAML parser stopped at its own nesting limit at `index` (a character offset)."""

    def __init__(self, index: int, loc: Loc | None):
        super().__init__(index)
        self.index, self.loc = index, loc


def _parse(text: str, name: str, loader):
    findings: list[Finding] = []
    # stack items: [container, pending_key, pending_key_loc]
    stack: list[list] = []
    root = None
    root_seen = False
    values = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            cls = event.__class__
            if cls is ScalarEvent and stack and not values >= MAX_VALUES and event.tag is None:
                # the common case, without the checks below that only the rare events need
                values += 1
                loc = Loc(name, event.start_mark.line + 1, event.start_mark.column + 1)
                _attach(stack[-1], _scalar(event, loc), loc, findings)
                continue
            if cls in (MappingEndEvent, SequenceEndEvent):
                stack.pop()
                continue
            if cls in (ScalarEvent, MappingStartEvent, SequenceStartEvent, AliasEvent):
                loc = _loc(name, event.start_mark)
                values += 1
                if values > MAX_VALUES:
                    raise InputError([Finding("unreadable", f"the spec holds more than {MAX_VALUES:,} YAML values, "
                                              "the limit for a spec", loc,
                                              fix="use `repeat:` and `blocks:` instead of writing layers out")])
                _refuse_alias_or_tag(event, loc)
                value = _scalar(event, loc) if cls is ScalarEvent else Map(loc) if cls is MappingStartEvent \
                    else Seq(loc)
                if not stack:
                    if root_seen:
                        raise SpecError([Finding("yaml-syntax", "a second YAML document: a spec is one document",
                                                 loc, fix="remove the `---` line and what follows, or split "
                                                 "the file into one spec per network")])
                    root, root_seen = value, True
                else:
                    _attach(stack[-1], value, loc, findings)
                if isinstance(value, (Map, Seq)):
                    if len(stack) >= MAX_DEPTH:
                        raise SpecError([Finding("nesting", f"nesting deeper than {MAX_DEPTH} levels", loc,
                                                 fix=_FLATTEN)])
                    stack.append([value, _NOKEY, None])
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, name) from None
    if findings:
        raise SpecError(findings)
    if not root_seen or root is None:
        raise SpecError([Finding("empty", "the spec is empty", Loc(name, 1, 1),
                                 fix="start from `sizecalc table vgg16`'s spec: sizecalc: 1, "
                                     "input: [3, 224, 224], layers: [...]")])
    return root


def _refuse_alias_or_tag(event, loc: Loc) -> None:
    """Aliases and tags have no place in a spec: SpecError at the first."""
    if isinstance(event, AliasEvent):
        raise SpecError([Finding("alias", f"YAML alias *{cut(event.anchor)} is not allowed in a spec",
                                 loc, fix="write the value out, or define a block under "
                                 "`blocks:` and `use:` it")])
    tag = getattr(event, "tag", None)
    if tag not in (None, "!"):
        shown = cut(tag.replace("tag:yaml.org,2002:", "!!", 1))
        raise SpecError([Finding("tag", f"YAML tag {shown} is not allowed in a spec", loc,
                                 fix="remove the tag; specs hold plain numbers, strings, lists and maps")])


def _yaml_error(exc, text: str, name: str) -> Exception:
    """The error to raise for what the YAML parser refused: a syntax error at its place, a bad
    character, or _ParserTooDeep when the parser's own nesting limit stopped it."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(name, mark) if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if _NESTING_ERROR.search(f"{exc.problem} {exc.context}") and mark is not None:
            return _ParserTooDeep(min(max(getattr(mark, "index", 0) or 0, 0), len(text)), loc)
        return SpecError([Finding("yaml-syntax", f"YAML syntax error: {_one_line(problem)}", loc,
                                  fix="check the indentation and the brackets around this place")])
    if isinstance(exc, yaml.reader.ReaderError):
        return SpecError([_bad_character(exc, text, name)])
    return SpecError([Finding("yaml-syntax", f"YAML error: {_one_line(str(exc))}", None)])


def _one_line(problem: str) -> str:
    """A parser's own message on one line, at most MAX_PROBLEM characters."""
    return cut(" ".join(str(problem).split()), MAX_PROBLEM)


def _bad_character(exc, text: str, name: str) -> Finding:
    """A character YAML refuses (a raw control character such as BEL or ESC): one located line.
    The place is found in the text itself: libyaml counts bytes where PyYAML counts characters."""
    found = _NON_PRINTABLE.search(text)
    if found:
        index, code = found.start(), ord(found.group())
    else:
        index, code = min(max(exc.position, 0), len(text)), exc.character
    code = code if isinstance(code, int) else ord(str(code)[:1] or "?")
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return Finding("yaml-syntax", f"character U+{code:04X} is not allowed in YAML (a control or special "
                   "character)", Loc(name, line, col),
                   fix=f"delete it, or inside a double-quoted string write it as the escape {escape}")


_NOKEY = object()


def _attach(top: list, value, loc: Loc, findings: list[Finding]) -> None:
    container = top[0]
    if isinstance(container, Seq):
        container.append(value)
        container.locs.append(loc)
        return
    if top[1] is _NOKEY:
        if isinstance(value, (Map, Seq)):
            raise SpecError([Finding("type", "a mapping key must be a plain word", loc,
                                     fix="write keys as plain names such as `kernel:`")])
        key = value if isinstance(value, str) else str(value)
        top[1], top[2] = key, loc
        return
    key, key_loc = top[1], top[2]
    top[1] = _NOKEY
    if key in container:
        if len(findings) >= MAX_FINDINGS:
            raise SpecError(findings + [too_many(loc)])
        first = container.key_locs[key]
        findings.append(Finding("duplicate-key", f"key '{cut(key)}' appears twice in this mapping "
                                f"(first at line {first.line})", key_loc,
                                fix=f"keep one '{key}:' entry" if len(key) <= QUOTE_CHARS else "keep one of the two"))
        return
    container[key] = value
    container.key_locs[key] = key_loc
    container.val_locs[key] = loc


# plain words that YAML 1.1 reads as booleans or null; every other identifier is a string
_NOT_STRINGS = {"yes", "no", "true", "false", "on", "off", "y", "n", "null"}


def _scalar(event: ScalarEvent, loc: Loc):
    text = event.value
    if not event.implicit[0]:
        return text  # quoted: always a string
    # fast paths for what specs are made of: small decimal integers and plain names
    if text.isdigit() and text.isascii() and len(text) <= MAX_INT_DIGITS and (text[0] != "0" or text == "0"):
        return int(text)
    if text.isidentifier() and text.lower() not in _NOT_STRINGS:
        return text
    tag = _resolver.resolve(yaml.ScalarNode, text, (True, False))
    if tag.endswith(":int"):
        digits = text.replace("_", "")
        if len(digits.lstrip("+-")) > MAX_INT_DIGITS:
            raise SpecError([Finding("type", f"integer with {len(digits)} digits is too long "
                                     f"(at most {MAX_INT_DIGITS})", loc, fix="use a realistic size")])
        try:
            if _OCTAL.match(digits) and digits.strip("+-") != "0":
                return int(digits, 8)
            return int(digits, 0)
        except ValueError:
            return text
    if tag.endswith(":float"):
        low = text.lower().replace("_", "")
        if low in (".inf", "+.inf"):
            return math.inf
        if low == "-.inf":
            return -math.inf
        if low == ".nan":
            return math.nan
        if len(low) > 64:
            raise SpecError([Finding("type", "number too long", loc, fix="use a realistic value")])
        try:
            return float(low)
        except ValueError:
            return text
    if tag.endswith(":bool"):
        return text.lower() in ("yes", "true", "on", "y")
    if tag.endswith(":null"):
        return None
    return text
