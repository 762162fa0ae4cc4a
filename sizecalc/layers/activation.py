"""Element-wise layers: activations and dropout. Same volume out as in, no params, no MACs
(torchvision's GFLOPS column does not count them)."""

from __future__ import annotations

from .base import Field, LayerKind, Sizing, register


def infer_same(layer, ins) -> Sizing:
    return Sizing(ins[0])


INPLACE = Field("inplace", "bool", False, doc="overwrite the input (PyTorch inplace=True)")

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
    register(LayerKind(name, "activation", infer_same, fields=fields, main=main, aliases=aliases, doc=doc))

register(LayerKind("dropout", "dropout", infer_same, main="p", aliases=("drop",),
                   doc="zeroes a fraction p of the activations while training",
                   fields=(Field("p", "float", 0.5, aliases=("rate",), minimum=0, maximum=1),
                           Field("inplace", "bool", False))))
