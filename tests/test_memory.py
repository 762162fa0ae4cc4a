"""The memory model on networks small enough to add up by hand."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.engine.memory import largest_batch, parse_bytes

# conv 3->8 (3x3, pad 1) on 3x8x8, relu, 2x2 max pool, fc 10
SMALL = """
input: [3, 8, 8]
layers:
  - {conv: 8, kernel: 3, padding: 1}
  - relu
  - {maxpool: 2}
  - {fc: 10}
"""
PARAMS = (3 * 9 * 8 + 8) + (8 * 4 * 4 * 10 + 10)  # 224 + 1290 = 1514
# autograd keeps: the conv's input (3*64), the relu's output (8*64, which the pool also
# keeps), the pool's int64 indices (8*16 of 8 bytes) and the fc's input (8*16)
SAVED_PER_SAMPLE = (3 * 64 + 8 * 64 + 8 * 16) * 4 + 8 * 16 * 8  # 3328 + 1024 = 4352


def test_forward_memory_is_the_lecture_total():
    report = sizecalc.analyze(SMALL, batch=2)
    activations = 3 * 64 + 8 * 64 + 8 * 64 + 8 * 16 + 10
    assert report.totals.activations == activations
    assert report.memory.forward_bytes == activations * 2 * 4


def test_vgg16_lecture_memory_column():
    # the notes' table (no ReLU rows): 150K + 3.2M + 3.2M + 800K + ... + 4096 + 4096 + 1000
    report = sizecalc.analyze("vgg16")
    listed = report.input_shape[0] * 224 * 224 + sum(r.activations for r in report.rows
                                                      if r.op in ("conv", "maxpool", "fc"))
    assert listed == 15_237_608


def test_saved_bytes_by_hand():
    assert sizecalc.analyze(SMALL).memory.saved_bytes == SAVED_PER_SAMPLE
    assert sizecalc.analyze(SMALL, batch=3).memory.saved_bytes == 3 * SAVED_PER_SAMPLE
    assert sizecalc.analyze(SMALL, dtype="bf16").memory.saved_bytes == (3 * 64 + 8 * 64 + 8 * 16) * 2 + 8 * 16 * 8


def test_saved_bytes_per_row_add_up():
    report = sizecalc.analyze(SMALL)
    assert [r.saved_bytes for r in report.rows] == [3 * 64 * 4, 8 * 64 * 4, 8 * 16 * 8, 8 * 16 * 4]
    assert sum(r.saved_bytes for r in report.rows) == report.memory.saved_bytes


def test_views_and_in_place_share_storage():
    # relu in place keeps the conv's output storage; flatten is a view of the pool's output
    inplace = SMALL.replace("  - relu\n", "  - {relu: {inplace: true}}\n").replace("{fc: 10}", "flatten\n  - {fc: 10}")
    assert sizecalc.analyze(inplace).memory.saved_bytes == SAVED_PER_SAMPLE


@pytest.mark.parametrize("optimizer,slots", [("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)])
def test_training_memory(optimizer, slots):
    report = sizecalc.analyze(SMALL, batch=4, optimizer=optimizer)
    assert report.memory.training_bytes == PARAMS * 4 * (2 + slots) + 4 * SAVED_PER_SAMPLE


def test_batch_norm_buffers_and_statistics():
    text = "input: [3, 4, 4]\nlayers:\n  - {conv: 2, kernel: 1, bias: false}\n  - bn\n"
    report = sizecalc.analyze(text, batch=5)
    # buffers: running mean and var (2 each) + the step counter; kept: conv input, bn input, 2 x 2 fp32 stats
    assert report.totals.buffers == 2 * 2 + 1
    assert report.memory.saved_bytes == 5 * (3 * 16 + 2 * 16) * 4 + 2 * 2 * 4
    assert report.memory.training_bytes == (6 + 4) * 4 * 2 + 5 * 4 + report.memory.saved_bytes


def test_amp_keeps_fp32_weights_and_half_activations():
    report = sizecalc.analyze(SMALL, amp=True, optimizer="adam")
    half = (3 * 64 + 8 * 64 + 8 * 16) * 2 + 8 * 16 * 8
    assert report.memory.saved_bytes == half
    assert report.memory.training_bytes == PARAMS * 4 * 4 + PARAMS * 2 + half


def test_inference_peak_by_hand():
    # the caller holds the input (192) throughout; alive at once: input + conv output (704),
    # then + relu output (1216), then relu output + pool output (832): the peak is 1216
    # elements, plus the weights
    report = sizecalc.analyze(SMALL)
    assert report.memory.inference_peak_bytes == 1216 * 4 + PARAMS * 4


def test_inference_peak_keeps_a_residual_branch_alive():
    text = """
