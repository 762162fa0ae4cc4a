"""The built-in networks: YAML files shipped in the wheel as `sizecalc.zoo` (the
repository's `specs/` folder). A name such as `vgg16` resolves to `specs/vgg16.yaml`."""

from __future__ import annotations

import os
from pathlib import Path


def zoo_dir() -> Path:
    try:
        import sizecalc.zoo as zoo  # installed: specs/ is packaged as sizecalc.zoo
        return Path(zoo.__path__[0])
    except ImportError:  # a source checkout
        return Path(__file__).resolve().parents[2] / "specs"


def names() -> list[str]:
    return sorted(p.stem for p in zoo_dir().glob("*.yaml"))


def find(name: str) -> Path | None:
    """The built-in spec for `name` (case- and -/_-insensitive), or None."""
    key = name.lower().replace("_", "-")
    for stem in names():
        if stem.lower().replace("_", "-") == key:
            return zoo_dir() / f"{stem}.yaml"
    return None


def resolve(spec: str) -> str:
    """A path that exists wins; otherwise a built-in name; otherwise the text as given."""
    if os.path.exists(spec) or spec == "-":
        return spec
    found = find(spec)
    return str(found) if found else spec
