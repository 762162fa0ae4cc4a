"""A traced torch.fx node, read: its output shape per sample, the tensors it takes in, its
arguments, the module path it was called in; and the Ops one node adds to the spec (`add_ops`).
Shared by the importer's modules (fx_ops, fx_patterns, fx_blocks, fx_import); nothing here maps.
"""

from __future__ import annotations

from ..spec.writer import Op

# what a node's tensor input is, in node.meta while it is mapped: torch's last dimension holds the
# channels (a vector, a channels-last permute, batch x N x C tokens); a token sequence
CHANNELS_LAST, SEQUENCE = "sizecalc_channels_last", "sizecalc_sequence"


def _one(value):
    """A per-dimension tuple with one value throughout as that value (kernel 3, not [3, 3])."""
    if isinstance(value, (tuple, list)):
        value = list(value)
        return value[0] if value and all(v == value[0] for v in value) else value
    return value


def _arg(node, i: int, name: str, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _is_tensor(node) -> bool:
    import torch
    meta = node.meta.get("tensor_meta") if hasattr(node, "meta") else None
    return meta is not None and hasattr(meta, "shape") and isinstance(meta.shape, torch.Size)


def _tuple_of_tensors(node) -> bool:
    meta = node.meta.get("tensor_meta")
    return isinstance(meta, (tuple, list)) and len(meta) > 0


def _shape(node) -> tuple:
    return tuple(node.meta["tensor_meta"].shape[1:])  # per sample: the batch dimension off


def _param_shape(node) -> tuple:
    return tuple(node.meta["tensor_meta"].shape)


def tensor_inputs(node) -> list:
    """The tensors a node reads, in argument order (x + x reads x twice)."""
    out = []

    def visit(value):
        if isinstance(value, (list, tuple)):
            for v in value:
                visit(v)
        elif hasattr(value, "op") and _is_tensor(value):
            out.append(value)
    visit(list(node.args) + list(node.kwargs.values()))
    return out


def _where(node) -> str:
    """The module path a function or method node was called in ('' at the top)."""
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else ""


def op_name(node) -> str:
    if node.op == "call_module":
        return type(node.graph.owning_module.get_submodule(node.target)).__name__
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    return f"{'torch.nn.functional' if 'functional' in module else module.replace('_operator', 'operator')}.{name}" \
        if module else name


def _function_name(node) -> str | None:
    return getattr(node.target, "__name__", None) if node.op == "call_function" else None


def add_ops(ops: list[Op], shapes_out: list, mapped: list, path: str, inputs: list, shape: tuple) -> str:
    """Append the layers one node maps to (x.mean([2, 3]): a pool, then a flatten); returns the
    id of the last. A layer's shape is torch's where it is the node's output, else None."""
    for n, (kind, args) in enumerate(mapped):
        ops.append(Op(path if n == 0 else f"{path}#{kind}", kind, args, tuple(inputs)))
        shapes_out.append(shape if n == len(mapped) - 1 else None)
        made = ops[-1].id if ops[-1].id not in {o.id for o in ops[:-1]} else _renamed(ops, ops[-1].id)
        inputs = [made]
    return made


def _renamed(ops: list[Op], path: str) -> str:
    """A second layer from one path (a module called twice, two adds in one forward): its own id."""
    n = sum(1 for o in ops if o.id == path or o.id.startswith(path + "#"))
    ops[-1] = Op(f"{path}#{n}", ops[-1].kind, ops[-1].args, ops[-1].inputs)
    return ops[-1].id
