"""Issue #17, points 4 and 5: the one-file HTML report (`table --format html`, `draw -o
x.html`) and PNG (`draw -o x.png`, the png extra).

The page is read back with html.parser: well-formed (every element closed, in order), no
address outside the file, every row's figures those of `table --format json`, its
arithmetic those of `--explain`, blocks as nested <details>, user text escaped. Chromium
renders it where installed; PNG is checked where cairosvg is.
"""

from __future__ import annotations

import builtins
import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from sizecalc.cli import main

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
# SVG elements written self-closed (<rect/>): a void element in the parser's eyes
URL = re.compile(r"url\(|https?://|//", re.I)


def invoke(*args, stdin=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=stdin)


class Page(HTMLParser):
    """The page's elements as a tree of (tag, attrs, children, text), checking that every
    element is closed in order (a void or self-closed one needs no end tag)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = {"tag": None, "attrs": {}, "children": [], "text": []}
        self.stack = [self.root]
        self.errors: list[str] = []
        self.doctype = None
        self.feed(text)
        self.close()
        if len(self.stack) != 1:
            self.errors.append(f"unclosed: {[e['tag'] for e in self.stack[1:]]}")

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = {"tag": tag, "attrs": dict(attrs), "children": [], "text": []}
        self.stack[-1]["children"].append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1]["children"].append({"tag": tag, "attrs": dict(attrs), "children": [], "text": []})

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.stack[-1]["tag"] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1]['tag']}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1]["text"].append(data)


def walk(node):
    yield node
    for child in node["children"]:
        yield from walk(child)


def text_of(node) -> str:
    return "".join(node["text"]) + "".join(text_of(c) for c in node["children"])


def classes(node) -> set[str]:
    return set((node["attrs"].get("class") or "").split())


def rows_of(page: Page) -> list[dict]:
    """Each row of the table (head, input, blocks, layers) as {cell class: text}, its kind,
    its level of nesting in blocks and the arithmetic it opens to."""
    out = []

    def visit(node, level):
        for child in node["children"]:
            if "row" in classes(child):
                cells = {c["attrs"]["class"]: text_of(c) for c in child["children"]}
                out.append({"kind": classes(child) - {"row", "plain"}, "cells": cells, "level": level,
                            "title": child["attrs"].get("title"), "arith": None})
            elif child["tag"] == "details":
                summary = child["children"][0]
                assert summary["tag"] == "summary"
                visit({"children": [summary]}, level)
                if "layer" in classes(child):
                    (pre,) = [c for c in child["children"] if c["tag"] == "pre"]
                    out[-1]["arith"] = text_of(pre)
                else:
                    visit({"children": child["children"][1:]}, level + 1)
            else:
                visit(child, level)

    (table,) = [n for n in walk(page.root) if "table" in classes(n)]
    visit(table, 0)
    return out


def page_of(*args) -> tuple[str, Page]:
    result = invoke("table", *args, "--format", "html")
    assert result.exit_code == 0, result.output
    page = Page(result.output)
    assert page.errors == []
    return result.output, page


def table_json(*args) -> dict:
    result = invoke("table", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_page_is_well_formed_and_self_contained():
    text, page = page_of("resnet50")
    assert page.doctype.lower() == "doctype html"
    tags = {n["tag"] for n in walk(page.root)}
    assert {"html", "head", "body", "style", "svg", "details", "summary", "pre"} <= tags
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base"}  # nothing loaded
    for node in walk(page.root):
        for name, value in node["attrs"].items():
            if name in ("src", "href", "xlink:href", "action", "style") or name.startswith("on"):
                assert not (value and URL.search(value)), (node["tag"], name, value)
            assert not name.startswith("on"), (node["tag"], name)  # no script in an attribute
    (style,) = [n for n in walk(page.root) if n["tag"] == "style"]
    assert not URL.search(text_of(style)) and "@import" not in text_of(style)
    # the only address in the file is the SVG namespace's name, which nothing fetches
    assert set(re.findall(r"https?://[^\s\"'<>)]+", text)) <= {"http://www.w3.org/2000/svg"}


def figures(cells: dict) -> tuple:
    """params, activations and MACs of a row's cells, as integers."""
    return tuple(int(cells[c].replace(",", "")) for c in ("params", "activations", "macs"))


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "googlenet"])
def test_every_rows_figures_are_the_tables(name):
    """Each layer's row holds the figures `table --format json` gives it, in its order;
    each block's row the sums of its layers (fold's, as `table --depth` shows them)."""
    _, page = page_of(name)
    data = table_json(name)
    rows = rows_of(page)
    assert rows[0]["kind"] == {"head"} and rows[1]["kind"] == {"input"}
    assert figures(rows[1]["cells"])[1] == 3 * 224 * 224  # the input's activations: 150,528
    layers = [r for r in rows if r["kind"] == {"layer"}]
    assert [r["cells"]["id"] for r in layers] == [layer["id"] for layer in data["layers"]]
    for row, layer in zip(layers, data["layers"]):
        assert figures(row["cells"]) == (layer["params"], layer["activations"], layer["macs"]), layer["id"]
        c, *spatial = layer["output"]
        assert row["cells"]["output"] == "x".join(map(str, [*spatial, c])), layer["id"]  # H x W x C
    # the whole network's figures: torchvision's for VGG16 (138,357,544 params) and
    # ResNet-50 (25,557,032); the sum over the layers for each
    totals = data["totals"]
    assert sum(figures(r["cells"])[0] for r in layers) == totals["params"]
    assert sum(figures(r["cells"])[2] for r in layers) == totals["macs"]
    assert {"vgg16": 138_357_544, "resnet50": 25_557_032}.get(name, totals["params"]) == totals["params"]


