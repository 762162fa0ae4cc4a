"""Graph specs: ids, from:, merges, blocks with parameters, enabled, depth folding."""

from __future__ import annotations

import pytest

import sizecalc
from sizecalc.core.errors import SpecError
from sizecalc.report.fold import fold

RESIDUAL = """
input: [16, 8, 8]
defaults: {rounding: floor}   # (8 - 3 + 2*1)/2 + 1 = 4.5, floored as PyTorch does
blocks:
  basic:
    params: {planes: int, stride: 1, project: false}
    layers:
      - {id: conv1, conv: $planes, kernel: 3, stride: $stride, padding: 1, bias: false}
      - {id: bn1, bn}
      - {id: relu, relu}
      - {id: conv2, conv: $planes, kernel: 3, padding: 1, bias: false}
      - {id: bn2, bn}
      - {id: downsample, from: in, conv: $planes, kernel: 1, stride: $stride, bias: false, enabled: $project}
      - {id: sum, add: [bn2, downsample]}
layers:
  - {id: layer1, use: basic, repeat: 2, with: {planes: 16}}
  - {id: layer2, use: basic, repeat: 2, with: {planes: 32}, first: {stride: 2, project: true}}
"""


def errors(text):
    with pytest.raises(SpecError) as err:
        sizecalc.analyze(text)
    return err.value.findings


def test_hierarchical_ids_and_first_override():
    report = sizecalc.analyze(RESIDUAL)
    ids = [r.id for r in report.rows]
    assert ids[:3] == ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu"]
    assert "layer1.0.downsample" not in ids  # disabled: the identity shortcut
    assert "layer2.0.downsample" in ids and "layer2.1.downsample" not in ids
    assert report.row("layer2.0.conv1").output == (32, 4, 4)  # (8 - 3 + 2*1)/2 + 1 = 4.5 -> 4
    assert report.row("layer2.0.downsample").params == 16 * 32  # 1x1 projection, no bias
    assert report.row("layer1.0.sum").inputs == ["layer1.0.bn2", "input"]
    assert len(ids) == len(set(ids))


def test_depth_folds_rows_into_blocks():
    report = sizecalc.analyze(RESIDUAL)
    folded = fold(report.rows, 2)
    assert [r.id for r in folded] == ["layer1.0", "layer1.1", "layer2.0", "layer2.1"]
    block = folded[2]
    assert block.params == 16 * 32 * 9 + 2 * 32 + 32 * 32 * 9 + 2 * 32 + 16 * 32
    assert block.output == (32, 4, 4)
    assert sum(r.macs for r in fold(report.rows, 1)) == report.totals.macs


def test_block_parameter_arithmetic():
    text = """
input: [8, 4, 4]
blocks:
  b:
    params: {out: int}
    layers: [{conv: $out * 4, kernel: 1}, {conv: $out // 2 + 1, kernel: 1}]
layers: [{use: b, with: {out: 6}}]
"""
    rows = sizecalc.analyze(text).rows
    assert [r.output[0] for r in rows] == [24, 4]


def test_concat_sums_channels_and_needs_same_size():
    text = """
input: [3, 16, 16]
layers:
  - {id: a, conv: 4, kernel: 1}
  - {id: b, from: input, conv: 6, kernel: 3, padding: 1}
  - {concat: [a, b]}
"""
    assert sizecalc.analyze(text).rows[-1].output == (10, 16, 16)
    bad = text.replace("padding: 1", "padding: 0")
    (f,) = errors(bad)
    assert f.rule == "merge-shape-mismatch"
    assert "a gives 16x16x4 (line 4)" in f.message and "b gives 14x14x6 (line 5)" in f.message


def test_add_needs_identical_volumes():
    text = "input: [3, 8, 8]\nlayers:\n  - {id: a, conv: 4, kernel: 1}\n  - {add: [a, input]}\n"
    (f,) = errors(text)
    assert f.rule == "merge-shape-mismatch" and f.loc.line == 4
    assert "input is 8x8x3" in f.message and "a gives 8x8x4" in f.message


def test_mul_broadcasts_a_channel_gate():
    text = """
input: [16, 8, 8]
layers:
  - {id: x, conv: 16, kernel: 3, padding: 1}
  - gap
  - {conv: 4, kernel: 1}
  - relu
  - {conv: 16, kernel: 1}
  - {id: gate, sigmoid}
  - {mul: [x, gate]}
"""
    report = sizecalc.analyze(text)
    assert report.row("global_avgpool1").output == (16, 1, 1)
    assert report.rows[-1].output == (16, 8, 8)


def test_split_and_shuffle():
    text = """
input: [116, 28, 28]
layers:
  - {id: left, split: 2, part: 0}
  - {id: right, from: input, split: 2, part: 1}
  - {conv: 58, kernel: 1, bias: false}
  - {concat: [left, conv1]}
  - {shuffle: 2}
"""
    report = sizecalc.analyze(text)
    assert report.row("left").output == (58, 28, 28)
    assert report.rows[-1].output == (116, 28, 28)


