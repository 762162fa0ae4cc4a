"""`sizecalc draw`: the pictures' geometry checked from the SVG itself (well-formed XML, no
two boxes overlapping, every label inside the canvas and clear of the others, every edge
ending on its two nodes, labels equal to the table's volumes), hostile ids escaped, the CLI's
errors; and one render in headless Chromium where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.report.draw import layout as graph_layout
from sizecalc.report.draw.svg import CHAR_WIDTH

NS = "{http://www.w3.org/2000/svg}"
HAS_LAYOUT = bool(shutil.which("dot"))
try:
    import grandalf  # noqa: F401
    HAS_LAYOUT = True
except ImportError:
    pass
needs_layout = pytest.mark.skipif(not HAS_LAYOUT, reason="neither Graphviz's dot nor grandalf is installed")


def parse(svg: str):
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return root, float(root.get("width")), float(root.get("height"))


def boxes(root):
    return [(float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")), r)
            for r in root.iter(NS + "rect") if r.get("class") == "box"]


def label_boxes(root):
    """Each label's extent: monospace, CHAR_WIDTH em per character, ascent 0.8 em."""
    out = []
    for t in root.iter(NS + "text"):
        if "label" not in (t.get("class") or ""):
            continue
        size, x, y = float(t.get("font-size")), float(t.get("x")), float(t.get("y"))
        w = len(t.text) * size * CHAR_WIDTH
        left = {"start": x, "middle": x - w / 2, "end": x - w}[t.get("text-anchor")]
        out.append((left, y - 0.8 * size, w, size, t.text))
    return out


def overlap(a, b, slack=0.5) -> bool:
    return (a[0] + slack < b[0] + b[2] and b[0] + slack < a[0] + a[2]
            and a[1] + slack < b[1] + b[3] and b[1] + slack < a[1] + a[3])


def check_geometry(svg: str):
    root, width, height = parse(svg)
    rects = boxes(root)
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not overlap(a, b), (a[4].get("data-id"), b[4].get("data-id"))
    labels = label_boxes(root)
    for left, top, w, h, text in labels:
        assert left >= 0 and top >= 0 and left + w <= width and top + h <= height, text
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not overlap(a, b), (a[4], b[4])
    return root


def volumes(name, **kw):
    return sizecalc.analyze(name).draw("volumes", **kw).svg


@pytest.mark.parametrize("name", ["vgg16", "alexnet", "lenet5", "alexnet-cs231n"])
def test_volumes_geometry(name):
    check_geometry(volumes(name))


def test_vgg16_volumes_are_the_lecture_s():
    # the lecture's VGG16: 224x224x64 twice, pools halving to 7x7x512, then fc 4096, 4096, 1000
    root = check_geometry(volumes("vgg16"))
    sizes = [t.get("data-shape") for t in root.iter(NS + "text") if t.get("data-shape")]
    assert sizes == ["224×224×3", "224×224×64", "112×112×64", "112×112×128", "56×56×128", "56×56×256",
                     "28×28×256", "28×28×512", "14×14×512", "14×14×512", "7×7×512", "4096", "4096", "1000"]
    # 13 conv slabs, 5 pools, 3 fc, the input: one front face each
    kinds = [g.get("data-kind") for g in root.iter(NS + "g") if g.get("class") == "volume"
             for r in g.iter(NS + "rect") if r.get("class") == "box"]
    assert (kinds.count("conv"), kinds.count("pool"), kinds.count("fc"), kinds.count("input")) == (13, 5, 3, 1)
    # a kernel drawn for each run of convs and each pool (5 conv stages + 5 pools)
    assert sum(1 for g in root.iter(NS + "g") if g.get("class") == "kernel") == 10


def test_volume_labels_equal_the_table():
    report = sizecalc.analyze("alexnet")
    root = ET.fromstring(report.draw("volumes").svg)
    for g in root.iter(NS + "g"):
        if g.get("class") != "volume" or g.get("data-ids") == "input":
            continue
        label = next(t.get("data-shape") for t in g.iter(NS + "text") if t.get("data-shape"))
        for rid in g.get("data-ids").split():
            out = report.row(rid).output
            assert [int(n) for n in re.findall(r"\d+", label)] == [*out[1:], out[0]]


def test_layout_chw_writes_channels_first():
    # AlexNet's conv1 (torchvision): 64 filters of 11x11, stride 4, pad 2 on 224: (224-11+4)/4+1 = 55
    assert 'data-shape="64×55×55"' in volumes("alexnet", layout="chw")
    assert 'data-shape="55×55×64"' in volumes("alexnet")


@needs_layout
@pytest.mark.parametrize("name,depth", [("resnet50", 2), ("googlenet", 2), ("resnet18", None)])
def test_graph_geometry_and_edges(name, depth):
    report = sizecalc.analyze(name)
    root = check_geometry(report.draw("graph", depth).svg)
    nodes = {}
    for g in root.iter(NS + "g"):
        if g.get("class") == "node":
            r = next(r for r in g.iter(NS + "rect") if r.get("class") == "box")
            nodes[g.get("data-id")] = [float(r.get(k)) for k in ("x", "y", "width", "height")]
    edges = [p for p in root.iter(NS + "path") if p.get("class") == "edge"]
    assert edges
    for p in edges:
        pts = [tuple(map(float, xy.split(","))) for xy in re.findall(r"-?[\d.]+,-?[\d.]+", p.get("d"))]
        for (x, y), node in ((pts[0], nodes[p.get("data-from")]), (pts[-1], nodes[p.get("data-to")])):
            near = 3.0  # px: an edge ends on the border of its node
            assert node[0] - near <= x <= node[0] + node[2] + near and node[1] - near <= y <= node[1] + node[3] + near


