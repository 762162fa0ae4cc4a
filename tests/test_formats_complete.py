"""Issue #13, points 6, 9 and 12: formats that drop nothing, depth as the papers count it,
and small things that read wrong. Every number below is worked by hand in its comment."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from sizecalc.cli import main
from sizecalc.engine import analyze
from sizecalc.report.fit_out import distinct
from sizecalc.report.text import binary
from sizecalc.report.weight_layers import weight_layers
from sizecalc.tools.lint import lint_text


def invoke(*args, stdin=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=stdin)


# -- 6: formats that drop data -----------------------------------------------------------------
BAD = """\
sizecalc: 1
name: bad
input: [3, 8, 8]
layers:
  - relu
  - conv: {filters: 4, kernel: 11}
  - fc: 10
"""


def test_json_of_a_spec_with_errors_is_the_document_with_its_findings():
    result = invoke("table", "-", "--format", "json", stdin=BAD)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["sizecalc_json"] == 1 and data["name"] == "bad" and data["input"] == [3, 8, 8]
    # relu keeps 3x8x8; the conv's 11 > 8 fails, and the fc after it is never sized
    assert [(r["id"], r["output"]) for r in data["layers"]] == [("relu1", [3, 8, 8])]
    assert data["totals"] is None and data["memory"] is None  # sums over part of a network would mislead
    [finding] = data["findings"]
    assert (finding["rule"], finding["layer"], finding["line"]) == ("kernel-exceeds-input", "conv1", 6)
    assert "(8 - 11 + 2*0)/1 + 1 = -2" in finding["message"]  # the arithmetic, as on stderr
    assert "conv1: kernel 11" in result.stderr  # and the line for a person, too


def test_json_of_a_spec_that_does_not_expand_has_its_findings():
    result = invoke("table", "-", "--format", "json", stdin=BAD.replace("kernel: 11", "kernal: 3"))
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["layers"] == [] and data["totals"] is None
    assert [f["rule"] for f in data["findings"]] == ["unknown-key"]


def test_json_of_an_unreadable_spec_is_json_too(tmp_path):
    result = invoke("table", tmp_path / "missing.yaml", "--format", "json")
    assert result.exit_code == 2
    assert [f["rule"] for f in json.loads(result.stdout)["findings"]] == ["unreadable"]


def test_json_of_a_good_spec_has_no_findings_and_its_totals():
    data = json.loads(invoke("table", "cifar-simple", "--format", "json").stdout)
    # the notes' CIFAR-10 net: conv 3x3x3 x 12 + 12 = 336, fc 16*16*12*10 + 10 = 30,730
    assert data["findings"] == [] and data["totals"]["params"] == 336 + 30_730
    assert data["totals"]["weight_layers"] == 2  # one conv, one fc


def test_csv_starts_with_the_input_row_like_the_table():
    rows = list(csv.reader(io.StringIO(invoke("table", "cifar-simple", "--format", "csv").stdout)))
    # the input is 32x32x3: 3,072 activations, no params, MACs or saved bytes; it sees 1 pixel
    assert rows[1] == ["input", "", "32x32x3", "0", "0", "0", "0", "3072", "0", "0", "1"]
    assert rows[2][0] == "conv1" and {len(r) for r in rows} == {11}
    # the activations column now adds up to the forward memory's count: 3,072 + 12,288
    # (conv) + 12,288 (relu) + 16*16*12 = 3,072 (pool) + 10 (fc) = 30,730
    assert sum(int(r[7]) for r in rows[1:]) == 30_730


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_list_keeps_the_whole_source(fmt):
    out = invoke("list", "--format", fmt).stdout
    assert "…" not in out
    # specs/alexnet-cs231n.yaml's first sentence ends after the parenthesis, not at its `;`
    assert "(the table leaves them out; add `- relu` after a layer to count its activations)." in out


def test_list_plain_still_fits_its_width():
    out = invoke("list").stdout
    assert "…" in out and max(map(len, out.splitlines())) < 220


def gfm_cells(line: str) -> int:
    """Cells of a GFM table row as GitHub splits it: on every `|` that no backslash escapes
    (before any code span is read), less the outer pipes."""
    return len(re.split(r"(?<!\\)\|", line.strip()[1:-1]))


@pytest.mark.parametrize("name", ["cifar-simple", "alexnet-cs231n", "resnet18", "googlenet"])
def test_markdown_explain_rows_have_as_many_cells_as_headers(name):
    out = invoke("table", name, "--format", "markdown", "--explain").stdout
    rows = [line for line in out.splitlines() if line.startswith("|")]
    headers = gfm_cells(rows[0])
    assert headers == 8  # layer, op, output, params, activations, MACs, saved, receptive field
    assert any("`" in line for line in rows)  # the arithmetic rows are there
    assert {gfm_cells(line) for line in rows} == {headers}


# -- 9: depth as the papers count it ------------------------------------------------------------
@pytest.mark.parametrize("name,depth", [
    # the number in the name: VGG's configurations A, D, E (13 + 3 = 16 for D)
    ("vgg11", 11), ("vgg16", 16), ("vgg16_bn", 16), ("vgg19", 19),
    # He et al. count conv1, the blocks' convs (2 or 3 each) and fc, not the 1x1 projections:
    # ResNet-50 = 1 + 3*(3 + 4 + 6 + 3) + 1; ResNet-152 = 1 + 3*(3 + 8 + 36 + 3) + 1
    ("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet101", 101), ("resnet152", 152),
    ("resnext50_32x4d", 50), ("wide_resnet50_2", 50),
    # AlexNet and ZFNet: 5 conv + 3 fc
    ("alexnet", 8), ("alexnet-2012", 8), ("alexnet-cs231n", 8), ("zfnet", 8),
    # LeNet-5: C1, C3, C5, F6 and the output layer (S2, S4 pool)
    ("lenet5", 5),
    # Szegedy et al.: "22 layers deep when counting only layers with parameters"
    ("googlenet", 22),
    # DenseNet-121: conv0 + (6 + 12 + 24 + 16) dense layers x 2 + 3 transitions + fc = 121
    ("densenet121", 121),
])
def test_weight_layers_are_the_number_in_the_name(name, depth):
    assert weight_layers(analyze(name).rows) == depth


def test_weight_layers_follow_the_longest_path():
    spec = """\
