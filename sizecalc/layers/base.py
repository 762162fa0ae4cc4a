"""The layer registry and the contract every layer kind states.

Each module of `sizecalc.layers` declares one or more `LayerKind`s, and the table in
`sizecalc/layers/__init__.py` registers them all. A kind declares its fields (the YAML keys
it takes, with types, defaults and aliases) and five pure functions, every one stated
explicitly (a kind that leaves one out is refused when it is declared):
- `infer(layer, input_shapes) -> Sizing`: output volume, parameters, buffers,
  multiply-accumulates and the window it slides (for the receptive field). `input_shapes`
  are the inputs' shapes, then those of the layers whose shape the layer only reads (an `id`
  field such as resize's `like:`; the engine's walk passes them to every rule of the kind);
- `saved(layer, input_shapes, output_shape) -> Saved items`: what autograd keeps for the
  backward pass (`SAVES_NOTHING` where it keeps nothing);
- `alias(layer, input_shapes) -> bool`: whether the output shares input 0's storage (`NO_ALIAS`);
- `workspace(layer, input_shapes, output_shape) -> Saved items`: what the op holds besides
  its output while it runs without autograd (`NO_WORKSPACE`);
- `torch(layer, input_shapes, output_shape) -> TorchModule`: the torch module, as data
  (`sizecalc.torch.backend` builds it, `sizecalc.torch.export` writes it out).
The engine only walks the graph and calls these; the spec loader checks a layer's keys
against its `ArgField`s, and `sizecalc schema` generates the JSON Schema from them (there is
no generated documentation table). Nothing here imports torch.

Shapes are channels first and per sample: `(C,)`, `(C, L)`, `(C, H, W)` or `(C, D, H, W)`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..core.record import dataclass, field
from typing import Any, Callable

from ..core.errors import LayerError  # noqa: F401  (re-exported for layer modules)
from ..core.receptive import Window, upsample  # noqa: F401  (what a layer declares for the receptive field)
from ..core.units import shape_text

REQUIRED = object()

# keys every layer may carry, whatever its kind
COMMON_KEYS = ("id", "from", "enabled")


@dataclass(frozen=True)
class ArgField:
    """One argument a layer kind takes: its YAML key, type, default, aliases and bounds."""

    name: str
    type: str  # int | dims | padding | bool | float | choice | ids | str | scale | id (a layer whose shape it reads)
    default: Any = REQUIRED
    aliases: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""


@dataclass
class Sizing:
    output: tuple[int, ...]
    weights: int = 0
    biases: int = 0
    buffers: int = 0
    macs: int = 0
    # one Window per spatial dimension of the input (core/receptive.py: `upsample(factors)` for a
    # layer that raises the resolution); None = pointwise (receptive field unchanged)
    windows: list[Window] | None = None
    explain: list[str] = field(default_factory=list)
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, message, field)
    # multiply-accumulates outside conv and fc (bias adds, norms, pooling, merges), counted
    # only with `macs: all`: torchvision's GFLOPS column leaves them out
    other_macs: int = 0


@dataclass
class Layer:
    """One layer after expansion: what `infer` receives."""

    id: str
    kind: "LayerKind"
    args: dict
    inputs: list[int]


@dataclass(frozen=True)
class TorchModule:
    """A torch module as data: `cls(*args, **kwargs)`, where `cls` names a class of torch.nn
    or of sizecalc.torch.modules, and an argument may itself be a TorchModule (the layers of
    an nn.Sequential, the pool inside a PaddedPool). Keyword order is the order written out."""

    cls: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


UNSTATED = object()


def SAVES_NOTHING(layer, ins, out) -> tuple:  # noqa: N802  (a constant of the contract)
    """Autograd keeps no tensor for this op's backward pass."""
    return ()


def NO_ALIAS(layer, ins) -> bool:  # noqa: N802
    """The output is a storage of its own."""
    return False


def NO_WORKSPACE(layer, ins, out) -> tuple:  # noqa: N802
    """Without autograd the op holds nothing besides its output."""
    return ()


CONTRACT = ("infer", "saved", "alias", "workspace", "torch")


