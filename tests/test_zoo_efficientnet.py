"""EfficientNet B0-B7 and EfficientNetV2 S/M/L (specs/efficientnet.yaml, specs/efficientnet_v2.yaml)
against torchvision 0.28: published params and "GFLOPS", and what was measured from its models.

How measured (/work/wt/ref/measure.py, the environment of shared/tools/torchvision-env.sh):
torchvision.models.NAME(weights=None) on the meta device at the variant's input size, gradients
enabled; params = sum of parameters' numel; buffers = running means and variances (numel), plus
one num_batches_tracked per BatchNorm (sizecalc counts it in `buffers`); MACs =
torch.utils.flop_counter.FlopCounterMode's total // 2; stage shapes = forward hooks on
features.0 .. features.N (N x C x H x W, N = 1 dropped)."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main

# torchvision's documentation (the weights' meta: num_params, _ops "GFLOPS") and the crop size of
# its default weights, which is the variant's default input
PUBLISHED = {
    "efficientnet_b0": (5_288_548, 0.386, 224),
    "efficientnet_b1": (7_794_184, 0.687, 240),
    "efficientnet_b2": (9_109_994, 1.088, 288),
    "efficientnet_b3": (12_233_232, 1.827, 300),
    "efficientnet_b4": (19_341_616, 4.394, 380),
    "efficientnet_b5": (30_389_784, 10.266, 456),
    "efficientnet_b6": (43_040_704, 19.068, 528),
    "efficientnet_b7": (66_347_960, 37.746, 600),
    "efficientnet_v2_s": (21_458_488, 8.366, 384),
    "efficientnet_v2_m": (54_139_356, 24.582, 480),
    "efficientnet_v2_l": (118_515_272, 56.080, 480),
}

# measured (see the module docstring): MACs (FlopCounterMode // 2), BN running-stat elements,
# BatchNorm count (num_batches_tracked buffers), and the C x H x W of features.0 .. features.N
MEASURED = {
    "efficientnet_b0": (385_814_752, 42_016, 49,
        [(32, 112, 112), (16, 112, 112), (24, 56, 56), (40, 28, 28), (80, 14, 14), (112, 14, 14), (192, 7, 7),
         (320, 7, 7), (1280, 7, 7)]),
    "efficientnet_b1": (686_802_832, 62_048, 69,
        [(32, 120, 120), (16, 120, 120), (24, 60, 60), (40, 30, 30), (80, 15, 15), (112, 15, 15), (192, 8, 8),
         (320, 8, 8), (1280, 8, 8)]),
    "efficientnet_b2": (1_087_529_456, 67_568, 69,
        [(32, 144, 144), (16, 144, 144), (24, 72, 72), (48, 36, 36), (88, 18, 18), (120, 18, 18), (208, 9, 9),
         (352, 9, 9), (1408, 9, 9)]),
    "efficientnet_b3": (1_827_141_392, 87_296, 78,
        [(40, 150, 150), (24, 150, 150), (32, 75, 75), (48, 38, 38), (96, 19, 19), (136, 19, 19), (232, 10, 10),
         (384, 10, 10), (1536, 10, 10)]),
    "efficientnet_b4": (4_393_771_024, 125_200, 96,
        [(48, 190, 190), (24, 190, 190), (32, 95, 95), (56, 48, 48), (112, 24, 24), (160, 24, 24), (272, 12, 12),
         (448, 12, 12), (1792, 12, 12)]),
    "efficientnet_b5": (10_266_384_752, 172_736, 116,
        [(48, 228, 228), (24, 228, 228), (40, 114, 114), (64, 57, 57), (128, 29, 29), (176, 29, 29), (304, 15, 15),
         (512, 15, 15), (2048, 15, 15)]),
    "efficientnet_b6": (19_067_593_536, 224_432, 134,
        [(56, 264, 264), (32, 264, 264), (40, 132, 132), (72, 66, 66), (144, 33, 33), (200, 33, 33), (344, 17, 17),
         (576, 17, 17), (2304, 17, 17)]),
    "efficientnet_b7": (37_745_884_192, 310_720, 163,
        [(64, 300, 300), (32, 300, 300), (48, 150, 150), (80, 75, 75), (160, 38, 38), (224, 38, 38), (384, 19, 19),
         (640, 19, 19), (2560, 19, 19)]),
    "efficientnet_v2_s": (8_365_617_152, 153_872, 110,
        [(24, 192, 192), (24, 192, 192), (48, 96, 96), (64, 48, 48), (128, 24, 24), (160, 24, 24), (256, 12, 12),
         (1280, 12, 12)]),
    "efficientnet_v2_m": (24_582_460_384, 292_032, 157,
        [(24, 240, 240), (24, 240, 240), (48, 120, 120), (80, 60, 60), (160, 30, 30), (176, 30, 30), (304, 15, 15),
         (512, 15, 15), (1280, 15, 15)]),
    "efficientnet_v2_l": (56_079_699_008, 512_576, 217,
        [(32, 240, 240), (32, 240, 240), (64, 120, 120), (96, 60, 60), (192, 30, 30), (224, 30, 30), (384, 15, 15),
         (640, 15, 15), (1280, 15, 15)]),
}
NAMES = sorted(PUBLISHED)


def stage_outputs(report) -> list[tuple]:
    """The output of the stem, of each stage and of the head: torchvision's features.0 .. features.N."""
    last: dict[str, tuple] = {}
    for row in report.rows:
        top = row.id.split(".")[0]
        if top == "stem" or top == "head" or top.startswith("stage"):
            last[top] = tuple(row.output)
    return list(last.values())