sizecalc: 1
input: [3, 8, 8]
layers:
  - {id: a, conv: 4, kernel: 3, padding: 1}
  - {id: b, conv: 4, kernel: 3, padding: 1}
  - {id: proj, conv: 4, kernel: 1, from: input}
  - {id: sum, add: [b, proj]}
  - bn
  - fc: 10
"""
    # a -> b -> fc is 3 weight layers; proj -> fc only 2; the batch norm has params but is no
    # weight layer. 4 convs and fcs in all, 3 deep.
    assert weight_layers(analyze(spec).rows) == 3


def test_table_summary_and_list_show_the_weight_layers():
    out = invoke("table", "vgg16").stdout
    assert re.search(r"^weight layers: 16 \(conv and fc on the longest path", out, re.M)
    rows = {r["name"]: r for r in json.loads(invoke("list", "--format", "json").stdout)}
    assert (rows["vgg16"]["layers"], rows["vgg16"]["weight_layers"]) == (37, 16)  # 37 rows, 16 deep
    assert rows["resnet152"]["weight_layers"] == 152
    assert "weight layers" in invoke("list").stdout.splitlines()[0]


# -- 12: small things that read wrong -----------------------------------------------------------
def test_one_bias_is_singular():
    out = invoke("layer", "fc", "--in", "1x1x1", "--outputs", "1").stdout
    assert "params (1*1*1 + 1)*1 = 2 (1 weight + 1 bias)" in out
    out = invoke("layer", "fc", "--in", "1x1x2", "--outputs", "1").stdout
    assert "params (1*1*2 + 1)*1 = 3 (2 weights + 1 bias)" in out


@pytest.mark.parametrize("nbytes,shown", [
    (999, "999 B"),
    (1000, "0.98 KiB"),                # 1,000/1,024 = 0.977
    (999 * 1024, "999.00 KiB"),
    (1000 * 1024, "0.98 MiB"),         # 1,024,000/1,048,576 = 0.977: not "1,000.00 KiB"
    (1_026_437, "0.98 MiB"),           # 1,002.38 KiB before
    (1024 ** 2, "1.00 MiB"),
    (1000 * 1024 ** 3, "0.98 TiB"),
    (5000 * 1024 ** 4, "5,000.00 TiB"),  # the last unit takes any size
])
def test_a_unit_switches_at_a_thousand_of_itself(nbytes, shown):
    assert binary(nbytes) == shown


def test_fit_shows_the_digits_that_tell_the_batches_apart():
    out = invoke("fit", "cifar-simple", "--memory", "3GiB").stdout
    # params 31,066 x 4 B x 2 (weights and gradients, sgd) = 248,528 B fixed; per image the
    # saved tensors: conv1's input 3,072 x 4 = 12,288, relu's output 12,288 x 4 = 49,152, the
    # pool's int64 indices 3,072 x 8 = 24,576, fc's input 3,072 x 4 = 12,288: 98,304 B.
    # (3 x 2^30 - 248,528) / 98,304 = 32,765.4: batch 32,765 needs 3,221,179,088 B = 2.999957 GiB,
    # batch 32,766 3,221,277,392 B = 3.000048 GiB; both "3.00" (and "3.0000") to fewer decimals
    assert "batch 32,765 (2.99996 GiB; batch 32,766 would need 3.00005 GiB)" in out


def test_distinct_falls_back_to_exact_bytes():
    assert distinct(2 ** 30, 2 ** 30 + 1) == ["1,073,741,824 B", "1,073,741,825 B"]
    assert distinct(2 ** 30, 2 ** 31) == ["1.00 GiB", "2.00 GiB"]


def test_an_fc_input_count_is_not_echoed():
    spec = "sizecalc: 1\ninput: [65536, 1]\nlayers:\n  - flatten\n  - fc: {outputs: 10, inputs: 100}\n"
    err = invoke("table", "-", stdin=spec).stderr
    # the count once (the flatten's 1x65536 volume = 65,536 is fine), never ` 65536 = 65,536`
    assert "fc expects 100 inputs" in err and " 65536 = 65,536" not in err
    # a volume keeps its product: 1x1x65536 = 65,536
    err = invoke("layer", "fc", "--in", "1x1x65536", "--outputs", "10", "--inputs", "100").stderr
    assert "gets 1x1x65536 = 65,536;" in err


# lint: a misspelled key and a geometry error elsewhere are both found at once
BOTH = """\
sizecalc: 1
input: [3, 32, 32]
layers:
  - {id: stem, conv: 8, kernel: 5, stride: 2}
  - {id: typo, conv: 8, kernel: 3, colour: red}
  - {id: pool, maxpool: 3, stride: 2}
  - {id: side, from: input, conv: 4, kernel: 4, stride: 3}
