"""The video networks (specs/video_resnet.yaml: r3d_18, mc3_18, r2plus1d_18; specs/s3d.yaml)
against torchvision: params, buffers, MACs, output, default input, stage shapes, the sizes
S3D accepts, and saved-for-backward.

How the figures were obtained:
- params and GFLOPS: torchvision 0.28's published figures, the `num_params` and `_ops` of each
  model's KINETICS400_V1 weights (R3D_18_Weights, MC3_18_Weights, R2Plus1D_18_Weights at
  3x16x112x112, S3D_Weights at 3x16x224x224).
- buffers, MACs, output and stage shapes: measured from torchvision 0.28's models
  (torchvision.models.video.*, weights=None) by /work/wt/ref/measure.py adapted to 5-D inputs
  (1 x C x T x H x W): buffers without num_batches_tracked (one per BatchNorm3d, counted
  apart), MACs = FlopCounterMode's total // 2 on the meta device with gradients enabled, and
  the output shape (C, T, H, W) of stem, layer1..4 (VideoResNet) and features.0..15 (S3D)
  from forward hooks.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.spec import zoo

# name: (params, published GFLOPS, buffers w/o num_batches_tracked, num_batches_tracked, MACs, input)
VIDEO = {
    "r3d_18": (33_371_472, 40.697, 9_600, 20, 40_696_553_472, (3, 16, 112, 112)),
    "mc3_18": (11_695_440, 43.343, 9_600, 20, 43_342_635_008, (3, 16, 112, 112)),
    "r2plus1d_18": (31_505_325, 40.519, 25_350, 37, 40_519_080_960, (3, 16, 112, 112)),
    "s3d": (8_320_048, 17.979, 21_216, 77, 17_978_771_456, (3, 16, 224, 224)),
}

# output of stem and layer1..4 (C, T, H, W), torchvision's forward hooks at 3x16x112x112:
# R3D and R(2+1)D stride time with space from layer2 on; MC3's Conv3DNoTemporal (layer2-4) never
# strides time, so its 16 frames reach layer4
VIDEO_RESNET_STAGES = {
    "r3d_18": [(64, 16, 56, 56), (64, 16, 56, 56), (128, 8, 28, 28), (256, 4, 14, 14), (512, 2, 7, 7)],
    "mc3_18": [(64, 16, 56, 56), (64, 16, 56, 56), (128, 16, 28, 28), (256, 16, 14, 14), (512, 16, 7, 7)],
    "r2plus1d_18": [(64, 16, 56, 56), (64, 16, 56, 56), (128, 8, 28, 28), (256, 4, 14, 14), (512, 2, 7, 7)],
}

# output of S3D's features.0..15 (C, T, H, W), torchvision's forward hooks at 3x16x224x224
S3D_FEATURES = [
    (64, 8, 112, 112), (64, 8, 56, 56), (64, 8, 56, 56), (192, 8, 56, 56), (192, 8, 28, 28),
    (256, 8, 28, 28), (480, 8, 28, 28), (480, 4, 14, 14), (512, 4, 14, 14), (512, 4, 14, 14),
    (512, 4, 14, 14), (528, 4, 14, 14), (832, 4, 14, 14), (832, 2, 7, 7), (832, 2, 7, 7),
    (1024, 2, 7, 7),
]


def test_the_video_resnets_are_one_family():
    assert zoo.variant_names(zoo.find("r3d_18")) == ["r3d_18", "mc3_18", "r2plus1d_18"]
    assert zoo.find("mc3_18") == zoo.find("r2plus1d_18") == zoo.find("video_resnet")
    assert zoo.find("s3d").name == "s3d.yaml"


@pytest.mark.parametrize("name", list(VIDEO))
def test_totals_match_torchvision(name):
    params, gflops, buffers, batches_tracked, macs, shape = VIDEO[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == shape
    assert report.totals.params == params
    # our buffers count each BatchNorm's num_batches_tracked too: one per BN row
    assert sum(1 for row in report.rows if row.op == "bn") == batches_tracked
    assert report.totals.buffers == buffers + batches_tracked
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (400,)  # Kinetics-400


@pytest.mark.parametrize("name", list(VIDEO_RESNET_STAGES))
def test_video_resnet_stage_shapes_match_torchvision(name):
    report = sizecalc.analyze(name)
    for stage, shape in zip(["stem", "layer1", "layer2", "layer3", "layer4"], VIDEO_RESNET_STAGES[name]):
        rows = [row for row in report.rows if row.id.startswith(f"{stage}.")]
        assert rows[-1].output == shape, stage
    assert report.row("avgpool").output == (512, 1, 1, 1)  # AdaptiveAvgPool3d((1, 1, 1))


def test_s3d_feature_shapes_match_torchvision():
    report = sizecalc.analyze("s3d")
    for n, shape in enumerate(S3D_FEATURES):
        rows = [row for row in report.rows if row.id.startswith(f"features.{n}.") or row.id == f"features.{n}"]
        assert rows[-1].output == shape, f"features.{n}"
    assert report.row("avgpool").output == (1024, 1, 1, 1)  # AvgPool3d((2, 7, 7), stride 1) on 2x7x7
    assert report.row("classifier").output == (400, 1, 1, 1)  # classifier.1, Conv3d(1024, 400, 1)


def test_r2plus1d_midplanes_keep_the_3x3x3_parameter_count():
    """BasicBlock's midplanes = (Ni * No * 27) // (Ni * 9 + 3 * No): layer1 (64 -> 64),
    110,592 // 768 = 144; its [1, 3, 3] conv 3*3*64*144 = 82,944 and [3, 1, 1] conv
    3*144*64 = 27,648 weights add up to 110,592 = 3*3*3*64*64, R3D's 3x3x3 conv. layer2's first
    block (64 -> 128): 221,184 // 960 = 230 (230.4), and both its convs use it."""
    report = sizecalc.analyze("r2plus1d_18")
    assert report.row("layer1.0.conv1.spatial").output == (144, 16, 56, 56)
    assert report.row("layer1.0.conv1.spatial").weights == 82_944
    assert report.row("layer1.0.conv1.temporal").weights == 27_648
    assert sizecalc.analyze("r3d_18").row("layer1.0.conv1.simple").weights == 110_592
    assert report.row("layer2.0.conv1.spatial").output[0] == 230
    assert report.row("layer2.0.conv2.spatial").output[0] == 230
    assert report.row("layer2.1.conv1.spatial").output[0] == 288  # (128*128*27) // (128*9 + 384)


