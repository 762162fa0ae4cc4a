"""The lecture's own questions about a conv layer's matrices (issue #13, point 7), and the
labels of the arithmetic of a layer that is not the same in every dimension (point 12).

The notes' "Convolutions as Matrix Multiplication": a 227x227x3 input convolved with 96
filters of 11x11x3 at stride 4 stretches every 11x11x3 window into a column of
11*11*3 = 363 values; (227 - 11)/4 + 1 = 55 positions along each side give 55*55 = 3,025
columns, so X_col is 363 x 3,025; the filters stretched into rows give W_row 96 x 363; and
np.dot(W_row, X_col) is 96 x 3,025, reshaped into 55x55x96. The slides' conv layer on a
3x32x32 image has "6x3x5x5 filters" (6 filters, 3 channels, 5x5).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.errors import SpecError


def explain(spec: str, layer: str) -> list[str]:
    return sizecalc.analyze(spec).row(layer).explain


def one(input_shape, layer: str) -> list[str]:
    return sizecalc.analyze(f"sizecalc: 1\ninput: {list(input_shape)}\nlayers:\n  - {layer}\n").rows[0].explain


def test_alexnet_conv1_as_a_matrix_multiply():
    lines = explain("alexnet-cs231n", "conv1")
    # 11*11*3 = 363 rows, 55*55 = 3,025 columns; 96 filters of 363 weights
    assert "im2col: X_col 363 x 3,025 (11*11*3 x 55*55), W_row 96 x 363, W_row X_col 96 x 3,025 -> 55x55x96" in lines
    # the weight tensor: 96 x 3 x 11 x 11 = 34,848 weights (the params line adds 96 biases: 34,944)
    assert "weights 96x3x11x11 (filters x channels x kernel) = 34,848" in lines


def test_the_slides_six_filters_are_6x3x5x5():
    lines = one((3, 32, 32), "{conv: 6, kernel: 5}")
    # 6*3*5*5 = 450 weights; X_col 5*5*3 = 75 rows x 28*28 = 784 positions ((32 - 5)/1 + 1 = 28)
    assert "weights 6x3x5x5 (filters x channels x kernel) = 450" in lines
    assert "im2col: X_col 75 x 784 (5*5*3 x 28*28), W_row 6 x 75, W_row X_col 6 x 784 -> 28x28x6" in lines


def test_lenet_c1_is_6x1x5x5():
    # one grey channel: 6*1*5*5 = 150 weights
    assert "weights 6x1x5x5 (filters x channels x kernel) = 150" in explain("lenet5", "c1")


def test_grouped_conv_is_sized_per_group():
    """AlexNet 2012's conv2: 256 filters of 5x5x48 on 27x27x96 in 2 groups (one per GPU):
    per group X_col 5*5*48 = 1,200 x 27*27 = 729, W_row 128 x 1,200, result 128 x 729."""
    lines = explain("alexnet-2012", "conv2")
    assert "weights 256x48x5x5 (filters x channels per group x kernel) = 307,200" in lines
    assert ("im2col per group (2 groups of 48 input channels and 128 filters): X_col 1,200 x 729 "
            "(5*5*48 x 27*27), W_row 128 x 1,200, W_row X_col 128 x 729; 2 results stacked -> 27x27x256") in lines


def test_depthwise_conv_is_one_filter_per_channel():
    # 32 groups of one channel: X_col 3*3*1 = 9 x 14*14 = 196, W_row 1 x 9
    lines = one((32, 14, 14), "{conv, depthwise: true, kernel: 3, padding: 1}")
    assert "weights 32x1x3x3 (filters x channels per group x kernel) = 288" in lines
    assert any(line.startswith("im2col per group (32 groups of 1 input channel and 1 filter): X_col 9 x 196 ")
               for line in lines)


def test_1d_and_3d_convs():
    # 1-D: 8 channels of length 100, 16 filters of 5: X_col 5*8 = 40 x 96 positions
    assert "im2col: X_col 40 x 96 (5*8 x 96), W_row 16 x 40, W_row X_col 16 x 96 -> 96x16" in one(
        (8, 100), "{conv: 16, kernel: 5}")
    # 3-D: 2 channels of 4x6x6, 4 filters of 3x3x3: X_col 3*3*3*2 = 54 x 2*4*4 = 32
    lines = one((2, 4, 6, 6), "{conv: 4, kernel: 3}")
    assert "weights 4x2x3x3x3 (filters x channels x kernel) = 216" in lines
    assert "im2col: X_col 54 x 32 (3*3*3*2 x 2*4*4), W_row 4 x 54, W_row X_col 4 x 32 -> 2x4x4x4" in lines


def test_layer_command_shows_the_matrices():
    result = CliRunner().invoke(main, ["layer", "conv", "--in", "227x227x3", "--filters", "96", "--kernel", "11",
                                       "--stride", "4"])
    assert result.exit_code == 0, result.output
    assert "X_col 363 x 3,025" in result.output and "W_row 96 x 363" in result.output
    assert "weights 96x3x11x11" in result.output


def test_table_explain_shows_the_matrices_of_every_conv():
    result = CliRunner().invoke(main, ["table", "vgg16", "--explain"])
    assert result.exit_code == 0, result.output
    # 13 convs; stage1's first: 3*3*3 = 27 rows x 224*224 = 50,176 columns, W_row 64 x 27
    assert result.output.count("im2col: X_col") == 13
    assert "X_col 27 x 50,176 (3*3*3 x 224*224), W_row 64 x 27" in result.output


def test_a_non_square_layer_labels_each_dimension():
    # a 5x3 kernel on a square input: H (32 - 5)/1 + 1 = 28, W (32 - 3)/1 + 1 = 30
    lines = one((3, 32, 32), "{conv: 6, kernel: [5, 3]}")
    assert lines[:2] == ["H: (32 - 5 + 2*0)/1 + 1 = 28", "W: (32 - 3 + 2*0)/1 + 1 = 30"]
    # stride 2 along W only: (32 - 2)/2 + 1 = 16 and (32 - 2)/1 + 1 = 31
    assert one((3, 32, 32), "{maxpool: 2, stride: [2, 1]}")[:2] == ["H: (32 - 2 + 2*0)/2 + 1 = 16",
                                                                    "W: (32 - 2 + 2*0)/1 + 1 = 31"]
    # 3-D: D, H and W
    lines = one((2, 4, 6, 6), "{conv: 4, kernel: [1, 3, 3]}")
    assert lines[:3] == ["D: (4 - 1 + 2*0)/1 + 1 = 4", "H: (6 - 3 + 2*0)/1 + 1 = 4", "W: (6 - 3 + 2*0)/1 + 1 = 4"]


def test_a_square_layer_shows_its_arithmetic_once():
    assert one((3, 32, 32), "{conv: 6, kernel: 5}")[0] == "(32 - 5 + 2*0)/1 + 1 = 28"


def test_an_error_in_one_dimension_names_it():
    with pytest.raises(SpecError) as err:
        sizecalc.analyze("sizecalc: 1\ninput: [3, 32, 32]\nlayers:\n  - {conv: 6, kernel: 3, stride: [1, 2]}\n")
    # W: (32 - 3)/2 + 1 = 15.5 does not tile; H (stride 1) does
    assert err.value.findings[0].message.startswith("W: (32 - 3 + 2*0)/2 + 1 = 15.5")
