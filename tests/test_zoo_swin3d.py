"""Video Swin Transformer T/S/B (specs/swin3d.yaml) against torchvision's swin3d_t, swin3d_s,
swin3d_b at 3x16x224x224: params, buffers, MACs, output, stage depths and shapes, shifts and
stochastic depth, saved-for-backward, and `check --device meta`.

How the figures were obtained (torchvision 0.28, torch 2.13 on the CPU, weights=None):
- params: torchvision's published `num_params` (Swin3D_T/S/B_Weights.KINETICS400_V1), and
  counted: `sum(p.numel() for p in model.parameters())` on the model built on the meta device;
  swin3d_t also by hand below.
- buffers: `sum(b.numel() for b in model.buffers())`: the relative_position_index of every
  block, (8*7*7)^2 = 392^2 = 153,664 each, 12 or 24 blocks.
- MACs: the model and a zero clip of 1x3x16x224x224 on the meta device, then
  `with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc: model(x)` with
  gradients enabled, MACs = fc.get_total_flops() // 2 (the attention is explicit matmuls:
  every one counted). They round to torchvision's published `_ops` GFLOPS (43.882, 82.841,
  140.667).
- stage shapes: forward hooks on patch_embed and features.0..6 in the same pass (torchvision's
  N x T x H x W x C, written here C x T x H x W as sizecalc's shapes).
- saved for backward: torchvision's swin3d_t in training mode, the bytes of the distinct
  storages that autograd packs (tests/test_memory_torch.py's `saved_bytes`, parameters and
  buffers excluded), on the meta device at 3x16x224x224 and on the CPU at 3x8x32x32.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.spec import zoo

# name: (params, buffers, MACs, published GFLOPS, blocks per stage, stage outputs (C, T, H, W))
SWIN3D = {
    "swin3d_t": (28_158_070, 1_843_968, 43_882_229_760, 43.882, [2, 2, 6, 2],
                 [(96, 8, 56, 56), (192, 8, 28, 28), (384, 8, 14, 14), (768, 8, 7, 7)]),
    "swin3d_s": (49_816_678, 3_687_936, 82_841_284_608, 82.841, [2, 2, 18, 2],
                 [(96, 8, 56, 56), (192, 8, 28, 28), (384, 8, 14, 14), (768, 8, 7, 7)]),
    "swin3d_b": (88_048_984, 3_687_936, 140_666_617_856, 140.667, [2, 2, 18, 2],
                 [(128, 8, 56, 56), (256, 8, 28, 28), (512, 8, 14, 14), (1024, 8, 7, 7)]),
}


def test_one_family_with_all_three():
    assert zoo.variant_names(zoo.find("swin3d")) == list(SWIN3D)
    assert all(zoo.find(name) == zoo.find("swin3d") for name in SWIN3D)


@pytest.mark.parametrize("name", list(SWIN3D))
def test_totals_match_torchvision(name):
    params, buffers, macs, gflops, _, _ = SWIN3D[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, 16, 224, 224)
    assert report.totals.params == params
    assert report.totals.buffers == buffers == (12 if name == "swin3d_t" else 24) * 392 ** 2
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (400,)
    assert not report.errors()


def test_swin3d_t_params_by_hand():
    """A block of C channels and h heads: two LayerNorms 2*2C, qkv 3C^2 + 3C, proj C^2 + C,
    the bias table (2*8-1)(2*7-1)(2*7-1) = 15*13*13 = 2,535 rows of h, the MLP 4C^2 + 4C + 4C^2 + C:
    12C^2 + 13C + 2,535h. Swin3D-T: 2 blocks of (96, 3) 119,445; 2 of (192, 6) 460,074; 6 of
    (384, 12) 1,804,884; 2 of (768, 24) 7,148,712: 26,285,766. Patch embedding 3*2*4*4*96 + 96 +
    LayerNorm 192 = 9,504; merges 8C^2 + 8C (C = 96, 192, 384) 1,553,664; the final LayerNorm
    1,536; the head 768*400 + 400 = 307,600. Total 28,158,070."""
    def block(c, h):
        return 12 * c * c + 13 * c + 2_535 * h

    blocks = 2 * block(96, 3) + 2 * block(192, 6) + 6 * block(384, 12) + 2 * block(768, 24)
    merges = sum(8 * c * c + 8 * c for c in (96, 192, 384))
    assert (blocks, merges) == (26_285_766, 1_553_664)
    assert 9_504 + blocks + merges + 1_536 + 307_600 == 28_158_070
    report = sizecalc.analyze("swin3d_t")
    assert sum(r.params for r in report.rows if r.id.startswith("stage3.block.0.")) == block(384, 12)
    assert report.row("stage1.block.0.attn").params == 4 * 96 ** 2 + 4 * 96 + 2_535 * 3


@pytest.mark.parametrize("name", list(SWIN3D))
def test_stage_depths_and_shapes_match_torchvision(name):
    *_, depths, shapes = SWIN3D[name]
    report = sizecalc.analyze(name)
    assert report.row("patch_norm").output == shapes[0]  # patch_embed: 16/2 = 8 frames, 224/4 = 56
    for stage, (depth, shape) in enumerate(zip(depths, shapes), start=1):
        rows = [row for row in report.rows if row.id.startswith(f"stage{stage}.")]
        assert len({row.id.split(".")[2] for row in rows}) == depth  # stage{i}.block.{k}.*
        assert rows[-1].output == shape
        if stage < 4:  # PatchMerging on each frame: T kept, H and W halved, the channels doubled
            c, t, h, w = shape
            assert report.row(f"merge{stage}").output == (2 * c, t, h // 2, w // 2)


def test_shifts_alternate_and_torch_drops_the_time_shift():
    """torchvision: shift [0, 0, 0] in a stage's even blocks, [8 // 2, 7 // 2, 7 // 2] = [4, 3, 3]
    in odd ones. The 8 frames are at most the window's 8: torch keeps the time window at 8 and
    drops the time shift in every block (0x3x3 in odd blocks), and the last stage's 8x7x7 clip
    is a single window, unshifted. Stochastic depth 0.1 * k / 11 (block k of 12; torchvision's
    builders give 0.1 to all three sizes)."""
    graph = sizecalc.load("swin3d_t")
    args = {node.id: node.args for node in graph.nodes}
    assert [list(args[f"stage3.block.{k}.attn"]["shift"]) for k in range(3)] == [[0, 0, 0], [4, 3, 3], [0, 0, 0]]
    assert list(args["stage1.block.0.attn"]["window"]) == [8, 7, 7]
    assert args["stage1.block.0.drop1"]["p"] == 0
    assert args["stage3.block.0.drop1"]["p"] == pytest.approx(0.1 * 4 / 11)
    assert args["stage4.block.1.drop2"]["p"] == pytest.approx(0.1)
    report = sizecalc.analyze("swin3d_t")
    notes = {f.layer: f.message for f in report.findings if f.rule == "window-covers-map"}
    assert set(notes) == {"stage1.block.1.attn", "stage2.block.1.attn", "stage3.block.1.attn",
                          "stage4.block.1.attn"}
    assert "(shift 0x3x3)" in notes["stage1.block.1.attn"]
    assert "in T, H and W" in notes["stage4.block.1.attn"] and "(shift 0x0x0)" in notes["stage4.block.1.attn"]
    # stage 1: 8x56x56 in windows of 8x7x7, 1*8*8 = 64 windows of 392 tokens, C = 96:
    # 64*(4*392*96^2 + 2*392^2*96) = 2,813,067,264 MACs (the published figure's largest part)
    assert report.row("stage1.block.1.attn").macs == 64 * (4 * 392 * 96 ** 2 + 2 * 392 ** 2 * 96) \
        == 2_813_067_264


@pytest.mark.parametrize("batch, measured", [
    # torchvision's swin3d_t on the meta device, batch 2. At batch 1 torch keeps 2,408,448 bytes
    # more (1,350,772,440): the last stage's two blocks are one 8x7x7 window each, where the keys
    # and values stay views of the qkv output, 8*7*7*768 elements more per block than sizecalc
    # states (layers/swin.py): 2*301,056*4 bytes
    (2, 2_696_727_984),
])
def test_saved_for_backward_at_full_size_matches_torchvision(batch, measured):
    assert sizecalc.analyze("swin3d_t", batch=batch).memory.saved_bytes == measured
    assert sizecalc.analyze("swin3d_t", batch=1).memory.saved_bytes == 1_350_772_440 - 2_408_448


def test_saved_for_backward_on_a_small_clip_matches_torch():
    """3x8x32x32: stage 1 is 4x8x8, where torch shrinks the window to 4 frames (and reads the
    bias table through a copy of its index's corner, saved); from stage 2 on every block is one
    window. torchvision's swin3d_t on the CPU at batch 2: 28,754,224 bytes (batch 1: 14,993,816,
    the 10 one-window blocks keeping k and v as views of qkv, 270,336 bytes more than stated:
    (2*4*4*4*192 + 6*4*2*2*384 + 2*4*1*1*768)*4). sizecalc's module, built and run (on the meta
    device, whose tensors autograd keeps as the CPU's), the same."""
    torch = pytest.importorskip("torch")
    from test_memory_torch import saved_bytes

    from sizecalc.torch.backend import build_module

    shape = (3, 8, 32, 32)
    assert sizecalc.analyze("swin3d_t", batch=2, input_shape=shape).memory.saved_bytes == 28_754_224
    assert sizecalc.analyze("swin3d_t", batch=1, input_shape=shape).memory.saved_bytes == 14_993_816 - 270_336
    module = build_module(sizecalc.load("swin3d_t", input_shape=shape), device="meta").train()
    assert saved_bytes(module, torch.randn(2, *shape, device="meta")) == 28_754_224


@pytest.mark.slow  # about 4 s a member: opt in with --slow
def test_check_on_meta_passes_for_every_member():
    pytest.importorskip("torch")
    for name in SWIN3D:
        result = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert result.exit_code == 0, (name, result.output[-2000:])


@pytest.mark.slow  # a full-size forward on the CPU: about 10 s and a few GB
def test_full_size_forward_on_the_cpu():
    torch = pytest.importorskip("torch")
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from sizecalc.torch.backend import build_module

    module = build_module(sizecalc.load("swin3d_t"), device="cpu").eval()
    with torch.no_grad():
        assert tuple(module(torch.zeros(1, 3, 16, 224, 224)).shape) == (1, 400)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as flops:
        module(torch.zeros(1, 3, 16, 224, 224))
    assert flops.get_total_flops() // 2 == SWIN3D["swin3d_t"][2]
