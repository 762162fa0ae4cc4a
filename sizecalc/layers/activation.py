"""Element-wise layers: activations and dropout. Same volume out as in, no params, no MACs
(torchvision's GFLOPS column does not count them)."""

from __future__ import annotations

from math import prod

from .base import (SAVES_INPUT, Field, LayerKind, Saved, Sizing, always, inplace, register,
                   saves_output)


def infer_same(layer, ins) -> Sizing:
    return Sizing(ins[0])


INPLACE = Field("inplace", "bool", False, doc="overwrite the input (PyTorch inplace=True)")


def _torch(cls_name: str, **options):
    from torch import nn

    from ..torch.modules import make
    return make(getattr(nn, cls_name), **options)


def torch_relu(layer, ins, out):
    return _torch("ReLU", inplace=layer.args["inplace"])


def torch_relu6(layer, ins, out):
    return _torch("ReLU6", inplace=layer.args["inplace"])


def torch_leaky_relu(layer, ins, out):
    return _torch("LeakyReLU", negative_slope=layer.args["slope"], inplace=layer.args["inplace"])


def torch_elu(layer, ins, out):
    return _torch("ELU", alpha=layer.args["alpha"], inplace=layer.args["inplace"])


def torch_sigmoid(layer, ins, out):
    return _torch("Sigmoid")


def torch_tanh(layer, ins, out):
    return _torch("Tanh")


def torch_gelu(layer, ins, out):
    return _torch("GELU")


def torch_silu(layer, ins, out):
    return _torch("SiLU", inplace=layer.args["inplace"])


def torch_hardswish(layer, ins, out):
    return _torch("Hardswish", inplace=layer.args["inplace"])


def torch_hardsigmoid(layer, ins, out):
    return _torch("Hardsigmoid", inplace=layer.args["inplace"])


def torch_softmax(layer, ins, out):
    """Over the channels: dim 1 of N x C x ..."""
    return _torch("Softmax", dim=1)


def torch_identity(layer, ins, out):
    return _torch("Identity")


def torch_dropout(layer, ins, out):
    return _torch("Dropout", p=layer.args["p"], inplace=layer.args["inplace"])


def saves_input_or_copy(layer, ins, out):
    """Keeps its input; in place, PyTorch keeps a copy of its own (hardtanh_, silu_, ...)."""
    return (Saved("own", elems=prod(out)),) if layer.args.get("inplace") else SAVES_INPUT


def saves_dropout_noise(layer, ins, out):
    """On the CPU, dropout multiplies by a noise tensor of the input's dtype and keeps it
    (CUDA's fused kernel keeps a one-byte mask instead)."""
    return (Saved("own", elems=prod(out), cuda_nbytes=1),)


# what each activation keeps for its backward pass (PyTorch's derivatives)
SAVED = {"relu": saves_output, "sigmoid": saves_output, "tanh": saves_output, "softmax": saves_output,
         "relu6": saves_input_or_copy, "silu": saves_input_or_copy, "hardswish": saves_input_or_copy,
         "hardsigmoid": saves_input_or_copy, "leaky_relu": lambda layer, ins, out: SAVES_INPUT,
         "elu": lambda layer, ins, out: SAVES_INPUT, "gelu": lambda layer, ins, out: SAVES_INPUT,
         "identity": None}

for name, aliases, doc, fields, main in (
    ("relu", (), "max(0, x)", (INPLACE,), None),
    ("relu6", (), "min(max(0, x), 6) (MobileNetV2)", (INPLACE,), None),
    ("leaky_relu", ("leakyrelu", "lrelu"), "x if x > 0 else slope*x",
     (Field("slope", "float", 0.01, aliases=("negative_slope",)), INPLACE), "slope"),
    ("elu", (), "exponential linear unit", (Field("alpha", "float", 1.0), INPLACE), None),
    ("sigmoid", (), "1 / (1 + exp(-x))", (), None),
    ("tanh", (), "hyperbolic tangent", (), None),
    ("gelu", (), "x * Phi(x)", (), None),
    ("silu", ("swish",), "x * sigmoid(x) (EfficientNet)", (INPLACE,), None),
    ("hardswish", ("hard_swish", "h_swish"), "x * relu6(x + 3)/6 (MobileNetV3)", (INPLACE,), None),
    ("hardsigmoid", ("hard_sigmoid", "h_sigmoid"), "relu6(x + 3)/6 (MobileNetV3)", (INPLACE,), None),
    ("softmax", (), "exp(x) / sum(exp(x)) over channels", (), None),
    ("identity", ("pass",), "passes its input through", (), None),
):
    register(LayerKind(name, "activation", infer_same, fields=fields, main=main, aliases=aliases, doc=doc,
                       torch=globals()[f"torch_{name}"], saved=SAVED[name],
                       alias=always if name == "identity" else (inplace if fields else None)))

register(LayerKind("dropout", "dropout", infer_same, main="p", aliases=("drop",),
                   doc="zeroes a fraction p of the activations while training",
                   fields=(Field("p", "float", 0.5, aliases=("rate",), minimum=0, maximum=1),
                           Field("inplace", "bool", False)), torch=torch_dropout,
                   saved=saves_dropout_noise, alias=inplace))
