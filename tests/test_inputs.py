"""`sizecalc inputs`: which input sizes a spec accepts, worked out by hand.

VGG16 has five 2x2 stride-2 pools and only "same" 3x3 convs ((W - 3 + 2*1)/1 + 1 = W),
so a side fits exactly when it halves five times: the multiples of 32. torchvision's
vgg16_bn then pools adaptively to 7x7 and takes them all; the lecture's vgg16 pins fc6 to
7x7x512 = 25,088 inputs and takes 224 only (256/32 = 8: 8x8x512 = 32,768)."""

from __future__ import annotations

import json

import pytest

from click.testing import CliRunner

from sizecalc.cli import main
from sizecalc.report.inputs_out import runs
from sizecalc.tools.inputs import parse_range, sweep


def run(*args, input=None):
    result = CliRunner().invoke(main, ["inputs", *map(str, args)], input=input)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def test_vgg16_fits_the_multiples_of_32():
    result = sweep("vgg16_bn", list(range(192, 321)))
    assert result.fitting == [192, 224, 256, 288, 320]


def test_the_lecture_vgg16_fits_224_only():
    result = sweep("vgg16", list(range(192, 321)))
    assert result.fitting == [224]
    by_side = {p.input_shape[1]: p for p in result.probes}
    # 192/32 = 6 and 320/32 = 10
    assert by_side[192].message == "fc expects 7x7x512 = 25,088 inputs, gets 6x6x512 = 18,432"
    assert by_side[320].message == "fc expects 7x7x512 = 25,088 inputs, gets 10x10x512 = 51,200"


def test_vgg16_225_breaks_at_the_first_pool():
    probe = sweep("vgg16", [224, 225]).probes
    assert probe[0].fits
    # (225 - 2 + 2*0)/2 + 1 = 112.5
    assert probe[1].layer == "stage1.maxpool1"
    assert probe[1].rule == "non-integer-output"
    assert "(225 - 2 + 2*0)/2 + 1 = 112.5" in probe[1].message


def test_vgg16_220_breaks_at_the_third_pool():
    # 220 -> 110 -> 55, then (55 - 2 + 2*0)/2 + 1 = 27.5
    probe = sweep("vgg16", [220]).probes[0]
    assert probe.layer == "stage3.maxpool1"
    assert "(55 - 2 + 2*0)/2 + 1 = 27.5" in probe.message


def test_fixed_height_sweeps_the_width():
    # conv1 11x11 stride 4 needs (W - 11)/4 whole: 223 and 227; 223 gives 54, then
    # pool1 (54 - 3 + 2*0)/2 + 1 = 26.5; 227 gives 55 and (55 - 3)/2 + 1 = 27
    result = sweep("alexnet-cs231n", list(range(220, 231)), height=227)
    assert result.fitting == [227]
    by_width = {p.input_shape[2]: p for p in result.probes}
    assert by_width[223].layer == "pool1"
    assert by_width[224].layer == "conv1" and "(224 - 11 + 2*0)/4 + 1 = 54.25" in by_width[224].message
    assert all(p.input_shape[:2] == (3, 227) for p in result.probes)


def test_cli_text_lists_each_rejected_size():
    result = run("vgg16", "--range", "220:232:4")
    assert result.exit_code == 0
    assert "fits: 224" in result.output
    for side in ("220x220", "228x228", "232x232"):
        assert side in result.output


def test_cli_nothing_fits_exit_one():
    result = run("vgg16", "--range", "225:225")
    assert result.exit_code == 1
    assert "stage1.maxpool1" in result.output


def test_cli_json():
    data = json.loads(run("vgg16_bn", "--range", "192:256:32", "--format", "json").output)
    assert data["fitting"] == [192, 224, 256]
    assert [s["fits"] for s in data["sizes"]] == [True, True, True]


def test_cli_width_fixed():
    result = run("vgg16", "--range", "224:225", "--width", 224)
    assert result.exit_code == 0
    assert "225x224" in result.output  # H x W: the height swept, the width kept


def test_cli_spec_from_stdin():
    spec = "input: [1, 8, 8]\nlayers:\n  - {maxpool: 2}\n"
    # (W - 2 + 0)/2 + 1 is whole for even W
    result = run("-", "--range", "6:9", "--format", "json", input=spec)
    assert json.loads(result.output)["fitting"] == [6, 8]