def test_blocks_fold_their_layers_and_show_their_sums():
    """ResNet-50's layer1 holds its three bottlenecks (layer1.0 to layer1.2), each its own
    layers; a block's row sums its layers: layer1.0 is conv1 4,096 + bn1 128 + conv2 36,864
    + bn2 128 + conv3 16,384 + bn3 512 + downsample 16,384 + its bn 512 = 75,008 params
    (64*64, 3*3*64*64, 64*256 and 64*256 weights, 2 per channel for each bn)."""
    _, page = page_of("resnet50")
    rows = rows_of(page)
    blocks = {r["cells"]["id"]: r for r in rows if r["kind"] == {"block"}}
    assert [k for k in blocks if k.startswith("layer1")] == ["layer1", "layer1.0", "layer1.1", "layer1.2"]
    assert blocks["layer1"]["level"] == 0 and blocks["layer1.0"]["level"] == 1
    assert figures(blocks["layer1.0"]["cells"])[0] == 4096 + 128 + 36864 + 128 + 16384 + 512 + 16384 + 512 == 75_008
    data = table_json("resnet50", "--depth", "2")
    for layer in data["layers"]:
        if layer["op"] == "block":  # the same block row as `table --depth 2`
            assert figures(blocks[layer["id"]]["cells"]) == (layer["params"], layer["activations"], layer["macs"])
            assert blocks[layer["id"]]["cells"]["op"].startswith("block")
    inner = [r for r in rows if r["kind"] == {"layer"} and r["cells"]["id"].startswith("layer1.0.")]
    assert inner and {r["level"] for r in inner} == {2}  # inside layer1, inside layer1.0
    assert [r["cells"]["id"] for r in rows if r["level"] == 0 and r["kind"] != {"head"}][:6] == \
        ["input", "conv1", "bn1", "relu", "maxpool", "layer1"]


def test_a_folded_table_folds_the_page_too():
    """`--depth 1`: ResNet-50's rows are the stem, layer1 to layer4 as one row each, the
    head: the rows of `table --depth 1`."""
    _, page = page_of("resnet50", "--depth", "1")
    ids = [r["cells"]["id"] for r in rows_of(page)[2:]]
    assert ids == [layer["id"] for layer in table_json("resnet50", "--depth", "1")["layers"]]
    assert "layer1" in ids and not any(i.startswith("layer1.") for i in ids)


def test_each_rows_arithmetic_is_the_explain_text():
    """The arithmetic a row opens to (and its hover title) is what `--explain` prints:
    AlexNet's conv1, (227 - 11)/4 + 1 = 55 in the lecture."""
    _, page = page_of("alexnet-cs231n")
    data = table_json("alexnet-cs231n")
    rows = [r for r in rows_of(page) if r["kind"] == {"layer"}]
    for row, layer in zip(rows, data["layers"]):
        if layer["explain"]:
            assert row["arith"] == "\n".join(layer["explain"]) == row["title"], layer["id"]
        else:
            assert row["arith"] is None
    assert any("= 55" in r["arith"] for r in rows if r["arith"])


def test_the_figures_and_memory_are_on_the_page():
    """The summary lines of the plain table, and the headline cards: VGG16's 138,357,544
    params and 15,470,264,320 MACs (the lecture's, and torchvision's 15.47 GFLOPS)."""
    text, page = page_of("vgg16")
    dl = [n for n in walk(page.root) if n["tag"] == "dl"][0]
    terms = [text_of(n) for n in dl["children"] if n["tag"] == "dt"]
    assert terms[:2] == ["params", "activations"]
    assert {"forward memory", "MACs", "saved for backward", "training", "inference peak"} <= set(terms)
    assert "138,357,544" in text and "15,470,264,320" in text
    assert "<svg" in text and "224×224×64" in text  # the volumes picture, its labels


