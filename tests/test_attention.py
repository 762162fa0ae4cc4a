"""Tokens and multi-head self-attention (issue #16 points 1, 3, 4): hand figures, the bad
input each gets one located line for, and what autograd keeps with each attention kernel,
against torch's saved_tensors_hooks with the kernel forced (torch.nn.attention.sdpa_kernel).

Hand figures, ViT-B/16 (D = 768, MLP 3,072, 12 heads, N = 14*14 + 1 = 197 tokens):
- one encoder block's params: attention 4*768^2 + 4*768 = 2,362,368; MLP 2*768*3,072 + 3,072
  + 768 = 4,722,432; two LayerNorms 4*768 = 3,072: 7,087,872 in all;
- attention MACs: projections 4*197*768^2 = 464,781,312, scores and weighted sum
  2*197^2*768 = 59,610,624: 524,391,936, whatever the head count.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.errors import SpecError
from sizecalc.core.units import Tokens

VIT_BLOCK = """sizecalc: 1
name: one ViT-B/16 block
input: [3, 224, 224]
layers:
  - {id: conv_proj, conv: 768, kernel: 16, stride: 16}
  - {tokens}
  - {class_token}
  - {id: pos, position_embedding: 197}
  - {id: ln_1, layernorm, eps: 1.0e-6}
  - {id: attn, attention: HEADS}
  - {id: add_1, add: [attn, pos]}
  - {id: ln_2, layernorm, eps: 1.0e-6}
  - {fc: 3072}
  - {gelu}
  - {id: mlp, fc: 768}
  - {id: out, add: [add_1, mlp]}
"""


def rows(text, **options):
    return {row.id: row for row in sizecalc.analyze(text, **options).rows}


def test_a_vit_b_16_block_by_hand():
    r = rows(VIT_BLOCK.replace("HEADS", "12"))
    block = ("ln_1", "attn", "add_1", "ln_2", "fc1", "gelu1", "mlp", "out")
    assert sum(r[k].params for k in block) == 7_087_872
    assert r["attn"].params == 4 * 768 ** 2 + 4 * 768 == 2_362_368
    assert r["attn"].macs == 4 * 197 * 768 ** 2 + 2 * 197 ** 2 * 768 == 524_391_936
    # fc per token: 197 * 768 * 3,072 MACs, (768 + 1) * 3,072 params
    assert (r["fc1"].macs, r["fc1"].params) == (197 * 768 * 3072, 769 * 3072)
    # tokens as the papers write them: 196x768 after the patch conv, 197x768 with the class token
    assert r["tokens1"].output == Tokens((768, 196)) and r["pos"].output == Tokens((768, 197))
    assert r["pos"].params == 197 * 768 and r["class_token1"].params == 768


@pytest.mark.parametrize("heads", [1, 3, 12, 768])
def test_attention_macs_do_not_depend_on_the_head_count(heads):
    assert rows(VIT_BLOCK.replace("HEADS", str(heads)))["attn"].macs == 524_391_936


def test_the_receptive_field_of_attention_is_global():
    r = rows(VIT_BLOCK.replace("HEADS", "12"))
    assert r["pos"].receptive_field.size == (16, 16) and not r["pos"].receptive_field.whole  # one patch
    assert r["attn"].receptive_field.whole and r["out"].receptive_field.whole


def test_the_table_writes_tokens_n_by_c():
    out = CliRunner().invoke(main, ["table", "vit_b_16", "--depth", "1"])
    assert out.exit_code == 0, out.output
    assert "196x768" in out.output and "197x768" in out.output


def error_of(text):
    with pytest.raises(SpecError) as info:
        sizecalc.analyze(text)
    (finding,) = info.value.findings
    return finding


def test_heads_that_do_not_divide_the_channels():
    f = error_of(VIT_BLOCK.replace("HEADS", "10"))
    assert f.rule == "heads-split" and "768 channels do not split into 10 heads (768/10 = 76.8)" in f.message
    # 8 and 12 divide 768, both 2 from 10: the smaller is offered
    assert f.fix == "heads: 8 (96 channels each)"
    assert sizecalc.analyze(VIT_BLOCK.replace("HEADS", "8")).rows  # the fix passes


def test_attention_on_an_image_says_to_add_tokens():
    text = "sizecalc: 1\ninput: [3, 32, 32]\nlayers:\n  - {conv: 64, kernel: 16, stride: 16}\n  - {attention: 4}\n"
    f = error_of(text)
    assert f.rule == "needs-tokens" and "2x2x64" in f.message and "{tokens}" in f.fix
    fixed = text.replace("  - {attention", "  - {tokens}\n  - {attention")
    assert sizecalc.analyze(fixed).output == Tokens((64, 4))


def test_a_class_token_on_an_image_says_to_add_tokens():
    f = error_of("sizecalc: 1\ninput: [3, 32, 32]\nlayers:\n  - {conv: 8, kernel: 16, stride: 16}\n  - {class_token}\n")
    assert f.rule == "needs-tokens" and "{tokens}" in f.fix


def test_a_position_embedding_for_another_input_names_the_input_that_fits():
    # vit_b_16's embedding is for 14*14 + 1 = 197 tokens; at 384 the sequence has 24*24 + 1 = 577
    out = CliRunner().invoke(main, ["table", "vit_b_16", "--input", "3x384x384"])
    assert out.exit_code == 1
    (line,) = [ln for ln in out.output.splitlines() if "error" in ln]
    assert "position_embedding is built for 197 tokens, but the sequence has 577" in line
    assert "input [3, 224, 224], the input this spec was written for, which gives pos_embedding its 197 tokens" \
        in line
    assert "length: 577, an embedding for this input (params 577*768 = 443,136)" in line


def test_fc_on_tokens_is_per_token_and_on_a_vector_as_before():
    text = ("sizecalc: 1\ninput: [4, 3, 5]\nlayers:\n  - {tokens}\n  - {id: per_token, fc: 6}\n"
            "  - {token_mean}\n  - {id: head, fc: 2}\n")
    r = rows(text)
    # 15 tokens: (4 + 1)*6 params, 15*4*6 MACs; the mean is a vector of 6, then an ordinary fc
    assert (r["per_token"].output, r["per_token"].params, r["per_token"].macs) == (Tokens((6, 15)), 30, 360)
    assert (r["head"].output, r["head"].params) == ((2,), 14)


def test_multihead_attention_spelled_as_torch_spells_it():
    text = VIT_BLOCK.replace("{id: attn, attention: HEADS}", "{id: attn, MultiheadAttention: 12, bias: false}")
    assert rows(text)["attn"].params == 4 * 768 ** 2


# -- what autograd keeps: each kernel against torch --------------------------------------------

torch = pytest.importorskip("torch")
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

from test_memory_torch import saved_bytes  # noqa: E402

SMALL = """sizecalc: 1
name: small
input: [12, 3, 3]
layers:
  - {conv: 12, kernel: 1}
  - {tokens}
  - {class_token}
  - {attention: 3, attention_dropout: P}
