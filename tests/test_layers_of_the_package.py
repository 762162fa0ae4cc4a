"""The package is in layers, and each imports only the layers below it (README: Development).

Read from the source with `ast`, so that a lazy import inside a function counts too: the
order is the one the package docstring states, and nothing imports through `sizecalc/__init__`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sizecalc"
# lowest first; a module may import its own layer and the layers before it
ORDER = ["core", "layers", "spec", "report", "engine", "tools", "torch", "cli"]
# layers that may still import torch (none: layers/ describes torch modules as data)
UNTIL_CONTRACT: set[str] = set()


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "sizecalc" and parts[1] in ORDER else None


def imports(path: Path):
    """(line, absolute module name, names) for every sizecalc import in one file."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            yield node.lineno, target, [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sizecalc"):
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("sizecalc"):
                    yield node.lineno, a.name, []


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def test_every_module_is_in_a_layer():
    strays = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not strays, f"modules outside the layers: {strays}"
    assert {p.relative_to(PACKAGE).parts[0] for p in modules()} == set(ORDER)


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for path in modules():
        here = ORDER.index(path.relative_to(PACKAGE).parts[0])
        for line, target, names in imports(path):
            if target == "sizecalc":  # `from . import x` at the top: through the package __init__
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {names} through sizecalc/__init__")
                continue
            there = layer_of(target)
            if there == "torch" and path.relative_to(PACKAGE).parts[0] in UNTIL_CONTRACT:
                continue
            if there is not None and ORDER.index(there) > here:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {target} (a higher layer)")
    assert not wrong, "\n".join(wrong)


def test_only_the_torch_layer_imports_torch():
    wrong = []
    for path in modules():
        if path.relative_to(PACKAGE).parts[0] in {"torch"} | UNTIL_CONTRACT:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            if any(n == "torch" or n.startswith("torch.") for n in names):
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not wrong, wrong
