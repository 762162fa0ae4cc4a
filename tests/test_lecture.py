"""Every worked example of the lecture notes, with the number a person computes by hand."""

from __future__ import annotations

import pytest

import sizecalc
from sizecalc.core.errors import SpecError
from sizecalc.tools.layer import one_layer


def layer(op, hwc, **options):
    h, w, c = hwc
    return one_layer(op, (c, h, w), {k: str(v) for k, v in options.items()}).rows[0]


def rejected(op, hwc, **options) -> str:
    with pytest.raises(SpecError) as err:
        layer(op, hwc, **options)
    return str(err.value)


# 7x7 input, 3x3 connectivity: (N - F)/stride + 1
def test_seven_by_seven_stride_one_gives_five():
    assert layer("conv", (7, 7, 1), filters=1, kernel=3, stride=1).output == (1, 5, 5)


def test_seven_by_seven_stride_two_gives_three():
    assert layer("conv", (7, 7, 1), filters=1, kernel=3, stride=2).output == (1, 3, 3)


def test_seven_by_seven_stride_three_cannot():
    message = rejected("conv", (7, 7, 1), filters=1, kernel=3, stride=3)
    assert "(7 - 3 + 2*0)/3 + 1 = 2.33" in message
    assert "non-integer-output" in message


def test_seven_by_seven_pad_one_keeps_seven():
    assert layer("conv", (7, 7, 1), filters=1, kernel=3, stride=1, pad=1).output == (1, 7, 7)


# 32x32x3 with five 5x5 filters
def test_five_filters_stride_one():
    row = layer("conv", (32, 32, 3), filters=5, kernel=5, stride=1)
    assert row.output == (5, 28, 28)
    assert row.weights // 5 == 5 * 5 * 3 == 75


def test_five_filters_stride_two_is_fourteen_and_a_half():
    assert "(32 - 5 + 2*0)/2 + 1 = 14.5" in rejected("conv", (32, 32, 3), filters=5, kernel=5, stride=2)


def test_five_filters_stride_three():
    assert layer("conv", (32, 32, 3), filters=5, kernel=5, stride=3).output == (5, 10, 10)


# ten 5x5 filters, stride 1, pad 2 on 32x32x3
def test_ten_filters_pad_two():
    row = layer("conv", (32, 32, 3), filters=10, kernel=5, stride=1, pad=2)
    assert row.output == (10, 32, 32)
    assert row.params == (5 * 5 * 3 + 1) * 10 == 760


def test_three_by_three_filters_then_another_then_pool():
    spec = """
input: [3, 32, 32]
layers:
  - {id: a, conv: 10, kernel: 3, padding: 1}
  - {id: b, conv: 10, kernel: 3, padding: 1}
  - {id: pool, maxpool: 2, stride: 2}
"""
    report = sizecalc.analyze(spec)
    assert report.row("a").params == (3 * 3 * 3 + 1) * 10 == 280
    assert report.row("b").params == (3 * 3 * 10 + 1) * 10 == 910
    assert report.row("pool").output == (10, 16, 16)
    assert report.row("pool").params == 0


# thirty 5x5 filters, pad 2: shared vs locally connected
def test_parameter_sharing_against_locally_connected():
    conv = layer("conv", (32, 32, 3), filters=30, kernel=5, pad=2)
    assert conv.activations == 32 * 32 * 30 == 30_720
    assert conv.weights == 30 * 75 == 2_250
    local = layer("local", (32, 32, 3), filters=30, kernel=5, pad=2)
    assert local.output == (30, 32, 32)
    assert local.weights == 30_720 * 75 == 2_304_000


def test_numpy_example_eleven_by_eleven_by_fourteen():
    assert layer("conv", (11, 11, 14), filters=2, kernel=5, stride=2, pad=0).output == (2, 4, 4)


def test_one_by_one_conv():
    assert layer("conv", (56, 56, 64), filters=32, kernel=1).output == (32, 56, 56)


def test_layer_pool_example():
    row = layer("pool", (55, 55, 96), kernel=3, stride=2)
    assert row.output == (96, 27, 27) and row.params == 0


# the lecture's simplified AlexNet: every row of its table
ALEXNET_TABLE = [
    ("conv1", (96, 55, 55)), ("pool1", (96, 27, 27)), ("norm1", (96, 27, 27)),
    ("conv2", (256, 27, 27)), ("pool2", (256, 13, 13)), ("norm2", (256, 13, 13)),
    ("conv3", (384, 13, 13)), ("conv4", (384, 13, 13)), ("conv5", (256, 13, 13)),
    ("pool3", (256, 6, 6)), ("fc6", (4096,)), ("fc7", (4096,)), ("fc8", (1000,)),
]