def test_mc3_downsamples_space_only_after_layer1():
    """Conv3DNoTemporal.get_downsample_stride(2) = (1, 2, 2): the 1x1x1 shortcut keeps the 16
    frames (1*1*1*64*128 = 8,192 weights)."""
    report = sizecalc.analyze("mc3_18")
    assert report.row("layer2.0.downsample").output == (128, 16, 28, 28)
    assert report.row("layer2.0.downsample").weights == 8_192
    assert sizecalc.analyze("r3d_18").row("layer2.0.downsample").output == (128, 8, 28, 28)


def test_s3d_inputs_say_where_smaller_sizes_break():
    """torchvision's s3d at 3x16x112x112 raises "input image (T: 2 H: 3 W: 3) smaller than kernel
    size (kT: 2 kH: 7 kW: 7)" in its AvgPool3d; 16x208x208 fails the same way (H: 6) and
    16x209x209 runs (measured, weights=None, meta device): 209 -> 105 -> 53 -> 27 -> 14 -> 7."""
    result = CliRunner().invoke(main, ["inputs", "s3d", "--range", "112:224:16"])
    assert result.exit_code == 0, result.output
    assert "fits: 224" in result.output
    lines = result.output.splitlines()
    (at112,) = [line for line in lines if line.strip().startswith("112x112x112")]
    assert "avgpool: H: kernel 7 is larger than the padded input 3" in at112
    with pytest.raises(sizecalc.SpecError, match="avgpool: H: kernel 7 is larger than the padded input 6"):
        sizecalc.analyze("s3d", input_shape=(3, 16, 208, 208))
    assert sizecalc.analyze("s3d", input_shape=(3, 16, 209, 209)).output == (400,)


def test_s3d_needs_thirteen_frames():
    """In time: 13 -> 7 -> 4 -> 2 fits the (2, 7, 7) pool; 12 -> 6 -> 3 -> 1 does not (torchvision
    at 3x12x224x224: "input image (T: 1 H: 7 W: 7) smaller than kernel size (kT: 2 ...)")."""
    assert sizecalc.analyze("s3d", input_shape=(3, 13, 224, 224)).output == (400,)
    with pytest.raises(sizecalc.SpecError, match="avgpool: D: kernel 2 is larger than the padded input 1"):
        sizecalc.analyze("s3d", input_shape=(3, 12, 224, 224))


@pytest.mark.parametrize("name, shape, measured", [
    # torchvision 0.28's models (weights=None, training mode), one sample on the CPU: bytes of
    # the distinct storages autograd packs (saved_tensors_hooks), parameters and buffers
    # excluded, as tests/test_memory_torch.py counts
    ("r3d_18", (3, 4, 32, 32), 3_522_048),
    ("mc3_18", (3, 4, 32, 32), 4_775_424),
    # building R(2+1)D-18 on the CPU takes a few seconds: opt in with --slow
    pytest.param("r2plus1d_18", (3, 4, 32, 32), 10_425_432, marks=pytest.mark.slow),
])
def test_saved_for_backward_matches_torch(name, shape, measured):
    torch = pytest.importorskip("torch")
    from test_memory_torch import saved_bytes

    from sizecalc.torch.backend import build_module

    assert sizecalc.analyze(name, input_shape=shape).memory.saved_bytes == measured
    module = build_module(sizecalc.load(name, input_shape=shape), device="cpu").train()
    assert saved_bytes(module, torch.randn(1, *shape)) == measured


@pytest.mark.parametrize("name, shape, measured", [
    # torchvision's models measured as above; sizecalc's prediction only (no torch needed)
    ("r3d_18", (3, 8, 56, 56), 21_208_576),
    ("r2plus1d_18", (3, 4, 32, 32), 10_425_432),
])
def test_saved_for_backward_predicted(name, shape, measured):
    assert sizecalc.analyze(name, input_shape=shape).memory.saved_bytes == measured


@pytest.mark.slow  # about 20 s a network on a shared core: opt in with --slow
def test_check_on_meta_passes_for_every_network():
    pytest.importorskip("torch")
    for name, (params, *_rest) in VIDEO.items():
        result = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert result.exit_code == 0, (name, result.output[-2000:])
        assert f"params: static {params:,}, torch {params:,}" in result.output
