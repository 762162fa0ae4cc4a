"""Token sequences: from an image to tokens, the class token, the position embedding, and
back from tokens to one vector.

A token sequence is the 1-D volume (C, N) of `core.units.Tokens`: N tokens of C channels,
written N x C as the papers write it (ViT-B/16: 197x768), held by torch as batch x N x C.
- `tokens`: C x H x W -> C x (H*W), space flattened into a sequence (torchvision's ViT:
  `x.reshape(n, hidden, h * w).permute(0, 2, 1)`, a view: no copy, no parameters);
- `class_token`: a learned token put in front, N -> N + 1 (C params; torch.cat: a copy);
- `position_embedding`: a learned N x C table added to the sequence (N*C params); the count
  it is built for, when stated, must be the sequence's (the ViT user's common mistake: an
  input size the embedding was not built for);
- `select_token`: one token as a vector (the class token, index 0: a view);
- `token_mean`: the average over the tokens, as a vector.
`fc` on a token sequence is one linear map per token (layers/fc.py).
"""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Sizing, TorchModule,
                   always)
from ..core.units import GridTokens, Tokens, is_tokens, shape_text


def needs_tokens(shape, what: str) -> int:
    """The token count of a sequence; LayerError (with the fix) for a volume that is not one."""
    if is_tokens(shape):
        return shape[1]
    if len(shape) > 1:
        raise LayerError("needs-tokens", f"{what} needs a token sequence, but its input is the volume "
                         f"{shape_text(shape)}", None,
                         "put {tokens} before it (C x H x W -> N x C tokens, N = H*W)")
    raise LayerError("needs-tokens", f"{what} needs a token sequence, but its input is a vector of {shape[0]:,}",
                     None, "move it before the layer that makes the vector (select_token, token_mean, flatten)")


def infer_tokens(layer, ins) -> Sizing:
    shape = ins[0]
    if is_tokens(shape):
        raise LayerError("tokens-twice", f"the input is already a token sequence ({shape_text(shape)})", None,
                         "remove this tokens layer")
    if len(shape) < 2:
        raise LayerError("needs-volume", f"tokens needs a C x H x W volume, but its input is a vector of "
                         f"{shape[0]:,}", None, "put the tokens layer right after the patch embedding conv")
    n = prod(shape[1:])
    return Sizing(GridTokens((shape[0], n), shape[1:]), explain=[f"tokens {'*'.join(map(str, shape[1:]))} = {n:,}"])


def infer_class_token(layer, ins) -> Sizing:
    c, n = ins[0][0], needs_tokens(ins[0], "class_token")
    return Sizing(_one_more(ins[0]), weights=c, explain=[f"tokens {n:,} + 1 = {n + 1:,}; params {c:,}"])


def _one_more(shape):
    """The sequence with one token more in front (its grid, if it has one, unchanged)."""
    if isinstance(shape, GridTokens):
        return GridTokens((shape[0], shape[1] + 1), shape.grid)
    return Tokens((shape[0], shape[1] + 1))


def infer_position_embedding(layer, ins) -> Sizing:
    c, n = ins[0][0], needs_tokens(ins[0], "position_embedding")
    built = layer.args["length"]
    if built is not None and built != n:
        raise LayerError("position-embedding-mismatch", f"position_embedding is built for {built:,} tokens, but the "
                         f"sequence has {n:,}", "length",
                         f"length: {n}, an embedding for this input (params {n:,}*{c:,} = {n * c:,})")
    return Sizing(ins[0], weights=n * c, explain=[f"params {n:,}*{c:,} = {n * c:,}"], other_macs=n * c)


def infer_select_token(layer, ins) -> Sizing:
    c, n = ins[0][0], needs_tokens(ins[0], "select_token")
    index = layer.args["index"]
    if not -n <= index < n:
        raise LayerError("token-index", f"token {index} of a sequence of {n:,} tokens", "index",
                         "index: 0 (the class token)")
    return Sizing((c,), windows=None, explain=[f"token {index} of {n:,}"])


def infer_token_mean(layer, ins) -> Sizing:
    c, n = ins[0][0], needs_tokens(ins[0], "token_mean")
    return Sizing((c,), explain=[f"mean of {n:,} tokens"], other_macs=n * c)


def _module(name):
    return lambda layer, ins, out: TorchModule(name)


def torch_class_token(layer, ins, out):
    return TorchModule("ClassToken", (ins[0][0],))


def torch_position_embedding(layer, ins, out):
    return TorchModule("PositionEmbedding", (ins[0][1], ins[0][0]))


def torch_select_token(layer, ins, out):
    return TorchModule("SelectToken", (layer.args["index"],))


TOKENS = LayerKind(
    "tokens", "tokens", infer_tokens, aliases=("to_tokens", "flatten_space"),
    doc="C x H x W -> N x C tokens (N = H*W): space flattened into a sequence, a view",
    torch=_module("ToTokens"), saved=SAVES_NOTHING, alias=always, workspace=NO_WORKSPACE)
CLASS_TOKEN = LayerKind(
    "class_token", "tokens", infer_class_token, aliases=("cls_token",),
    doc="a learned token put in front of the sequence: N -> N + 1 tokens, C params",
    torch=torch_class_token, saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
POSITION_EMBEDDING = LayerKind(
    "position_embedding", "tokens", infer_position_embedding, main="length",
    aliases=("pos_embedding", "pos_embed", "position_embeddings"),
    doc="a learned N x C table added to the sequence: N*C params",
    fields=(ArgField("length", "int", None, aliases=("seq_length", "num_tokens"), minimum=1,
                     doc="the token count it is built for (ViT: (image/patch)^2 + 1): any other sequence is an "
                         "error with both counts and the input size that fits"),),
    torch=torch_position_embedding, saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
SELECT_TOKEN = LayerKind(
    "select_token", "tokens", infer_select_token, main="index", aliases=("take_token",),
    doc="one token of the sequence as a vector (0: the class token), a view",
    fields=(ArgField("index", "int", 0, doc="which token (0: the class token; -1: the last)"),),
    torch=torch_select_token, saved=SAVES_NOTHING, alias=always, workspace=NO_WORKSPACE)
TOKEN_MEAN = LayerKind(
    "token_mean", "tokens", infer_token_mean, aliases=("mean_tokens", "average_tokens"),
    doc="the average over the tokens, as a vector of C",
    torch=_module("TokenMean"), saved=SAVES_NOTHING, alias=NO_ALIAS, workspace=NO_WORKSPACE)
