"""The built-in networks: YAML files shipped in the wheel as `sizecalc.zoo` (the
repository's `specs/` folder). A name such as `vgg16` resolves to `specs/vgg16.yaml`; a
family file (one architecture at several scales, under `variants:`) answers to each of its
variants' names: `efficientnet_b3` is the variant `efficientnet_b3` of `specs/efficientnet.yaml`.

Variant names are read from the file's text (the keys indented under a top-level
`variants:`), not by parsing the YAML: `sizecalc table vgg16` stays as fast as it was."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

_TOP = re.compile(r"^[A-Za-z_]")  # a top-level key: the end of the variants section
_KEY = re.compile(r"^  ([A-Za-z0-9_.\-]+)\s*:")  # a variant: a key indented by two spaces


def zoo_dir() -> Path:
    try:
        import sizecalc.zoo as zoo  # installed: specs/ is packaged as sizecalc.zoo
        return Path(zoo.__path__[0])
    except ImportError:  # a source checkout
        return Path(__file__).resolve().parents[2] / "specs"


def variant_names(path) -> list[str]:
    """The variants a spec file declares, in the order written (empty for a plain spec)."""
    found: list[str] = []
    inside = False
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("variants:"):
                inside = True
            elif inside and _TOP.match(line):
                break
            elif inside and (m := _KEY.match(line)):
                found.append(m.group(1))
    return found


@lru_cache(maxsize=1)
def _entries() -> tuple[tuple[str, str, str | None], ...]:
    """(name, file stem, variant) for every built-in network, sorted by name; a family file
    gives one entry per variant and none of its own."""
    rows = []
    for path in zoo_dir().glob("*.yaml"):
        variants = variant_names(path)
        rows += [(v, path.stem, v) for v in variants] or [(path.stem, path.stem, None)]
    return tuple(sorted(rows))


def _key(name: str) -> str:
    return name.lower().replace("_", "-")


def names() -> list[str]:
    """Every built-in network's name (each variant of a family is a name of its own)."""
    return [name for name, _, _ in _entries()]


def locate(name: str) -> tuple[Path, str | None] | None:
    """The built-in spec file and variant for `name` (case- and -/_-insensitive), or None.
    A family file's own stem also answers (with its first variant)."""
    key = _key(name)
    for entry, stem, variant in _entries():
        if _key(entry) == key:
            return zoo_dir() / f"{stem}.yaml", variant
    for _, stem, _ in _entries():
        if _key(stem) == key:
            return zoo_dir() / f"{stem}.yaml", None
    return None


def find(name: str) -> Path | None:
    """The built-in spec file for `name`, or None."""
    found = locate(name)
    return found[0] if found else None


def split(spec: str) -> tuple[str, str | None]:
    """`spec` -> (path or text, variant): an existing path or `-` as it is; a built-in name
    -> its file and variant; `PATH:VARIANT` or `NAME:VARIANT` -> the file and that variant.
    Anything else comes back unchanged (the caller reports it)."""
    if os.path.exists(spec) or spec == "-":
        return spec, None
    found = locate(spec)
    if found:
        return str(found[0]), found[1]
    head, colon, tail = spec.rpartition(":")
    if colon and head and tail:
        if os.path.exists(head) or head == "-":
            return head, tail
        found = locate(head)
        if found:
            return str(found[0]), tail
    return spec, None