def test_bad_options():
    for args, hint in [
        (("vgg16", "--range", "256:200"), "--range"),
        (("vgg16", "--range", "abc"), "--range"),
        (("vgg16", "--range", "1:100000"), "at most"),
        (("vgg16", "--range", "200:210:0"), "STEP"),
        (("vgg16", "--range", "200:210", "--height", 0), "--height"),
        (("vgg16", "--range", "200:210", "--height", 224, "--width", 224), "not both"),
        (("vgg16", "--range", "200:210", "--square", "--width", 224), "--square"),
    ]:
        result = run(*args)
        assert result.exit_code == 2, args
        assert hint in result.output, args


def test_unknown_spec_is_one_line():
    result = run("vgg17", "--range", "200:210")
    assert result.exit_code == 2
    assert "did you mean" in result.output


def test_parse_range_and_runs():
    assert parse_range("200:204") == [200, 201, 202, 203, 204]
    assert parse_range("192:320:64") == [192, 256, 320]
    assert runs([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9, 10"


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "shufflenet_v2_x1_0", "vgg16", "lenet5"])
def test_the_shape_only_walk_gives_the_full_walks_first_error(name):
    # the sweep sizes all inputs at once; each verdict must be the first error `table` reports
    # (all that `inputs` shows of it: the fix of a pinned fc, an input size, is table's alone)
    from sizecalc.engine.shapes import first_errors
    from sizecalc.engine.walk import analyze
    from sizecalc.spec import load
    base = load(name)
    c = base.input_shape[0]
    shapes = [(c, n, n) for n in (1, 2, 7, 31, 32, 33, 64, 95, 224, 225, 256)] + [(c, 224, 97), (c, 32, 300)]
    for shape, error in zip(shapes, first_errors(base, shapes)):
        full = analyze(load(name, shape)).errors()
        seen = full[0] if full else None
        assert (error and (error.layer, error.rule, error.message, error.loc)) == \
            (seen and (seen.layer, seen.rule, seen.message, seen.loc)), shape


def test_a_one_dimensional_input_sweeps_its_length(tmp_path):
    # conv1d kernel 3 on a length L: (L - 3)/1 + 1 >= 1 needs L >= 3, so 1 and 2 break
    spec = tmp_path / "one_d.yaml"
    spec.write_text("sizecalc: 1\ninput: [3, 32]\nlayers:\n  - {conv1d: 8, kernel: 3}\n")
    out = CliRunner().invoke(main, ["inputs", str(spec), "--range", "1:6"])
    assert out.exit_code == 0, out.output
    assert "input Nx3, N from 1 to 6 (4 of 6 fit)" in out.output
    assert "fits: 3-6" in out.output


def test_evenly_spaced_fits_are_named_and_many_breaks_grouped_by_layer():
    # vgg16_bn at 100..400: the multiples of 32 (five 2x2 pools), 128 to 384; of the 292 others,
    # the odd sides break at the first pool: 151 of them, from 101 = (101 - 2)/2 + 1 = 50.5
    result = run("vgg16_bn", "--range", "100:400")
    assert "fits: 128, 160, 192, 224, 256, 288, 320, 352, 384 (every 32nd: N = 128 + 32k)" in result.output
    assert "  stage1.maxpool1 (150 sizes): 101, 103, 105," in result.output
    assert "    e.g. 101x101: (101 - 2 + 2*0)/2 + 1 = 50.5" in result.output


def test_without_a_range_every_side_up_to_twice_the_specs_is_tried():
    # lenet5 takes 32x32: 1 to 64
    assert sweep("lenet5", None).sizes == list(range(1, 65))
    assert "N from 1 to 64" in run("lenet5").output


def test_many_evenly_spaced_fits_are_shown_by_their_rule():
    # M5's first conv, (N - 80 + 2*38)/4 + 1, is whole for every multiple of 4 and nothing else:
    # 4096/4 = 1,024 of the default sweep (1 to twice the spec's 8000, capped at 4,096 sizes)
    result = CliRunner().invoke(main, ["inputs", "m5"])
    assert result.exit_code == 0, result.output
    assert "(1024 of 4096 fit)\nfits: 4, 8, 12, ..., 4096 (every 4th: N = 4 + 4k)\n" in result.output


def test_ordinals():
    from sizecalc.report.inputs_out import ordinal
    assert [ordinal(n) for n in (4, 16, 21, 32, 11, 12, 13, 103, 112)] == \
        ["4th", "16th", "21st", "32nd", "11th", "12th", "13th", "103rd", "112th"]