def test_receptive_field_at_a_merge_is_the_largest():
    text = """
input: [1, 32, 32]
layers:
  - {id: small, conv: 1, kernel: 3, padding: 1}
  - {id: big, from: input, conv: 1, kernel: 7, padding: 3}
  - {add: [small, big]}
"""
    rf = sizecalc.analyze(text).rows[-1].receptive_field
    assert rf.size == (7, 7) and rf.padding == (3, 3)


def test_unknown_from_gets_did_you_mean():
    text = "input: [3, 8, 8]\nlayers:\n  - {id: stem, conv: 4, kernel: 1}\n  - {from: stme, relu}\n"
    (f,) = errors(text)
    assert f.rule == "unknown-from" and "did you mean 'stem'" in f.message
    assert (f.loc.line, f.loc.col) == (4, 12)


def test_from_a_later_layer_is_refused():
    text = "input: [3, 8, 8]\nlayers:\n  - {from: later, relu}\n  - {id: later, relu}\n"
    assert errors(text)[0].rule == "unknown-from"


def test_unused_output_is_a_warning():
    text = "input: [3, 8, 8]\nlayers:\n  - {id: dead, conv: 4, kernel: 1}\n  - {from: input, conv: 2, kernel: 1}\n"
    report = sizecalc.analyze(text)
    (w,) = [f for f in report.findings if f.rule == "unused-output"]
    assert w.severity == "warning" and w.layer == "dead"


def test_block_recursion_is_reported():
    text = """
input: [3, 8, 8]
blocks:
  a: {layers: [{use: b}]}
  b: {layers: [relu, {use: a}]}
layers: [{use: a}]
"""
    (f,) = errors(text)
    assert f.rule == "block-recursion" and "a -> b -> a" in f.message


def test_duplicate_ids_are_errors():
    text = "input: [3, 8, 8]\nlayers:\n  - {id: x, relu}\n  - {id: x, relu}\n"
    assert errors(text)[0].rule == "duplicate-id"


def test_missing_block_parameter():
    text = "input: [3, 8, 8]\nblocks:\n  b: {params: {f: int}, layers: [{conv: $f, kernel: 1}]}\nlayers: [{use: b}]\n"
    (f,) = errors(text)
    assert f.rule == "missing-value" and "'f'" in f.message


def test_repeat_group_inlines_layers():
    text = "input: [3, 8, 8]\nlayers:\n  - repeat: 3\n    layers: [{conv: 3, kernel: 3, padding: 1}, relu]\n"
    assert [r.id for r in sizecalc.analyze(text).rows] == ["conv1", "relu1", "conv2", "relu2", "conv3", "relu3"]


def test_squeeze_excitation_gate_keeps_the_feature_grid():
    text = """
input: [8, 16, 16]
layers:
  - {id: x, conv: 8, kernel: 3, padding: 1}
  - {id: pool, adaptive_avgpool: 1}
  - {id: gate, sigmoid}
  - {id: scale, mul: [x, gate]}
  - {id: after, conv: 8, kernel: 3, padding: 1}
"""
    report = sizecalc.analyze(text)
    # the gate sees the whole 3 + (16 - 1)*1 = 18 pixels (the 16 of the image and 1 of padding each
    # side): every unit of the product sees the whole input, and the next 3x3 conv sees nothing more
    assert report.row("scale").receptive_field.size == (18, 18)
    assert report.row("scale").receptive_field.whole
    assert report.row("after").receptive_field.size == (18, 18)
    assert report.row("after").receptive_field.whole
    assert report.row("after").receptive_field.jump == (1, 1)


def test_null_block_parameter_means_the_field_default():
    text = """
input: [3, 8, 8]
blocks:
  b: {params: {pad: null}, layers: [{conv: 4, kernel: 1, padding: $pad}]}
layers: [{use: b}, {use: b, with: {pad: [0, 1]}}]
"""
    rows = sizecalc.analyze(text).rows
    assert rows[0].output == (4, 8, 8)
    assert rows[1].output == (4, 8, 10)


@pytest.mark.parametrize("branch,fix", [
    ("{conv: 8, kernel: 2, stride: 2}", "kernel 2, stride 2, 8 filters"),   # 16x16x8 vs 8x8x8
    ("{conv: 4, kernel: 3, padding: 1}", "1x1 conv of 8 filters"),          # 16x16x8 vs 16x16x4
    ("{conv: 8, kernel: 3}", "pad each KxK conv"),                          # 16x16x8 vs 14x14x8
])
def test_add_mismatch_fix_fits_the_mismatch(branch, fix):
    text = f"input: [8, 16, 16]\nlayers:\n  - {{id: b, from: input, {branch[1:-1]}}}\n  - {{add: [input, b]}}\n"
    (f,) = errors(text)
    assert f.rule == "merge-shape-mismatch" and fix in f.fix


def test_lrn_needs_a_volume():
    (f,) = errors("input: [8, 4, 4]\nlayers: [flatten, lrn]\n")
    assert f.rule == "needs-volume"


def test_non_integer_is_never_shown_as_a_whole_number():
    from sizecalc.core.geometry import _decimal
    assert _decimal(29, 2) == "14.5" and _decimal(7, 3) == "2.33"
    assert _decimal(1_000_000_001, 1_000_000_000) != "1"
