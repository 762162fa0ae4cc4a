"""Layer families, one module each, and the table of every layer kind.

`KINDS` is the one place a kind becomes known to sizecalc: each entry maps the kind's YAML
name to its declaration (a `LayerKind` stating its infer, saved, alias, workspace and torch
functions; see `base.py`). A new layer is one module plus one line here, and one entry in
tests/test_layer_contract.py, which checks every kind in this table against torch.
"""

from . import (activation, attention, channel, conv, fc, local, maxvit, merge, mvit, norm, pad, pixel, pool,
               resize, scale, swin, tokens, transposed)
from .base import ALIASES, REGISTRY, ArgField, LayerKind, Sizing, lookup, register  # noqa: F401
from .missing import MISSING_KEYS, MISSING_OPS, Missing, fold  # noqa: F401

KINDS: dict[str, LayerKind] = {
    # element-wise
    "relu": activation.RELU,
    "relu6": activation.RELU6,
    "leaky_relu": activation.LEAKY_RELU,
    "elu": activation.ELU,
    "sigmoid": activation.SIGMOID,
    "tanh": activation.TANH,
    "gelu": activation.GELU,
    "silu": activation.SILU,
    "hardswish": activation.HARDSWISH,
    "hardsigmoid": activation.HARDSIGMOID,
    "softmax": activation.SOFTMAX,
    "identity": activation.IDENTITY,
    "dropout": activation.DROPOUT,
    "drop_path": scale.DROP_PATH,
    "layer_scale": scale.LAYER_SCALE,
    # channel bookkeeping
    "split": channel.SPLIT,
    "shuffle": channel.SHUFFLE,
    "pixel_shuffle": pixel.PIXEL_SHUFFLE,
    "pixel_unshuffle": pixel.PIXEL_UNSHUFFLE,
    "pad": pad.PAD,
    # resolution: interpolation and centre crop
    "resize": resize.RESIZE,
    "crop": resize.CROP,
    # weighted layers
    "conv": conv.CONV,
    "conv_transpose": transposed.CONV_TRANSPOSE,
    "fc": fc.FC,
    "flatten": fc.FLATTEN,
    "local": local.LOCAL,
    # token sequences (transformers)
    "tokens": tokens.TOKENS,
    "class_token": tokens.CLASS_TOKEN,
    "position_embedding": tokens.POSITION_EMBEDDING,
    "select_token": tokens.SELECT_TOKEN,
    "token_mean": tokens.TOKEN_MEAN,
    "attention": attention.ATTENTION,
    # MaxViT: partitioned maps and attention with a relative position bias
    "partition": maxvit.PARTITION,
    "departition": maxvit.DEPARTITION,
    "relative_attention": maxvit.RELATIVE_ATTENTION,
    "pooling_attention": mvit.POOLING_ATTENTION,
    "token_pool": mvit.TOKEN_POOL,
    "separable_position_embedding": mvit.SEPARABLE_POSITION_EMBEDDING,
    # merges
    "add": merge.ADD,
    "concat": merge.CONCAT,
    "mul": merge.MUL,
    # normalisation
    "bn": norm.BN,
    "groupnorm": norm.GROUPNORM,
    "instance_norm": norm.INSTANCE_NORM,
    "layernorm": norm.LAYERNORM,
    "lrn": norm.LRN,
    # pooling
    "maxpool": pool.MAXPOOL,
    "avgpool": pool.AVGPOOL,
    "global_avgpool": pool.GLOBAL_AVGPOOL,
    "global_maxpool": pool.GLOBAL_MAXPOOL,
    "adaptive_avgpool": pool.ADAPTIVE_AVGPOOL,
    "adaptive_maxpool": pool.ADAPTIVE_MAXPOOL,
    # Swin's windowed attention and patch merging (layers/swin.py)
    "window_attention": swin.WINDOW_ATTENTION,
    "patch_merging": swin.PATCH_MERGING,
}

for _name, _kind in KINDS.items():
    if _kind.name != _name:
        raise RuntimeError(f"KINDS[{_name!r}] declares the kind {_kind.name!r}")
    register(_kind)

# PyTorch's class names that mean a kind of sizecalc, as torch spells them: op names are
# matched in any case (`lookup`), so each is an alias folded; the schema lists these spellings
# too.
TORCH_NAMES: dict[str, str] = {
    "Conv1d": "conv", "Conv2d": "conv", "Conv3d": "conv", "Linear": "fc", "Flatten": "flatten",
    "ConvTranspose1d": "conv_transpose", "ConvTranspose2d": "conv_transpose", "ConvTranspose3d": "conv_transpose",
    "BatchNorm1d": "bn", "BatchNorm2d": "bn", "BatchNorm3d": "bn", "GroupNorm": "groupnorm",
    "LocalResponseNorm": "lrn", "LayerNorm": "layernorm",
    "MaxPool1d": "maxpool", "MaxPool2d": "maxpool", "MaxPool3d": "maxpool",
    "AvgPool1d": "avgpool", "AvgPool2d": "avgpool", "AvgPool3d": "avgpool",
    "AdaptiveAvgPool1d": "adaptive_avgpool", "AdaptiveAvgPool2d": "adaptive_avgpool",
    "AdaptiveAvgPool3d": "adaptive_avgpool", "AdaptiveMaxPool1d": "adaptive_maxpool",
    "AdaptiveMaxPool2d": "adaptive_maxpool", "AdaptiveMaxPool3d": "adaptive_maxpool",
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "ELU": "elu", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "GELU": "gelu", "SiLU": "silu", "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid",
    "Softmax": "softmax", "Identity": "identity", "Dropout": "dropout",
    "PixelShuffle": "pixel_shuffle", "PixelUnshuffle": "pixel_unshuffle",
    "InstanceNorm1d": "instance_norm", "InstanceNorm2d": "instance_norm", "InstanceNorm3d": "instance_norm",
    **{f"{cls}{d}d": "pad" for cls in ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad")
       for d in (1, 2, 3)},
    "MultiheadAttention": "attention",
    "ChannelShuffle": "shuffle", "ShiftedWindowAttention": "window_attention", "PatchMerging": "patch_merging",
    "Upsample": "resize", "UpsamplingNearest2d": "resize",
}
for _torch_name, _kind_name in TORCH_NAMES.items():
    if _kind_name not in KINDS or lookup(_torch_name) is not KINDS[_kind_name]:
        raise RuntimeError(f"TORCH_NAMES[{_torch_name!r}] is not an alias of {_kind_name!r}")