@dataclass(frozen=True)
class LayerKind:
    name: str
    family: str
    infer: Callable[[Layer, list[tuple[int, ...]]], Sizing]
    fields: tuple[ArgField, ...] = ()
    main: str | None = None  # the field set by the op key's own value: {conv: 64} -> filters
    aliases: tuple[str, ...] = ()
    doc: str = ""
    merge: bool = False  # takes several inputs, named by its main value
    # what a spelling of the op states, as arguments: ("reflectionpad", "mode", "reflect") makes
    # {ReflectionPad2d: 3} a reflect pad (the spelling's folded prefix, the field, its value)
    implied: tuple[tuple[str, str, Any], ...] = ()
    # torch(layer, input_shapes, output_shape) -> TorchModule
    torch: Callable = UNSTATED
    # saved(layer, input_shapes, output_shape) -> the tensors autograd keeps for backward,
    # as Saved items (see engine/memory.py); SAVES_NOTHING when it keeps none
    saved: Callable = UNSTATED
    # alias(layer, input_shapes) -> True when the output shares the storage of input 0 (a view,
    # or in-place)
    alias: Callable = UNSTATED
    # workspace(layer, input_shapes, output_shape) -> Saved("own", ...) items: tensors the op
    # holds besides its output while it runs without autograd (indices, intermediates)
    workspace: Callable = UNSTATED

    def __post_init__(self):
        unstated = [name for name in CONTRACT if not callable(getattr(self, name))]
        if unstated:
            raise TypeError(f"layer kind {self.name!r} does not state its {', '.join(unstated)} "
                            "(the contract: SAVES_NOTHING, NO_ALIAS, NO_WORKSPACE where true)")

    def field(self, name: str) -> ArgField | None:
        for f in self.fields:
            if f.name == name or name in f.aliases:
                return f
        return None


REGISTRY: dict[str, LayerKind] = {}
ALIASES: dict[str, str] = {}
FOLDED: dict[str, str] = {}  # lowercased name -> kind: `Conv2d`, `ReLU`, `BatchNorm2d` as PyTorch spells them


def register(kind: LayerKind) -> LayerKind:
    """Add a kind (and its aliases) to the registry; `layers/__init__.py`'s table calls this."""
    if not isinstance(kind, LayerKind):
        raise TypeError(f"{kind!r} is not a LayerKind")
    for name in (kind.name, *kind.aliases):
        if name in ALIASES or FOLDED.get(name.lower(), kind.name) != kind.name:
            raise RuntimeError(f"layer name {name!r} registered twice")
        ALIASES[name] = FOLDED[name.lower()] = kind.name
    REGISTRY[kind.name] = kind
    return kind


def lookup(name: str) -> LayerKind | None:
    """The kind an op name means, in any case (`conv2d`, `Conv2d`, `CONV2D`), or None."""
    if not isinstance(name, str):
        return None
    canonical = ALIASES.get(name) or FOLDED.get(name.lower())
    return REGISTRY[canonical] if canonical else None


ROUNDING = ArgField("rounding", "choice", "exact", choices=("exact", "floor", "ceil"),
                 doc="what to do when (W - F + 2P)/S + 1 is not whole: exact = error, "
                     "floor = PyTorch convolution, ceil = PyTorch ceil_mode / Caffe")


@dataclass(frozen=True)
class Saved:
    """One tensor kept for the backward pass (or held at inference, as workspace): an
    input's or the output's storage, or a tensor of its own (`elems` per sample, or in total
    whatever the batch when `per_sample` is False), of `nbytes` bytes per element (None =
    the activation dtype)."""

    what: str  # "input" | "output" | "own"
    index: int = 0
    elems: int = 0
    nbytes: int | None = None
    per_sample: bool = True
    cuda_nbytes: int | None = None  # bytes per element on CUDA, where that differs
    # the attention kernel this tensor belongs to ("math" or "fused"; None: whichever runs), and
    # the devices on which torch picks that kernel by itself (`--attention auto`)
    path: str | None = None
    picked_on: tuple[str, ...] = ()
    # (elems, bytes per element) in its place where activations are half precision, where that
    # differs (torch's math attention computes in fp32 there)
    half: tuple[int, int] | None = None


