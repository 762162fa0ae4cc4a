"""The vocabulary, defined once and imported everywhere: dtypes and their bytes, optimizer
slots, MAC counts, and the way a volume is written. (Limits live beside it in limits.py;
output formats are the keys of report/formats.py, the table that also finds their renderers.)

Nothing here imports anything: every layer may use it.
"""

from __future__ import annotations

# bytes per element of each dtype, in the order the CLI offers them
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "fp64": 8}
DTYPES = tuple(DTYPE_BYTES)
AMP_ACTIVATION_BYTES = 2  # mixed precision: half-precision activations ...
AMP_PARAM_BYTES = 4  # ... and fp32 weights, gradients and optimizer slots

# optimizer state per parameter, in weight-sized slots (momentum: 1 buffer, adam: 2 moments)
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
OPTIMIZERS = tuple(OPTIMIZER_SLOTS)

# the quantities of the window formula (W - F + 2P)/S + 1 with dilation D, as the lecture
# names and writes them
QUANTITY_NAMES = {"in": "input", "kernel": "kernel", "stride": "stride", "pad": "padding", "dilation": "dilation",
                  "output_padding": "output_padding"}  # the last: a transposed conv's (solve --transposed)
QUANTITY_SYMBOLS = {"in": "W", "kernel": "F", "stride": "S", "pad": "P", "dilation": "D", "output_padding": "OP"}
# dilation as sizecalc counts it, said where someone counts it as some lecture notes do
DILATION_COUNTS = ("sizecalc counts dilation as PyTorch does, as the taps' spacing: 1 is a plain convolution, "
                   "2 leaves one gap between taps; the notes' dilation 0 is PyTorch's 1, their 1 is PyTorch's 2")

# which multiply-accumulates count: conv and fc only (torchvision's GFLOPS column), or all
MAC_COUNTS = ("conv-fc", "all")

# which attention kernel's saved tensors count: the one torch picks on the device, the math
# path (softmax probabilities kept, N x N per head), or a fused kernel (flash / memory-efficient:
# q, k, v, the output and a log-sum-exp per row)
ATTENTION_PATHS = ("auto", "math", "fused")


def dims_text(dims) -> str:
    """Sizes as written, joined by x: 3x3, 1x64x56x56."""
    return "x".join(map(str, dims))


class Tokens(tuple):
    """A token sequence (C, N): N positions (patches, the class token) of C channels each, the
    1-D volume every other (C, L) is, marked so that the layers that act per token know it:
    `fc` on tokens is one linear map per token (nn.Linear on the last dimension), and in torch
    the tensor is laid out as the papers write it, batch x N x C (torchvision's ViT). Written
    N x C, as every (C, L) volume is (197x768 for ViT-B/16). Equal only to another Tokens, so
    that caches keyed by shape keep a sequence apart from a plain 1-D volume of the same size."""

    __slots__ = ()

    def __eq__(self, other):
        return isinstance(other, Tokens) and tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("tokens", *self))

    def __repr__(self):
        return f"Tokens({tuple.__repr__(self)})"


class GridTokens(Tokens):
    """A token sequence that remembers the grid its tokens came from: (C, N) with `grid` =
    (T, H, W) (or (H, W)), the last prod(grid) tokens laid out on it and the first
    N - prod(grid) in front of it (the class token). MViT's pooling attention pools the tokens
    on that grid, so the sequence carries it: a C x T x H x W volume could not hold the class
    token, and N alone does not say T, H and W. Equal to a plain Tokens of the same (C, N) (a
    ViT's sequence is still 197x768), but not to a sequence on another grid."""

    def __new__(cls, shape, grid):
        self = super().__new__(cls, shape)
        self.grid = tuple(grid)
        return self

    def __eq__(self, other):
        if isinstance(other, GridTokens):
            return tuple.__eq__(self, other) and self.grid == other.grid
        return Tokens.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return Tokens.__hash__(self)

    def __repr__(self):
        return f"GridTokens({tuple.__repr__(self)}, grid={self.grid})"

    def __reduce__(self):
        return (GridTokens, (tuple(self), self.grid))


def with_channels(shape, channels: int):
    """A token sequence of `channels` per token, the same tokens (and grid) as `shape`."""
    if isinstance(shape, GridTokens):
        return GridTokens((channels, shape[1]), shape.grid)
    return Tokens((channels, shape[1]))


def is_tokens(shape) -> bool:
    return isinstance(shape, Tokens)


def torch_order(shape) -> tuple[int, ...]:
    """A per-sample shape in the order torch holds the tensor: channels first, but a token
    sequence (C, N) as N x C."""
    return (shape[1], shape[0]) if isinstance(shape, Tokens) else tuple(shape)


def shape_text(shape) -> str:
    """A (C, *spatial) volume as the lecture writes it, H x W x C; a vector is just its length."""
    return dims_text((*shape[1:], shape[0])) if len(shape) > 1 else str(shape[0])


def volume_text(shape) -> str:
    """H x W x C with thousands separators, for sizes too large to read without them."""
    return " x ".join(f"{d:,}" for d in (*shape[1:], shape[0]))


def counted(n: int, word: str, plural: str | None = None) -> str:
    """`1 bias`, `2 biases`, `0 weights`: a count with its noun in the right number."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"
