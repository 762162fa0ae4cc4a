"""torchvision's segmentation models against torchvision: FCN-ResNet50/101, DeepLabV3-ResNet50/101,
DeepLabV3-MobileNetV3-Large and LR-ASPP-MobileNetV3-Large at 3x520x520, aux classifier off, from
one family file (specs/segmentation.yaml) that states the dilated backbones by torchvision's rule
and ends in the bilinear resize of the logits to the input's size (`resize, like: input`).

How the figures were obtained (not from sizecalc's output):
- MEASURED and STAGES: torchvision 0.28 with torch 2.13 (CPU build), each builder called with
  `weights=None, weights_backbone=None, aux_loss=None`, run on the meta device at 1x3x520x520 with
  gradients enabled (a variant of /work/wt/ref/measure.py that reads the model's dict output
  `{'out': ...}`): params; buffers without num_batches_tracked, and the count of those; MACs =
  FlopCounterMode's total // 2 (it counts aten.convolution only: F.interpolate and the ASPP
  pooling's resize are not counted); out's shape; the output shape of every module at depth 1-2
  and of the classifier's children, keyed by torchvision's module path (`backbone[out]`, `[low]`,
  `[high]`: the entries of IntermediateLayerGetter's dict).
- PUBLISHED: torchvision's weight metadata (`num_params`, `_ops` in G multiply-accumulates), read
  from `torchvision.models.get_model_weights(name).DEFAULT.meta`. Those weights carry the aux
  classifier (all but LR-ASPP), so the published figures are ours plus torchvision's
  FCNHead(in, 21) on layer3 (in = 1024, 65x65) or on features.4 (in = 40, 65x65), by hand below.
- Saved for backward: torch's own autograd (saved_tensors_hooks) on the module sizecalc's torch
  backend builds, on the CPU at a small input.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.spec import zoo

NAMES = ["deeplabv3_mobilenet_v3_large", "deeplabv3_resnet101", "deeplabv3_resnet50", "fcn_resnet101",
         "fcn_resnet50", "lraspp_mobilenet_v3_large"]

# torchvision's weight metadata: (num_params, _ops in GFLOPS = G multiply-accumulates), aux included
PUBLISHED = {
    "fcn_resnet50": (35_322_218, 152.717),
    "fcn_resnet101": (54_314_346, 232.738),
    "deeplabv3_resnet50": (42_004_074, 178.722),
    "deeplabv3_resnet101": (60_996_202, 258.743),
    "deeplabv3_mobilenet_v3_large": (11_029_328, 10.452),
    "lraspp_mobilenet_v3_large": (3_221_538, 2.086),
}


def aux_head(inplanes: int, side: int = 65, classes: int = 21) -> tuple[int, int]:
    """(params, MACs) of torchvision's FCNHead(inplanes, classes) at side x side, by the lecture's
    formulas: 3x3 conv to inplanes // 4 without bias, bn (2 per channel), 1x1 conv with bias."""
    inter = inplanes // 4
    weights3, weights1 = 9 * inplanes * inter, inter * classes
    return weights3 + 2 * inter + weights1 + classes, (weights3 + weights1) * side * side


# ResNet's aux head on layer3: 9*1024*256 = 2,359,296 + 512 + 256*21 + 21 = 2,365,205 params;
# (2,359,296 + 5,376) * 65*65 = 9,990,739,200 MACs. MobileNetV3's on features.4 (40 channels):
# 9*40*10 = 3,600 + 20 + 210 + 21 = 3,851 params; (3,600 + 210) * 4,225 = 16,097,250 MACs.
AUX = {name: aux_head(40 if "mobilenet" in name else 1024) for name in NAMES if not name.startswith("lraspp")}
AUX["lraspp_mobilenet_v3_large"] = (0, 0)  # LR-ASPP has no aux classifier