@needs_layout
def test_graph_of_resnet50_marks_merges_and_shapes():
    report = sizecalc.analyze("resnet50")
    svg = report.draw("graph", 3).svg
    root = ET.fromstring(svg)
    # ResNet-50: 3 + 4 + 6 + 3 = 16 bottlenecks, each ending in an add
    adds = [g for g in root.iter(NS + "g") if g.get("class") == "node" and g.get("data-kind") == "merge"]
    assert len(adds) == 16
    # layer1.0.conv1: 1x1 conv, 64 -> 64 channels: 64*64 weights, 64*64*56*56 = 12,845,056 MACs, no bias
    title = next(g.find(NS + "title").text for g in root.iter(NS + "g") if g.get("data-id") == "layer1.0.conv1")
    assert "4,096 params" in title and "12,845,056 MACs" in title
    # every edge is labelled with the volume it carries; the stem's conv makes 112x112x64
    assert "112×112×64" in [t.text for t in root.iter(NS + "text") if "edge-label" in (t.get("class") or "")]


def test_default_style_follows_the_network():
    assert sizecalc.analyze("vgg16").draw().style == "volumes"
    if HAS_LAYOUT:
        assert sizecalc.analyze("resnet18").draw().style == "graph"


HOSTILE = """name: "<script>alert(1)</script>"
input: [3, 32, 32]
layers:
  - {id: a, conv: 8, kernel: 3}
  - {id: b, maxpool: 2}
"""


def test_hostile_ids_are_escaped():
    # the spec reader only takes ids of letters, digits, _ and -; the renderer escapes any
    # text all the same (a Report built by hand, or from a future reader)
    report = sizecalc.analyze(HOSTILE)
    report.rows[0].id = "a<b>&\"c'\x07"
    report.rows[1].id, report.rows[1].inputs = "]]><x/>" + "y" * 500, [report.rows[0].id]
    for style in ("volumes", "graph") if HAS_LAYOUT else ("volumes",):
        svg = report.draw(style).svg
        root = ET.fromstring(svg)  # still well-formed
        assert "<script>" not in svg and "<x/>" not in svg and "\x07" not in svg
        ids = {g.get("data-id") for g in root.iter() if g.get("data-id")}
        assert "a<b>&\"c'\\x07" in ids
        assert all(len(i) <= 200 for i in ids)


def test_repr_svg_for_notebooks():
    assert sizecalc.analyze("lenet5").draw()._repr_svg_().startswith("<svg")


def test_cli_draws_to_stdout_and_to_a_file(tmp_path):
    result = CliRunner().invoke(main, ["draw", "vgg16"])
    assert result.exit_code == 0 and result.output.startswith("<svg")
    out = tmp_path / "v.svg"
    assert CliRunner().invoke(main, ["draw", "lenet5", "-o", str(out)]).exit_code == 0
    ET.parse(out)


def test_cli_unknown_extension_is_usage():
    result = CliRunner().invoke(main, ["draw", "vgg16", "-o", "x.pdf"])
    assert result.exit_code == 2 and ".svg" in result.output and "'.pdf'" in result.output


def test_cli_spec_with_errors_draws_nothing(tmp_path):
    # a 5x5 kernel with stride 2 on 32: (32 - 5)/2 + 1 = 14.5, not whole: an error
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - {id: c, conv: 8, kernel: 5, stride: 2}\n")
    out = tmp_path / "bad.svg"
    result = CliRunner().invoke(main, ["draw", str(spec), "-o", str(out)])
    assert result.exit_code == 1 and "error" in result.output and not out.exists()


def test_no_layout_library_is_a_clear_message(monkeypatch):
    monkeypatch.setattr(graph_layout.shutil, "which", lambda name: None)
    monkeypatch.setitem(__import__("sys").modules, "grandalf", None)
    result = CliRunner().invoke(main, ["draw", "resnet18", "--style", "graph"])
    assert result.exit_code == 2 and "sizecalc[draw]" in result.output


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz's dot is not installed")
def test_grandalf_layout_too(monkeypatch):
    pytest.importorskip("grandalf")
    monkeypatch.setattr(graph_layout.shutil, "which", lambda name: None)
    check_geometry(sizecalc.analyze("resnet18").draw("graph", 2).svg)


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed (apt-get install chromium)")
def test_chromium_renders_the_volumes(tmp_path):
    svg = tmp_path / "vgg16.svg"
    svg.write_text(volumes("vgg16"))
    png = tmp_path / "vgg16.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", f"--screenshot={png}", "--window-size=1800,600",
                    svg.as_uri()], capture_output=True, timeout=120)
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
