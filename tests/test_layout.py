"""Which way a typed volume is read (issue #13, points 1 and 11).

--input and a spec's input: are channels first, `layer --in` channels last, unless --layout
(or the spec's layout:) says otherwise. An input that looks typed the other way is read as
asked, with a warning that names the other reading and its fix; an image without channels
is refused; one size is a vector of features; conv2d/maxpool3d check their rank; `layer
--pad LO:HI` pads unevenly. Every figure below is computed by hand in its comment.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.layout import looks_swapped, missing_channels, to_shape, typed_as
from sizecalc.tools.lint import lint_text


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def spec(tmp_path, text):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return str(path)


# -- the readings --------------------------------------------------------------------------

def test_a_volume_is_reordered_once_and_back():
    assert to_shape((224, 224, 3), "hwc") == (3, 224, 224)
    assert to_shape((3, 224, 224), "chw") == (3, 224, 224)
    assert to_shape((16, 112, 112, 3), "hwc") == (3, 16, 112, 112)  # D x H x W x C
    assert to_shape((3072,), "hwc") == (3072,)  # a vector reads the same either way
    assert typed_as((3, 224, 224), "hwc") == (224, 224, 3)


@pytest.mark.parametrize("typed,layout,fixed", [
    ((224, 224, 3), "chw", (3, 224, 224)),  # the resnet50 --input 224x224x3
    ((3, 32, 32), "hwc", (32, 32, 3)),  # the slides' C x H x W typed to layer --in
    ((480, 640, 3), "chw", (3, 480, 640)),  # not square: still an image's 3 channels last
    ((28, 28, 1), "chw", (1, 28, 28)),  # MNIST
    ((1000, 3), "chw", (3, 1000)),  # 1-D: 3 channels of length 1,000
])
def test_an_input_that_looks_typed_the_other_way(typed, layout, fixed):
    assert looks_swapped(typed, layout) == fixed


@pytest.mark.parametrize("typed,layout", [
    ((3, 224, 224), "chw"), ((32, 32, 3), "hwc"), ((7, 7, 512), "hwc"),  # the lecture's own volumes
    ((512, 7, 7), "chw"),  # VGG's last pool as an input: many channels, small sides, read right
    ((2048, 1, 1), "chw"), ((1, 1, 2048), "hwc"),  # after a global pool
    ((4, 4, 256), "hwc"), ((3, 32, 3), "chw"), ((3072,), "chw"),
])
def test_volumes_read_the_right_way_are_left_alone(typed, layout):
    assert looks_swapped(typed, layout) is None


def test_two_equal_image_sides_are_an_image_without_channels():
    assert missing_channels((224, 224)) and missing_channels((32, 32))
    assert not missing_channels((1, 16000))  # a 1-D signal: one channel of 16,000 samples
    assert not missing_channels((4, 4)) and not missing_channels((3, 32, 32))


# -- --input and layer --in ----------------------------------------------------------------

def test_resnet50_with_a_channels_last_input_warns_with_the_fix():
    result = run("table", "resnet50", "--input", "224x224x3", "--format", "json")
    assert result.exit_code == 0
    # read as asked (channels first): 224 channels of 224 x 3, the silent nonsense
    assert json.loads(result.stdout)["input"] == [224, 224, 3]
    (line,) = result.stderr.splitlines()
    assert line.startswith("warning: --input 224x224x3 is read C x H x W (the default of --input)")
    assert "fix: write --input 3x224x224; or add --layout hwc [layout]" in line


def test_layout_hwc_reads_the_input_as_typed_and_the_figures_are_torchvisions():
    result = run("table", "resnet50", "--input", "224x224x3", "--layout", "hwc", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    report = json.loads(result.stdout)
    assert report["input"] == [3, 224, 224]
    assert report["totals"]["params"] == 25_557_032  # torchvision's resnet50: 25,557,032 parameters


def test_layout_chw_reads_and_shows_channels_first():
    result = run("table", "vgg16", "--input", "3x224x224", "--layout", "chw", "--format", "csv")
    assert result.exit_code == 0 and result.stderr == ""
    # vgg16's first conv keeps 224 x 224 with 64 filters: C x H x W (the csv leaves out N)
    assert "stage1.conv1,conv,64x224x224," in result.stdout


def test_layer_reads_the_slides_chw_notation_with_layout_chw():
    result = run("layer", "conv", "--in", "3x32x32", "--layout", "chw", "--filters", 10, "--kernel", 5, "--pad", 2)
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    # the lecture: (32 - 5 + 2*2)/1 + 1 = 32, ten filters: 10 x 32 x 32; params (5*5*3 + 1)*10 = 760
    assert lines[0] == "conv: 3x32x32 -> 10x32x32"
    assert lines[1] == "  (32 - 5 + 2*2)/1 + 1 = 32"
    assert "params (5*5*3 + 1)*10 = 760 (750 weights + 10 biases)" in result.stdout
    same = run("layer", "conv", "--in", "32x32x3", "--filters", 10, "--kernel", 5, "--pad", 2)
    assert same.stdout.splitlines()[0] == "conv: 32x32x3 -> 32x32x10"  # the lecture's H x W x C, the default
    assert same.stdout.splitlines()[1:] == lines[1:]


def test_layer_warns_when_its_channels_last_default_meets_chw():
    result = run("layer", "conv", "--in", "3x32x32", "--filters", 10, "--kernel", 5, "--pad", 2)
    assert result.exit_code == 0
    # read H x W x C it is 32 channels of 3 x 32: (3 - 5 + 2*2)/1 + 1 = 3 rows
    assert result.stdout.splitlines()[0] == "conv: 3x32x32 -> 3x32x10"
    assert "is read H x W x C (the default of --in)" in result.stderr
    assert "fix: write --in 32x32x3; or add --layout chw [layout]" in result.stderr


@pytest.mark.parametrize("args,fix", [
    (("layer", "conv", "--in", "32x32", "--filters", 10, "--kernel", 5), "--in 32x32x3 (3 channels)"),
    (("table", "vgg16", "--input", "224x224"), "--input 3x224x224 (3 channels)"),
])
def test_an_image_without_channels_is_refused(args, fix):
    result = run(*args)
    assert result.exit_code == 2
    assert "has no channels" in result.output and fix in result.output
    assert "1-D volume" in result.output  # what it would have been read as


def test_a_stated_layout_reads_two_equal_sizes_as_a_1d_volume():
    # C x L = 8 channels of length 8; conv1d kernel 3: (8 - 3)/1 + 1 = 6, params (3*8 + 1)*4 = 100
    result = run("layer", "conv1d", "--in", "8x8", "--layout", "chw", "--filters", 4, "--kernel", 3)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "conv: 8x8 -> 4x6"
    assert "params (3*8 + 1)*4 = 100 (96 weights + 4 biases)" in result.stdout


# -- vectors ---------------------------------------------------------------------------------

def test_fc_on_a_vector_the_lectures_3072():
    # 32x32x3 stretched to 3,072 x 1, ten classes: (3072 + 1)*10 = 30,730 params, 30,720 MACs
    result = run("layer", "fc", "--in", 3072, "--outputs", 10)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "fc: 3072 -> 10"
    assert "params (3072 + 1)*10 = 30,730 (30,720 weights + 10 biases)" in result.stdout
    assert "MACs 30,720" in result.stdout


def test_a_spec_input_may_be_a_vector():
    # an MLP: 3072 -> 100 -> 10: (3072 + 1)*100 + (100 + 1)*10 = 307,300 + 1,010 = 308,310
    report = sizecalc.analyze("input: [3072]\nlayers:\n  - {fc: 100}\n  - relu\n  - dropout\n  - {fc: 10}\n")
    assert report.totals.params == 308_310
    assert [row.output for row in report.rows] == [(100,), (100,), (100,), (10,)]


def test_a_conv_on_a_vector_names_the_vector():
    result = run("layer", "conv", "--in", 4096, "--filters", 8, "--kernel", 3)
    assert result.exit_code == 1
    assert "is a vector of 4,096" in result.output


@pytest.mark.parametrize("text,said", [
    ("input: [1, 2, 3, 4, 5]", "not a list of 5 sizes"),
    ("input: []", "not an empty list"),
    ("input: {c: 3}", "not a mapping"),
])
def test_an_input_of_the_wrong_length_says_what_it_is(tmp_path, text, said):
    result = run("table", spec(tmp_path, text + "\nlayers:\n  - relu\n"))
    assert result.exit_code == 1
    assert "input must be a list of 1 to 4 sizes, " + said in result.output
    assert "not a list;" not in result.output and "[C] is a vector of features" in result.output


# -- the spec's input: and layout: -----------------------------------------------------------

def test_a_spec_input_that_looks_channels_last_warns_at_its_line(tmp_path):
    path = spec(tmp_path, "input: [224, 224, 3]\nlayers:\n  - {conv: 8, kernel: 3}\n")
    result = run("table", path, "--format", "csv")
    assert result.exit_code == 0
    assert f"{path}:1:8: warning: input [224, 224, 3] is read C x H x W" in result.stderr
    assert "fix: write input: [3, 224, 224]; or add layout: hwc [layout]" in result.stderr
    (finding,) = lint_text("input: [224, 224, 3]\nlayers:\n  - {conv: 8, kernel: 3}\n").findings
    assert (finding.severity, finding.rule) == ("warning", "layout")


def test_spec_layout_hwc_reads_input_channels_last(tmp_path):
    text = "input: [224, 224, 3]\nlayout: hwc\nlayers:\n  - {conv: 8, kernel: 3}\n"
    (row,) = sizecalc.analyze(text).rows
    # (224 - 3)/1 + 1 = 222, 8 filters; params (3*3*3 + 1)*8 = 224
    assert row.output == (8, 222, 222) and row.params == 224
    assert lint_text(text).findings == []


def test_a_spec_input_without_channels_is_an_error(tmp_path):
    result = run("table", spec(tmp_path, "input: [224, 224]\nlayers:\n  - {conv: 8, kernel: 3}\n"))
    assert result.exit_code == 1
    assert "input [224, 224] has no channels" in result.output
    assert "write input: [3, 224, 224] (3 channels)" in result.output
    assert "[missing-channels]" in result.output
    # saying so reads it as the 1-D volume: 224 channels of 224, (224 - 3)/1 + 1 = 222
    (row,) = sizecalc.analyze("input: [224, 224]\nlayout: chw\nlayers:\n  - {conv: 8, kernel: 3}\n").rows
    assert row.output == (8, 222)


def test_a_misspelled_layout_is_an_error_with_a_valid_fix(tmp_path):
    result = run("table", spec(tmp_path, "input: [3, 32, 32]\nlayout: hcw\nlayers:\n  - relu\n"))
    assert result.exit_code == 1
    assert "layout must be chw (input: [C, H, W]) or hwc (input: [H, W, C])" in result.output


# -- ranks that a name states -----------------------------------------------------------------

@pytest.mark.parametrize("op,volume,said,fix", [
    ("conv2d", "32x3", "conv2d is a 2-D layer (H x W x C), but its input 32x3 is 1-D (L x C)", "write conv1d"),
    ("conv1d", "32x32x3", "conv1d is a 1-D layer (L x C), but its input 32x32x3 is 2-D", "write conv2d"),
    ("maxpool3d", "32x32x3", "maxpool3d is a 3-D layer", "write maxpool2d"),
    ("avgpool2d", "8x8x8x3", "avgpool2d is a 2-D layer", "write avgpool3d"),
])
def test_a_name_with_a_rank_refuses_another_rank(op, volume, said, fix):
    result = run("layer", op, "--in", volume, "--filters", 2, "--kernel", 2) if op.startswith("conv") else \
        run("layer", op, "--in", volume, "--kernel", 2)
    assert result.exit_code == 1
    assert said in result.output and fix in result.output and "[rank]" in result.output


def test_a_rank_error_in_a_spec_points_at_the_layer(tmp_path):
    text = "input: [3, 32]\nlayers:\n  - {conv: 4, kernel: 3}\n  - {maxpool2d: 2}\n"
    (finding,) = lint_text(text, "net.yaml").findings
    assert (finding.rule, finding.loc.line) == ("rank", 4)
    assert "maxpool2d is a 2-D layer" in finding.message and "write maxpool1d" in finding.fix
    # the same layer spelled without a rank pools the 1-D volume: (32 - 3)/1 + 1 = 30, /2 = 15
    assert sizecalc.analyze(text.replace("maxpool2d", "maxpool")).rows[-1].output == (4, 15)


# -- uneven padding in `layer` ----------------------------------------------------------------

def test_layer_pads_lo_and_hi_on_every_dimension():
    result = run("layer", "conv", "--in", "32x32x3", "--filters", 10, "--kernel", 4, "--pad", "1:2")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    # (32 - 4 + 1 + 2)/1 + 1 = 32 on both sides: an even kernel keeps the size with pads 1 and 2
    assert lines[:2] == ["conv: 32x32x3 -> 32x32x10", "  (32 - 4 + 1 + 2)/1 + 1 = 32"]
    spec_form = run("layer", "conv", "--in", "32x32x3", "--filters", 10, "--kernel", 4, "--pad", "[[1,2],[1,2]]")
    assert spec_form.stdout == result.stdout


def test_layer_pads_per_dimension():
    result = run("layer", "conv", "--in", "32x32x3", "--filters", 10, "--kernel", 4, "--pad", "1:2,0:0")
    # H: (32 - 4 + 1 + 2)/1 + 1 = 32, W: (32 - 4 + 2*0)/1 + 1 = 29
    assert result.stdout.splitlines()[:3] == ["conv: 32x32x3 -> 32x29x10", "  H: (32 - 4 + 1 + 2)/1 + 1 = 32",
                                              "  W: (32 - 4 + 2*0)/1 + 1 = 29"]


def test_uneven_padding_matches_torch():
    torch = pytest.importorskip("torch")
    # torch pads unevenly only in front of the conv: F.pad(x, (left, right, top, bottom))
    x = torch.zeros(1, 3, 32, 32)
    padded = torch.nn.functional.pad(x, (0, 0, 1, 2))
    out = torch.nn.Conv2d(3, 10, 4)(padded)
    assert tuple(out.shape[1:]) == (10, 32, 29)


def test_inputs_sweeps_check_the_rank_too(tmp_path):
    # conv1d on a 2-D spec refuses every size, as `table` does (PyTorch's Conv1d would)
    result = run("inputs", spec(tmp_path, "input: [3, 32, 32]\nlayers:\n  - {conv1d: 4, kernel: 3}\n"),
                 "--range", "30:34")
    assert result.exit_code == 1
    assert "(0 of 5 fit)" in result.output and "conv1d is a 1-D layer" in result.output


def test_a_variant_input_is_read_in_the_specs_layout():
    text = ("input: [32, 32, 3]\nlayout: hwc\nparams: {w: 8}\nvariants:\n  big: {with: {w: 16}, input: [64, 64, 3]}\n"
            "layers:\n  - {conv: $w, kernel: 3}\n")
    (row,) = sizecalc.analyze(text).rows
    # the first variant, big: 64 x 64 x 3 read channels last; (64 - 3)/1 + 1 = 62 with 16 filters
    assert row.output == (16, 62, 62)
