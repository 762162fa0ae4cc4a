"""`table --bars`, `table --format svg`, `compare` and the Python API (notebook display)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.tools.compare import compare
from sizecalc.report.bars import BLOCKS, bar

FULL = BLOCKS[8]
# hand-computed VGG16 rows (torchvision's published total is 138,357,544)
VGG_FC6_PARAMS = 7 * 7 * 512 * 4096 + 4096  # 102,764,544: the largest params of any row
VGG_CONV1_ACTS = 224 * 224 * 64  # 3,211,264: the largest activations of any row


def run(*args):
    result = CliRunner().invoke(main, list(map(str, args)))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


# --- bars ---------------------------------------------------------------------------------

def test_bar_scales_to_the_largest_row_in_eighths():
    assert bar(8, 8, width=16) == FULL * 16
    assert bar(4, 8, width=16) == FULL * 8
    assert bar(1, 16, width=2) == BLOCKS[1]  # 1/16 of 2 cells = 1/8 of a cell
    assert bar(3, 16, width=2) == BLOCKS[3]
    assert bar(1, 10 ** 9) == BLOCKS[1]  # anything non-zero stays visible
    assert bar(0, 10) == ""


def _plain_rows(output: str) -> dict[str, str]:
    return {line.split()[0]: line for line in output.splitlines()[3:] if line.strip() and not line.startswith(" " * 4)}


def test_plain_table_bars_show_vgg_memory_early_params_late():
    result = run("table", "vgg16", "--bars")
    assert result.exit_code == 0
    assert "activations bar" in result.output and "params bar" in result.output
    rows = _plain_rows(result.output)
    # fc6 has the most params: a full 16-cell params bar, at the end of its line
    assert rows["fc6"].rstrip().endswith(FULL * 16)
    # stage1.conv1 has the most activations (a full bar) and few params (1,792: the least 1/8)
    conv1 = rows["stage1.conv1"]
    assert FULL * 16 in conv1
    assert conv1.rstrip().endswith(BLOCKS[1])
    # fc8's activations, 1,000 of 3,211,264, are the least visible bar: 1/8
    assert f" {BLOCKS[1]} " in rows["fc8"]


def test_rich_table_has_the_bar_columns():
    from rich.console import Console

    from sizecalc.report.rich_table import table
    report = sizecalc.analyze("vgg16")
    buf = io.StringIO()
    Console(file=buf, width=260, color_system=None).print(table(report, bars=True))
    text = buf.getvalue()
    assert "activations bar" in text and "params bar" in text
    fc6 = next(line for line in text.splitlines() if line.strip().startswith("fc6"))
    assert FULL * 16 in fc6
    assert report.row("fc6").params == VGG_FC6_PARAMS
    assert max(r.activations for r in report.rows) == VGG_CONV1_ACTS


def test_bars_refused_where_they_cannot_be_drawn():
    result = run("table", "vgg16", "--bars", "--format", "json")
    assert result.exit_code == 2
    assert "--bars" in result.output


# --- svg ----------------------------------------------------------------------------------

def test_svg_is_well_formed_and_names_every_layer(tmp_path):
    out = tmp_path / "alexnet.svg"
    result = run("table", "alexnet-cs231n", "--format", "svg", "--bars", "-o", out)
    assert result.exit_code == 0
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = "".join(root.itertext()).replace("\xa0", " ")
    for layer in ("conv1", "pool1", "norm1", "conv5", "pool3", "fc6", "fc7", "fc8"):
        assert layer in text
    assert "55x55x96" in text  # (227 - 11 + 2*0)/4 + 1 = 55
    assert FULL in text


def test_svg_to_stdout():
    result = run("table", "lenet5", "--format", "svg")
    assert result.exit_code == 0
    ET.fromstring(result.output)


# --- compare ------------------------------------------------------------------------------

def test_compare_rows():
    vgg, alex = compare(["vgg16", "alexnet-cs231n"])
    assert vgg.params == 138_357_544
    assert round(vgg.macs / 1e9, 2) == 15.47  # torchvision's "GFLOPS" column for VGG16
    # 13 3x3 convs and 5 2x2 pools reach 212 (Araujo et al. 2019, vgg_16/pool5); fc6 sees the whole
    # 7x7 map, so the whole input: the largest finite field is 212, and then it is global
    assert vgg.receptive_field == (212, 212) and vgg.field_global
    # the lecture's AlexNet, layer by layer: (F*F*C + 1)*K for each conv, (in + 1)*out for each fc
    assert alex.input_shape == (3, 227, 227)
    assert alex.params == ((11 * 11 * 3 + 1) * 96 + (5 * 5 * 96 + 1) * 256 + (3 * 3 * 256 + 1) * 384
                           + (3 * 3 * 384 + 1) * 384 + (3 * 3 * 384 + 1) * 256
                           + (6 * 6 * 256 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000)


def test_compare_memory_follows_batch_and_dtype():
    (one,) = compare(["vgg16"])
    (many,) = compare(["vgg16"], batch=8, dtype="bf16")
    report = sizecalc.analyze("vgg16")
    assert one.forward_bytes == report.totals.forward_activations * 1 * 4
    assert many.forward_bytes == report.totals.forward_activations * 8 * 2


def test_compare_training_memory_is_the_memory_model():
    (entry,) = compare(["lenet5"])
    report = sizecalc.analyze("lenet5")
    # plain SGD: weights and gradients in fp32, plus what autograd keeps
    assert entry.training_bytes == report.totals.params * 4 * 2 + report.totals.buffers * 4 + report.memory.saved_bytes


def test_compare_cli_formats():
    plain = run("compare", "vgg16", "resnet50", "googlenet")
    assert plain.exit_code == 0
    lines = plain.output.splitlines()
    assert lines[0].split()[:3] == ["network", "input", "params"]
    assert any(line.split()[0] == "VGG16" and "138,357,544" in line for line in lines)
    md = run("compare", "vgg16", "resnet50", "--format", "markdown")
    assert md.output.startswith("| network |") and "| ResNet-50 |" in md.output
    data = json.loads(run("compare", "vgg16", "--format", "json", "--batch", 2).output)
    assert data["batch"] == 2 and data["networks"][0]["params"] == 138_357_544


def test_compare_rich_table():
    from rich.console import Console

    from sizecalc.report.compare_out import rich_table
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None).print(rich_table(compare(["vgg16"]), 1, "fp32"))
    assert "138,357,544" in buf.getvalue() and "training memory" in buf.getvalue()


def test_compare_errors():
    assert run("compare").exit_code == 2
    assert run("compare", "vgg16", "--batch", 0).exit_code == 2
    bad = run("compare", "vgg16", "vgg17")
    assert bad.exit_code == 2 and "did you mean" in bad.output


# --- the Python API -----------------------------------------------------------------------

def test_analyze_to_json_and_markdown():
    report = sizecalc.analyze("alexnet-cs231n", batch=2, dtype="fp16")
    data = json.loads(report.to_json())
    assert data["batch"] == 2 and data["dtype"] == "fp16"
    assert data["layers"][0]["params"] == (11 * 11 * 3 + 1) * 96
    assert "| conv1 |" in report.to_markdown()


def test_notebook_display_is_an_html_table():
    html = sizecalc.analyze("alexnet-cs231n")._repr_html_()
    assert html.startswith("<pre") and "<!DOCTYPE" not in html
    for layer in ("conv1", "pool3", "fc8"):
        assert layer in html
    assert "55x55x96" in html


def test_static_commands_import_neither_torch_nor_rich():
    code = ("import sys; from click.testing import CliRunner; from sizecalc.cli import main; "
            "r = CliRunner().invoke(main, ['solve', '--in', '32', '--kernel', '5', '--out', '32']); "
            "assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(main, ['inputs', 'lenet5', '--range', '32:33']); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'rich'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