@pytest.mark.parametrize("name", NAMES)
def test_matches_torchvision(name):
    params, gflops, side = PUBLISHED[name]
    macs, running_stats, bns, stages = MEASURED[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, side, side)
    assert report.totals.params == params
    assert report.totals.buffers == running_stats + bns
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (1000,)
    assert stage_outputs(report) == stages


def test_depths_are_ceil_of_n_times_the_depth_multiplier():
    # By hand, B7 (depth 3.1): ceil(3.1 * (1, 2, 2, 3, 3, 4, 1)) = 4, 7, 7, 10, 10, 13, 4 MBConvs
    # (3 * 3.1 = 9.3, 4 * 3.1 = 12.4); 55 blocks of 3 BatchNorms (2 in the 4 of stage 1, t = 1, that
    # have no expansion), + stem and head: 3 * 55 - 4 + 2 = 163 = torchvision's num_batches_tracked.
    blocks: dict[str, set] = {}
    for row in sizecalc.analyze("efficientnet_b7").rows:
        parts = row.id.split(".")
        if parts[0].startswith("stage"):
            blocks.setdefault(parts[0], set()).add(parts[2])
    assert [len(blocks[f"stage{i}"]) for i in range(1, 8)] == [math.ceil(n * 3.1) for n in (1, 2, 2, 3, 3, 4, 1)]
    assert [len(blocks[f"stage{i}"]) for i in range(1, 8)] == [4, 7, 7, 10, 10, 13, 4]


def test_widths_are_make_divisible_of_c_times_the_width_multiplier():
    # By hand, B2 (width 1.1): 40 * 1.1 = 44 -> 48 (44 + 4 rounds up to the next 8); 80 * 1.1 = 88;
    # 112 * 1.1 = 123.2 -> 120 (>= 0.9 * 123.2); 320 * 1.1 = 352; head 4 * 352 = 1408.
    channels = [c for c, _, _ in stage_outputs(sizecalc.analyze("efficientnet_b2"))]
    assert channels[3:] == [48, 88, 120, 208, 352, 1408]


def test_the_shortcut_is_there_exactly_when_stride_is_1_and_in_equals_out():
    # B0: the first block of each stage changes the channels (or the stride), the others add
    # their input: (1-1) + (2-1) + (2-1) + (3-1) + (3-1) + (4-1) + (1-1) = 9 residual adds
    rows = sizecalc.analyze("efficientnet_b0").rows
    adds = [r.id for r in rows if r.id.endswith(".residual")]
    assert len(adds) == 9
    assert "stage2.mbconv.0.residual" not in adds and "stage2.mbconv.1.residual" in adds


def test_batch_norm_follows_torchvision_per_variant():
    # torchvision: B0-B4 plain nn.BatchNorm2d (eps 1e-5, momentum 0.1); B5-B7
    # partial(BatchNorm2d, eps=0.001, momentum=0.01); V2: partial(BatchNorm2d, eps=1e-03)
    def bn(name):
        node = next(n for n in sizecalc.load(name).nodes if n.kind.name == "bn")
        return node.args["eps"], node.args["momentum"]
    assert bn("efficientnet_b4") == (0.00001, 0.1)
    assert bn("efficientnet_b5") == (0.001, 0.01)
    assert bn("efficientnet_v2_m") == (0.001, 0.1)


def test_the_family_files_answer_to_their_own_names():
    assert sizecalc.analyze("efficientnet").name == "EfficientNet-B0"  # the first variant
    assert sizecalc.analyze("efficientnet_v2").name == "EfficientNet-V2-S"


def test_saved_for_backward_matches_torchvision_on_b0():
    # torchvision.models.efficientnet_b0(weights=None, stochastic_depth_prob=0.0) in training mode
    # on the CPU, a 3x64x64 input: the distinct storages autograd packs
    # (torch.autograd.graph.saved_tensors_hooks, parameters and buffers excluded, as in
    # tests/test_memory_torch.py) are 7,445,600 bytes at batch 1 and 14,723,136 at batch 2.
    # With the default stochastic_depth_prob=0.2 they are 36 and 72 bytes more: one fp32 noise
    # value per sample kept by each of the 9 residual blocks' StochasticDepth (training only).
    assert sizecalc.analyze("efficientnet_b0", input_shape=(3, 64, 64)).memory.saved_bytes == 7_445_600
    assert sizecalc.analyze("efficientnet_b0", input_shape=(3, 64, 64), batch=2).memory.saved_bytes == 14_723_136


def test_saved_for_backward_matches_the_torch_module_on_b0():
    # the module sizecalc's torch backend builds from the spec, measured as above
    torch = pytest.importorskip("torch")
    from sizecalc.torch.backend import build_module

    module = build_module(sizecalc.load("efficientnet_b0", input_shape=(3, 64, 64)), device="cpu").train()
    from test_memory_torch import saved_bytes  # every byte autograd packs, parameters and buffers excluded
    measured = saved_bytes(module, torch.randn(1, 3, 64, 64))
    assert measured == sizecalc.analyze("efficientnet_b0", input_shape=(3, 64, 64)).memory.saved_bytes


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_check_on_the_meta_device(name):
    pytest.importorskip("torch")
    out = CliRunner().invoke(main, ["check", name, "--device", "meta"])
    assert out.exit_code == 0, out.output
    params = f"{PUBLISHED[name][0]:,}"
    assert f"params: static {params}, torch {params} ✓" in out.output