# name: (params, buffers without num_batches_tracked, num_batches_tracked, MACs)
MEASURED = {
    "fcn_resnet50": (32_957_013, 54_144, 54, 142_725_772_800),
    "fcn_resnet101": (51_949_141, 106_368, 105, 222_746_867_200),
    "deeplabv3_resnet50": (39_638_869, 56_704, 60, 168_731_205_888),
    "deeplabv3_resnet101": (58_630_997, 108_928, 111, 248_752_300_288),
    "deeplabv3_mobilenet_v3_large": (11_025_477, 27_984, 53, 10_436_350_688),
    "lraspp_mobilenet_v3_large": (3_221_538, 24_656, 47, 2_086_219_688),
}
# name: {torchvision module path: output shape [C, H, W]}
STAGES = {
    "fcn_resnet50": {
        "backbone.conv1": (64, 260, 260), "backbone.bn1": (64, 260, 260), "backbone.relu": (64, 260, 260),
        "backbone.maxpool": (64, 130, 130), "backbone.layer1": (256, 130, 130), "backbone.layer2": (512, 65, 65),
        "backbone.layer3": (1024, 65, 65), "backbone.layer4": (2048, 65, 65), "backbone[out]": (2048, 65, 65),
        "classifier.0": (512, 65, 65), "classifier.1": (512, 65, 65), "classifier.2": (512, 65, 65),
        "classifier.3": (512, 65, 65), "classifier.4": (21, 65, 65), "classifier": (21, 65, 65),
    },
    "fcn_resnet101": {
        "backbone.conv1": (64, 260, 260), "backbone.bn1": (64, 260, 260), "backbone.relu": (64, 260, 260),
        "backbone.maxpool": (64, 130, 130), "backbone.layer1": (256, 130, 130), "backbone.layer2": (512, 65, 65),
        "backbone.layer3": (1024, 65, 65), "backbone.layer4": (2048, 65, 65), "backbone[out]": (2048, 65, 65),
        "classifier.0": (512, 65, 65), "classifier.1": (512, 65, 65), "classifier.2": (512, 65, 65),
        "classifier.3": (512, 65, 65), "classifier.4": (21, 65, 65), "classifier": (21, 65, 65),
    },
    "deeplabv3_resnet50": {
        "backbone.conv1": (64, 260, 260), "backbone.bn1": (64, 260, 260), "backbone.relu": (64, 260, 260),
        "backbone.maxpool": (64, 130, 130), "backbone.layer1": (256, 130, 130), "backbone.layer2": (512, 65, 65),
        "backbone.layer3": (1024, 65, 65), "backbone.layer4": (2048, 65, 65), "backbone[out]": (2048, 65, 65),
        "classifier.0.project": (256, 65, 65), "classifier.0": (256, 65, 65), "classifier.1": (256, 65, 65),
        "classifier.2": (256, 65, 65), "classifier.3": (256, 65, 65), "classifier.4": (21, 65, 65),
        "classifier": (21, 65, 65),
    },
    "deeplabv3_resnet101": {
        "backbone.conv1": (64, 260, 260), "backbone.bn1": (64, 260, 260), "backbone.relu": (64, 260, 260),
        "backbone.maxpool": (64, 130, 130), "backbone.layer1": (256, 130, 130), "backbone.layer2": (512, 65, 65),
        "backbone.layer3": (1024, 65, 65), "backbone.layer4": (2048, 65, 65), "backbone[out]": (2048, 65, 65),
        "classifier.0.project": (256, 65, 65), "classifier.0": (256, 65, 65), "classifier.1": (256, 65, 65),
        "classifier.2": (256, 65, 65), "classifier.3": (256, 65, 65), "classifier.4": (21, 65, 65),
        "classifier": (21, 65, 65),
    },
    "deeplabv3_mobilenet_v3_large": {
        "backbone.0": (16, 260, 260), "backbone.1": (16, 260, 260), "backbone.2": (24, 130, 130),
        "backbone.3": (24, 130, 130), "backbone.4": (40, 65, 65), "backbone.5": (40, 65, 65),
        "backbone.6": (40, 65, 65), "backbone.7": (80, 33, 33), "backbone.8": (80, 33, 33),
        "backbone.9": (80, 33, 33), "backbone.10": (80, 33, 33), "backbone.11": (112, 33, 33),
        "backbone.12": (112, 33, 33), "backbone.13": (160, 33, 33), "backbone.14": (160, 33, 33),
        "backbone.15": (160, 33, 33), "backbone.16": (960, 33, 33), "backbone[out]": (960, 33, 33),
        "classifier.0.project": (256, 33, 33), "classifier.0": (256, 33, 33), "classifier.1": (256, 33, 33),
        "classifier.2": (256, 33, 33), "classifier.3": (256, 33, 33), "classifier.4": (21, 33, 33),
        "classifier": (21, 33, 33),
    },
    "lraspp_mobilenet_v3_large": {
        "backbone.0": (16, 260, 260), "backbone.1": (16, 260, 260), "backbone.2": (24, 130, 130),
        "backbone.3": (24, 130, 130), "backbone.4": (40, 65, 65), "backbone.5": (40, 65, 65),
        "backbone.6": (40, 65, 65), "backbone.7": (80, 33, 33), "backbone.8": (80, 33, 33),
        "backbone.9": (80, 33, 33), "backbone.10": (80, 33, 33), "backbone.11": (112, 33, 33),
        "backbone.12": (112, 33, 33), "backbone.13": (160, 33, 33), "backbone.14": (160, 33, 33),
        "backbone.15": (160, 33, 33), "backbone.16": (960, 33, 33), "backbone[low]": (40, 65, 65),
        "backbone[high]": (960, 33, 33), "classifier.cbr.0": (128, 33, 33), "classifier.cbr.1": (128, 33, 33),
        "classifier.cbr.2": (128, 33, 33), "classifier.cbr": (128, 33, 33), "classifier.scale.0": (960, 1, 1),
        "classifier.scale.1": (128, 1, 1), "classifier.scale.2": (128, 1, 1), "classifier.scale": (128, 1, 1),
        "classifier.low_classifier": (21, 65, 65), "classifier.high_classifier": (21, 65, 65),
        "classifier": (21, 65, 65),
    },
}
# LRASPPHead's children (cbr, scale: nn.Sequential) by our ids
LRASPP_IDS = {"cbr.0": "cbr_conv", "cbr.1": "cbr_bn", "cbr.2": "cbr_relu", "cbr": "cbr_relu",
              "scale.0": "scale_avgpool", "scale.1": "scale_conv", "scale.2": "scale_sigmoid",
              "scale": "scale_sigmoid"}


