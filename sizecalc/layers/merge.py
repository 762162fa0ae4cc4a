"""Merges: several inputs, one output, no params.

`add` (residual) needs identical volumes; `concat` stacks along channels and needs the same
spatial size; `mul` multiplies element-wise and broadcasts a C x 1 x 1 gate over C x H x W
(squeeze-and-excitation). The receptive field of a merge is the largest of its inputs.
"""

from __future__ import annotations

from math import prod

from .base import (NO_ALIAS, NO_WORKSPACE, SAVES_NOTHING, ArgField, LayerError, LayerKind, Saved, Sizing,
                   TorchModule)
from ..core.units import shape_text as _show

INPUTS = ArgField("inputs", "ids", doc="ids of the layers to merge")


def _mismatch(what: str, ins, fix: str) -> LayerError:
    listed = tuple(f"input {i + 1} is {_show(s)}" for i, s in enumerate(ins))
    return LayerError("merge-shape-mismatch", what, "inputs", fix, inputs=listed)


def _add_fix(ins) -> str:
    """A fix that can work for this mismatch: a strided 1x1 projection only helps when one
    branch is an exact multiple of the other."""
    big, small = max(ins, key=lambda s: s[1:]), min(ins, key=lambda s: s[1:])
    if big[1:] == small[1:]:
        return f"project the narrower branch with a 1x1 conv of {max(s[0] for s in ins)} filters"
    ratios = {b // s for b, s in zip(big[1:], small[1:]) if s and b % s == 0}
    if len(ratios) == 1 and all(b % s == 0 for b, s in zip(big[1:], small[1:])):
        r = ratios.pop()
        return (f"project the larger branch with a conv of kernel {r}, stride {r}, {small[0]} filters "
                f"(or 1x1, stride {r} with rounding: floor, as ResNet does)")
    return "give both branches the same output size: pad each KxK conv by (K - 1)/2 and use the same strides"


def infer_add(layer, ins) -> Sizing:
    if any(s != ins[0] for s in ins):
        raise _mismatch("add needs identical volumes", ins, _add_fix(ins))
    return Sizing(ins[0], explain=[" + ".join(_show(s) for s in ins)], other_macs=prod(ins[0]) * (len(ins) - 1))


def infer_concat(layer, ins) -> Sizing:
    if any(s[1:] != ins[0][1:] for s in ins):
        raise _mismatch("concat needs the same spatial size", ins,
                        "give every branch the same stride and padding")
    c = sum(s[0] for s in ins)
    return Sizing((c, *ins[0][1:]), explain=[f"channels {' + '.join(str(s[0]) for s in ins)} = {c}"])


def _broadcast(a: int, b: int) -> int | None:
    return a if b in (1, a) else (b if a == 1 else None)


def infer_mul(layer, ins) -> Sizing:
    out = ins[0]
    for s in ins[1:]:
        if len(s) != len(out) or None in (dims := [_broadcast(x, y) for x, y in zip(out, s)]):
            raise _mismatch("mul needs volumes that broadcast (equal, or 1)", ins,
                            "make the gate C x 1 x 1 with the same C as the features")
        out = tuple(dims)
    return Sizing(out, explain=[" * ".join(_show(s) for s in ins)], other_macs=prod(out) * (len(ins) - 1))


def torch_add(layer, ins, out):
    return TorchModule("Add")


def torch_concat(layer, ins, out):
    """torch.cat along dim 1, the channels."""
    return TorchModule("Concat")


def torch_mul(layer, ins, out):
    """Element-wise product with torch's broadcasting."""
    return TorchModule("Mul")


def _running(ins) -> list[int]:
    """Elements per sample of each partial result of Add/Mul, which fold their inputs in
    pairs (sizecalc/torch/modules.py): x0 op x1, then that op x2, ..., the last the output."""
    shape, sizes = ins[0], []
    for s in ins[1:]:
        shape = tuple(_broadcast(a, b) for a, b in zip(shape, s))
        sizes.append(prod(shape))
    return sizes


def saves_factors(layer, ins, out):
    """A product keeps both factors (each is needed for the other's gradient): every input,
    and with more than two inputs every partial product but the last."""
    return (tuple(Saved("input", i) for i in range(len(ins)))
            + tuple(Saved("own", elems=n) for n in _running(ins)[:-1]))


def workspace_fold(layer, ins, out):
    """With more than two inputs, each partial result is alive while the next is computed."""
    sizes = _running(ins)
    peak = max(n + (sizes[k - 1] if k else 0) for k, n in enumerate(sizes))
    return (Saved("own", elems=peak - prod(out)),) if peak > prod(out) else ()


def _merge(name, infer, doc, aliases, torch, saved, workspace) -> LayerKind:
    return LayerKind(name, "merge", infer, main="inputs", merge=True, doc=doc, fields=(INPUTS,), aliases=aliases,
                     torch=torch, saved=saved, alias=NO_ALIAS, workspace=workspace)


# a sum's gradient is its output's gradient, and cat's is sliced from it: neither keeps a tensor
ADD = _merge("add", infer_add, "element-wise sum (residual connection)", ("sum", "residual"), torch_add,
             SAVES_NOTHING, workspace_fold)
CONCAT = _merge("concat", infer_concat, "stack along channels (Inception, DenseNet)", ("cat", "concatenate"),
                torch_concat, SAVES_NOTHING, NO_WORKSPACE)
MUL = _merge("mul", infer_mul, "element-wise product, broadcasting a gate (squeeze-excitation)", ("multiply",),
             torch_mul, saves_factors, workspace_fold)
