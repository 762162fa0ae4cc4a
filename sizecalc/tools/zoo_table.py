"""The rows of `sizecalc list`: every built-in network, sized statically (rendered by
report/zoo_out.py): its rows (`layers`, every op) and its depth as papers count it
(`weight_layers`, report/weight_layers.py).

Sizing every variant of every family (EfficientNet-B7 at 600 px, RegNet-Y-128GF) takes
seconds, so the figures are kept in `specs/zoo-figures.json`, each with the SHA-256 of the
spec file it came from: a file whose text changed is sized again, and
tests/test_zoo_figures.py fails while the stored figures differ from a fresh sizing.
Rewrite them after changing a spec or the sizing code:

    python -c "from sizecalc.tools.zoo_table import write_figures; write_figures()"
"""

from __future__ import annotations

import hashlib
import json

from ..core.errors import SizecalcError
from ..core.units import dims_text
from ..report.weight_layers import weight_layers
from ..spec import zoo


_NOT_AN_END = (" al", "Fig", "e.g", "i.e", " vs")  # abbreviations, not the end of a sentence


def source_line(path) -> str:
    """The first sentence of the header comment (after the schema line): where the network
    comes from, whole (the rich and plain tables cut it to their width, report/zoo_out.py)."""
    words: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            if "yaml-language-server" not in line:
                words += line.lstrip("# ").split()
    text = " ".join(words)
    depth = 0  # inside parentheses a `;` or `.` does not end the sentence
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")" and depth > 0)
        if depth == 0 and ch in ".;" and text[i + 1:i + 2] in (" ", "") and not text[:i].endswith(_NOT_AN_END):
            return text[:i + 1]
    return text


FIGURES = "zoo-figures.json"
FIGURE_KEYS = ("input", "params", "macs", "layers", "weight_layers")


def zoo_rows(stored: bool = True) -> list[dict]:
    """One row per built-in network (each variant of a family its own). With `stored`, the
    figures come from specs/zoo-figures.json wherever the spec file is unchanged."""
    known = _stored_figures() if stored else {}
    rows, digests = [], {}
    for name in zoo.names():
        path, variant = zoo.locate(name)
        if path not in digests:
            digests[path] = _digest(path)
        row = {"name": name, **dict.fromkeys(FIGURE_KEYS), "source": source_line(path)}
        kept = known.get(name)
        row.update(kept["figures"] if kept and kept.get("sha256") == digests[path] else _size(path, variant))
        rows.append(row)
    return rows


def _size(path, variant) -> dict:
    """The figures of one network, sized now (none where the spec has errors)."""
    from ..engine import analyze
    from ..spec import load
    try:
        report = analyze(load(str(path), variant=variant))
    except SizecalcError:
        return {}
    return {"input": dims_text(report.input_shape), "params": report.totals.params, "macs": report.totals.macs,
            "layers": len(report.rows), "weight_layers": weight_layers(report.rows)}


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored_figures() -> dict:
    try:
        with open(zoo.zoo_dir() / FIGURES, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def figures_now() -> dict:
    """What specs/zoo-figures.json should hold: every network sized now, by name."""
    out = {}
    for row in zoo_rows(stored=False):
        path, _ = zoo.locate(row["name"])
        out[row["name"]] = {"sha256": _digest(path), "figures": {k: row[k] for k in FIGURE_KEYS}}
    return out


def write_figures() -> None:
    """Rewrite specs/zoo-figures.json (a source checkout's, after changing a spec)."""
    text = json.dumps(figures_now(), indent=1, sort_keys=True) + "\n"
    (zoo.zoo_dir() / FIGURES).write_text(text, encoding="utf-8")
