"""RegNetX and RegNetY (specs/regnet.yaml, one family of 15) against torchvision: params,
buffers, MACs, output, default input, stage depths and shapes, and saved-for-backward.

How the figures were obtained:
- params and GFLOPS: torchvision 0.28's published figures, the `num_params` and `_ops` of each
  model's DEFAULT weights (IMAGENET1K_V2 at 224; RegNetY-128GF's IMAGENET1K_SWAG_E2E_V1 at 384).
- buffers, MACs, stage shapes: measured from torchvision 0.28's models (weights=None) by
  /work/wt/ref/measure.py: buffers without num_batches_tracked (one per BatchNorm, counted
  apart), MACs = FlopCounterMode's total // 2 on the meta device with gradients enabled, and
  the output shape of trunk_output.block1..4.
- stage depths: len(model.trunk_output.blockN) of the same models, i.e. BlockParams.from_init_params.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.spec import zoo

# name: (params, published GFLOPS, buffers w/o num_batches_tracked, num_batches_tracked,
#        MACs, input side, blocks per stage, output of trunk_output.block1..4 (C, H, W))
REGNET = {
    "regnet_x_400mf": (5_495_976, 0.414, 37_856, 71, 413_812_608, 224, [1, 2, 7, 12],
                       [(32, 56, 56), (64, 28, 28), (160, 14, 14), (400, 7, 7)]),
    "regnet_x_800mf": (7_259_656, 0.800, 37_312, 53, 799_699_712, 224, [1, 3, 7, 5],
                       [(64, 56, 56), (128, 28, 28), (288, 14, 14), (672, 7, 7)]),
    "regnet_x_1_6gf": (9_190_136, 1.603, 43_504, 59, 1_602_849_792, 224, [2, 4, 10, 2],
                       [(72, 56, 56), (168, 28, 28), (408, 14, 14), (912, 7, 7)]),
    "regnet_x_3_2gf": (15_296_552, 3.177, 62_560, 80, 3_176_621_952, 224, [2, 6, 15, 2],
                       [(96, 56, 56), (192, 28, 28), (432, 14, 14), (1008, 7, 7)]),
    "regnet_x_8gf": (39_572_648, 7.995, 90_464, 74, 7_995_132_416, 224, [2, 5, 15, 1],
                     [(80, 56, 56), (240, 28, 28), (720, 14, 14), (1920, 7, 7)]),
    "regnet_x_16gf": (54_278_536, 15.941, 111_168, 71, 15_940_755_456, 224, [2, 6, 13, 1],
                      [(256, 56, 56), (512, 28, 28), (896, 14, 14), (2048, 7, 7)]),
    "regnet_x_32gf": (107_811_560, 31.736, 162_016, 74, 31_735_929_792, 224, [2, 7, 13, 1],
                      [(336, 56, 56), (672, 28, 28), (1344, 14, 14), (2520, 7, 7)]),
    "regnet_y_400mf": (4_344_144, 0.402, 27_152, 53, 401_842_848, 224, [1, 3, 6, 6],
                       [(48, 56, 56), (104, 28, 28), (208, 14, 14), (440, 7, 7)]),
    "regnet_y_800mf": (6_432_512, 0.834, 30_432, 47, 833_856_256, 224, [1, 3, 8, 2],
                       [(64, 56, 56), (144, 28, 28), (320, 14, 14), (784, 7, 7)]),
    "regnet_y_1_6gf": (11_202_430, 1.612, 52_672, 86, 1_612_076_160, 224, [2, 6, 17, 2],
                       [(48, 56, 56), (120, 28, 28), (336, 14, 14), (888, 7, 7)]),
    "regnet_y_3_2gf": (19_436_338, 3.176, 66_160, 68, 3_176_482_752, 224, [2, 5, 13, 1],
                       [(72, 56, 56), (216, 28, 28), (576, 14, 14), (1512, 7, 7)]),
    "regnet_y_8gf": (39_381_472, 8.473, 86_528, 56, 8_473_070_592, 224, [2, 4, 10, 1],
                     [(224, 56, 56), (448, 28, 28), (896, 14, 14), (2016, 7, 7)]),
    "regnet_y_16gf": (83_590_140, 15.912, 122_816, 59, 15_911_510_272, 224, [2, 4, 11, 1],
                      [(224, 56, 56), (448, 28, 28), (1232, 14, 14), (3024, 7, 7)]),
    "regnet_y_32gf": (145_046_770, 32.280, 158_288, 65, 32_279_552_832, 224, [2, 5, 12, 1],
                      [(232, 56, 56), (696, 28, 28), (1392, 14, 14), (3712, 7, 7)]),
    "regnet_y_128gf": (644_812_894, 374.570, 415_072, 86, 374_570_006_400, 384, [2, 7, 17, 1],
                       [(528, 96, 96), (1056, 48, 48), (2904, 24, 24), (7392, 12, 12)]),
}


def test_the_family_is_one_file_with_all_fifteen():
    assert zoo.variant_names(zoo.find("regnet")) == list(REGNET)
    assert all(zoo.find(name) == zoo.find("regnet") for name in REGNET)


@pytest.mark.parametrize("name", list(REGNET))
def test_totals_match_torchvision(name):
    params, gflops, buffers, batches_tracked, macs, side, _, _ = REGNET[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, side, side)
    assert report.totals.params == params
    # our buffers count each BatchNorm's num_batches_tracked too: one per BN row
    assert sum(1 for row in report.rows if row.op == "bn") == batches_tracked
    assert report.totals.buffers == buffers + batches_tracked
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (1000,)


@pytest.mark.parametrize("name", list(REGNET))
def test_stage_depths_and_shapes_match_torchvision(name):
    *_, depths, shapes = REGNET[name]
    report = sizecalc.analyze(name)
    for stage, (depth, shape) in enumerate(zip(depths, shapes), start=1):
        rows = [row for row in report.rows if row.id.startswith(f"block{stage}.")]
        assert len({row.id.split(".")[2] for row in rows}) == depth  # block{stage}.blocks.{k}.*
        assert rows[-1].output == shape


def test_width_quantisation_rounds_halves_to_even():
    """RegNetX-1.6GF (w_0 = 80, w_m = 2.25, g = 24): Q(1) = round(80 * 2.25 / 8) * 8 =
    round(22.5) * 8 = 22 * 8 = 176 (torch.round and Python's round: halves to even), then
    make_divisible(176, 24) = int(176 + 12) // 24 * 24 = 168 (168 >= 0.9 * 176 = 158.4).
    Rounding the half up would give 184 -> 192."""
    report = sizecalc.analyze("regnet_x_1_6gf")
    assert report.row("block2.blocks.0.c").output[0] == 168
    # its 3x3 conv, 168 -> 168 in 168 // 24 = 7 groups of 24 channels: 3*3*24*168 weights
    assert report.row("block2.blocks.0.b").weights == 3 * 3 * 24 * 168


def test_squeeze_excitation_is_a_quarter_of_the_block_input():
    """RegNetY-400MF's second stage: its first block comes from stage 1's 48 channels, so its
    SE squeezes 104 channels to round(0.25 * 48) = 12; the next block's input is 104 wide:
    round(0.25 * 104) = 26 (torchvision's BottleneckTransform: se_ratio * width_in)."""
    report = sizecalc.analyze("regnet_y_400mf")
    assert report.row("block2.blocks.0.se.fc1").output == (12, 1, 1)
    assert report.row("block2.blocks.1.se.fc1").output == (26, 1, 1)
    assert not [row for row in sizecalc.analyze("regnet_x_400mf").rows if ".se." in row.id]


def test_a_group_width_above_the_stage_width_is_capped():
    """RegNetX-8GF: g = 120 but stage 1's width is Q(0) = 80, so the group width is
    min(120, 80) = 80 and the 3x3 conv has one group: 3*3*80*80 weights."""
    report = sizecalc.analyze("regnet_x_8gf")
    assert report.row("block1.blocks.0.b").weights == 3 * 3 * 80 * 80


@pytest.mark.parametrize("name, measured", [
    # torchvision 0.28's regnet_x_400mf / regnet_y_400mf (weights=None, training mode), one
    # 3x64x64 sample on the CPU: bytes of the distinct storages autograd packs
    # (saved_tensors_hooks), parameters and buffers excluded, as tests/test_memory_torch.py counts
    ("regnet_x_400mf", 2_208_960),
    ("regnet_y_400mf", 2_890_336),
])
def test_saved_for_backward_matches_torch(name, measured):
    torch = pytest.importorskip("torch")
    from test_memory_torch import saved_bytes

    from sizecalc.torch.backend import build_module

    predicted = sizecalc.analyze(name, input_shape=(3, 64, 64)).memory.saved_bytes
    assert predicted == measured
    module = build_module(sizecalc.load(name, input_shape=(3, 64, 64)), device="cpu").train()
    assert saved_bytes(module, torch.randn(1, 3, 64, 64)) == measured


@pytest.mark.slow  # about 1 s a member on a quiet core, 15 members: opt in with --run-slow
def test_check_on_meta_passes_for_every_member():
    pytest.importorskip("torch")
    for name in REGNET:
        result = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert result.exit_code == 0, (name, result.output[-2000:])
        assert f"params: static {REGNET[name][0]:,}, torch {REGNET[name][0]:,}" in result.output
