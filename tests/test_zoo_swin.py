"""Swin Transformer T/S/B (specs/swin.yaml, one family of 3) against torchvision: params,
buffers, MACs, output, default input, stage depths and shapes, and saved-for-backward.

How the figures were obtained:
- params and GFLOPS: torchvision 0.28's published figures (`num_params`, `_ops` of
  Swin_T/S/B_Weights.IMAGENET1K_V1, at 224): 28,288,354 / 4.491, 49,606,258 / 8.741,
  87,768,224 / 15.431.
- buffers, MACs, stage shapes: measured from torchvision 0.28's models (weights=None) as
  /work/wt/ref/measure.py does: buffers = the relative_position_index of every block (49^2 =
  2,401 each: 12 or 24 blocks), MACs = FlopCounterMode's total // 2 on the meta device with
  gradients enabled (Swin's attention is explicit matmuls: every one is counted), and the output
  shape of features.0..7 (torchvision's H x W x C, written here C x H x W as sizecalc's shapes).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.spec import zoo

# name: (params, published GFLOPS, buffers, MACs, blocks per stage, features.1/3/5/7 (C, H, W))
SWIN = {
    "swin_t": (28_288_354, 4.491, 28_812, 4_490_566_656, [2, 2, 6, 2],
               [(96, 56, 56), (192, 28, 28), (384, 14, 14), (768, 7, 7)]),
    "swin_s": (49_606_258, 8.741, 57_624, 8_740_875_264, [2, 2, 18, 2],
               [(96, 56, 56), (192, 28, 28), (384, 14, 14), (768, 7, 7)]),
    "swin_b": (87_768_224, 15.431, 57_624, 15_430_946_816, [2, 2, 18, 2],
               [(128, 56, 56), (256, 28, 28), (512, 14, 14), (1024, 7, 7)]),
}


def test_the_family_is_one_file_with_all_three():
    assert zoo.variant_names(zoo.find("swin")) == list(SWIN)
    assert all(zoo.find(name) == zoo.find("swin") for name in SWIN)


@pytest.mark.parametrize("name", list(SWIN))
def test_totals_match_torchvision(name):
    params, gflops, buffers, macs, _, _ = SWIN[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, 224, 224)
    assert report.totals.params == params
    assert report.totals.buffers == buffers
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (1000,)


@pytest.mark.parametrize("name", list(SWIN))
def test_stage_depths_and_shapes_match_torchvision(name):
    *_, depths, shapes = SWIN[name]
    report = sizecalc.analyze(name)
    # features.0: the 4x4 stride-4 patch embedding and its LayerNorm, 56x56 (224 / 4)
    assert report.row("patch_norm").output == (shapes[0][0], 56, 56)
    for stage, (depth, shape) in enumerate(zip(depths, shapes), start=1):
        rows = [row for row in report.rows if row.id.startswith(f"stage{stage}.")]
        assert len({row.id.split(".")[2] for row in rows}) == depth  # stage{i}.block.{k}.*
        assert rows[-1].output == shape
        if stage < 4:  # features.2/4/6: PatchMerging, half the side, twice the channels
            assert report.row(f"merge{stage}").output == (2 * shape[0], shape[1] // 2, shape[2] // 2)


def test_shifts_alternate_and_stochastic_depth_grows_linearly():
    """torchvision: shift 0 in a stage's even blocks, 7 // 2 = 3 in odd ones; block k of 12
    drops its branches with probability 0.2 * k / 11 (Swin-T): block 0 0, block 11 0.2."""
    report = sizecalc.analyze("swin_t")
    graph = sizecalc.load("swin_t")
    args = {node.id: node.args for node in graph.nodes}
    assert [args[f"stage3.block.{k}.attn"]["shift"] for k in range(6)] == [0, 3, 0, 3, 0, 3]
    assert args["stage1.block.0.drop1"]["p"] == 0
    assert args["stage3.block.0.drop1"]["p"] == pytest.approx(0.2 * 4 / 11)
    assert args["stage4.block.1.drop2"]["p"] == pytest.approx(0.2)
    assert report.row("stage4.block.1.add2").output == (768, 7, 7)


@pytest.mark.parametrize("batch, measured", [
    # torchvision 0.28's swin_t (weights=None, training mode) on 3x64x64 on the CPU: bytes of the
    # distinct storages autograd packs (saved_tensors_hooks), parameters and buffers excluded, as
    # tests/test_memory_torch.py counts. At batch 1, 15,504,656: the 8 blocks of stages 3 and 4
    # (a 4x4 and a 2x2 map, each padded to one 7x7 window) keep their keys and values as views of
    # the qkv output, 7*7*384 and 7*7*768 elements more per block than sizecalc states
    # (layers/swin.py): 6*18,816 + 2*37,632 = 188,160 elements, 752,640 bytes.
    (2, 29_504_032),
])
def test_saved_for_backward_matches_torch(batch, measured):
    torch = pytest.importorskip("torch")
    from test_memory_torch import saved_bytes

    from sizecalc.torch.backend import build_module

    predicted = sizecalc.analyze("swin_t", batch=batch, input_shape=(3, 64, 64)).memory.saved_bytes
    assert predicted == measured
    assert sizecalc.analyze("swin_t", batch=1, input_shape=(3, 64, 64)).memory.saved_bytes == 15_504_656 - 752_640
    module = build_module(sizecalc.load("swin_t", input_shape=(3, 64, 64)), device="cpu").train()
    torch.manual_seed(0)
    assert saved_bytes(module, torch.randn(batch, 3, 64, 64)) == measured


@pytest.mark.slow  # about 7 s a member: opt in with --slow
def test_check_on_meta_passes_for_every_member():
    pytest.importorskip("torch")
    for name in SWIN:
        result = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert result.exit_code == 0, (name, result.output[-2000:])
