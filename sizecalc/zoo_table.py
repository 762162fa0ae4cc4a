"""The rows of `sizecalc list`: every built-in network, sized statically."""

from __future__ import annotations

from .errors import SizecalcError
from .spec import zoo


def source_line(path) -> str:
    """The first comment line after the schema comment: where the network comes from."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") and "yaml-language-server" not in line:
                return line.lstrip("# ").rstrip()
    return ""


def zoo_rows() -> list[dict]:
    from . import analyze
    rows = []
    for name in zoo.names():
        path = zoo.find(name)
        row = {"name": name, "input": "", "params": None, "macs": None, "layers": None,
               "source": source_line(path)}
        try:
            report = analyze(str(path))
            row.update(input="x".join(map(str, report.input_shape)), params=report.totals.params,
                       macs=report.totals.macs, layers=len(report.rows))
        except SizecalcError:
            pass
        rows.append(row)
    return rows