def our_id(path: str) -> str:
    """Our id for torchvision's module path: the spec's ids follow torchvision's, except the
    backbone's dict entries, ASPP's `project` (a Sequential ending in its dropout) and LR-ASPP's
    Sequentials, written flat."""
    if path.startswith("backbone["):
        return {"out": "backbone", "low": "backbone.4", "high": "backbone.16"}[path[len("backbone["):-1]]
    head, _, rest = path.partition(".")
    if head == "classifier" and rest in LRASPP_IDS:
        return f"classifier.{LRASPP_IDS[rest]}"
    return "classifier.0.dropout" if path == "classifier.0.project" else path


def stage_output(report, sid: str) -> tuple[int, ...]:
    """The output of a layer or block: its last row."""
    return [r.output for r in report.rows if r.id == sid or r.id.startswith(sid + ".")][-1]


@pytest.mark.parametrize("name", NAMES)
def test_matches_torchvision_exactly(name):
    params, buffers, batches_tracked, macs = MEASURED[name]
    report = sizecalc.analyze(name)
    assert report.totals.params == params
    assert report.totals.buffers == buffers + batches_tracked  # ours counts num_batches_tracked too
    assert report.totals.macs == macs  # the resizes have no conv/fc MACs, as FlopCounterMode counts
    assert report.input_shape == (3, 520, 520)  # the weights' SemanticSegmentation(resize_size=520)
    assert report.output == (21, 520, 520)  # the logits resized back to the input's size
    assert not [f for f in report.findings if f.severity != "info"]


@pytest.mark.parametrize("name", NAMES)
def test_matches_the_published_figures_with_the_aux_head_added(name):
    report = sizecalc.analyze(name)
    aux_params, aux_macs = AUX[name]
    assert report.totals.params + aux_params == PUBLISHED[name][0]
    assert round((report.totals.macs + aux_macs) / 1e9, 3) == PUBLISHED[name][1]


@pytest.mark.parametrize("name", NAMES)
def test_stage_shapes_match_torchvision(name):
    report = sizecalc.analyze(name)
    ours = {path: stage_output(report, our_id(path)) for path in STAGES[name]}
    assert ours == STAGES[name]


@pytest.mark.parametrize("name", NAMES)
def test_each_variant_resolves_to_the_family_file(name):
    path, variant = zoo.locate(name)
    assert path.name == "segmentation.yaml" and variant == name