"""
KERNELS = {"math": [SDPBackend.MATH], "fused": [SDPBackend.FLASH_ATTENTION]}


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("path", ["math", "fused"])
def test_saved_bytes_of_each_kernel_against_torch(path, batch, dtype):
    text = SMALL.replace("P", "0.0")
    predicted = sizecalc.analyze(text, batch=batch, dtype=dtype, attention=path).memory.saved_bytes
    torch_dtype = torch.float32 if dtype == "fp32" else torch.bfloat16
    module = sizecalc.to_torch(text).train().to(torch_dtype)
    with sdpa_kernel(KERNELS[path]):
        measured = saved_bytes(module, torch.randn(batch, 12, 3, 3, dtype=torch_dtype))
    assert predicted == measured


def test_bf16_math_path_keeps_fp32_by_hand():
    """torch's math attention in bf16 on the CPU computes in fp32 (measured with
    saved_tensors_hooks, torch 2.13): on 49 tokens of 64 channels, 4 heads, batch 2, autograd
    keeps the input and the heads' output in bf16 (2*49*64*2 B = 12,544 each), q and k scaled,
    and a copy of v in fp32 (3*2*49*64*4 = 75,264) and the probabilities in fp32
    (2*4*49*49*4 = 76,832): 177,184 bytes, where fp32 keeps 252,448 (q/k/v as one projection)."""
    text = "sizecalc: 1\ninput: [64, 7, 7]\nlayers:\n  - {tokens}\n  - {attention: 4}\n"
    assert sizecalc.analyze(text, batch=2, dtype="bf16", attention="math").memory.saved_bytes == \
        12_544 * 2 + 75_264 + 76_832 == 177_184
    # fp32: input and output 25,088 each, q/k/v 75,264, q and k 50,176, probabilities 76,832
    assert sizecalc.analyze(text, batch=2, attention="math").memory.saved_bytes == \
        25_088 * 2 + 75_264 + 50_176 + 76_832 == 252_448


def test_the_kernels_differ_by_the_probabilities_and_the_scaled_q_k():
    """N = 10 tokens of C = 12, 3 heads: the math path keeps q and k scaled (2*10*12 = 240) and
    the probabilities (3*10*10 = 300), 540 values, where the fused kernel keeps a log-sum-exp
    per row and head, 3*10 = 30 fp32 values: 540*4 - 30*4 = 2,040 bytes more per sample."""
    text = SMALL.replace("P", "0.0")
    math = sizecalc.analyze(text, attention="math").memory.saved_bytes
    fused = sizecalc.analyze(text, attention="fused").memory.saved_bytes
    assert math - fused == 2_040


def test_auto_is_what_torch_picks_on_the_cpu():
    """torch 2.13 on the CPU: the flash kernel without dropout, the math path with it (it keeps
    the mask and the dropped probabilities besides: 2*3*10*10 more values)."""
    for p, path in (("0.0", "fused"), ("0.1", "math")):
        text = SMALL.replace("P", p)
        auto = sizecalc.analyze(text, batch=2).memory.saved_bytes
        assert auto == sizecalc.analyze(text, batch=2, attention=path).memory.saved_bytes
        module = sizecalc.to_torch(text).train()
        torch.manual_seed(0)
        assert saved_bytes(module, torch.randn(2, 12, 3, 3)) == auto