def test_alexnet_lecture_table():
    report = sizecalc.analyze("alexnet-cs231n")
    assert report.input_shape == (3, 227, 227)
    assert [(r.id, r.output) for r in report.rows] == ALEXNET_TABLE
    assert report.row("conv1").params == (11 * 11 * 3 + 1) * 96 == 34_944
    assert "(227 - 11 + 2*0)/4 + 1 = 55" in report.row("conv1").explain[0]
    assert "(55 - 3 + 2*0)/2 + 1 = 27" in report.row("pool1").explain[0]
    for pool in ("pool1", "pool2", "pool3"):
        assert report.row(pool).params == 0


# the VGG16 table of the notes: volume, memory (activations) and weights without biases
VGG16_TABLE = [
    ((64, 224, 224), 224 * 224 * 64, 1_728), ((64, 224, 224), 3_211_264, 36_864), ((64, 112, 112), 112 * 112 * 64, 0),
    ((128, 112, 112), 112 * 112 * 128, 73_728), ((128, 112, 112), 1_605_632, 147_456), ((128, 56, 56), 401_408, 0),
    ((256, 56, 56), 56 * 56 * 256, 294_912), ((256, 56, 56), 802_816, 589_824), ((256, 56, 56), 802_816, 589_824),
    ((256, 28, 28), 28 * 28 * 256, 0),
    ((512, 28, 28), 28 * 28 * 512, 1_179_648), ((512, 28, 28), 401_408, 2_359_296), ((512, 28, 28), 401_408, 2_359_296),
    ((512, 14, 14), 14 * 14 * 512, 0),
    ((512, 14, 14), 100_352, 2_359_296), ((512, 14, 14), 100_352, 2_359_296), ((512, 14, 14), 100_352, 2_359_296),
    ((512, 7, 7), 7 * 7 * 512, 0),
    ((4096,), 4096, 7 * 7 * 512 * 4096), ((4096,), 4096, 4096 * 4096), ((1000,), 1000, 4096 * 1000),
]


def test_vgg16_lecture_table():
    report = sizecalc.analyze("vgg16")
    rows = [r for r in report.rows if r.op in ("conv", "maxpool", "fc")]
    assert [(r.output, r.activations, r.weights) for r in rows] == VGG16_TABLE
    assert rows[-3].weights == 102_760_448
    assert report.totals.params == 138_357_544
    # the notes' input row: 224*224*3 = 150K, counted in the total memory
    assert report.totals.activations - sum(r.activations for r in report.rows) == 224 * 224 * 3


def test_vgg19_params():
    assert sizecalc.analyze("vgg19").totals.params == 143_667_240


def test_forward_memory_is_the_tables_values_times_batch_times_bytes():
    # the notes' VGG16 rows, input included, add up to 15,237,608 (tests/test_physical_memory.py
    # sums them by hand); the ReLUs are in place, so they add no storage
    report = sizecalc.analyze("vgg16", batch=2, dtype="bf16")
    assert report.totals.forward_bytes == 15_237_608 * 2 * 2


# receptive fields
@pytest.mark.parametrize("layers,kernel", [(1, 3), (2, 3), (3, 3), (4, 5)])
def test_stacked_convs_receptive_field(layers, kernel):
    spec = "input: [1, 64, 64]\nlayers:\n" + f"  - {{conv: 1, kernel: {kernel}, padding: {kernel // 2}}}\n" * layers
    rf = sizecalc.analyze(spec).rows[-1].receptive_field
    assert rf.size == (1 + layers * (kernel - 1),) * 2
    assert rf.jump == (1, 1)


def test_three_3x3_equal_one_7x7_with_fewer_weights():
    c = 64
    three = "input: [64, 56, 56]\nlayers:\n" + "  - {conv: 64, kernel: 3, padding: 1, bias: false}\n" * 3
    one = "input: [64, 56, 56]\nlayers:\n  - {conv: 64, kernel: 7, padding: 3, bias: false}\n"
    r3, r1 = sizecalc.analyze(three), sizecalc.analyze(one)
    assert r3.rows[-1].receptive_field.size == r1.rows[-1].receptive_field.size == (7, 7)
    assert r3.totals.params == 27 * c * c
    assert r1.totals.params == 49 * c * c


def test_fc_is_a_conv_covering_the_whole_input():
    fc = sizecalc.analyze("input: [512, 7, 7]\nlayers: [{fc: 4096}]\n").rows[0]
    conv = sizecalc.analyze("input: [512, 7, 7]\nlayers: [{conv: 4096, kernel: 7, padding: 0}]\n").rows[0]
    assert fc.params == conv.params == 7 * 7 * 512 * 4096 + 4096
    assert fc.activations == conv.activations == 4096
    assert conv.output == (4096, 1, 1)
    assert fc.macs == conv.macs == 7 * 7 * 512 * 4096


def test_strided_receptive_field_jump():
    report = sizecalc.analyze("alexnet-cs231n")
    conv1, pool1 = report.row("conv1").receptive_field, report.row("pool1").receptive_field
    assert conv1.size == (11, 11) and conv1.jump == (4, 4)
    assert pool1.size == (11 + 2 * 4, 11 + 2 * 4) and pool1.jump == (8, 8)
