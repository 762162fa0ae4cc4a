"""Vision Transformers (specs/vit.yaml, one family of 5) against torchvision: params, buffers,
MACs, output, default input, stage shapes, and saved-for-backward with each attention kernel.

How the figures were obtained:
- params and GFLOPS: torchvision 0.28's published figures, the `num_params` and `_ops` of each
  model's DEFAULT weights (IMAGENET1K_V1 at 224; ViT-H/14's IMAGENET1K_SWAG_E2E_V1 at 518).
- MACs, buffers, stage shapes: measured from torchvision 0.28's models (weights=None;
  vit_h_14(image_size=518)) on the meta device: MACs = FlopCounterMode's total // 2 with
  gradients enabled and attention forced onto the math path
  (sdpa_kernel(SDPBackend.MATH): the fused kernels' matmuls are not counted), output shapes of
  conv_proj, encoder.layers.encoder_layer_0 and encoder.ln from forward hooks.
- saved bytes: torchvision's vit_b_16() and vit_b_16(image_size=32) in training mode at batch 2 on the CPU,
  each storage autograd packs counted once, parameters excluded (saved_tensors_hooks), with
  sdpa_kernel(FLASH_ATTENTION) and sdpa_kernel(MATH).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.units import Tokens
from sizecalc.spec import zoo

# name: (params, published GFLOPS, MACs, input side, layers, hidden, tokens N)
VIT = {
    "vit_b_16": (86_567_656, 17.564, 17_563_828_224, 224, 12, 768, 197),
    "vit_b_32": (88_224_232, 4.409, 4_409_186_304, 224, 12, 768, 50),
    "vit_l_16": (304_326_632, 61.555, 61_554_712_576, 224, 24, 1024, 197),
    "vit_l_32": (306_535_400, 15.378, 15_377_539_072, 224, 24, 1024, 50),
    "vit_h_14": (633_470_440, 1016.717, 1_016_716_764_160, 518, 32, 1280, 1370),
}
SPEC = Path(__file__).resolve().parent.parent / "specs" / "vit.yaml"


def test_the_family_is_one_file_with_all_five():
    assert zoo.variant_names(zoo.find("vit")) == list(VIT)
    assert all(zoo.find(name) == zoo.find("vit") for name in VIT)


@pytest.mark.parametrize("name", list(VIT))
def test_totals_match_torchvision(name):
    params, gflops, macs, side, *_ = VIT[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == (3, side, side)
    assert report.totals.params == params
    assert report.totals.buffers == 0
    assert report.totals.macs == macs
    assert round(report.totals.macs / 1e9, 3) == gflops
    assert report.output == (1000,)


@pytest.mark.parametrize("name", list(VIT))
def test_stage_shapes_match_torchvision(name):
    *_, side, layers, hidden, tokens = VIT[name]
    patch = int(name.rsplit("_", 1)[1])
    rows = {row.id: row.output for row in sizecalc.analyze(name).rows}
    assert rows["conv_proj"] == (hidden, side // patch, side // patch)  # conv_proj: 1 x D x S/P x S/P
    # encoder.layers.encoder_layer_i and encoder.ln: 1 x N x D (torch), N x D tokens here
    for i in range(layers):
        assert rows[f"encoder.{i}.add_2"] == Tokens((hidden, tokens))
    assert rows["ln"] == Tokens((hidden, tokens))
    assert rows["class_output"] == (hidden,)


def vit_b_16_at_32() -> str:
    """The family spec with its image size 32: ViT-B/16 for 2*2 + 1 = 5 tokens
    (torchvision's vit_b_16(image_size=32))."""
    text = SPEC.read_text()
    assert "image: 224, classes" in text and "input: [3, 224, 224]\n" in text
    return text.replace("image: 224, classes", "image: 32, classes").replace("input: [3, 224, 224]\n",
                                                                             "input: [3, 32, 32]\n")


@pytest.mark.parametrize("path, measured", [("fused", 5_992_016), ("math", 6_752_336), ("auto", 5_992_016)])
def test_saved_bytes_match_torchvisions_own_vit(path, measured):
    report = sizecalc.analyze(vit_b_16_at_32(), batch=2, attention=path)
    assert report.totals.params == 86_567_656 - (197 - 5) * 768  # the position embedding is 5 x 768
    assert report.memory.saved_bytes == measured


@pytest.mark.parametrize("path, measured", [("fused", 236_321_360), ("math", 309_851_216)])
def test_saved_bytes_at_224_match_torchvision(path, measured):
    # 197 tokens: the math path keeps 12 heads x 197^2 probabilities and q, k per block besides
    assert sizecalc.analyze("vit_b_16", batch=2, attention=path).memory.saved_bytes == measured


def test_fit_shows_each_attention_kernel():
    out = CliRunner().invoke(main, ["fit", "vit_l_16", "--memory", "80GB", "--optimizer", "adamw", "--amp"])
    assert out.exit_code == 0, out.output
    assert "with a fused kernel" in out.output and "on the math path" in out.output
    batches = {path: sizecalc.analyze("vit_l_16", optimizer="adamw", amp=True, attention=path) for path in
               ("math", "fused")}
    # the math path keeps 16 heads x 197^2 probabilities and q, k per block: more per sample
    assert batches["math"].memory.saved_bytes > batches["fused"].memory.saved_bytes


@pytest.mark.slow
def test_check_on_the_meta_device_passes_for_every_member():
    for name in VIT:
        out = CliRunner().invoke(main, ["check", name, "--device", "meta"])
        assert out.exit_code == 0, (name, out.output[-2000:])


@pytest.mark.slow
@pytest.mark.parametrize("path", ["fused", "math"])
def test_check_on_the_cpu_with_each_kernel(tmp_path, path):
    spec = tmp_path / "vit32.yaml"
    spec.write_text(vit_b_16_at_32())
    out = CliRunner().invoke(main, ["check", f"{spec}:vit_b_16", "--device", "cpu", "--batch", "2",
                                    "--attention", path])
    assert out.exit_code == 0, out.output[-2000:]
    assert {"fused": "5,992,016 B", "math": "6,752,336 B"}[path] in out.output
