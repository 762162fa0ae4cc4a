"""LayerNorm, layer scale and stochastic depth (issue #16, point 2), by hand.

Every number is computed from the definitions: LayerNorm(C) has a scale and a shift per
channel (2*C params, torch's nn.LayerNorm(C).weight and .bias), and keeps for backward its
input and a mean and inverse deviation per position (torch's native_layer_norm saves input,
mean, rstd); layer scale is C params and keeps its input; stochastic depth keeps one noise
value per sample (torchvision's StochasticDepth, mode row: a noise of shape N x 1 x 1 x 1).
"""

from __future__ import annotations

import pytest

import sizecalc
from sizecalc.core.errors import SpecError


def spec(shape, *layers) -> str:
    return f"sizecalc: 1\nname: t\ninput: {list(shape)}\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)


def test_layernorm_of_vit_b_tokens():
    """ViT-B's LayerNorm(768) on 197 tokens (a C x N = 768 x 197 sequence): 2*768 = 1,536
    params, no buffers; saved at batch 1, fp32: the input 768*197 = 151,296 values and a mean
    and an inverse deviation per token, 2*197 = 394: (151,296 + 394)*4 = 606,760 bytes."""
    report = sizecalc.analyze(spec((768, 197), "{layernorm}"))
    row = report.rows[-1]
    assert (row.weights, row.biases, row.buffers, row.output) == (768, 768, 0, (768, 197))
    assert row.params == 1_536
    assert row.macs == 0 and report.totals.macs == 0  # no conv or fc MACs
    assert report.memory.saved_bytes == 606_760


def test_layernorm_options():
    # elementwise_affine: false -> no params; bias: false -> the scale only, 768
    assert sizecalc.analyze(spec((768, 197), "{LayerNorm: 768, elementwise_affine: false}")).totals.params == 0
    assert sizecalc.analyze(spec((768, 197), "{ln, bias: false}")).totals.params == 768
    # ConvNeXt's LayerNorm2d on 96 x 56 x 56: 2*96 = 192 params; statistics per pixel, 2*56*56
    report = sizecalc.analyze(spec((96, 56, 56), "{LayerNorm2d, eps: 1.0e-6}"), batch=2)
    assert report.totals.params == 192
    assert report.memory.saved_bytes == 2 * (96 * 56 * 56 + 2 * 56 * 56) * 4  # 2,508,800
    # under --macs all: one per element, 96*56*56 = 301,056
    assert sizecalc.analyze(spec((96, 56, 56), "{layernorm}"), macs="all").totals.macs == 301_056


def test_layernorm_checks_the_channels_it_is_told():
    with pytest.raises(SpecError, match=r"normalized_shape 64, but the input has 96 channels"):
        sizecalc.analyze(spec((96, 56, 56), "{layernorm: 64}"))


def test_layer_scale_and_stochastic_depth():
    """Layer scale on 96 x 56 x 56: 96 params, no conv/fc MACs (96*56*56 = 301,056 under --macs
    all); saved: its input, 4 samples x 301,056 x 4 bytes = 4,816,896. Stochastic depth p = 0.1
    after it, mode row: 4 noise values, 16 bytes; mode batch: 1 value, 4 bytes; p = 0: none."""
    report = sizecalc.analyze(spec((96, 56, 56), "{layer_scale}", "{drop_path: 0.1}"), batch=4)
    scale, drop = report.rows
    assert (scale.params, scale.macs, drop.params) == (96, 0, 0)
    assert (scale.saved_bytes, drop.saved_bytes) == (4_816_896, 16)
    assert sizecalc.analyze(spec((96, 56, 56), "{layerscale}"), macs="all").totals.macs == 301_056
    batch_mode = sizecalc.analyze(spec((96, 56, 56), "{layer_scale}", "{stochastic_depth: 0.1, mode: batch}"), batch=4)
    assert batch_mode.rows[-1].saved_bytes == 4
    off = sizecalc.analyze(spec((96, 56, 56), "{layer_scale}", "{drop_path: 0}"), batch=4)
    assert off.rows[-1].saved_bytes == 0 and off.rows[-1].shares_storage  # the identity: its input's storage
    # in training (p > 0) the product is a tensor of its own: forward holds input, scale, drop
    assert report.memory.forward_bytes == 3 * 4 * 301_056 * 4
    # at inference it is the identity: input and layer scale output, plus the 96 params
    assert report.memory.inference_peak_bytes == 2 * 4 * 301_056 * 4 + 96 * 4


def test_convnext_tiny_block_by_hand():
    """ConvNeXt-T's first block (96 channels at 56 x 56):
    depthwise 7x7 conv 7*7*96 + 96 = 4,800; LayerNorm 2*96 = 192; Linear 96 -> 384
    96*384 + 384 = 37,248; Linear 384 -> 96 384*96 + 96 = 36,960; layer scale 96:
    4,800 + 192 + 37,248 + 36,960 + 96 = 79,296 params.
    MACs: 56*56*(7*7*96 + 96*384 + 384*96) = 3,136*78,432 = 245,962,752."""
    report = sizecalc.analyze("convnext_tiny")
    rows = [row for row in report.rows if row.id.startswith("stage1.block.0.")]
    assert sum(row.params for row in rows) == 79_296
    assert sum(row.macs for row in rows) == 245_962_752
