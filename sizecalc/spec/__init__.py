"""Spec loading: a file, a built-in name or YAML text -> a validated, expanded Graph."""

from __future__ import annotations

import os

from . import zoo
from .expand import MAX_LAYERS, expand, parse_spec  # noqa: F401
from .graph import Graph, Node  # noqa: F401
from .yamlsafe import read_text


def load(spec: str, input_shape: tuple | None = None, variant: str | None = None) -> Graph:
    """Load a spec given as a path, a built-in network name (`vgg16`, `efficientnet_b3`) or
    `-` for stdin; `PATH:VARIANT` (or `variant=`) picks a variant of a family file."""
    path, named = zoo.split(spec)
    variant = variant or named
    if not os.path.exists(path) and path != "-" and os.sep not in spec and not spec.endswith((".yaml", ".yml")):
        from ..core.errors import Finding, InputError, cut
        from .expand import did_you_mean
        hint = did_you_mean(spec, zoo.names())
        raise InputError([Finding("unreadable", f"'{cut(spec)}' is neither a spec file nor a built-in network"
                                  + (f"; {hint}" if hint else ""), None,
                                  fix="run `sizecalc list` for the built-in networks")])
    name, text = read_text(path)
    if path.startswith(str(zoo.zoo_dir())):  # a built-in network is named by its file alone
        name = os.path.basename(path)
    return loads(text, name, input_shape, variant)


def load_any(spec, input_shape: tuple | None = None, variant: str | None = None) -> Graph:
    """A Graph from a path, a built-in network name or (if it holds a newline) YAML text."""
    if isinstance(spec, str) and "\n" in spec and not os.path.exists(spec):  # a file name may hold a newline
        return loads(spec, "<string>", input_shape, variant)
    return load(str(spec), input_shape, variant)


def loads(text: str, name: str = "<spec>", input_shape: tuple | None = None, variant: str | None = None) -> Graph:
    """Load a spec from YAML text; `name` is what error locations call the file; `variant`
    picks one of a family file's variants (the first when None)."""
    return expand(parse_spec(text, name), name, input_shape, variant)
