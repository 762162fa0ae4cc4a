"""MaxViT-T (specs/maxvit.yaml) against torchvision's maxvit_t: params, buffers, MACs, output,
default input, stage shapes, stochastic-depth rates, one attention layer by hand, and
saved-for-backward.

How the figures were obtained:
- params and GFLOPS: torchvision 0.28's published figures for MaxVit_T_Weights.IMAGENET1K_V1
  (`num_params` 30,919,624, `_ops` 5.558, at 224).
- buffers, MACs, stage shapes: measured from torchvision 0.28's maxvit_t (weights=None) on
  torch 2.13 (CPU build): buffers = the elements of every buffer but num_batches_tracked
  (100,438, of which relative_position_index 52,822) and 34 num_batches_tracked; MACs =
  FlopCounterMode's total // 2 on the meta device with gradients enabled (its einsums are
  explicit matmuls: no fused kernel to hide them); shapes = forward hooks on `stem`,
  `blocks.0` .. `blocks.3`.
- saved-for-backward: torchvision's maxvit_t itself (weights=None, training mode, meta
  device), bytes of the distinct storages autograd packs (saved_tensors_hooks), parameters
  and buffers excluded, fp32.
"""

from __future__ import annotations

import pytest

import sizecalc
from sizecalc.spec import zoo

PARAMS, GFLOPS, MACS = 30_919_624, 5.558, 5_558_046_720
# 24 BatchNorm2d layers' running mean and var, and 22 relative_position_index buffers of 49 x 49
# (measured: 100,438 elements), plus 34 num_batches_tracked, one per BatchNorm2d, as sizecalc
# counts them
BUFFERS = 100_438 + 34
# torchvision's stem and blocks.0 .. blocks.3 (C, H, W): 224 / 2 = 112, then halved by each block
STAGES = {"stem": (64, 112, 112), "block1": (64, 56, 56), "block2": (128, 28, 28), "block3": (256, 14, 14),
          "block4": (512, 7, 7)}


def test_the_spec_resolves_by_name():
    assert zoo.variant_names(zoo.find("maxvit")) == ["maxvit_t"]
    assert zoo.find("maxvit_t") == zoo.find("maxvit")


def test_totals_match_torchvision():
    report = sizecalc.analyze("maxvit_t")
    assert report.input_shape == (3, 224, 224)
    assert report.totals.params == PARAMS
    assert report.totals.buffers == BUFFERS
    assert report.totals.macs == MACS
    assert round(report.totals.macs / 1e9, 3) == GFLOPS
    assert report.output == (1000,)


def test_relative_position_index_buffers():
    """Each of the 2 * (2 + 2 + 5 + 2) = 22 attention layers registers a 49 x 49 index (P = 7):
    22 * 2401 = 52,822, the elements torchvision's relative_position_index buffers hold."""
    rows = [row for row in sizecalc.analyze("maxvit_t").rows if row.op == "relative_attention"]
    assert len(rows) == 22
    assert sum(row.buffers for row in rows) == 22 * 49 ** 2 == 52_822


def test_stage_shapes_match_torchvision():
    report = sizecalc.analyze("maxvit_t")
    ids = [row.id for row in report.rows]
    for stage, shape in STAGES.items():
        last = [i for i in ids if i == stage or i.startswith(stage + ".")][-1]
        assert report.row(last).output == shape, stage
    # layers per block: 2, 2, 5, 2 (the paper's Table 1, torchvision's block_layers)
    for block, layers in zip(("block1", "block2", "block3", "block4"), (2, 2, 5, 2)):
        assert len({i.split(".")[2] for i in ids if i.startswith(block + ".")}) == layers


def test_one_block_attention_by_hand():
    """block 1's first window attention: C = 64 on 56 x 56 = 3136 tokens in 64 windows of 49,
    2 heads of 32. params 4*64^2 + 4*64 + (2*7 - 1)^2 * 2 = 16,384 + 256 + 338 = 16,978;
    MACs 4*3136*64^2 + 2*3136*49*64 = 51,380,224 + 19,668,992 = 71,049,216 (torchvision's
    RelativePositionalMultiHeadAttention(64, 32, 49) on 1 x 64 x 49 x 64 under FlopCounterMode:
    16,978 params, 71,049,216 MACs, measured)."""
    row = sizecalc.analyze("maxvit_t").row("block1.layer.0.window_attention.attn")
    assert row.params == 16_978
    assert row.macs == 71_049_216
    assert row.buffers == 49 * 49


def test_stochastic_depth_follows_torchvision_linspace():
    """np.linspace(0, 0.2, 11): layer k of the 11 drops its branches with 0.2 * k / 10; the
    MBConv's and both attention layers' (twice each: attention and MLP) share it."""
    graph = sizecalc.load("maxvit_t")
    rates = [node.args["p"] for node in graph.nodes if node.kind.name == "drop_path"]
    assert len(rates) == 11 * 5
    assert sorted(set(rates)) == pytest.approx([0.2 * k / 10 for k in range(11)])


def test_another_input_size_is_refused_where_the_partition_does_not_divide():
    """256: 256/2/2 = 64 at block 1, not a multiple of 7 (torchvision refuses it too)."""
    from sizecalc.core.errors import SpecError
    with pytest.raises(SpecError, match=r"the map's H 64 is not a multiple of the partition 7 .*\[partition-divides\]"):
        sizecalc.analyze("maxvit_t", input_shape=(3, 256, 256))


@pytest.mark.parametrize("batch, measured", [(2, 614_659_360)])
def test_saved_for_backward_matches_torchvision(batch, measured):
    """Measured on torchvision's maxvit_t (meta device, training mode, fp32). At batch 1 torch
    keeps 307,826,320 bytes: each of the 4 attention layers of the 7 x 7 stage has a single
    group, where the values are a view of the qkv projection instead of a copy, 49*512*4 bytes
    more each than sizecalc states (layers/maxvit.py)."""
    assert sizecalc.analyze("maxvit_t", batch=batch).memory.saved_bytes == measured
    assert sizecalc.analyze("maxvit_t", batch=1).memory.saved_bytes == 307_826_320 - 4 * 49 * 512 * 4
