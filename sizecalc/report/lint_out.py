"""Lint renderers: a LintResult -> text, GitHub workflow commands, JSON or SARIF 2.1.0.

`text` is one line per finding (Finding.line()) and a summary; `github` adds an annotation
per finding (workflow commands, escaped as GitHub documents) before the plain lines, since
GitHub shows only a few annotations per step; `sarif` is for code scanning upload.

User text (file names, layers, messages that quote the spec) is printable() in every format
(sizecalc/escape.py): no control character, and no line but sizecalc's own annotations can
begin with `::` or hold `##[`. Annotation fields are then escaped as the runner unescapes
them (data: % CR LF; properties also : and ,). SARIF URIs percent-encode the file name's
bytes, so a name that is not UTF-8 still makes valid JSON.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from ..core.errors import ERROR, INFO, WARNING, Finding
from ..core.escape import printable
from ..core.units import counted

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
JSON_FORMAT = 1

# one sentence per rule, for SARIF's rule metadata (rules missing here are described by their id)
RULES = {
    "non-integer-output": "(W - F + 2P)/S + 1 is not a whole number: the windows do not tile the input",
    "kernel-exceeds-input": "the kernel is larger than the padded input",
    "merge-shape-mismatch": "the inputs of a merge (add, concat, mul) have shapes that disagree",
    "fc-input-mismatch": "a fully connected layer's input size disagrees with its declared input",
    "position-embedding-mismatch": "a position embedding built for another token count than the sequence's",
    "heads-split": "attention heads that do not divide the channels",
    "needs-tokens": "a token layer (attention, class token, position embedding) on a volume that is not tokens",
    "bad-stride": "a stride below 1",
    "pool-padding": "pooling padding larger than half the window (PyTorch's limit)",
    "same-padding-stride": "padding: same with a stride other than 1",
    "groups": "groups that do not divide the channels",
    "split": "a channel split that does not divide the channels",
    "dims-mismatch": "a per-dimension value with the wrong number of dimensions",
    "needs-volume": "a spatial layer after the volume was flattened",
    "range": "a value out of its allowed range",
    "unknown-key": "a key the layer, block or spec does not take",
    "unknown-op": "a layer op that does not exist",
    "unknown-block": "a `use:` of a block that is not defined",
    "unknown-from": "a `from:` or merge input naming no layer above",
    "type": "a value of the wrong type",
    "duplicate-key": "the same key twice in one mapping",
    "duplicate-id": "the same layer id twice",
    "two-ops": "one layer item naming two ops",
    "missing-key": "a required top-level key is missing",
    "missing-value": "a layer or block lacks a required value",
    "param": "a `$` expression that cannot be evaluated, or gives a float or a boolean where a whole number is needed",
    "block-name": "a block named like a layer op",
    "block-recursion": "a block that uses itself, directly or through others",
    "expansion-cap": "the spec expands past the layer limit",
    "too-large": "a tensor past sizecalc's limits: 2^31 per dimension, 2^63 elements",
    "version": "an unknown format version",
    "yaml-syntax": "invalid YAML",
    "alias": "a YAML alias (refused: aliases can multiply a file's size)",
    "tag": "a YAML tag (refused: specs hold plain values only)",
    "nesting": "YAML nested deeper than the limit",
    "empty": "an empty spec",
    "unreadable": "a path that cannot be read as a spec",
    "not-a-spec": "a YAML file that is not a sizecalc spec (no `sizecalc:` key); its content is never shown",
    "symlink-outside": "a symlink out of the linted directory, not followed",
    "encoding": "a file that is not UTF-8 text",
    "too-many-errors": "so many errors that the loader stopped looking",
    "too-many-findings": "more findings than one file's report shows",
    "unused-output": "a layer whose output nothing uses",
    "rounding-drops-input": "floor rounding leaves input rows unread",
    "rounding-pads-input": "ceil rounding reads past the end of the input",
}
DEFAULT_LEVEL = {"unused-output": "warning", "rounding-drops-input": "note", "rounding-pads-input": "note"}
SARIF_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "note"}
GITHUB_COMMAND = {ERROR: "error", WARNING: "warning", INFO: "notice"}


def summary(result) -> str:
    """`3 errors, 1 warning in 2 of 5 files` (notes counted only when there are some)."""
    files = len(result.files)
    errors, warnings, notes = (result.count(s) for s in (ERROR, WARNING, INFO))
    unreadable = sum(f.unreadable for f in result.files)
    if not errors and not warnings:
        text = f"no errors or warnings in {counted(files, 'file')}"
    else:
        hit = sum(any(f.severity in (ERROR, WARNING) for f in r.findings) for r in result.files)
        where = f"{hit} of {files} files" if hit < files else counted(files, "file")
        text = f"{counted(errors, 'error')}, {counted(warnings, 'warning')} in {where}"
    if notes:
        text += f" ({counted(notes, 'note')})"
    if unreadable:
        text += f"; {unreadable} unreadable"
    return text


def text(result) -> str:
    lines = [f.line() for f in result.findings]
    return "\n".join(lines + [summary(result)]) + "\n"


# -- GitHub Actions workflow commands ------------------------------------------------------
def escape_data(value: str) -> str:
    """A command's data as GitHub's runner unescapes it (ActionCommand.UnescapeData)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A command's property value (ActionCommand.UnescapeProperty): also `:` and `,`."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    """`::error file=..,line=..,col=..,title=..::message` with user text printable() first;
    the only line break in the data is sizecalc's own before `fix:` (sent as %0A)."""
    props = []
    if f.loc:
        props += [f"file={escape_property(printable(f.loc.file))}", f"line={f.loc.line}", f"col={f.loc.col}"]
    title = f"sizecalc {f.rule}" + (f" ({printable(f.layer)})" if f.layer else "")
    props.append(f"title={escape_property(title)}")
    message = printable(f.message) + f.used_at()
    if f.fix:
        message += f"\nfix: {printable(f.fix)}"
    return f"::{GITHUB_COMMAND[f.severity]} {','.join(props)}::{escape_data(message)}"


