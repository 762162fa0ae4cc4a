"""ConvNeXt T/S/B/L (specs/convnext.yaml, one family of 4) against torchvision: params, buffers,
MACs, output, default input, stage shapes, stochastic-depth rates and saved-for-backward.

How the figures were obtained:
- params and GFLOPS: torchvision 0.28's published figures (`num_params`, `_ops` of each
  model's IMAGENET1K_V1 weights, at 224).
- buffers, MACs, stage shapes: measured from torchvision 0.28's models (weights=None) with
  /work/wt/ref/measure.py: MACs = FlopCounterMode's total // 2 on the meta device with
  gradients enabled; shapes are the outputs of features.0 .. features.7.
- saved-for-backward: torchvision's convnext_tiny itself (weights=None, training mode, CPU),
  bytes of the distinct storages autograd packs (saved_tensors_hooks), parameters excluded.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.spec import zoo

# name: (params, published GFLOPS, MACs, width, depths)
CONVNEXT = {
    "convnext_tiny": (28_589_128, 4.456, 4_455_531_264, 96, [3, 3, 9, 3]),
    "convnext_small": (50_223_688, 8.684, 8_683_712_256, 96, [3, 3, 27, 3]),
    "convnext_base": (88_591_464, 15.355, 15_354_729_472, 128, [3, 3, 27, 3]),
    "convnext_large": (197_767_336, 34.361, 34_361_433_600, 192, [3, 3, 27, 3]),
}
# features.0 .. features.7 of torchvision's model (C, H, W): stem, stage, downsample, ...
FEATURES = ("stem_norm", "stage1", "down1", "stage2", "down2", "stage3", "down3", "stage4")


def test_the_family_is_one_file_with_all_four():
    assert zoo.variant_names(zoo.find("convnext")) == list(CONVNEXT)
    assert all(zoo.find(name) == zoo.find("convnext") for name in CONVNEXT)


@pytest.mark.parametrize("name", list(CONVNEXT))
def test_totals_match_torchvision(name):
    params, gflops, macs, _, _ = CONVNEXT[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, 224, 224)
    assert report.totals.params == params
    assert report.totals.buffers == 0  # LayerNorm keeps no running statistics
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (1000,)


@pytest.mark.parametrize("name", list(CONVNEXT))
def test_stage_shapes_and_depths_match_torchvision(name):
    *_, width, depths = CONVNEXT[name]
    report = sizecalc.analyze(name)
    ids = [row.id for row in report.rows]
    # features.0 and .1: width x 56 x 56; .2/.3: 2*width x 28 x 28; .4/.5: 4*width x 14 x 14; .6/.7 at 7 x 7
    expected = [(width * 2 ** (i // 2), 56 // 2 ** (i // 2), 56 // 2 ** (i // 2)) for i in range(8)]
    for feature, shape in zip(FEATURES, expected):
        last = [i for i in ids if i == feature or i.startswith(feature + ".")][-1]
        assert report.row(last).output == shape, feature
    for stage, depth in enumerate(depths, start=1):
        assert len({i.split(".")[2] for i in ids if i.startswith(f"stage{stage}.")}) == depth


def test_stochastic_depth_follows_torchvision_linear_rule():
    """convnext_tiny: block k of 18 drops its branch with 0.1 * k / 17 (torchvision's
    stochastic_depth_prob * stage_block_id / (total_stage_blocks - 1.0)): 0 for the first,
    0.1 for the last; convnext_base's last is 0.5."""
    graph = sizecalc.load("convnext_tiny")
    rates = [node.args["p"] for node in graph.nodes if node.kind.name == "drop_path"]
    assert rates == [0.1 * k / 17 for k in range(18)]
    base = [node.args["p"] for node in sizecalc.load("convnext_base").nodes if node.kind.name == "drop_path"]
    assert len(base) == 36 and base[0] == 0 and base[-1] == 0.5


@pytest.mark.parametrize("batch, side, measured", [(1, 64, 8_916_396), (2, 32, 4_467_528)])
def test_saved_for_backward_matches_torchvision(batch, side, measured):
    torch = pytest.importorskip("torch")
    from test_memory_torch import saved_bytes

    from sizecalc.torch.backend import build_module

    predicted = sizecalc.analyze("convnext_tiny", batch=batch, input_shape=(3, side, side)).memory.saved_bytes
    assert predicted == measured
    module = build_module(sizecalc.load("convnext_tiny", input_shape=(3, side, side)), device="cpu").train()
    assert saved_bytes(module, torch.randn(batch, 3, side, side)) == measured


@pytest.mark.slow  # about 10 s a member on a shared core: opt in with --run-slow
def test_check_on_meta_passes_for_every_member():
    pytest.importorskip("torch")
    for name, (params, *_) in CONVNEXT.items():
        result = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert result.exit_code == 0, (name, result.output[-2000:])
        assert f"params: static {params:,}, torch {params:,}" in result.output
