"""Layers and keys sizecalc knows of but does not have yet, so that a spec that names one is
told so plainly instead of being offered a neighbour by spelling.

Spelling distance alone suggests `norm` (AlexNet's LRN, no params) for `layernorm` (2*C
params), `conv` for `deconv` and `filters` (the output depth) for `in_channels`: a
suggestion that leads to wrong numbers. A name here is answered "`layernorm` (LayerNorm) is
not in sizecalc yet", with what to write instead only where sizecalc has the same meaning,
and with the neighbour it is not, where one is near enough in spelling to mislead.

Names are matched folded (`fold`: lowercase, without `_`, `-` or spaces), so `layer_norm`,
`LayerNorm` and `layernorm` are one entry. A kind added to `KINDS` must leave this table
(tests/test_hints_meaning.py checks that no name here is an op or a key sizecalc has).
"""

from __future__ import annotations

from ..core.record import dataclass


@dataclass(frozen=True)
class Missing:
    """What a missing op or key is, and what sizecalc offers instead."""

    title: str = ""  # as PyTorch (or the literature) calls it; "" where the name says it
    instead: str = ""  # a fix of the same meaning in sizecalc, when there is one
    unlike: str = ""  # the near name of another meaning that it must not be mistaken for
    needs: str = ""  # `instead` applies only to a kind with this field (ceil_mode -> rounding)
    said: str = ""  # what to say of a key that sizecalc spells otherwise, instead of "not in sizecalc yet"


def fold(name: str) -> str:
    return str(name).lower().replace("_", "").replace("-", "").replace(" ", "")


def _dims(*names: str) -> tuple[str, ...]:
    """A name and its 1d/2d/3d spellings."""
    return tuple(n + d for n in names for d in ("", "1d", "2d", "3d"))


_OPS: tuple[tuple[tuple[str, ...], Missing], ...] = (
    (("layernormalization",), Missing("Keras' LayerNormalization", instead="write {layernorm}")),
    (("rmsnorm",), Missing("RMSNorm", unlike="it is not `layernorm`: no mean subtracted, no shift (C params)")),
    (("crossattention", "attn"),
     Missing("cross-attention (keys and values from another sequence)",
             instead="write {attention: HEADS} for self-attention (q, k and v from the same tokens)")),
    (("transformer", "transformerencoderlayer", "transformerdecoderlayer", "transformerencoder",
      "transformerdecoder"), Missing("Transformer layers")),
    (("embedding", "embed", "embeddingbag"), Missing("Embedding")),
    (("lstm", "gru", "rnn", "lstmcell", "grucell", "rnncell", "recurrent"), Missing("a recurrent layer")),
    (("cropping", "cropping2d"), Missing("cropping", instead="write {crop: 64} (a centre crop), or "
                                                          "{crop: {like: up4}}")),
    (("upsamplingbilinear2d",), Missing("UpsamplingBilinear2d, a bilinear resize that aligns the corners",
                                        instead="write {resize: 2, mode: bilinear, align_corners: true}")),
    (("bilinear", "bicubic", "trilinear"), Missing("an interpolation mode, not a layer",
                                                   instead="write {resize: 2, mode: bilinear}")),
    (("prelu",), Missing("PReLU, a learned slope", unlike="it has 1 or C params: it is not `relu` nor "
                                                          "`leaky_relu` (no params)")),
    (("selu", "celu", "rrelu", "softplus", "mish", "softsign", "tanhshrink", "hardtanh", "threshold",
      "hardshrink", "softshrink", "logsigmoid"),
     Missing(unlike="`elu`, `relu` and `gelu` are other functions")),
    (("logsoftmax", "softmin", "softmax2d"), Missing(unlike="`softmax` is exp(x) / sum(exp(x))")),
    (("glu",), Missing("GLU", unlike="it halves the channels: it is not `gelu`")),
    (_dims("maxunpool") + ("unpool", "unpooling"),
     Missing("MaxUnpool", unlike="it grows the volume: it is not `maxpool`")),
    (_dims("lppool", "fractionalmaxpool"), Missing(unlike="`maxpool` and `avgpool` are other functions")),
    (("dropout1d", "dropout2d", "dropout3d", "spatialdropout") + _dims("alphadropout", "featurealphadropout"),
     Missing("channel-wise dropout", unlike="it is not `dropout`, which drops single values (another mask "
                                            "in memory)")),
    (("unflatten", "reshape", "view", "permute"), Missing("reshaping")),
    (("sequential", "modulelist"), Missing("a container", instead="list the layers under `layers:` (or a block)")),
)

MISSING_OPS: dict[str, Missing] = {name: missing for names, missing in _OPS for name in names}

# keys of PyTorch's modules that name something sizecalc does not (yet) model
MISSING_KEYS: dict[str, Missing] = {
    "paddingmode": Missing("padding other than zeros",
                           instead="remove it: sizecalc pads with zeros; other modes change no size or param count",
                           unlike="it is not `padding`, the amount of padding"),
    "ceilmode": Missing("PyTorch's ceil_mode flag", said="sizecalc writes PyTorch's ceil_mode as `rounding`",
                        instead="write rounding: ceil (PyTorch's ceil_mode=True; floor is ceil_mode=False)",
                        needs="rounding"),
    "returnindices": Missing("pooling indices as an output",
                             instead="remove it: max pooling's indices are counted in memory already"),
    "divisoroverride": Missing("a custom average-pool divisor", instead="remove it: it changes no size or param count"),
}