input: [4, 8, 8]
layers:
  - {id: a, conv: 4, kernel: 1, bias: false}
  - {id: b, conv: 4, kernel: 1, bias: false}
  - {id: c, conv: 4, kernel: 1, bias: false}
  - {add: [c, a]}
"""
    # while c is computed, the input, a (kept for the add), b and c are alive: 4 x 256 elements
    report = sizecalc.analyze(text)
    assert report.memory.inference_peak_bytes == 4 * 256 * 4 + 3 * 16 * 4


@pytest.mark.parametrize("budget", ["1GiB", "3GiB", "16GiB"])
def test_fit_is_consistent(budget):
    report = sizecalc.analyze("resnet18", optimizer="adam")
    limit = parse_bytes(budget)
    batch = largest_batch(report.memory.training_at, limit)
    assert batch >= 1
    assert report.memory.training_at(batch) <= limit < report.memory.training_at(batch + 1)


def test_fit_when_nothing_fits():
    report = sizecalc.analyze("vgg16")
    assert largest_batch(report.memory.training_at, parse_bytes("100MiB")) == 0
    assert CliRunner().invoke(main, ["fit", "vgg16", "--memory", "100MiB"]).exit_code == 1


def test_parse_bytes_units():
    assert parse_bytes("16GiB") == 16 * 1024 ** 3
    assert parse_bytes("24 GB") == 24 * 10 ** 9
    assert parse_bytes("512MiB") == 512 * 1024 ** 2
    for bad in ("", "GiB", "-1GiB", "12XB", "nan GiB"):
        with pytest.raises(ValueError):
            parse_bytes(bad)


def test_fit_cli_reports_batch_and_next():
    result = CliRunner().invoke(main, ["fit", "resnet18", "--memory", "4GiB", "--format", "json", "--reserve", "10%"])
    assert result.exit_code == 0, result.output
    import json
    (row,) = json.loads(result.output)
    assert row["budget_bytes"] == int(4 * 1024 ** 3 * 0.9)
    assert row["training_bytes"] <= row["budget_bytes"] < row["next_training_bytes"]


def test_table_json_has_exact_memory_bytes():
    import json
    result = CliRunner().invoke(main, ["table", "--format", "json", "-b", "2", "-"], input=SMALL)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["memory"]["saved_bytes"] == 2 * SAVED_PER_SAMPLE
    assert data["memory"]["training_bytes"] == PARAMS * 8 + 2 * SAVED_PER_SAMPLE


def test_mac_count_options():
    # conv: 8x8 outputs x 8 filters x 3*3*3 taps = 13,824; fc: 8*4*4 x 10 = 1,280 (torchvision's count)
    assert sizecalc.analyze(SMALL).totals.macs == 13_824 + 1_280
    # all: + the conv's 512 bias adds + the pool's 8*4*4 windows x 4 + the fc's 10 bias adds
    assert sizecalc.analyze(SMALL, macs="all").totals.macs == 13_824 + 1_280 + 512 + 512 + 10
    result = CliRunner().invoke(main, ["table", "--macs", "all", "--format", "csv", "-"], input=SMALL)
    assert result.exit_code == 0 and ",16138," not in result.output  # per-row figures, not the total
    assert sum(int(line.split(",")[8]) for line in result.output.splitlines()[1:]) == 16_138
