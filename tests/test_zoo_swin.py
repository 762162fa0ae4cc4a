"""Swin Transformer T/S/B (specs/swin.yaml) and V2 T/S/B (specs/swin_v2.yaml) against torchvision: params,
buffers, MACs, output, default input, stage depths and shapes, and saved-for-backward.

How the figures were obtained:
- params and GFLOPS: torchvision 0.28's published figures (`num_params`, `_ops` of
  Swin_T/S/B_Weights.IMAGENET1K_V1, at 224): 28,288,354 / 4.491, 49,606,258 / 8.741,
  87,768,224 / 15.431; Swin_V2_T/S/B_Weights.IMAGENET1K_V1, at 256: 28,351,570 / 5.94,
  49,737,442 / 11.546, 87,930,848 / 20.325.
- buffers, MACs, stage shapes: measured from torchvision 0.28's models (weights=None) as
  /work/wt/ref/measure.py does: buffers = the relative_position_index of every block (49^2 =
  2,401 each: 12 or 24 blocks; v2 adds relative_coords_table, 15^2*2 = 450, to 64^2 = 4,096),
  MACs = FlopCounterMode's total // 2 on the meta device with gradients enabled (Swin's
  attention is explicit matmuls: every one is counted), and the output
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
SWIN_V2 = {
    "swin_v2_t": (28_351_570, 5.940, 54_552, 5_939_690_496, [2, 2, 6, 2],
                  [(96, 64, 64), (192, 32, 32), (384, 16, 16), (768, 8, 8)]),
    "swin_v2_s": (49_737_442, 11.546, 109_104, 11_545_857_024, [2, 2, 18, 2],
                  [(96, 64, 64), (192, 32, 32), (384, 16, 16), (768, 8, 8)]),
    "swin_v2_b": (87_930_848, 20.325, 109_104, 20_325_134_336, [2, 2, 18, 2],
                  [(128, 64, 64), (256, 32, 32), (512, 16, 16), (1024, 8, 8)]),
}
SIDE = {**dict.fromkeys(SWIN, 224), **dict.fromkeys(SWIN_V2, 256)}
ALL = {**SWIN, **SWIN_V2}


def test_each_family_is_one_file_with_all_three():
    for family, names in (("swin", SWIN), ("swin_v2", SWIN_V2)):
        assert zoo.variant_names(zoo.find(family)) == list(names)
        assert all(zoo.find(name) == zoo.find(family) for name in names)


@pytest.mark.parametrize("name", list(ALL))
def test_totals_match_torchvision(name):
    params, gflops, buffers, macs, _, _ = ALL[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, SIDE[name], SIDE[name])
    assert report.totals.params == params
    assert report.totals.buffers == buffers
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (1000,)


@pytest.mark.parametrize("name", list(ALL))
def test_stage_depths_and_shapes_match_torchvision(name):
    *_, depths, shapes = ALL[name]
    report = sizecalc.analyze(name)
    # features.0: the 4x4 stride-4 patch embedding and its LayerNorm, 56x56 (224 / 4) or 64x64
    assert report.row("patch_norm").output == (shapes[0][0], SIDE[name] // 4, SIDE[name] // 4)
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


@pytest.mark.parametrize("name, batch, measured", [
    # torchvision 0.28's swin_t (weights=None, training mode) on 3x64x64 on the CPU: bytes of the
    # distinct storages autograd packs (saved_tensors_hooks), parameters and buffers excluded, as
    # tests/test_memory_torch.py counts. At batch 1, 15,504,656: the 8 blocks of stages 3 and 4
    # (a 4x4 and a 2x2 map, each padded to one 7x7 window) keep their keys and values as views of
    # the qkv output, 7*7*384 and 7*7*768 elements more per block than sizecalc states
    # (layers/swin.py): 6*18,816 + 2*37,632 = 188,160 elements, 752,640 bytes.
    ("swin_t", 2, 29_504_032),
    # swin_v2_t, the same way, batch 2 (batch 1: 27,776,960; its 10 one-window blocks keep v as a
    # view of the qkv output, P fewer elements each than sizecalc states: 1,081,344 bytes)
    ("swin_v2_t", 2, 49_925_464),
])
def test_saved_for_backward_matches_torch(name, batch, measured):
    torch = pytest.importorskip("torch")
    from test_memory_torch import saved_bytes

    from sizecalc.torch.backend import build_module

    predicted = sizecalc.analyze(name, batch=batch, input_shape=(3, 64, 64)).memory.saved_bytes
    assert predicted == measured
    one = {"swin_t": 15_504_656 - 752_640, "swin_v2_t": 27_776_960 + 1_081_344}[name]
    assert sizecalc.analyze(name, batch=1, input_shape=(3, 64, 64)).memory.saved_bytes == one
    module = build_module(sizecalc.load(name, input_shape=(3, 64, 64)), device="cpu").train()
    torch.manual_seed(0)
    assert saved_bytes(module, torch.randn(batch, 3, 64, 64)) == measured


@pytest.mark.slow  # about 3 s a member: opt in with --slow
def test_check_on_meta_passes_for_every_member():
    pytest.importorskip("torch")
    for name in ALL:
        result = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert result.exit_code == 0, (name, result.output[-2000:])