"""


def test_lint_shows_expansion_and_geometry_findings_together():
    found = {(f.layer, f.rule) for f in lint_text(BOTH, "both.yaml").findings}
    # stem: (32 - 5)/2 + 1 = 14.5; side: (32 - 4)/3 + 1 = 10.33; typo: no key 'colour'
    assert found == {("stem", "non-integer-output"), ("typo", "unknown-key"), ("side", "non-integer-output")}
    # pool reads typo, which did not expand: it is not sized from a guess (from stem's 32x32x3
    # input it would be (32 - 3)/2 + 1 = 15.5), so it has no finding


def test_lint_sizes_layers_past_a_bad_block_definition():
    spec = """\
sizecalc: 1
input: [3, 32, 32]
blocks:
  b: {layers: [relu], extra: 1}
layers:
  - {id: c, conv: 8, kernel: 5, stride: 2}
  - use: b
"""
    found = [f.rule for f in lint_text(spec, "b.yaml").findings]
    # the block's stray key, and c's (32 - 5)/2 + 1 = 14.5; the use of b adds nothing of its own
    assert found == ["unknown-key", "non-integer-output"]


def test_lint_of_the_fixed_spec_has_no_error():
    fixed = BOTH.replace(", colour: red", "").replace("stride: 2}", "stride: 1}").replace("stride: 3}", "stride: 4}")
    # stem (32 - 5)/1 + 1 = 28, typo 26, pool (26 - 3)/1 + 1 = 24, side (32 - 4)/4 + 1 = 8;
    # pool's output is unused (side reads the input): a warning, as before
    assert [(f.layer, f.rule) for f in lint_text(fixed, "ok.yaml").findings] == [("pool", "unused-output")]
