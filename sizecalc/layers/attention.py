"""Multi-head self-attention over a token sequence (nn.MultiheadAttention, as torchvision's ViT
calls it: `attn(x, x, x, need_weights=False)`).

On N tokens of C channels with h heads (C/h channels each):
- params: q, k, v and output projections, 4*C*C weights + 4*C biases;
- MACs: the projections 4*N*C*C, the scores q.k (N*N*C) and the weighted sum of v (N*N*C):
  4*N*C^2 + 2*N^2*C, the same whatever h for a given C (each head does N*N*C/h of each);
- receptive field: global, every token reads every token.
What autograd keeps depends on the kernel (`--attention`, engine/memory.py):
- both: the projection's input (a copy of it when batch > 1: torch transposes the batch-first
  sequence before it), the q/k/v projection (3*N*C: one storage), and the heads' output that
  the output projection reads (N*C);
- math path: q and k scaled by 1/sqrt(C/h) (N*C each) and the softmax probabilities, h*N*N;
  with dropout p > 0 the dropout mask and the dropped probabilities, h*N*N each; in half
  precision (fp16, bf16, amp) torch computes it in fp32: q, k, the probabilities and a copy of
  v (N*C) are kept in fp32 in place of the q/k/v projection (measured at p = 0 on the CPU and
  the meta device; on CUDA it is torch's default, allow_fp16_bf16_reduction_math_sdp off);
- fused kernels (flash, memory-efficient): a log-sum-exp per row and head, h*N in fp32.
torch picks by itself (`auto`): on the CPU the fused flash kernel when p = 0 and the math path
with dropout (measured with saved_tensors_hooks, torch 2.13); on CUDA a fused kernel.
"""

from __future__ import annotations

from .base import (NO_ALIAS, ArgField, LayerError, LayerKind, Saved, Sizing, TorchModule)
from ..core.receptive import GLOBAL
from .tokens import needs_tokens

LSE_BYTES = 4  # the log-sum-exp is fp32 whatever the activation dtype


def infer_attention(layer, ins) -> Sizing:
    c, n = ins[0][0], needs_tokens(ins[0], "attention")
    heads = layer.args["heads"]
    if c % heads:
        raise LayerError("heads-split", f"{c:,} channels do not split into {heads} heads "
                         f"({c:,}/{heads} = {c / heads:g})", "heads", _heads_fix(c, heads))
    weights = 4 * c * c
    biases = 4 * c if layer.args["bias"] else 0
    projections, mixing = 4 * n * c * c, 2 * n * n * c
    explain = [f"params 4*{c}*{c}{f' + 4*{c}' if biases else ''} = {weights + biases:,}",
               f"MACs 4*{n}*{c}^2 + 2*{n}^2*{c} = {projections:,} + {mixing:,} = {projections + mixing:,} "
               f"({heads} heads of {c // heads})"]
    return Sizing(ins[0], weights, biases, 0, projections + mixing, GLOBAL, explain, other_macs=biases * n)


def _heads_fix(c: int, heads: int) -> str:
    """The head count nearest to the one written that divides the channels."""
    near = min((h for h in range(1, c + 1) if c % h == 0), key=lambda h: (abs(h - heads), h))
    return f"heads: {near} ({c // near} channels each)"


def saved_attention(layer, ins, out) -> tuple:
    c, n = ins[0]
    h, dropout = layer.args["heads"], layer.args["attention_dropout"]
    probs = h * n * n
    fused_on = ("cuda",) if dropout > 0 else ("cpu", "cuda")
    math_on = ("cpu",) if dropout > 0 else ()
    # in half precision the math path computes in fp32: q, k, the probabilities and a copy of v
    # are fp32, and the q/k/v projection itself is not kept (v was a view of it)
    math = [Saved("own", elems=3 * n * c, path="math", picked_on=math_on, half=(n * c, 4)),  # q/k/v (v)
            Saved("own", elems=2 * n * c, path="math", picked_on=math_on, half=(2 * n * c, 4)),  # q and k, scaled
            Saved("own", elems=probs * (3 if dropout > 0 else 1), path="math", picked_on=math_on,
                  half=(probs, 4) if dropout == 0 else None)]
    fused = [Saved("own", elems=3 * n * c, path="fused", picked_on=fused_on),  # q/k/v projection
             Saved("own", elems=h * n, nbytes=LSE_BYTES, path="fused", picked_on=fused_on)]
    return (Saved("input"), Saved("own", elems=n * c), *math, *fused)


def workspace_attention(layer, ins, out) -> tuple:
    """Without autograd (torch's fast path): the q/k/v projection and the heads' output."""
    c, n = ins[0]
    return (Saved("own", elems=3 * n * c), Saved("own", elems=2 * n * c))


def torch_attention(layer, ins, out):
    a = layer.args
    return TorchModule("SelfAttention", (ins[0][0], a["heads"]), {"dropout": a["attention_dropout"], "bias": a["bias"]})


ATTENTION = LayerKind(
    "attention", "attention", infer_attention, main="heads",
    aliases=("mha", "self_attention", "multihead_attention", "MultiheadAttention"),
    doc="multi-head self-attention over a token sequence: q, k, v and output projections (4C^2 + 4C params); "
        "MACs 4NC^2 + 2N^2C whatever the head count",
    fields=(
        ArgField("heads", "int", aliases=("num_heads",), minimum=1, doc="attention heads; they split the C channels"),
        ArgField("bias", "bool", True, aliases=("qkv_bias",), doc="biases on the q, k, v and output projections"),
        ArgField("attention_dropout", "float", 0.0, aliases=("attn_dropout", "attn_drop"), minimum=0.0, maximum=1.0,
                 doc="dropout on the attention probabilities (torch's MultiheadAttention `dropout`; a "
                     "dropout after the layer is a {dropout} layer)"),
    ),
    torch=torch_attention, saved=saved_attention, alias=NO_ALIAS, workspace=workspace_attention,
)
