"""Layer families, one module each, and the table of every layer kind.

`KINDS` is the one place a kind becomes known to sizecalc: each entry maps the kind's YAML
name to its declaration (a `LayerKind` stating its infer, saved, alias, workspace and torch
functions; see `base.py`). A new layer is one module plus one line here, and one entry in
tests/test_layer_contract.py, which checks every kind in this table against torch.
"""

from . import activation, channel, conv, fc, local, merge, norm, pool
from .base import ALIASES, REGISTRY, ArgField, LayerKind, Sizing, lookup, register  # noqa: F401

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
    # channel bookkeeping
    "split": channel.SPLIT,
    "shuffle": channel.SHUFFLE,
    "upsample": channel.UPSAMPLE,
    # weighted layers
    "conv": conv.CONV,
    "fc": fc.FC,
    "flatten": fc.FLATTEN,
    "local": local.LOCAL,
    # merges
    "add": merge.ADD,
    "concat": merge.CONCAT,
    "mul": merge.MUL,
    # normalisation
    "bn": norm.BN,
    "groupnorm": norm.GROUPNORM,
    "lrn": norm.LRN,
    # pooling
    "maxpool": pool.MAXPOOL,
    "avgpool": pool.AVGPOOL,
    "global_avgpool": pool.GLOBAL_AVGPOOL,
    "global_maxpool": pool.GLOBAL_MAXPOOL,
    "adaptive_avgpool": pool.ADAPTIVE_AVGPOOL,
    "adaptive_maxpool": pool.ADAPTIVE_MAXPOOL,
}

for _name, _kind in KINDS.items():
    if _kind.name != _name:
        raise RuntimeError(f"KINDS[{_name!r}] declares the kind {_kind.name!r}")
    register(_kind)
