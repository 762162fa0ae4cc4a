"""Element-wise layers: activations and dropout. Same volume out as in, no params, no MACs
(torchvision's GFLOPS column does not count them)."""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_INPUT, SAVES_NOTHING, ArgField, LayerKind, Saved, Sizing, TorchModule,
                   always, inplace, saves_input, saves_output)


def infer_same(layer, ins) -> Sizing:
    return Sizing(ins[0])


INPLACE = ArgField("inplace", "bool", False, doc="overwrite the input (PyTorch inplace=True)")


def torch_relu(layer, ins, out):
    return TorchModule("ReLU", kwargs={"inplace": layer.args["inplace"]})


def torch_relu6(layer, ins, out):
    return TorchModule("ReLU6", kwargs={"inplace": layer.args["inplace"]})


def torch_leaky_relu(layer, ins, out):
    return TorchModule("LeakyReLU", kwargs={"negative_slope": layer.args["slope"], "inplace": layer.args["inplace"]})


def torch_elu(layer, ins, out):
    return TorchModule("ELU", kwargs={"alpha": layer.args["alpha"], "inplace": layer.args["inplace"]})


def torch_sigmoid(layer, ins, out):
    return TorchModule("Sigmoid")


def torch_tanh(layer, ins, out):
    return TorchModule("Tanh")


def torch_gelu(layer, ins, out):
    return TorchModule("GELU")


def torch_silu(layer, ins, out):
    return TorchModule("SiLU", kwargs={"inplace": layer.args["inplace"]})


def torch_hardswish(layer, ins, out):
    return TorchModule("Hardswish", kwargs={"inplace": layer.args["inplace"]})


def torch_hardsigmoid(layer, ins, out):
    return TorchModule("Hardsigmoid", kwargs={"inplace": layer.args["inplace"]})


def torch_softmax(layer, ins, out):
    """Over the channels: dim 1 of N x C x ..."""
    return TorchModule("Softmax", kwargs={"dim": 1})


def torch_identity(layer, ins, out):
    return TorchModule("Identity")


def torch_dropout(layer, ins, out):
    return TorchModule("Dropout", kwargs={"p": layer.args["p"], "inplace": layer.args["inplace"]})


def saves_input_or_copy(layer, ins, out):
    """Keeps its input; in place, PyTorch keeps a copy of its own (hardtanh_, silu_, ...)."""
    return (Saved("own", elems=prod(out)),) if layer.args.get("inplace") else SAVES_INPUT


def saves_dropout_noise(layer, ins, out):
    """On the CPU, dropout multiplies by a noise tensor of the input's dtype and keeps it
    (CUDA's fused kernel keeps a one-byte mask instead)."""
    return (Saved("own", elems=prod(out), cuda_nbytes=1),)


def _activation(name, doc, torch, saved, fields=(), main=None, aliases=(), alias=NO_ALIAS) -> LayerKind:
    """An element-wise kind: same volume out, nothing held besides its output at inference."""
    return LayerKind(name, "activation", infer_same, fields=fields, main=main, aliases=aliases, doc=doc,
                     torch=torch, saved=saved, alias=alias, workspace=NO_WORKSPACE)


# what each keeps for its backward pass follows PyTorch's derivatives.yaml
RELU = _activation("relu", "max(0, x)", torch_relu, saves_output, (INPLACE,), alias=inplace)
RELU6 = _activation("relu6", "min(max(0, x), 6) (MobileNetV2)", torch_relu6, saves_input_or_copy, (INPLACE,),
                    alias=inplace)
LEAKY_RELU = _activation("leaky_relu", "x if x > 0 else slope*x", torch_leaky_relu, saves_input,
                         (ArgField("slope", "float", 0.01, aliases=("negative_slope",)), INPLACE), main="slope",
                         aliases=("leakyrelu", "lrelu"), alias=inplace)
ELU = _activation("elu", "exponential linear unit", torch_elu, saves_input,
                  (ArgField("alpha", "float", 1.0), INPLACE), alias=inplace)
SIGMOID = _activation("sigmoid", "1 / (1 + exp(-x))", torch_sigmoid, saves_output)
TANH = _activation("tanh", "hyperbolic tangent", torch_tanh, saves_output)
GELU = _activation("gelu", "x * Phi(x)", torch_gelu, saves_input)
SILU = _activation("silu", "x * sigmoid(x) (EfficientNet)", torch_silu, saves_input_or_copy, (INPLACE,),
                   aliases=("swish",), alias=inplace)
HARDSWISH = _activation("hardswish", "x * relu6(x + 3)/6 (MobileNetV3)", torch_hardswish, saves_input_or_copy,
                        (INPLACE,), aliases=("hard_swish", "h_swish"), alias=inplace)
HARDSIGMOID = _activation("hardsigmoid", "relu6(x + 3)/6 (MobileNetV3)", torch_hardsigmoid, saves_input_or_copy,
                          (INPLACE,), aliases=("hard_sigmoid", "h_sigmoid"), alias=inplace)
SOFTMAX = _activation("softmax", "exp(x) / sum(exp(x)) over channels", torch_softmax, saves_output)
IDENTITY = _activation("identity", "passes its input through", torch_identity, SAVES_NOTHING,
                       aliases=("pass",), alias=always)

DROPOUT = LayerKind("dropout", "dropout", infer_same, main="p", aliases=("drop",),
                    doc="zeroes a fraction p of the activations while training",
                    fields=(ArgField("p", "float", 0.5, aliases=("rate",), minimum=0, maximum=1),
                            ArgField("inplace", "bool", False)), torch=torch_dropout,
                    saved=saves_dropout_noise, alias=inplace, workspace=NO_WORKSPACE)
