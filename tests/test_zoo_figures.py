"""`sizecalc list` reads its figures from specs/zoo-figures.json (sizing every variant of
every family takes seconds). The stored figures must be what a fresh sizing gives, and a
spec whose text changed must be sized again rather than shown with old figures."""

from __future__ import annotations

import json
import shutil

from sizecalc.spec import zoo
from sizecalc.tools import zoo_table

REWRITE = 'python -c "from sizecalc.tools.zoo_table import write_figures; write_figures()"'


def test_the_stored_figures_are_a_fresh_sizing():
    stored = json.loads((zoo.zoo_dir() / zoo_table.FIGURES).read_text())
    assert stored == zoo_table.figures_now(), f"specs/zoo-figures.json is out of date: run {REWRITE}"


def test_a_changed_spec_is_sized_again(tmp_path, monkeypatch):
    for name in ("cifar-simple.yaml", zoo_table.FIGURES):
        shutil.copy(zoo.zoo_dir() / name, tmp_path / name)
    monkeypatch.setattr(zoo, "zoo_dir", lambda: tmp_path)
    zoo._entries.cache_clear()
    try:
        # the lecture's CIFAR-10 net: conv 3x3x3 -> 12 filters (3*3*3*12 + 12 = 336), pool to
        # 16x16x12, fc 3,072 -> 10 (30,730): 31,066 params
        (row,) = [r for r in zoo_table.zoo_rows() if r["name"] == "cifar-simple"]
        assert row["params"] == 31_066
        spec = tmp_path / "cifar-simple.yaml"
        spec.write_text(spec.read_text().replace("{fc: 10", "{fc: 100"))
        # fc 3,072 -> 100: 307,300 params instead of 30,730: 31,066 - 30,730 + 307,300 = 307,636
        (row,) = [r for r in zoo_table.zoo_rows() if r["name"] == "cifar-simple"]
        assert row["params"] == 307_636
    finally:
        zoo._entries.cache_clear()