HOSTILE_TEXT = '"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;'
# an id is ASCII letters, digits, _ and -; a block's name is free text and every id inside
# the block carries it (blk...1.c)
HOSTILE = f"""\
sizecalc: 1
name: {json.dumps("<b>name</b> & </title><script>x</script>")}
input: [3, 8, 8]
blocks:
  {json.dumps("blk" + HOSTILE_TEXT)}:
    layers:
      - {{id: c, conv: 4, kernel: 3, padding: 1}}
layers:
  - {{id: a, conv: 4, kernel: 3, padding: 1}}
  - {{use: {json.dumps("blk" + HOSTILE_TEXT)}}}
"""


def test_hostile_names_are_text():
    result = invoke("table", "-", "--format", "html", "--explain", stdin=HOSTILE)
    assert result.exit_code == 0, result.output
    page = Page(result.output)
    assert page.errors == []
    tags = {n["tag"] for n in walk(page.root)}
    assert not tags & {"script", "img", "b"}
    assert not any(k.startswith("on") for n in walk(page.root) for k in n["attrs"])
    rows = [r for r in rows_of(page) if r["kind"] != {"head"}]
    ids = [r["cells"]["id"] for r in rows]
    assert ids == ["input", "a", "blk" + HOSTILE_TEXT + "1", "blk" + HOSTILE_TEXT + "1.c"]  # as written
    assert rows[2]["kind"] == {"block"} and rows[3]["level"] == 1
    title = [n for n in walk(page.root) if n["tag"] == "title"][0]  # the page's (the SVG has its own)
    assert text_of(title) == "sizecalc: <b>name</b> & </title><script>x</script>"


def test_the_page_grows_with_the_rows_once():
    """A chain of 2,000 layers: the page is the rows' text and a bounded picture, not more
    (about 1 KB a row with its arithmetic)."""
    spec = "sizecalc: 1\nname: long\ninput: [4, 8, 8]\nlayers:\n" + "  - {conv: 4, kernel: 3, padding: 1}\n" * 2000
    result = invoke("table", "-", "--format", "html", stdin=spec)
    assert result.exit_code == 0, result.output
    assert len(result.output) < 2000 * 2500


def test_draw_writes_the_same_report_as_html(tmp_path):
    out = tmp_path / "vgg16.html"
    result = invoke("draw", "vgg16", "-o", out)
    assert result.exit_code == 0, result.output
    drawn = out.read_text(encoding="utf-8")
    assert Page(drawn).errors == []
    assert drawn == invoke("table", "vgg16", "--format", "html").output


def test_an_unknown_extension_names_html_and_png(tmp_path):
    result = invoke("draw", "vgg16", "-o", tmp_path / "x.pdf")
    assert result.exit_code == 2
    assert ".svg, .html, .png" in result.output


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_draw_png(tmp_path):
    try:
        import cairosvg  # noqa: F401
    except (ImportError, OSError):
        pytest.skip("cairosvg (the png extra) is not installed")
    out = tmp_path / "lenet5.png"
    result = invoke("draw", "lenet5", "-o", out)
    assert result.exit_code == 0, result.output
    svg = invoke("draw", "lenet5").output
    width, height = (float(v) for v in re.search(r'width="([0-9.]+)" height="([0-9.]+)"', svg).groups())
    # the SVG's own size, at 2 pixels a unit (png_out.SCALE)
    assert png_size(out.read_bytes()) == (round(2 * width), round(2 * height))


def test_draw_png_without_cairosvg_names_the_extra(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_cairosvg(name, *args, **kwargs):
        if name == "cairosvg" or name.startswith("cairosvg."):
            raise ModuleNotFoundError("No module named 'cairosvg'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cairosvg)
    monkeypatch.delitem(__import__("sys").modules, "cairosvg", raising=False)
    out = tmp_path / "x.png"
    result = invoke("draw", "lenet5", "-o", out)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "sizecalc: PNG needs the 'png' extra (cairosvg and the Cairo library): pip install 'sizecalc[png]'"]
    assert not out.exists() and "Traceback" not in result.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_chromium_renders_the_page(tmp_path):
    """Headless Chromium opens the file offline and lays it out: its DOM after load holds
    the table's rows and the diagram (what bench/html_screens.sh screenshots to look at)."""
    page = tmp_path / "resnet50.html"
    assert invoke("table", "resnet50", "--format", "html", "-o", page).exit_code == 0
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "ResNet-50" in dom and "<svg" in dom and "layer4.2.conv3" in dom
    assert dom.count('<details class="block"') == 4 + 16  # 4 stages, 3 + 4 + 6 + 3 bottlenecks