SAVES_INPUT = (Saved("input"),)
SAVES_OUTPUT = (Saved("output"),)


def saves_input(layer, ins, out):
    return SAVES_INPUT


def saves_output(layer, ins, out):
    return SAVES_OUTPUT


def inplace(layer, ins) -> bool:
    return bool(layer.args.get("inplace"))


def always(layer, ins) -> bool:
    return True


def per_dim(value, n: int, name: str) -> list[int]:
    """An int, or a list with one int per spatial dimension."""
    if isinstance(value, int):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise LayerError("dims-mismatch", f"{name} has {len(values)} values but the input has "
                         f"{n} spatial dimension{'s' if n != 1 else ''}", name,
                         f"give {name} as one number or a list of {n}")
    return values


def needs_volume(shape: tuple[int, ...], what: str) -> tuple[int, list[int]]:
    if len(shape) < 2:
        raise LayerError("needs-volume", f"{what} needs a volume with spatial dimensions, "
                         f"but its input is a vector of {shape[0]:,}", None,
                         f"move the {what} before the flatten/fc layers")
    return shape[0], list(shape[1:])


RANKED_FAMILIES = ("conv", "local", "pool")  # windowed layers: PyTorch's Conv2d, MaxPool3d, ... fix the rank
_RANKED_NAME = re.compile(r"[a-z_]([123])d$")


def spelled_rank(kind: LayerKind, name) -> int | None:
    """The spatial rank a windowed layer's name states (conv2d: 2, maxpool3d: 3, as PyTorch's
    Conv2d refuses another); None where the name states none (conv, maxpool: any rank)."""
    if kind.family not in RANKED_FAMILIES or not isinstance(name, str):
        return None
    return _name_rank(name)


@lru_cache(maxsize=256)
def _name_rank(name: str) -> int | None:
    """The rank in a name (a spec of 100,000 conv2d layers reads it once)."""
    found = _RANKED_NAME.search(name.lower())
    return int(found.group(1)) if found else None


def check_rank(kind: LayerKind, name: str, rank: int, shape: tuple[int, ...]) -> None:
    """LayerError unless `shape` (C, *spatial) has the `rank` spatial dimensions that the
    layer's name `name` states; the fixes name the spelling of the input's rank, and the
    kind's own name (any rank)."""
    have = len(shape) - 1
    if have == rank:
        return
    what = f"{name} is a {rank}-D layer ({_ORDER[rank]}), but its input "
    if not have:
        raise LayerError("rank", what + f"is a vector of {shape[0]:,} features", None,
                         f"move the {name} before the flatten/fc layers, or give the network a volume input")
    other = name[:-2] + str(have) + name[-1]
    fixes = ((f"write {other}",) if lookup(other) is not None else ()) + (f"write {kind.name} (any rank)",)
    raise LayerError("rank", what + f"{'x'.join(map(str, (*shape[1:], shape[0])))} is {have}-D "
                     f"({_ORDER[have]})", None, fixes=fixes)


_ORDER = {1: "L x C", 2: "H x W x C", 3: "D x H x W x C"}
def channels_field(name: str, what: str) -> ArgField:
    """PyTorch's statement of the input depth (`in_channels`, `num_features`): optional, and
    checked against the input by `check_channels`."""
    return ArgField(name, "int", None, minimum=1,
                    doc=f"{what} (PyTorch's {name}): checked against the input's channels")


def check_channels(layer, key: str, shape: tuple[int, ...]) -> None:
    """A stated input depth must be the input's: `in_channels 4, but the input has 3 channels (32x32x3)`."""
    stated = layer.args.get(key)
    if stated is not None and stated != shape[0]:
        raise LayerError("channels-mismatch", f"{key} {stated:,}, but the input has {shape[0]:,} channel"
                         f"{'s' if shape[0] != 1 else ''} ({shape_text(shape)})", key,
                         f"write {key}: {shape[0]}, or change the layers before it")