def github(result) -> str:
    return "".join(annotation(f) + "\n" for f in result.findings) + text(result)


# -- JSON ----------------------------------------------------------------------------------
def lint_dict(result) -> dict:
    return {
        "sizecalc_lint": JSON_FORMAT,
        "strict": result.strict,
        "exit_code": result.exit_code,
        "summary": {"files": len(result.files), "errors": result.count(ERROR),
                    "warnings": result.count(WARNING), "notes": result.count(INFO),
                    "unreadable": sum(f.unreadable for f in result.files)},
        "files": [{"file": printable(r.name), "unreadable": r.unreadable, "findings": [f.to_dict() for f in r.findings]}
                  for r in result.files],
    }


def to_json(result) -> str:
    return json.dumps(lint_dict(result), indent=2) + "\n"


# -- SARIF 2.1.0 ---------------------------------------------------------------------------
def artifact_uri(path: str) -> str:
    """A relative URI for a path under the working directory (what code scanning expects).

    The path's bytes are percent-encoded (os.fsencode gives back a byte that was not UTF-8),
    so every URI is ASCII: `spec%FF.yaml`, `a%0Ab.yaml`."""
    if path == "<stdin>":
        return "stdin"
    if os.path.isabs(path):
        rel = os.path.relpath(path)
        if rel.startswith(".."):
            return "file://" + quote(os.fsencode(path.replace(os.sep, "/")))
        path = rel
    return quote(os.fsencode(path.replace(os.sep, "/")))


def sarif_dict(result) -> dict:
    from ..core.version import __version__
    used = list(dict.fromkeys(f.rule for f in result.findings))
    index = {rule: i for i, rule in enumerate(used)}
    rules = [{"id": rule, "name": rule, "shortDescription": {"text": RULES.get(rule, rule)},
              "defaultConfiguration": {"level": DEFAULT_LEVEL.get(rule, "error")}}
             for rule in used]
    results = []
    for r in result.files:
        for f in r.findings:
            message = (f"{printable(f.layer)}: " if f.layer else "") + printable(f.message) + f.used_at()
            if f.fix:
                message += f". Fix: {printable(f.fix)}"
            entry = {"ruleId": f.rule, "ruleIndex": index[f.rule], "level": SARIF_LEVEL[f.severity],
                     "message": {"text": message}}
            physical = {"artifactLocation": {"uri": artifact_uri(f.loc.file if f.loc else r.name)}}
            if f.loc:
                physical["region"] = {"startLine": f.loc.line, "startColumn": f.loc.col}
            entry["locations"] = [{"physicalLocation": physical}]
            props = {k: printable(v) for k, v in (("layer", f.layer), ("fix", f.fix)) if v}
            if props:
                entry["properties"] = props
            results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "sizecalc", "version": __version__, "rules": rules}},
            "results": results,
        }],
    }


def sarif(result) -> str:
    return json.dumps(sarif_dict(result), indent=2) + "\n"
