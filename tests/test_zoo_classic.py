"""The classic families against torchvision: DenseNet-121/161/169/201 (specs/densenet.yaml),
ResNet-18..152, ResNeXt and Wide ResNet (specs/resnet.yaml), VGG A/B/D/E with and without BN
(specs/vgg.yaml).

How the figures were obtained (not from sizecalc's output):
- PUBLISHED: torchvision 0.28's weight metadata, `get_model_weights(name).IMAGENET1K_V1.meta`:
  "num_params" and "_ops" (its "GFLOPS" column, which counts multiply-accumulates).
- MEASURED and STAGES: torchvision 0.28 models, weights=None, on the meta device at 224x224
  (/work/wt/ref/measure.py): params; buffers without num_batches_tracked, and how many
  num_batches_tracked there are (sizecalc counts each as one buffer element, as torch stores
  it); MACs as FlopCounterMode's total // 2 with grad enabled; and the output shape of the
  modules named (a forward hook), keyed here by the spec's id. DenseNet's ids are torchvision's
  `features.<id>` (and `classifier`); ResNet's are torchvision's own; VGG's stageK is the K-th
  max pool of `features` (index 2, 5, 10, 15, 20 for vgg11 ...), fc6 and fc8 are
  `classifier.0` and `classifier.6`.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.spec import zoo

# torchvision 0.28 weight metadata: (num_params, _ops in GFLOPS = G multiply-accumulates)
PUBLISHED = {
    "densenet121": (7_978_856, 2.834),
    "densenet161": (28_681_000, 7.728),
    "densenet169": (14_149_480, 3.36),
    "densenet201": (20_013_928, 4.291),
    "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801),
    "resnet152": (60_192_808, 11.514),
    "resnext50_32x4d": (25_028_904, 4.23),
    "resnext101_32x8d": (88_791_336, 16.414),
    "resnext101_64x4d": (83_455_272, 15.46),
    "wide_resnet50_2": (68_883_240, 11.398),
    "wide_resnet101_2": (126_886_696, 22.753),
    "vgg11": (132_863_336, 7.609),
    "vgg11_bn": (132_868_840, 7.609),
    "vgg13": (133_047_848, 11.308),
    "vgg13_bn": (133_053_736, 11.308),
    "vgg16": (138_357_544, 15.47),
    "vgg16_bn": (138_365_992, 15.47),
    "vgg19": (143_667_240, 19.632),
    "vgg19_bn": (143_678_248, 19.632),
}
FAMILY = {name: "densenet" if name.startswith("densenet") else "vgg" if name.startswith("vgg") else "resnet"
          for name in PUBLISHED}

MEASURED = {
    "densenet121": (7_978_856, 83_648, 121, 2_834_161_664),
    "densenet161": (28_681_000, 219_936, 161, 7_727_907_072),
    "densenet169": (14_149_480, 158_400, 169, 3_359_843_328),
    "densenet201": (20_013_928, 229_056, 201, 4_291_365_888),
    "resnet18": (11_689_512, 9_600, 20, 1_814_073_344),
    "resnet34": (21_797_672, 17_024, 36, 3_663_761_408),
    "resnet50": (25_557_032, 53_120, 53, 4_089_184_256),
    "resnet101": (44_549_160, 105_344, 104, 7_801_405_440),
    "resnet152": (60_192_808, 151_424, 155, 11_513_626_624),
    "resnext50_32x4d": (25_028_904, 68_224, 53, 4_230_479_872),
    "resnext101_32x8d": (88_791_336, 202_880, 104, 16_414_015_488),
    "resnext101_64x4d": (83_455_272, 202_880, 104, 15_460_270_080),
    "wide_resnet50_2": (68_883_240, 68_224, 53, 11_398_021_120),
    "wide_resnet101_2": (126_886_696, 137_856, 104, 22_753_050_624),
    "vgg11": (132_863_336, 0, 0, 7_609_090_048),
    "vgg11_bn": (132_868_840, 5_504, 8, 7_609_090_048),
    "vgg13": (133_047_848, 0, 0, 11_308_466_176),
    "vgg13_bn": (133_053_736, 5_888, 10, 11_308_466_176),
    "vgg16": (138_357_544, 0, 0, 15_470_264_320),
    "vgg16_bn": (138_365_992, 8_448, 13, 15_470_264_320),
    "vgg19": (143_667_240, 0, 0, 19_632_062_464),
    "vgg19_bn": (143_678_248, 11_008, 16, 19_632_062_464),
}

# measured (see the docstring): the output shape (C, H, W) of each stage, by the spec's id
STAGES = {
    "densenet121": {"conv0": (64, 112, 112), "pool0": (64, 56, 56), "denseblock1": (256, 56, 56),
        "transition1": (128, 28, 28), "denseblock2": (512, 28, 28), "transition2": (256, 14, 14),
        "denseblock3": (1024, 14, 14), "transition3": (512, 7, 7), "denseblock4": (1024, 7, 7), "classifier": (1000,)},
    "densenet161": {"conv0": (96, 112, 112), "pool0": (96, 56, 56), "denseblock1": (384, 56, 56),
        "transition1": (192, 28, 28), "denseblock2": (768, 28, 28), "transition2": (384, 14, 14),
        "denseblock3": (2112, 14, 14), "transition3": (1056, 7, 7), "denseblock4": (2208, 7, 7),
        "classifier": (1000,)},
    "densenet169": {"conv0": (64, 112, 112), "pool0": (64, 56, 56), "denseblock1": (256, 56, 56),
        "transition1": (128, 28, 28), "denseblock2": (512, 28, 28), "transition2": (256, 14, 14),
        "denseblock3": (1280, 14, 14), "transition3": (640, 7, 7), "denseblock4": (1664, 7, 7), "classifier": (1000,)},
    "densenet201": {"conv0": (64, 112, 112), "pool0": (64, 56, 56), "denseblock1": (256, 56, 56),
        "transition1": (128, 28, 28), "denseblock2": (512, 28, 28), "transition2": (256, 14, 14),
        "denseblock3": (1792, 14, 14), "transition3": (896, 7, 7), "denseblock4": (1920, 7, 7), "classifier": (1000,)},
    "resnet18": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (64, 56, 56), "layer2": (128, 28, 28),
        "layer3": (256, 14, 14), "layer4": (512, 7, 7), "avgpool": (512, 1, 1), "fc": (1000,)},
    "resnet34": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (64, 56, 56), "layer2": (128, 28, 28),
        "layer3": (256, 14, 14), "layer4": (512, 7, 7), "avgpool": (512, 1, 1), "fc": (1000,)},
    "resnet50": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (256, 56, 56), "layer2": (512, 28, 28),
        "layer3": (1024, 14, 14), "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1), "fc": (1000,)},
    "resnet101": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (256, 56, 56), "layer2": (512, 28, 28),
        "layer3": (1024, 14, 14), "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1), "fc": (1000,)},
    "resnet152": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (256, 56, 56), "layer2": (512, 28, 28),
        "layer3": (1024, 14, 14), "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1), "fc": (1000,)},
    "resnext50_32x4d": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (256, 56, 56),
        "layer2": (512, 28, 28), "layer3": (1024, 14, 14), "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1),
        "fc": (1000,)},
    "resnext101_32x8d": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (256, 56, 56),
        "layer2": (512, 28, 28), "layer3": (1024, 14, 14), "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1),
        "fc": (1000,)},
    "resnext101_64x4d": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (256, 56, 56),
        "layer2": (512, 28, 28), "layer3": (1024, 14, 14), "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1),
        "fc": (1000,)},
    "wide_resnet50_2": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (256, 56, 56),
        "layer2": (512, 28, 28), "layer3": (1024, 14, 14), "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1),
        "fc": (1000,)},
    "wide_resnet101_2": {"conv1": (64, 112, 112), "maxpool": (64, 56, 56), "layer1": (256, 56, 56),
        "layer2": (512, 28, 28), "layer3": (1024, 14, 14), "layer4": (2048, 7, 7), "avgpool": (2048, 1, 1),
        "fc": (1000,)},
    "vgg11": {"stage1": (64, 112, 112), "stage2": (128, 56, 56), "stage3": (256, 28, 28), "stage4": (512, 14, 14),
        "stage5": (512, 7, 7), "avgpool": (512, 7, 7), "fc6": (4096,), "fc8": (1000,)},
    "vgg11_bn": {"stage1": (64, 112, 112), "stage2": (128, 56, 56), "stage3": (256, 28, 28), "stage4": (512, 14, 14),
        "stage5": (512, 7, 7), "avgpool": (512, 7, 7), "fc6": (4096,), "fc8": (1000,)},
    "vgg13": {"stage1": (64, 112, 112), "stage2": (128, 56, 56), "stage3": (256, 28, 28), "stage4": (512, 14, 14),
        "stage5": (512, 7, 7), "avgpool": (512, 7, 7), "fc6": (4096,), "fc8": (1000,)},
    "vgg13_bn": {"stage1": (64, 112, 112), "stage2": (128, 56, 56), "stage3": (256, 28, 28), "stage4": (512, 14, 14),
        "stage5": (512, 7, 7), "avgpool": (512, 7, 7), "fc6": (4096,), "fc8": (1000,)},
    "vgg16": {"stage1": (64, 112, 112), "stage2": (128, 56, 56), "stage3": (256, 28, 28), "stage4": (512, 14, 14),
        "stage5": (512, 7, 7), "fc6": (4096,), "fc8": (1000,)},
    "vgg16_bn": {"stage1": (64, 112, 112), "stage2": (128, 56, 56), "stage3": (256, 28, 28), "stage4": (512, 14, 14),
        "stage5": (512, 7, 7), "avgpool": (512, 7, 7), "fc6": (4096,), "fc8": (1000,)},
    "vgg19": {"stage1": (64, 112, 112), "stage2": (128, 56, 56), "stage3": (256, 28, 28), "stage4": (512, 14, 14),
        "stage5": (512, 7, 7), "fc6": (4096,), "fc8": (1000,)},
    "vgg19_bn": {"stage1": (64, 112, 112), "stage2": (128, 56, 56), "stage3": (256, 28, 28), "stage4": (512, 14, 14),
        "stage5": (512, 7, 7), "avgpool": (512, 7, 7), "fc6": (4096,), "fc8": (1000,)},
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params_and_macs_are_torchvisions_published_figures(name):
    params, gflops = PUBLISHED[name]
    report = sizecalc.analyze(name)
    assert report.totals.params == params
    assert round(report.totals.macs / 1e9, 3) == gflops


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_buffers_macs_and_shapes_are_torchvisions_exactly(name):
    params, buffers, batches_tracked, macs = MEASURED[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, 224, 224)  # every one of them is published at 224 (crop_size 224)
    assert report.totals.params == params
    assert report.totals.buffers == buffers + batches_tracked  # one int64 element per BatchNorm
    assert report.totals.macs == macs
    assert report.output == (1000,)
    assert {stage: stage_output(report, stage) for stage in STAGES[name]} == STAGES[name]


def stage_output(report, stage: str) -> tuple:
    """A layer's output, or a block's: that of its last layer (as `table --depth 1` shows it)."""
    return [r.output for r in report.rows if r.id == stage or r.id.startswith(stage + ".")][-1]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_each_name_is_a_variant_of_its_family_file(name):
    path, variant = zoo.locate(name)
    assert (path.name, variant) == (FAMILY[name] + ".yaml", name)


def test_the_lecture_vgg16_is_the_vgg_files_default():
    # the paper's classifier ($fixed): no adaptive pool and no dropout rows, fc6 pinned to 7x7x512
    report = sizecalc.analyze(str(zoo.find("vgg16")))
    assert report.name == "VGG16"
    assert [r.op for r in report.rows if r.depth == 1][-6:] == ["flatten", "fc", "relu", "fc", "relu", "fc"]
    with pytest.raises(sizecalc.SpecError):
        sizecalc.analyze("vgg19", input_shape=(3, 256, 256))  # 8x8x512 = 32,768 inputs for fc6's 25,088
    # torchvision's: the adaptive pool makes 256x256 give 7x7x512 too; params as at 224
    assert sizecalc.analyze("vgg19_bn", input_shape=(3, 256, 256)).totals.params == PUBLISHED["vgg19_bn"][0]


@pytest.mark.parametrize("name, block, widths", [
    # torchvision's Bottleneck: width = int(planes * (base_width / 64.)) * groups, planes 64..512
    ("resnet50", "bottleneck", (64, 128, 256, 512)),
    ("resnext50_32x4d", "bottleneck", (128, 256, 512, 1024)),   # int(64 * 4/64) * 32 = 128
    ("resnext101_64x4d", "bottleneck", (256, 512, 1024, 2048)),  # int(64 * 4/64) * 64 = 256
    ("resnext101_32x8d", "bottleneck", (256, 512, 1024, 2048)),  # int(64 * 8/64) * 32 = 256
    ("wide_resnet101_2", "bottleneck", (128, 256, 512, 1024)),   # int(64 * 128/64) * 1 = 128
    ("resnet34", "basic", (64, 128, 256, 512)),                  # BasicBlock: conv2 has planes filters
])
def test_resnet_block_widths_follow_torchvisions_formula(name, block, widths):
    report = sizecalc.analyze(name)
    assert tuple(report.row(f"layer{k}.0.conv2").output[0] for k in (1, 2, 3, 4)) == widths
    # the shortcut is projected when stride != 1 or inplanes != planes * expansion
    ids = {r.id for r in report.rows}
    projected = [k for k in (1, 2, 3, 4) if f"layer{k}.0.downsample" in ids]
    assert projected == ([1, 2, 3, 4] if block == "bottleneck" else [2, 3, 4])


# -- against torch ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("family", ["densenet", "resnet", "vgg"])
def test_check_on_the_meta_device_passes_on_every_member(family):
    pytest.importorskip("torch")
    from sizecalc.cli import main
    for name in [n for n in PUBLISHED if FAMILY[n] == family]:
        result = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert result.exit_code == 0, (name, result.output[-2000:])


@pytest.mark.parametrize("name, side", [("densenet121", 32), ("resnext50_32x4d", 32), ("vgg11_bn", 32)])
def test_saved_for_backward_matches_autograd_on_the_cpu(name, side):
    # the smallest member with every kind of layer its family has (ResNeXt: grouped convs and
    # projections; VGG: BN and the adaptive pool, which at 32x32 grows 1x1 to 7x7); torch packs
    # what it keeps during a training-mode forward (saved_tensors_hooks), each storage once
    torch = pytest.importorskip("torch")
    from sizecalc.torch.backend import build_module
    shape = (3, side, side)
    module = build_module(sizecalc.load(name, input_shape=shape), device="cpu").train()
    from test_memory_torch import saved_bytes  # every byte autograd packs, parameters and buffers excluded
    measured = saved_bytes(module, torch.randn(2, *shape))
    assert sizecalc.analyze(name, batch=2, input_shape=shape).memory.saved_bytes == measured
