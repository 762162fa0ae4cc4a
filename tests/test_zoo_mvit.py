"""Multiscale Vision Transformers (specs/mvit.yaml, one family of 2) against torchvision: params,
buffers, MACs, output, default input, stage shapes, and saved-for-backward.

How the figures were obtained:
- params and GFLOPS: torchvision 0.28's published figures, the `num_params` and `_ops` of each
  model's DEFAULT weights (KINETICS400_V1, 16 frames of 224 x 224): 36,610,672 and 70.599
  (mvit_v1_b), 34,537,744 and 64.224 (mvit_v2_s).
- MACs, buffers, stage shapes: measured from torchvision 0.28's models (weights=None) on the meta
  device at 1 x 3 x 16 x 224 x 224: MACs = FlopCounterMode's total // 2 with gradients enabled
  (MViT writes its attention out as matmul, softmax, matmul: no fused kernel to force off);
  output shapes of conv_proj, pos_encoding, blocks.0 ... blocks.15 (the first of each block's
  (x, thw)) and norm from forward hooks.
- saved bytes: torchvision's mvit_v2_s and mvit_v1_b built for a clip of 4 frames of 32 x 32
  (their `_mvit` given spatial_size=(32, 32), temporal_size=4) with stochastic_depth_prob=0.0
  (the specs leave stochastic depth out), in training mode at batch 2 in fp32 on the CPU, each
  storage autograd packs counted once, parameters excluded (saved_tensors_hooks, as
  tests/test_memory_torch.py's saved_bytes); and block by block (torchvision's blocks.1 ...).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.units import GridTokens, Tokens
from sizecalc.spec import zoo

# name: (params, published GFLOPS, MACs = FlopCounterMode // 2)
MVIT = {
    "mvit_v1_b": (36_610_672, 70.599, 70_599_407_808),
    "mvit_v2_s": (34_537_744, 64.224, 64_223_815_872),
}
# torchvision's blocks.N output, 1 x N x C: (tokens, channels), measured with forward hooks
BLOCKS = {
    "mvit_v1_b": [(25089, 192), (6273, 192), (6273, 384), *[(1569, 384)] * 10, (1569, 768), (393, 768), (393, 768)],
    "mvit_v2_s": [(25089, 96), (6273, 192), (6273, 192), *[(1569, 384)] * 11, (393, 768), (393, 768)],
}
# our block ids, in torchvision's order: stage 1's one block, then 2, 11 and 2
OURS = ["s1", "s2.0", "s2.1", *[f"s3.{i}" for i in range(11)], "s4.0", "s4.1"]
SMALL = (3, 4, 32, 32)
# saved bytes at batch 2, fp32, 3 x 4 x 32 x 32, training (torchvision, saved_tensors_hooks)
SAVED_SMALL = {"mvit_v1_b": 11_596_296, "mvit_v2_s": 13_649_704}
SMALL_PARAMS = {"mvit_v1_b": 36_315_184, "mvit_v2_s": 34_424_848}  # v1's embedding is 8x8 + 2 + 1; v2's tables shrink
# mvit_v2_s at the small clip, block by block (torchvision's blocks.N alone, its input needing a gradient)
SAVED_BLOCKS_V2 = [2_102_344, 1_961_392, 1_082_256, 1_097_184, *[604_288] * 10, 788_032, 434_256]


def test_the_family_is_one_file_with_both():
    assert zoo.variant_names(zoo.find("mvit")) == list(MVIT)
    assert all(zoo.find(name) == zoo.find("mvit") for name in MVIT)


@pytest.mark.parametrize("name", list(MVIT))
def test_totals_match_torchvision(name):
    params, gflops, macs = MVIT[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, 16, 224, 224)
    assert report.totals.params == params
    assert report.totals.buffers == 0
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (400,)


@pytest.mark.parametrize("name", list(MVIT))
def test_stage_shapes_match_torchvision(name):
    rows = {row.id: row.output for row in sizecalc.analyze(name).rows}
    assert rows["conv_proj"] == (96, 8, 56, 56)  # 1 x 96 x 8 x 56 x 56
    assert rows["class_token"] == Tokens((96, 25089))  # pos_encoding: 1 x 25,089 x 96
    assert rows["class_token"].grid == (8, 56, 56)
    for ours, (tokens, channels) in zip(OURS, BLOCKS[name]):
        assert rows[f"{ours}.add_mlp"] == Tokens((channels, tokens)), ours
    assert rows["norm"] == Tokens((768, 393))
    assert rows["s4.1.add_mlp"].grid == (8, 7, 7)


@pytest.mark.parametrize("name", list(MVIT))
def test_saved_bytes_match_torchvision_on_a_small_clip(name):
    report = sizecalc.analyze(name, batch=2, input_shape=SMALL)
    assert report.totals.params == SMALL_PARAMS[name]
    assert report.memory.saved_bytes == SAVED_SMALL[name]


def test_saved_bytes_block_by_block():
    report = sizecalc.analyze("mvit_v2_s", batch=2, input_shape=SMALL)
    per_block = dict.fromkeys(OURS, 0)
    for row in report.rows:
        block = ".".join(row.id.split(".")[:2]) if row.id.startswith(("s2.", "s3.", "s4.")) else row.id.split(".")[0]
        if block in per_block:
            per_block[block] += row.saved_bytes
    assert list(per_block.values()) == SAVED_BLOCKS_V2


def test_pooling_attention_needs_grid_tokens(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("sizecalc: 1\ninput: [8, 4, 4]\nlayers:\n  - {tokens}\n  - {id: a, pooling_attention: 2}\n")
    out = CliRunner().invoke(main, ["table", str(spec)])
    assert out.exit_code == 1
    line = out.output.strip().splitlines()[0]
    assert line.startswith(f"{spec}:5:") and "needs-class-token" in line and "class_token" in line


def test_heads_must_split_the_channels(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("sizecalc: 1\ninput: [8, 2, 4, 4]\nlayers:\n  - {tokens}\n  - {class_token}\n"
                    "  - {pooling_attention: 3, kernel_kv: 3, stride_kv: [1, 2, 2]}\n")
    out = CliRunner().invoke(main, ["table", str(spec)])
    assert out.exit_code == 1
    assert "8 channels do not split into 3 heads (8/3 = 2.66667)" in out.output and "heads: 2" in out.output


def test_grid_tokens_equal_plain_tokens_of_the_same_size():
    assert GridTokens((96, 25089), (8, 56, 56)) == Tokens((96, 25089))
    assert GridTokens((96, 25089), (8, 56, 56)) != GridTokens((96, 25089), (16, 28, 56))


@pytest.mark.slow
def test_check_on_the_meta_device_passes_for_every_member():
    for name in MVIT:
        out = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert out.exit_code == 0, (name, out.output[-2000:])


@pytest.mark.slow
def test_check_on_the_cpu_at_a_small_clip():
    out = CliRunner().invoke(main, ["check", "mvit_v2_s", "--device", "cpu", "--batch", "2", "--input", "3,4,32,32"])
    assert out.exit_code == 0, out.output[-2000:]
    assert "13,649,704 B" in out.output
