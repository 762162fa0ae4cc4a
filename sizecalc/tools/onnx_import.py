"""An ONNX file -> a sizecalc spec (YAML text) or, in memory, the Graph every command sizes.

`sizecalc import model.onnx` writes the spec; `table`, `draw`, `lint`, `check` and `inputs`
given a `.onnx` file read it through `load_onnx` (tools/source.py picks it by the suffix).
Reading is onnx_read.py's (bounded, inert), the mapping onnx_map.py's; here: the input's size
(the batch axis is free; a dynamic spatial axis needs `--input`), the ops that did not map
(one line each, exit 1: never a silent zero) and the text of the spec.
"""

from __future__ import annotations

import os

from ..core.errors import Finding, InputError, SpecError, cut
from .onnx_map import Layer, Mapper
from .onnx_read import OnnxGraph, read_graph, unreadable

ONNX_SUFFIX = ".onnx"


def is_onnx(spec) -> bool:
    return isinstance(spec, str) and spec.lower().endswith(ONNX_SUFFIX)


def import_onnx(path: str, input_shape: tuple | None = None) -> str:
    """The spec (YAML text) of the ONNX file at `path`; `input_shape` (C, *spatial) replaces
    the file's input size. Raises InputError (exit 2) for a file it cannot read and SpecError
    (exit 1) naming every node whose op sizecalc cannot map."""
    graph = read_graph(path)
    shape = input_of(graph, input_shape)
    mapper = Mapper(graph)
    layers = mapper.run()
    if mapper.unmapped:
        raise SpecError([unmapped_finding(path, node, why) for node, why in mapper.unmapped[:50]])
    if not layers:
        raise unreadable(path, "has no node that sizecalc sizes", None, "empty")
    return spec_text(graph, shape, layers)


def load_onnx(path: str, input_shape: tuple | None = None):
    """The Graph of the ONNX file at `path`, as spec.loads makes it from the imported spec."""
    from ..spec import loads
    return loads(import_onnx(path, input_shape), f"{path}[imported]", input_shape)


def unmapped_finding(path: str, node, why: str | None) -> Finding:
    what = f"the ONNX op {cut(node.op, 40)} " + (f"({why}) " if why else "") + "has no sizecalc layer"
    return Finding("unsupported-op", what, None, layer=f"{cut(path)}: node '{cut(node.name or '?', 80)}'",
                   fix="see README.md, `Importing ONNX`, for the ops sizecalc maps; or write this part of "
                       "the spec by hand")


def input_of(graph: OnnxGraph, override: tuple | None) -> tuple:
    """(C, *spatial): the file's, batch left out; `override` where given (its channels must be
    the file's). A dynamic axis other than the batch needs the override."""
    dims = graph.input_dims[1:]
    if not dims:
        raise unreadable(graph.path, "has a scalar or 1-D input; sizecalc needs (batch, channels, ...)")
    if override is not None:
        if len(override) != len(dims) or (isinstance(dims[0], int) and dims[0] and override[0] != dims[0]):
            raise InputError([Finding("input", f"--input {'x'.join(map(str, override))} does not match the file's "
                                      f"input {shape_text(dims)} (channels first, batch left out)", None,
                                      fix=f"give {len(dims)} sizes, the first {dims[0]}")])
        return tuple(override)
    if any(not isinstance(d, int) or d < 1 for d in dims):
        raise InputError([Finding("dynamic-input", f"{cut(graph.path)}: input '{cut(graph.input_name, 40)}' is "
                                  f"{shape_text(dims)} (batch left out): a dynamic size other than the batch",
                                  None, fix="give the size with --input, e.g. --input "
                                  + "x".join(str(d) if isinstance(d, int) and d > 0 else "224" for d in dims))])
    return tuple(dims)


def shape_text(dims) -> str:
    return "x".join(str(d) if isinstance(d, int) else f"'{cut(str(d), 20)}'" for d in dims)


def spec_text(graph: OnnxGraph, shape: tuple, layers: list[Layer]) -> str:
    """The spec's YAML, written by spec/writer.py as for any imported network; the note on
    batch norms where the file has convolutions and no BatchNormalization."""
    from ..layers import lookup
    from ..spec.writer import Op, write_spec
    ops = []
    for layer in layers:
        kind = lookup(layer.kind)
        args = dict(layer.args)
        if layer.main is not None and not kind.merge:
            args[kind.main] = layer.main
        ops.append(Op(layer.id, layer.kind, args, tuple(layer.inputs)))
    notes = [f"(ONNX opset {graph.opset}); params are the weights the file stores."]
    if any(op.kind == "conv" for op in ops) and not any(op.kind == "bn" for op in ops):
        notes.append("The file has no BatchNormalization: an exporter folds a model's batch norms into its "
                     "convolutions (each conv gains a bias; the bn's params and running statistics are gone).")
    name = os.path.splitext(os.path.basename(graph.path))[0]
    return write_spec(ops, shape, name, source=os.path.basename(graph.path), notes=tuple(notes))
