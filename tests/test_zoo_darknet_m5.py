"""Darknet-53 (specs/darknet53.yaml) and M5 (specs/m5.yaml), two zoo networks torchvision does
not have, against torch reference modules written from the papers (tests/reference_nets.py)
and against sums a person can check by hand.

How the figures were obtained:
- "torch": tests/reference_nets.py's Darknet53() and M5() under torch 2.13 (weights random):
  params = sum of numel over parameters(); buffers without num_batches_tracked (one per
  BatchNorm, counted apart; sizecalc counts it as a buffer of each bn row); MACs =
  FlopCounterMode's total // 2 on the meta device; output and stage shapes from a forward pass.
  The same figures are measured live by test_*_matches_the_torch_reference below.
- "by hand": the sums written in the comments.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main


def _conv_bn(c_in, c_out, k):
    """A darknet conv (no bias) and its batch norm: k*k*c_in*c_out weights + 2*c_out (gamma, beta)."""
    return k * k * c_in * c_out + 2 * c_out


# --- Darknet-53 (YOLOv3, Table 1) at 3x256x256 -------------------------------------------------

DARKNET_PARAMS = 41_609_928   # torch: Darknet53(), sum of parameters' numel
DARKNET_BUFFERS = 35_712      # torch: running_mean + running_var of its 52 BatchNorm2d = 2 * 17,856 channels
DARKNET_BN = 52               # torch: its num_batches_tracked buffers (52 convolutions, each with a norm)
DARKNET_MACS = 9_285_115_904  # torch: FlopCounterMode(Darknet53() on 1x3x256x256, meta) // 2
# torch: the output of Darknet53().stages[0..4] on 1x3x256x256 (C, H, W)
DARKNET_STAGES = [(64, 128, 128), (128, 64, 64), (256, 32, 32), (512, 16, 16), (1024, 8, 8)]


def test_darknet53_totals():
    report = sizecalc.analyze("darknet53")
    assert report.input_shape == (3, 256, 256)
    assert report.totals.params == DARKNET_PARAMS
    assert sum(1 for row in report.rows if row.op == "bn") == DARKNET_BN
    assert report.totals.buffers == DARKNET_BUFFERS + DARKNET_BN
    assert report.totals.macs == DARKNET_MACS
    assert report.output == (1000,)
    # the name's 53: 52 convolutions and the connected layer
    assert sum(1 for row in report.rows if row.op in ("conv", "fc")) == 53
    # Table 2 of the paper prints 18.7 "Bn Ops" for Darknet-53 at 256x256; darknet's own count
    # (2 * filters * size^2 * channels * out_h * out_w per conv, src/convolutional_layer.c) of
    # this network is 2 * 9.285 G = 18.57 G: the paper's figure is not reproduced by the conv
    # and connected layers alone, so only the exact torch count is asserted above.
    assert round(2 * report.totals.macs / 1e9, 2) == 18.57


def test_darknet53_params_by_hand():
    """Per stage of C channels (input C/2): the stride-2 3x3 conv 9*(C/2)*C + 2C, and n residuals
    of (1x1 C -> C/2: C*C/2 + 2*(C/2)) + (3x3 C/2 -> C: 9*(C/2)*C + 2C) = 5C^2 + 3C each."""
    stem = 3 * 3 * 3 * 32 + 2 * 32                       # 928
    stages = sum(9 * (c // 2) * c + 2 * c + n * (5 * c * c + 3 * c)
                 for c, n in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)))
    connected = 1024 * 1000 + 1000                       # 1,025,000
    assert stem + stages + connected == DARKNET_PARAMS
    report = sizecalc.analyze("darknet53")
    assert sum(row.params for row in report.rows if row.id.startswith("stem.")) == stem
    assert report.row("connected").params == connected


def test_one_darknet_residual_block_by_hand():
    """stage1's residual (64 channels): 1x1 conv 64 -> 32 is 64*32 = 2,048 weights and its norm
    2*32 = 64; 3x3 conv 32 -> 64 is 3*3*32*64 = 18,432 and its norm 2*64 = 128; the add has none:
    2,048 + 64 + 18,432 + 128 = 20,672 (torch: sum(p.numel() for p in
    Darknet53().stages[0][1].parameters()) = 20,672)."""
    report = sizecalc.analyze("darknet53")
    rows = [row for row in report.rows if row.id.startswith("stage1.residual.0.")]
    assert sum(row.params for row in rows) == 2_048 + 64 + 18_432 + 128 == _conv_bn(64, 32, 1) + _conv_bn(32, 64, 3)
    assert report.row("stage1.residual.0.conv1.conv").weights == 64 * 32
    assert report.row("stage1.residual.0.conv2.conv").weights == 3 * 3 * 32 * 64
    # its MACs at 128x128: (64*32 + 9*32*64) per position = 20,480, times 128*128 = 335,544,320
    assert sum(row.macs for row in rows) == 20_480 * 128 * 128 == 335_544_320
    assert report.row("stage1.residual.0.shortcut").output == (64, 128, 128)


def test_darknet53_stage_shapes_and_depths():
    report = sizecalc.analyze("darknet53")
    for stage, (shape, n) in enumerate(zip(DARKNET_STAGES, (1, 2, 8, 8, 4)), start=1):
        rows = [row for row in report.rows if row.id.startswith(f"stage{stage}.")]
        assert rows[-1].output == shape
        assert len({row.id.split(".")[2] for row in rows if ".residual." in row.id}) == n
        # (2S - 3 + 2*1)/2 + 1 = S + 0.5, floored: each stride-2 conv halves an even side
        assert report.row(f"stage{stage}.down.conv").output == shape


# --- M5 (Dai et al. 2017, Table 1) on 1x8000 ---------------------------------------------------

M5_PARAMS = 559_114    # torch: M5(), and by hand below
M5_BUFFERS = 2_048     # torch: 2 * (128 + 128 + 256 + 512) running stats of its four BatchNorm1d
M5_MACS = 69_932_032   # torch: FlopCounterMode(M5() on 1x1x8000, meta) // 2, and by hand below
# torch: the output of M5().features' four MaxPool1d (C, L), at 8000 samples and at the paper's 32000
M5_POOLS = {8000: [(128, 500), (128, 125), (256, 32), (512, 8)],
            32000: [(128, 2000), (128, 500), (256, 125), (512, 32)]}  # Table 1: 2000, 500, 125, 32


def test_m5_totals():
    report = sizecalc.analyze("m5")
    assert report.input_shape == (1, 8000)
    assert report.totals.params == M5_PARAMS
    assert report.totals.buffers == M5_BUFFERS + 4
    assert report.totals.macs == M5_MACS
    assert report.output == (10,)


def test_m5_params_and_macs_by_hand():
    # conv (weights k*c_in*c_out + bias c_out) + batch norm (2*c_out), then the classifier
    conv1 = 80 * 1 * 128 + 128 + 2 * 128       # 10,368 + 256 = 10,624
    conv2 = 3 * 128 * 128 + 128 + 2 * 128      # 49,280 + 256 = 49,536
    conv3 = 3 * 128 * 256 + 256 + 2 * 256      # 98,560 + 512 = 99,072
    conv4 = 3 * 256 * 512 + 512 + 2 * 512      # 393,728 + 1,024 = 394,752
    fc = 512 * 10 + 10                         # 5,130
    assert conv1 + conv2 + conv3 + conv4 + fc == 10_624 + 49_536 + 99_072 + 394_752 + 5_130 == M5_PARAMS
    # MACs: output length * c_out * (k * c_in) per conv; lengths 2000, 500, 125, 32 at 8000 samples
    macs = 2000 * 128 * 80 + 500 * 128 * 3 * 128 + 125 * 256 * 3 * 128 + 32 * 512 * 3 * 256 + 512 * 10
    assert macs == 20_480_000 + 24_576_000 + 12_288_000 + 12_582_912 + 5_120 == M5_MACS
    report = sizecalc.analyze("m5")
    assert [report.row(f"row{i}.conv").params for i in range(1, 5)] == [10_368, 49_280, 98_560, 393_728]


@pytest.mark.parametrize("length", sorted(M5_POOLS))
def test_m5_lengths_after_each_pool(length):
    report = sizecalc.analyze("m5", input_shape=(1, length))
    assert [report.row(f"row{i}.pool").output for i in range(1, 5)] == M5_POOLS[length]
    # the first conv is 'same' padded: (32000 - 80 + 2*38)/4 + 1 = 8000 = 32000/4
    assert report.row("row1.conv").output == (128, length // 4)


def test_m5_rounds_its_pools_up_as_the_paper_table_does():
    # Table 1's fourth pool gives 32 from 125: (125 - 4)/4 + 1 = 31.25, ceil 32 (SAME / ceil_mode)
    report = sizecalc.analyze("m5", input_shape=(1, 32000))
    assert report.row("row4.conv").output == (512, 125)
    assert report.row("row4.pool").output == (512, 32)


def test_inputs_m5_sweeps_the_length():
    # the first conv tiles only a multiple of 4: (8001 - 80 + 2*38)/4 + 1 = 2000.25
    result = CliRunner().invoke(main, ["inputs", "m5", "--range", "7998:8004"])
    assert result.exit_code == 0, result.output
    assert "M5: input Nx1, N from 7998 to 8004 (2 of 7 fit)" in result.output
    assert "fits: 8000, 8004" in result.output
    assert "8001   row1.conv: (8001 - 80 + 2*38)/4 + 1 = 2000.25 is not a whole number" in result.output
    data = json.loads(CliRunner().invoke(main, ["inputs", "m5", "--range", "8000:8000", "--format", "json"]).output)
    assert data["swept"] == "length" and data["spec_input"] == [1, 8000] and data["fitting"] == [8000]


def test_inputs_darknet53_takes_any_size():
    # floor rounding and a global pool: every side fits, e.g. 257: (257 - 3 + 2*1)/2 + 1 = 129
    result = CliRunner().invoke(main, ["inputs", "darknet53", "--range", "250:260"])
    assert result.exit_code == 0, result.output
    assert "Darknet-53: input NxNx3, N from 250 to 260 (11 of 11 fit)" in result.output


# --- against the torch reference modules -------------------------------------------------------

def _measure(module, shape):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked"))
    counter = FlopCounterMode(display=False)
    with counter:
        out = module(torch.zeros(1, *shape, device="meta"))
    return params, buffers, counter.get_total_flops() // 2, tuple(out.shape[1:])


SLOW = pytest.mark.slow  # Darknet-53 in torch: about 10 s each on a quiet core; opt in with --slow


@pytest.mark.parametrize("name, shape", [pytest.param("darknet53", (3, 256, 256), marks=SLOW),
                                         ("m5", (1, 8000)), ("m5", (1, 32000))])
def test_matches_the_torch_reference(name, shape):
    torch = pytest.importorskip("torch")
    from reference_nets import M5, Darknet53
    with torch.device("meta"):
        module = {"darknet53": Darknet53, "m5": M5}[name]()
    params, buffers, macs, out = _measure(module, shape)
    report = sizecalc.analyze(name, input_shape=shape)
    bn_rows = sum(1 for row in report.rows if row.op == "bn")
    assert (report.totals.params, report.totals.buffers - bn_rows, report.totals.macs, report.output) == \
        (params, buffers, macs, out)


@pytest.mark.parametrize("name, shape, measured", [
    # torch: saved_bytes (tests/test_memory_torch.py: the storages autograd packs, parameters and
    # buffers excluded) of tests/reference_nets.py's M5() in training mode on one 1x8000 sample
    ("m5", (1, 8000), 4_080_424),
    # the same for Darknet53() on one 3x64x64 sample (small, to run on the CPU)
    pytest.param("darknet53", (3, 64, 64), 9_473_440, marks=SLOW),
])
def test_saved_for_backward_matches_torch(name, shape, measured):
    torch = pytest.importorskip("torch")
    from reference_nets import M5, Darknet53
    from test_memory_torch import saved_bytes

    from sizecalc.torch.backend import build_module

    assert sizecalc.analyze(name, input_shape=shape).memory.saved_bytes == measured
    torch.manual_seed(0)
    reference = {"darknet53": Darknet53, "m5": M5}[name]().train()
    assert saved_bytes(reference, torch.randn(1, *shape)) == measured
    built = build_module(sizecalc.load(name, input_shape=shape), device="cpu").train()
    assert saved_bytes(built, torch.randn(1, *shape)) == measured


@pytest.mark.slow  # `check` on meta for both and on the CPU for M5: about 10 s on a quiet core
def test_check_passes():
    pytest.importorskip("torch")
    runs = [(["check", "darknet53", "--device", "meta"], DARKNET_PARAMS),
            (["check", "m5", "--device", "meta"], M5_PARAMS),
            (["check", "m5", "--device", "cpu", "--batch", "2"], M5_PARAMS)]
    for args, params in runs:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (args, result.output[-2000:])
        assert f"params: static {params:,}, torch {params:,}" in result.output
    # the measured side is torch's (saved_tensors_hooks on the module check builds, batch 2 in training mode)
    assert "saved for backward: predicted 7.77 MiB (8,152,656 B), measured 7.77 MiB (8,152,656 B)" in result.output
