"""The mobile families against torchvision: MNASNet 0.5/0.75/1.0/1.3, MobileNetV3 Large/Small,
ShuffleNetV2 x0.5/x1.0/x1.5/x2.0 and SqueezeNet 1.0/1.1, each a family file that states the
construction (width multipliers through make_divisible, the paper's stage tables).

How the figures were obtained (not from sizecalc's output):
- MEASURED and STAGES: torchvision 0.28 with torch 2.13 (CPU build), `weights=None`, on the
  meta device with gradients enabled (/work/wt/ref/measure.py: params; buffers without
  num_batches_tracked, and the count of those; MACs = FlopCounterMode's total // 2; the output
  shape of every module at depth 1-2, keyed by torchvision's module path).
- PUBLISHED: torchvision's weight metadata (`num_params`, and `_ops`, the "GFLOPS" column of
  its documentation, which counts multiply-accumulates), read from
  `torchvision.models.get_model_weights(name)`: the same params, and the MACs to 3 decimals.
- Saved for backward: torch's own autograd (saved_tensors_hooks) on the module sizecalc's torch
  backend builds, on the CPU at a small input.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.spec import zoo

# torchvision's weight metadata: (num_params, _ops in GFLOPS = G multiply-accumulates)
PUBLISHED = {
    "mnasnet0_5": (2_218_512, 0.104),
    "mnasnet0_75": (3_170_208, 0.215),
    "mnasnet1_0": (4_383_312, 0.314),
    "mnasnet1_3": (6_282_256, 0.526),
    "mobilenet_v3_large": (5_483_032, 0.217),
    "mobilenet_v3_small": (2_542_856, 0.057),
    "shufflenet_v2_x0_5": (1_366_792, 0.040),
    "shufflenet_v2_x1_0": (2_278_604, 0.145),
    "shufflenet_v2_x1_5": (3_503_624, 0.296),
    "shufflenet_v2_x2_0": (7_393_996, 0.583),
    "squeezenet1_0": (1_248_424, 0.819),
    "squeezenet1_1": (1_235_496, 0.349),
}
FAMILIES = {"mnasnet": "mnasnet", "mobilenet_v3": "mobilenet_v3", "shufflenet_v2": "shufflenet_v2",
            "squeezenet": "squeezenet"}

# name: (params, buffers without num_batches_tracked, num_batches_tracked, MACs)
MEASURED = {
    "mnasnet0_5": (2_218_512, 20_624, 52, 104_455_968),
    "mnasnet0_75": (3_170_208, 29_808, 52, 215_493_104),
    "mnasnet1_0": (4_383_312, 37_920, 52, 314_415_872),
    "mnasnet1_3": (6_282_256, 48_816, 52, 526_362_432),
    "mobilenet_v3_large": (5_483_032, 24_400, 46, 216_589_760),
    "mobilenet_v3_small": (2_542_856, 12_112, 34, 56_510_400),
    "shufflenet_v2_x0_5": (1_366_792, 7_952, 56, 40_476_448),
    "shufflenet_v2_x1_0": (2_278_604, 16_180, 56, 144_907_992),
    "shufflenet_v2_x1_5": (3_503_624, 23_440, 56, 295_759_392),
    "shufflenet_v2_x2_0": (7_393_996, 33_716, 56, 583_253_464),
    "squeezenet1_0": (1_248_424, 0, 0, 818_924_576),
    "squeezenet1_1": (1_235_496, 0, 0, 349_151_936),
}
# name: {torchvision module path: output shape [C, H, W] or [features]}
STAGES = {
    "mnasnet0_5": {
        "layers.0": (16, 112, 112), "layers.1": (16, 112, 112), "layers.2": (16, 112, 112),
        "layers.3": (16, 112, 112), "layers.4": (16, 112, 112), "layers.5": (16, 112, 112),
        "layers.6": (8, 112, 112), "layers.7": (8, 112, 112), "layers.8": (16, 56, 56), "layers.9": (24, 28, 28),
        "layers.10": (40, 14, 14), "layers.11": (48, 14, 14), "layers.12": (96, 7, 7), "layers.13": (160, 7, 7),
        "layers.14": (1280, 7, 7), "layers.15": (1280, 7, 7), "layers.16": (1280, 7, 7), "layers": (1280, 7, 7),
        "classifier.0": (1280,), "classifier.1": (1000,), "classifier": (1000,),
    },
    "mnasnet0_75": {
        "layers.0": (24, 112, 112), "layers.1": (24, 112, 112), "layers.2": (24, 112, 112),
        "layers.3": (24, 112, 112), "layers.4": (24, 112, 112), "layers.5": (24, 112, 112),
        "layers.6": (16, 112, 112), "layers.7": (16, 112, 112), "layers.8": (24, 56, 56), "layers.9": (32, 28, 28),
        "layers.10": (64, 14, 14), "layers.11": (72, 14, 14), "layers.12": (144, 7, 7), "layers.13": (240, 7, 7),
        "layers.14": (1280, 7, 7), "layers.15": (1280, 7, 7), "layers.16": (1280, 7, 7), "layers": (1280, 7, 7),
        "classifier.0": (1280,), "classifier.1": (1000,), "classifier": (1000,),
    },
    "mnasnet1_0": {
        "layers.0": (32, 112, 112), "layers.1": (32, 112, 112), "layers.2": (32, 112, 112),
        "layers.3": (32, 112, 112), "layers.4": (32, 112, 112), "layers.5": (32, 112, 112),
        "layers.6": (16, 112, 112), "layers.7": (16, 112, 112), "layers.8": (24, 56, 56), "layers.9": (40, 28, 28),
        "layers.10": (80, 14, 14), "layers.11": (96, 14, 14), "layers.12": (192, 7, 7), "layers.13": (320, 7, 7),
        "layers.14": (1280, 7, 7), "layers.15": (1280, 7, 7), "layers.16": (1280, 7, 7), "layers": (1280, 7, 7),
        "classifier.0": (1280,), "classifier.1": (1000,), "classifier": (1000,),
    },
    "mnasnet1_3": {
        "layers.0": (40, 112, 112), "layers.1": (40, 112, 112), "layers.2": (40, 112, 112),
        "layers.3": (40, 112, 112), "layers.4": (40, 112, 112), "layers.5": (40, 112, 112),
        "layers.6": (24, 112, 112), "layers.7": (24, 112, 112), "layers.8": (32, 56, 56), "layers.9": (56, 28, 28),
        "layers.10": (104, 14, 14), "layers.11": (128, 14, 14), "layers.12": (248, 7, 7), "layers.13": (416, 7, 7),
        "layers.14": (1280, 7, 7), "layers.15": (1280, 7, 7), "layers.16": (1280, 7, 7), "layers": (1280, 7, 7),
        "classifier.0": (1280,), "classifier.1": (1000,), "classifier": (1000,),
    },
    "mobilenet_v3_large": {
        "features.0": (16, 112, 112), "features.1": (16, 112, 112), "features.2": (24, 56, 56),
        "features.3": (24, 56, 56), "features.4": (40, 28, 28), "features.5": (40, 28, 28),
        "features.6": (40, 28, 28), "features.7": (80, 14, 14), "features.8": (80, 14, 14),
        "features.9": (80, 14, 14), "features.10": (80, 14, 14), "features.11": (112, 14, 14),
        "features.12": (112, 14, 14), "features.13": (160, 7, 7), "features.14": (160, 7, 7),
        "features.15": (160, 7, 7), "features.16": (960, 7, 7), "features": (960, 7, 7), "avgpool": (960, 1, 1),
        "classifier.0": (1280,), "classifier.1": (1280,), "classifier.2": (1280,), "classifier.3": (1000,),
        "classifier": (1000,),
    },
    "mobilenet_v3_small": {
        "features.0": (16, 112, 112), "features.1": (16, 56, 56), "features.2": (24, 28, 28),
        "features.3": (24, 28, 28), "features.4": (40, 14, 14), "features.5": (40, 14, 14),
        "features.6": (40, 14, 14), "features.7": (48, 14, 14), "features.8": (48, 14, 14), "features.9": (96, 7, 7),
        "features.10": (96, 7, 7), "features.11": (96, 7, 7), "features.12": (576, 7, 7), "features": (576, 7, 7),
        "avgpool": (576, 1, 1), "classifier.0": (1024,), "classifier.1": (1024,), "classifier.2": (1024,),
        "classifier.3": (1000,), "classifier": (1000,),
    },
    "shufflenet_v2_x0_5": {
        "conv1.0": (24, 112, 112), "conv1.1": (24, 112, 112), "conv1.2": (24, 112, 112), "conv1": (24, 112, 112),
        "maxpool": (24, 56, 56), "stage2.0": (48, 28, 28), "stage2.1": (48, 28, 28), "stage2.2": (48, 28, 28),
        "stage2.3": (48, 28, 28), "stage2": (48, 28, 28), "stage3.0": (96, 14, 14), "stage3.1": (96, 14, 14),
        "stage3.2": (96, 14, 14), "stage3.3": (96, 14, 14), "stage3.4": (96, 14, 14), "stage3.5": (96, 14, 14),
        "stage3.6": (96, 14, 14), "stage3.7": (96, 14, 14), "stage3": (96, 14, 14), "stage4.0": (192, 7, 7),
        "stage4.1": (192, 7, 7), "stage4.2": (192, 7, 7), "stage4.3": (192, 7, 7), "stage4": (192, 7, 7),
        "conv5.0": (1024, 7, 7), "conv5.1": (1024, 7, 7), "conv5.2": (1024, 7, 7), "conv5": (1024, 7, 7),
        "fc": (1000,),
    },
    "shufflenet_v2_x1_0": {
        "conv1.0": (24, 112, 112), "conv1.1": (24, 112, 112), "conv1.2": (24, 112, 112), "conv1": (24, 112, 112),
        "maxpool": (24, 56, 56), "stage2.0": (116, 28, 28), "stage2.1": (116, 28, 28), "stage2.2": (116, 28, 28),
        "stage2.3": (116, 28, 28), "stage2": (116, 28, 28), "stage3.0": (232, 14, 14), "stage3.1": (232, 14, 14),
        "stage3.2": (232, 14, 14), "stage3.3": (232, 14, 14), "stage3.4": (232, 14, 14), "stage3.5": (232, 14, 14),
        "stage3.6": (232, 14, 14), "stage3.7": (232, 14, 14), "stage3": (232, 14, 14), "stage4.0": (464, 7, 7),
        "stage4.1": (464, 7, 7), "stage4.2": (464, 7, 7), "stage4.3": (464, 7, 7), "stage4": (464, 7, 7),
        "conv5.0": (1024, 7, 7), "conv5.1": (1024, 7, 7), "conv5.2": (1024, 7, 7), "conv5": (1024, 7, 7),
        "fc": (1000,),
    },
    "shufflenet_v2_x1_5": {
        "conv1.0": (24, 112, 112), "conv1.1": (24, 112, 112), "conv1.2": (24, 112, 112), "conv1": (24, 112, 112),
        "maxpool": (24, 56, 56), "stage2.0": (176, 28, 28), "stage2.1": (176, 28, 28), "stage2.2": (176, 28, 28),
        "stage2.3": (176, 28, 28), "stage2": (176, 28, 28), "stage3.0": (352, 14, 14), "stage3.1": (352, 14, 14),
        "stage3.2": (352, 14, 14), "stage3.3": (352, 14, 14), "stage3.4": (352, 14, 14), "stage3.5": (352, 14, 14),
        "stage3.6": (352, 14, 14), "stage3.7": (352, 14, 14), "stage3": (352, 14, 14), "stage4.0": (704, 7, 7),
        "stage4.1": (704, 7, 7), "stage4.2": (704, 7, 7), "stage4.3": (704, 7, 7), "stage4": (704, 7, 7),
        "conv5.0": (1024, 7, 7), "conv5.1": (1024, 7, 7), "conv5.2": (1024, 7, 7), "conv5": (1024, 7, 7),
        "fc": (1000,),
    },
    "shufflenet_v2_x2_0": {
        "conv1.0": (24, 112, 112), "conv1.1": (24, 112, 112), "conv1.2": (24, 112, 112), "conv1": (24, 112, 112),
        "maxpool": (24, 56, 56), "stage2.0": (244, 28, 28), "stage2.1": (244, 28, 28), "stage2.2": (244, 28, 28),
        "stage2.3": (244, 28, 28), "stage2": (244, 28, 28), "stage3.0": (488, 14, 14), "stage3.1": (488, 14, 14),
        "stage3.2": (488, 14, 14), "stage3.3": (488, 14, 14), "stage3.4": (488, 14, 14), "stage3.5": (488, 14, 14),
        "stage3.6": (488, 14, 14), "stage3.7": (488, 14, 14), "stage3": (488, 14, 14), "stage4.0": (976, 7, 7),
        "stage4.1": (976, 7, 7), "stage4.2": (976, 7, 7), "stage4.3": (976, 7, 7), "stage4": (976, 7, 7),
        "conv5.0": (2048, 7, 7), "conv5.1": (2048, 7, 7), "conv5.2": (2048, 7, 7), "conv5": (2048, 7, 7),
        "fc": (1000,),
    },
    "squeezenet1_0": {
        "features.0": (96, 109, 109), "features.1": (96, 109, 109), "features.2": (96, 54, 54),
        "features.3": (128, 54, 54), "features.4": (128, 54, 54), "features.5": (256, 54, 54),
        "features.6": (256, 27, 27), "features.7": (256, 27, 27), "features.8": (384, 27, 27),
        "features.9": (384, 27, 27), "features.10": (512, 27, 27), "features.11": (512, 13, 13),
        "features.12": (512, 13, 13), "features": (512, 13, 13), "classifier.0": (512, 13, 13),
        "classifier.1": (1000, 13, 13), "classifier.2": (1000, 13, 13), "classifier.3": (1000, 1, 1),
        "classifier": (1000, 1, 1),
    },
    "squeezenet1_1": {
        "features.0": (64, 111, 111), "features.1": (64, 111, 111), "features.2": (64, 55, 55),
        "features.3": (128, 55, 55), "features.4": (128, 55, 55), "features.5": (128, 27, 27),
        "features.6": (256, 27, 27), "features.7": (256, 27, 27), "features.8": (256, 13, 13),
        "features.9": (384, 13, 13), "features.10": (384, 13, 13), "features.11": (512, 13, 13),
        "features.12": (512, 13, 13), "features": (512, 13, 13), "classifier.0": (512, 13, 13),
        "classifier.1": (1000, 13, 13), "classifier.2": (1000, 13, 13), "classifier.3": (1000, 1, 1),
        "classifier": (1000, 1, 1),
    },
}


def family_of(name: str) -> str:
    return next(f for f in FAMILIES if name.startswith(f))


def top_ids(report) -> list[str]:
    """The spec's top-level ids in order (a block's rows share their first segment)."""
    seen: list[str] = []
    for row in report.rows:
        first = row.id.split(".")[0]
        if first not in seen:
            seen.append(first)
    return seen


def stage_output(report, sid: str) -> tuple[int, ...]:
    """The output of a top-level layer or block: its last row."""
    return [r.output for r in report.rows if r.id == sid or r.id.startswith(sid + ".")][-1]


def our_id(name: str, path: str, report) -> str | None:
    """Our id for torchvision's module path `path` (None: a module we do not name)."""
    family, ids = family_of(name), top_ids(report)
    head, _, index = path.partition(".")
    if family == "mnasnet":  # layers.0-16 are our first 17 top-level layers; classifier = dropout, fc
        return {"layers": ids[16], "classifier": "fc"}.get(path) or (
            ids[int(index)] if head == "layers" else ["dropout", "fc"][int(index)])
    if family == "mobilenet_v3":  # features.0 stem, features.1..n bneck.i, then lastconv
        n = len({r.id.split(".")[1] for r in report.rows if r.id.startswith("bneck.")})  # table rows
        if head == "features":
            i = int(index) if index else n + 1
            return "stem" if i == 0 else f"bneck.{i}" if i <= n else "lastconv"
        classifier = ["fc1", "hardswish", "dropout", "fc2"]
        return {"avgpool": "avgpool", "classifier": "fc2"}.get(path) or classifier[int(index)]
    if family == "shufflenet_v2":
        if head.startswith("stage"):
            return head if not index else f"{head}.down" if index == "0" else f"{head}.units.{int(index) - 1}"
        parts = {"conv1": ["conv1", "bn1", "relu1"], "conv5": ["conv5", "bn5", "relu5"]}
        return parts[head][int(index) if index else 2] if head in parts else head
    # squeezenet: features.0-12 are our first 13 top-level layers, classifier.0-3 the next 4
    if head == "features":
        return ids[int(index) if index else 12]
    return ids[13 + (int(index) if index else 3)]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_matches_torchvision_exactly(name):
    params, buffers, batches_tracked, macs = MEASURED[name]
    report = sizecalc.analyze(name)
    assert report.totals.params == params == PUBLISHED[name][0]
    assert report.totals.buffers == buffers + batches_tracked  # ours counts num_batches_tracked too
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == PUBLISHED[name][1]
    assert report.input_shape == (3, 224, 224)  # every one of these weights runs at 224 (crop_size)
    assert report.output == (1000,)
    assert not [f for f in report.findings if f.severity != "info"]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_stage_shapes_match_torchvision(name):
    report = sizecalc.analyze(name)
    ours = {path: stage_output(report, our_id(name, path, report)) for path in STAGES[name]}
    assert ours == STAGES[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_each_variant_resolves_to_its_family_file(name):
    path, variant = zoo.locate(name)
    assert path.name == f"{FAMILIES[family_of(name)]}.yaml" and variant == name


def test_the_replaced_single_network_names_still_resolve():
    # mobilenet_v3_large.yaml, shufflenet_v2_x1_0.yaml, squeezenet1_0/1_1.yaml are now variants
    for name in ("mobilenet_v3_large", "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1"):
        assert zoo.locate(name)[1] == name


def test_mnasnet_widths_are_torchvisions_get_depths():
    # torchvision's _get_depths(alpha) for the base depths 32, 16, 24, 40, 80, 96, 192, 320, by hand:
    # 1.3: 41.6 -> 40, 20.8 -> 24, 31.2 -> 32, 52 -> 56, 104, 124.8 -> 128, 249.6 -> 248, 416
    report = sizecalc.analyze("mnasnet1_3")
    widths = [report.row(i).output[0] for i in ("stem", "sep_project", "stack1.0.project", "stack2.0.project",
                                                 "stack3.0.project", "stack4.0.project", "stack5.0.project",
                                                 "stack6.0.project")]
    assert widths == [40, 24, 32, 56, 104, 128, 248, 416]
    # the residual is there exactly when in == out and stride 1: not in any stack's first block
    # (stack4: 104 -> 128 at stride 1), in every later one
    assert not [r for r in report.rows if r.id.endswith(".0.residual")]
    assert len([r for r in report.rows if r.id.endswith(".residual")]) == 2 + 2 + 2 + 1 + 3 + 0


def test_mobilenet_v3_small_squeeze_widths():
    # SE squeeze = make_divisible(expanded // 4, 8): 16 // 4 = 4 -> 8; 96 // 4 = 24; 120 // 4 = 30 -> 32;
    # 144 // 4 = 36 -> 40; 576 // 4 = 144
    report = sizecalc.analyze("mobilenet_v3_small")
    squeeze = {i: report.row(f"bneck.{i}.se.fc1").output[0] for i in (1, 4, 7, 8, 10)}
    assert squeeze == {1: 8, 4: 24, 7: 32, 8: 40, 10: 144}
    assert report.row("fc1").output == (1024,) and report.row("lastconv.conv").output[0] == 6 * 96


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_check_on_the_meta_device(family):
    torch = pytest.importorskip("torch")  # noqa: F841
    for name in sorted(n for n in PUBLISHED if family_of(n) == family):
        out = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert out.exit_code == 0, (name, out.output)


@pytest.mark.parametrize("name", ["mnasnet0_5", "mobilenet_v3_small", "shufflenet_v2_x0_5", "squeezenet1_1"])
def test_saved_for_backward_matches_autograd(name):
    # the smallest member of each family, on the CPU at 3x64x64: every byte autograd packs
    torch = pytest.importorskip("torch")
    from sizecalc.torch.backend import build_module

    module = build_module(sizecalc.load(name, input_shape=(3, 64, 64)), device="cpu").train()
    from test_memory_torch import saved_bytes  # every byte autograd packs, parameters and buffers excluded
    measured_bytes = saved_bytes(module, torch.randn(1, 3, 64, 64))
    assert sizecalc.analyze(name, input_shape=(3, 64, 64)).memory.saved_bytes == measured_bytes
