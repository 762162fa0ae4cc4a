"""The rows of `sizecalc list`: every built-in network, sized statically (rendered by
report/zoo_out.py): its rows (`layers`, every op) and its depth as papers count it
(`weight_layers`, report/weight_layers.py)."""

from __future__ import annotations

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


def zoo_rows() -> list[dict]:
    from ..engine import analyze
    rows = []
    from ..spec import load
    for name in zoo.names():
        path, variant = zoo.locate(name)
        row = {"name": name, "input": "", "params": None, "macs": None, "layers": None, "weight_layers": None,
               "source": source_line(path)}
        try:
            report = analyze(load(str(path), variant=variant))
            row.update(input=dims_text(report.input_shape), params=report.totals.params,
                       macs=report.totals.macs, layers=len(report.rows), weight_layers=weight_layers(report.rows))
        except SizecalcError:
            pass
        rows.append(row)
    return rows