def test_the_resnet_dilation_follows_torchvisions_rule():
    # replace_stride_with_dilation=[False, True, True]: layer2 keeps its stride (130 -> 65, floored);
    # layer3's first block dilation 1 at stride 1, the others 2; layer4's first 2, the others 4.
    # A dilated 3x3 conv pads by its dilation: (65 + 2d - d*(3 - 1) - 1)/1 + 1 = 65.
    report = sizecalc.analyze("deeplabv3_resnet50")
    first = {i: report.row(f"backbone.{i}.conv2").explain[0] for i in
             ("layer2.0", "layer3.0", "layer3.1", "layer4.0", "layer4.2")}
    assert first == {
        "layer2.0": "(130 - 3 + 2*1)/2 + 1 = 65.5, floored to 65",
        "layer3.0": "(65 - 3 + 2*1)/1 + 1 = 65",
        "layer3.1": "(65 + 2*2 - 2*(3 - 1) - 1)/1 + 1 = 65",
        "layer4.0": "(65 + 2*2 - 2*(3 - 1) - 1)/1 + 1 = 65",
        "layer4.2": "(65 + 2*4 - 4*(3 - 1) - 1)/1 + 1 = 65",
    }
    # ASPP's widest branch: rate 36, padding 36
    assert report.row("classifier.0.convs3.conv").explain[0] == "(65 + 2*36 - 36*(3 - 1) - 1)/1 + 1 = 65"


def test_the_mobilenet_dilation_follows_torchvisions_rule():
    # dilated=True: features.13 (C4, stride 2 in the table) runs at stride 1 with dilation 2, as
    # do 14 and 15; a 5x5 depthwise pads (5 - 1) // 2 * 2 = 4. features.7 (C3) still halves.
    report = sizecalc.analyze("lraspp_mobilenet_v3_large")
    assert report.row("backbone.7.depthwise.conv").explain[0] == "(65 - 3 + 2*1)/2 + 1 = 33"
    for i in (13, 14, 15):
        assert report.row(f"backbone.{i}.depthwise.conv").explain[0] == "(33 + 2*4 - 2*(5 - 1) - 1)/1 + 1 = 33"
    # the residual follows the table's stride: not on 13 (112 -> 160 anyway), on 14 and 15
    residual = {i: any(r.id == f"backbone.{i}.residual" for r in report.rows) for i in (13, 14, 15)}
    assert residual == {13: False, 14: True, 15: True}


def test_the_resizes_are_written_as_what_they_are():
    # F.interpolate(size=...) in torchvision: no weights, no conv/fc MACs, the size of another tensor
    deeplab = sizecalc.analyze("deeplabv3_mobilenet_v3_large")
    pooling = deeplab.row("classifier.0.convs4.resize")  # ASPPPooling: 1x1 back to its input's 33x33
    assert (pooling.op, pooling.output, pooling.weights, pooling.macs) == ("resize", (256, 33, 33), 0, 0)
    lraspp = sizecalc.analyze("lraspp_mobilenet_v3_large")
    low = lraspp.row("classifier.resize")  # LRASPPHead: 33x33 to features.4's 65x65
    assert (low.op, low.output, low.macs) == ("resize", (128, 65, 65), 0)
    for report in (deeplab, lraspp):
        out = report.row("out")
        assert (out.op, out.output, out.weights, out.macs) == ("resize", (21, 520, 520), 0, 0)


def test_every_input_size_fits_and_the_output_follows_it():
    # Every conv and pool floors as PyTorch does, and the last layer resizes to the input's own
    # size: any side fits (torchvision's models return out at the input's H x W).
    out = CliRunner().invoke(main, ["inputs", "fcn_resnet50", "--range", "512:520"])
    assert out.exit_code == 0, out.output
    assert "9 of 9 fit" in out.output and "fits: 512-520" in out.output
    # 513: stem (513 - 7 + 6)/2 + 1 = 257, maxpool (257 - 3 + 2)/2 + 1 = 129, layer2 (129 - 3 + 2)/2 + 1 = 65
    report = sizecalc.analyze("fcn_resnet50", input_shape=(3, 513, 513))
    assert report.row("classifier.4").output == (21, 65, 65) and report.output == (21, 513, 513)


@pytest.mark.slow
def test_check_on_the_meta_device():
    pytest.importorskip("torch")
    for name in NAMES:
        out = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert out.exit_code == 0, (name, out.output)


def test_saved_for_backward_matches_autograd():
    # LR-ASPP, the smallest member, on the CPU at 3x64x64 (features.4 at 8x8, features.16 at 4x4):
    # every byte autograd packs in a training-mode forward pass, parameters and buffers excluded
    torch = pytest.importorskip("torch")
    from sizecalc.torch.backend import build_module

    name = "lraspp_mobilenet_v3_large"
    module = build_module(sizecalc.load(name, input_shape=(3, 64, 64)), device="cpu").train()
    from test_memory_torch import saved_bytes  # every byte autograd packs, parameters and buffers excluded
    measured_bytes = saved_bytes(module, torch.randn(1, 3, 64, 64))
    assert sizecalc.analyze(name, input_shape=(3, 64, 64)).memory.saved_bytes == measured_bytes
