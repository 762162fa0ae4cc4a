"""A pinned fc (`inputs:`, torch's in_features): another input size is an error with both sizes.

Hand numbers. The lecture's VGG16 halves 224 five times with its 2x2 stride-2 pools, so fc6
sees 7x7x512 = 25,088; from 256: 256/32 = 8, 8x8x512 = 32,768. The lecture's AlexNet ends
with pool3 on 13x13: (13 - 3)/2 + 1 = 6, 6x6x256 = 9,216. LeNet-5's C5 is a 5x5 conv on
S4's 5x5x16 (5*5*16 = 400 inputs per unit) and gives 1x1x120, F6's 120 inputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.tools.inputs import sweep

SPECS = Path(__file__).resolve().parents[1] / "specs"


def table(*args):
    result = CliRunner().invoke(main, ["table", *map(str, args)])
    assert "Traceback" not in result.output
    return result


def test_vgg16_lecture_fc6_takes_7x7x512():
    report = sizecalc.analyze("vgg16")
    # fc6: (25,088 + 1) * 4,096 = 102,764,544 params
    assert report.row("fc6").weights + report.row("fc6").biases == 102_764_544


def test_vgg16_at_256_is_an_error_naming_both_sizes():
    result = table("vgg16", "--input", "3x256x256")
    assert result.exit_code == 1
    line = result.output.strip()
    assert "error: fc6: fc expects 7x7x512 = 25,088 inputs, gets 8x8x512 = 32,768" in line
    assert "[fc-input-mismatch]" in line and len(line.splitlines()) == 1
    # the fix: the input the spec was written for, and a classifier for 32,768 inputs:
    # (32,768 + 1) * 4,096 = 134,221,824
    assert "fix: input [3, 224, 224], the input this spec was written for" in line
    assert "inputs: 32768, a classifier for this input (params (32,768 + 1)*4,096 = 134,221,824)" in line


def test_the_fixes_offered_are_valid():
    # the input offered sizes the whole network; `inputs: 32768` sizes fc6 for 256x256
    assert sizecalc.analyze("vgg16", input_shape=(3, 224, 224)).totals.params == 138_357_544
    text = (SPECS / "vgg.yaml").read_text().replace("inputs: 25088", "inputs: 32768")
    report = sizecalc.analyze(text, input_shape=(3, 256, 256))
    assert report.row("fc6").weights + report.row("fc6").biases == 134_221_824


def test_alexnet_fc6_expects_6x6x256():
    # 259: conv1 (259 - 11)/4 + 1 = 63, pool1 (63 - 3)/2 + 1 = 31, pool2 15, pool3 7: 7x7x256
    result = table("alexnet-cs231n", "--input", "3x259x259")
    assert result.exit_code == 1
    assert "fc6: fc expects 6x6x256 = 9,216 inputs, gets 7x7x256 = 12,544" in result.output
    assert "input [3, 227, 227]" in result.output


def test_lenet5_f6_expects_c5s_120():
    # 36: c1 32, s2 16, c3 12, s4 6, c5 (6 - 5)/1 + 1 = 2: 2x2x120 = 480
    result = table("lenet5", "--input", "1x36x36")
    assert result.exit_code == 1
    assert "f6: fc expects 1x1x120 = 120 inputs, gets 2x2x120 = 480" in result.output


def test_lenet_with_an_fc_on_5x5x16():
    # the PyTorch-tutorial LeNet: fc1 = Linear(16*5*5, 120) on S4's 5x5x16 = 400
    spec = ("input: [1, 32, 32]\nlayers:\n  - {conv: 6, kernel: 5}\n  - {maxpool: 2}\n"
            "  - {conv: 16, kernel: 5}\n  - {maxpool: 2}\n  - {fc: 120, in_features: 400}\n  - {fc: 10}\n")
    report = sizecalc.analyze(spec)
    assert report.rows[4].weights + report.rows[4].biases == (400 + 1) * 120
    with pytest.raises(sizecalc.SpecError) as err:
        sizecalc.analyze(spec, input_shape=(1, 28, 28))
    # 28: 24, 12, 8, 4: 4x4x16 = 256
    assert "fc expects 5x5x16 = 400 inputs, gets 4x4x16 = 256" in str(err.value)
    assert "input [1, 32, 32], the input this spec was written for" in str(err.value)


def test_a_spec_written_for_the_wrong_input_is_offered_the_nearest_that_fits():
    # written at 30: 30 -> 15 -> (15 - 2)/2 + 1 = 7.5 breaks, so the fix cannot be the spec's own
    # input. The fc wants 4x4x8 = 128: two exact 2x2 pools give 4 from 16 only (17 -> 8.5)
    spec = "input: [3, 30, 30]\nlayers:\n  - {conv: 8, kernel: 3, padding: 1}\n  - {maxpool: 2}\n" \
           "  - {maxpool: 2}\n  - {fc: 10, inputs: 128}\n"
    with pytest.raises(sizecalc.SpecError) as err:
        sizecalc.analyze(spec, input_shape=(3, 24, 24))
    assert "fc expects 4x4x8 = 128 inputs, gets 6x6x8 = 288" in str(err.value)
    assert "fix: input [3, 16, 16], which gives fc1 its 128 inputs" in str(err.value)


def test_the_torch_builder_uses_the_pinned_size():
    from sizecalc.torch.backend import build_module
    pytest.importorskip("torch")
    module = build_module(sizecalc.load("alexnet-cs231n"))
    linears = [m for m in module.modules() if type(m).__name__ == "Linear"]
    assert (linears[0].in_features, linears[0].out_features) == (9216, 4096)


def test_inputs_reports_the_mismatch_as_a_break():
    result = sweep("vgg16", [224, 256])
    assert result.fitting == [224]
    broken = result.probes[1]
    assert broken.layer == "fc6" and broken.rule == "fc-input-mismatch"
    assert broken.message == "fc expects 7x7x512 = 25,088 inputs, gets 8x8x512 = 32,768"


@pytest.mark.parametrize("name, side", [("alexnet-cs231n", 227), ("alexnet-2012", 227), ("vgg16", 224),
                                        ("vgg19", 224), ("lenet5", 32), ("cifar-simple", 32)])
def test_pinned_builtins_take_only_their_own_size_nearby(name, side):
    # each pins its first fc and rounds exactly, so of the sizes around its own only its own fits
    assert sweep(name, list(range(side - 8, side + 9))).fitting == [side]


def test_zfnet_rounds_so_several_sizes_give_6x6_but_256_gives_7x7():
    # 256: conv1 floor((256 - 7 + 2*1)/2) + 1 = 126, pool1 ceil((126 - 3)/2) + 1 = 63,
    # conv2 (63 - 5)/2 + 1 = 30, pool2 ceil(27/2) + 1 = 15, pool3 ceil(12/2) + 1 = 7
    result = sweep("zfnet", [224, 256])
    assert result.fitting == [224]
    assert result.probes[1].message == "fc expects 6x6x512 = 18,432 inputs, gets 7x7x512 = 25,088"


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "vgg16_bn"])
def test_torchvision_builtins_pin_nothing(name):
    # an adaptive pool before the classifier: 7x7 (VGG) or 6x6 (AlexNet) whatever the input
    assert 256 in sweep(name, [224, 256]).fitting


def test_the_lecture_vgg16_at_any_multiple_of_32_is_no_longer_silent():
    # it used to give 169,814,824 params at 256: (32,768 + 1)*4,096 more than 224's fc6
    with pytest.raises(sizecalc.SpecError):
        sizecalc.analyze("vgg16", input_shape=(3, 256, 256))
