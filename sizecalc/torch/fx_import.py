"""`sizecalc import MODULE:FACTORY`: a PyTorch module -> sizecalc's layers (`spec.writer.Op`s).

The factory is the user's own code (`torchvision.models:resnet50`, `net.py:build`): importing
and calling it runs that code, which is what the user asked for. It is called on the meta
device where it can be (no weights allocated; moved there when built on the CPU), traced with
torch.fx (a subclass of a mapped torch.nn module that keeps its forward stays whole) and
shape-propagated on a meta input; each node then maps to a kind of sizecalc (`MODULES` for
call_module, `FUNCTIONS` / `METHODS` for call_function / call_method). A node that maps to
nothing is collected and reported, by op and module path, never counted as zero; a node that
only passes its input on (a view that keeps the shape, `contiguous`, a tuple's item) is no
layer. The spec text is written by `spec.writer`; nothing here evaluates spec text.

Here: loading and building the module, tracing it, and the walk over the traced graph; one
node -> one layer is fx_ops', the patterns over several nodes fx_patterns', torchvision's
blocks kept whole fx_blocks'; a node's reading fx_nodes', the tensors' layouts fx_layouts'.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import operator
import os
import sys

from ..core.errors import Finding, InputError, SpecError
from ..core.units import Tokens
from ..spec.writer import NETWORK_INPUT, Op
from .fx_blocks import MVIT_MODULES, PARTITION_MODULES, SWIN3D_MODULES
from .fx_layouts import KEEP_LAYOUT, _in_layout, _Layouts
from .fx_nodes import (CHANNELS_LAST, SEQUENCE, _is_tensor, _shape, _tuple_of_tensors, _where, add_ops, op_name,
                       tensor_inputs)
from .fx_ops import _function_table, map_node, module_handler
from .fx_patterns import _used, patterns, to_tokens


# -- the user's factory -------------------------------------------------------------------
def _usage(message: str, fix: str) -> InputError:
    return InputError([Finding("import", message, fix=fix)])


def load_factory(target: str):
    """`package.module:factory` or `path/to/file.py:factory` -> the callable (imports it: runs
    the module's code, as the user asked)."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise _usage(f"'{target}' is not MODULE:FACTORY", "write torchvision.models:resnet50 or net.py:build")
    try:
        if where.endswith(".py") or os.sep in where:
            if not os.path.isfile(where):
                raise _usage(f"no such file: {where}", "give the path of the Python file that defines the factory")
            spec = importlib.util.spec_from_file_location(f"_sizecalc_import_{abs(hash(where))}", where)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except InputError:
        raise
    except Exception as err:  # the user's module failed to import: say so in one line
        raise _usage(f"importing {where} failed: {type(err).__name__}: {err}",
                     "check that it imports in Python (python -c 'import ...')") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise _usage(f"{where} has no callable '{name}'", "name a function or class that returns an nn.Module")
    return factory


def build(factory):
    """The module, built on the meta device (no weights allocated); on the CPU when the
    factory cannot run there. Returns (module, on_meta)."""
    import torch
    try:
        with torch.device("meta"):
            model = factory()
        on_meta = True
    except Exception:  # a factory that reads or fills tensor values at build time
        try:
            model = factory()
        except Exception as err:
            raise _usage(f"calling the factory failed: {type(err).__name__}: {err}",
                         "check that FACTORY() returns an nn.Module without arguments") from None
        on_meta = False
    if not isinstance(model, torch.nn.Module):
        raise _usage(f"the factory returned {type(model).__name__}, not an nn.Module",
                     "name a function or class that returns an nn.Module")
    if not on_meta:
        model = model.to("meta")  # only shapes are needed: the forward pass then costs nothing
    return model.eval(), on_meta


def _tracer_class():
    import torch

    class Tracer(torch.fx.Tracer):
        """torch.fx's tracer, keeping whole a subclass of a mapped torch.nn module that does
        not change its forward (so it maps as that module)."""

        def is_leaf_module(self, m, qualname):
            return super().is_leaf_module(m, qualname) or module_handler(m) is not None \
                or type(m).__name__ in PARTITION_MODULES + MVIT_MODULES + SWIN3D_MODULES
    return Tracer


def _Tracer():  # noqa: N802
    return _tracer_class()()


def trace(model, input_shape: tuple):
    """torch.fx graph of the module, every node's output shape propagated on a meta input."""
    import torch
    from torch.fx.passes.shape_prop import ShapeProp
    try:
        graph = torch.fx.GraphModule(model, _Tracer().trace(model), type(model).__name__)
    except Exception as err:
        raise SpecError([Finding("import", f"torch.fx cannot trace {type(model).__name__}: "
                                 f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
                                 fix="torch.fx needs a forward without control flow on tensor values; "
                                     "wrap such a part with torch.fx.wrap, or import a submodule that traces")]) \
            from None
    device = next((p.device for p in model.parameters()), torch.device("meta"))
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # ShapeProp prints the traceback of a failed node
            ShapeProp(graph).propagate(torch.empty(1, *input_shape, device=device))
    except Exception as err:
        raise SpecError([Finding("import", f"a forward pass of {type(model).__name__} on a "
                                 f"{'x'.join(map(str, input_shape))} input failed: {type(err).__name__}: "
                                 f"{str(err).splitlines()[0] if str(err) else ''}",
                                 fix="give the input the model takes: --input 3x224x224")]) from None
    return graph


# -- the graph -> Ops ----------------------------------------------------------------------
def to_ops(graph) -> tuple[list[Op], list[tuple]]:
    """The traced, shape-propagated graph -> (Ops, each Op's output shape per sample in
    sizecalc's order: channels first, tokens C x N). Raises SpecError listing every node
    sizecalc has no kind for."""
    walk = _Walk(graph)
    for node in graph.graph.nodes:
        walk.step(node)
    unmapped = walk.unmapped + [f"a tensor attribute ({name}) used as data" for node, name in walk.params.items()
                                if node.op == "get_attr" and not _used(node, walk.params, walk.used)]
    unmapped += [f"{op_name(node)} at {_where(node) or '(top level)'} (computed from parameters)"
                 for node in walk.derived if node not in walk.absorbed
                 and not any(user in walk.derived for user in node.users)]
    unmapped += [f"{op_name(node)} at {_where(node) or '(top level)'} (patch merging not completed)"
                 for node in walk.merging if not any(user in walk.merging or user in walk.made
                                                     for user in node.users)]
    if unmapped:
        raise SpecError([Finding("unmapped-op", f"sizecalc has no layer for {what}",
                                 fix="replace it, or size the rest: import a submodule that leaves it out")
                         for what in unmapped])
    return walk.ops, walk.shapes_out


class _Walk:
    """The graph's nodes, in order, to Ops: what each node maps to (fx_ops), unless it is part of
    a pattern that spans nodes (fx_patterns, fx_blocks: a permute, a channel shuffle, a chunk, a
    parameter used as data, a block); the state those patterns keep as they go is held here."""

    def __init__(self, graph):
        self.graph = graph
        self.functions = _function_table()
        self.made: dict = {}  # node -> the id of the Op whose output it is ("input" for the network's)
        self.ops: list[Op] = []
        self.shapes_out: list[tuple] = []
        self.unmapped: list[str] = []
        self.failed: set = set()  # nodes listed as unmapped whose output is not one tensor
        self.layouts = _Layouts()
        self.params: dict = {}  # get_attr tensors (a parameter used as data) and their expand: node -> name
        self.used: set = set()  # the parameters a layer took in (class token, position embedding, ...)
        self.grouped: dict = {}  # channel shuffle under way: node -> (groups, the input's Op, transposed)
        self.chunks: dict = {}  # x.chunk(parts, dim=1): node -> (parts, the input's Op)
        self.tuples: dict = {}  # a module that returns (output, weights): node -> its input
        self.derived: dict = {}  # a tensor computed from parameters alone (Swin's position bias): node -> None
        self.absorbed: set = set()  # the derived tensors a layer took in
        self.merging: dict = {}  # Swin's patch merging under way: node -> (the map's node, steps so far)
        self.swapped: set = set()  # MaxViT's grid groups swapped back before the departition

    def add(self, node, mapped, inputs):
        where = node.target if node.op == "call_module" else _where(node)
        path = node.target if node.op == "call_module" else ".".join(p for p in (where, _base(node)) if p)
        shape = None
        if _is_tensor(node):  # in sizecalc's order (the node's layout is known by now)
            shape = self.layouts.canonical(node)
            shape = Tokens(shape) if node in self.layouts.sequence else shape
        self.made[node] = add_ops(self.ops, self.shapes_out, mapped if isinstance(mapped, list) else [mapped],
                                  path, inputs, shape)

    def map(self, node, inputs):
        for n in inputs[:1]:
            node.meta[CHANNELS_LAST] = self.layouts.channels_last(n)
            node.meta[SEQUENCE] = n in self.layouts.sequence
        return map_node(node, [self.layouts.canonical(n) for n in inputs], self.functions)

    def step(self, node):
        made, layouts = self.made, self.layouts
        if node.op == "placeholder":
            made[node] = NETWORK_INPUT
            return
        if node.op == "get_attr":
            if _is_tensor(node):
                self.params[node] = node.target
            return
        inputs = tensor_inputs(node)
        if patterns(self, node, inputs):
            return
        if node.op == "output" or not _is_tensor(node):
            if node.op == "call_module" or (inputs and node.op != "output" and _tuple_of_tensors(node)):
                self.unmapped.append(f"{op_name(node)} at "
                                     f"{node.target if node.op == 'call_module' else _where(node)}")
                self.failed.add(node)
            return  # the result, or a size: no layer
        if node.target is operator.getitem and node.args[0] in self.failed:
            made[node] = made.get(inputs[0], NETWORK_INPUT) if inputs else NETWORK_INPUT
            return  # an item of what an unmapped op returned: that op is listed
        mapped = None
        if all(n in made for n in inputs):
            mapped = _in_layout(node, to_tokens(node, inputs, layouts) or self.map(node, inputs), inputs, layouts)
        if mapped is None:
            where = node.target if node.op == "call_module" else _where(node)
            self.unmapped.append(f"{op_name(node)} at {where or '(top level)'}")
            made[node] = made.get(inputs[0], NETWORK_INPUT) if inputs else NETWORK_INPUT
        elif mapped == "pass":
            made[node] = made[inputs[0]]
            layouts.keep(node, inputs[0])
        else:
            last = (mapped[-1] if isinstance(mapped, list) else mapped)[0]
            if last == "tokens":
                layouts.sequence.add(node)
                layouts.thw[node] = _shape(inputs[0])[1:]
            elif last in KEEP_LAYOUT and inputs:
                layouts.keep(node, inputs[0])
            self.add(node, mapped, [made[n] for n in inputs])


def _base(node) -> str:
    return str(node.target if node.op == "call_method" else getattr(node.target, "__name__", node.name)).strip("_")


def import_module(target: str, input_shape: tuple) -> tuple[list[Op], list[tuple], str, bool]:
    """`MODULE:FACTORY` -> (Ops, torch's output shape of each, the module's class name, built on meta)."""
    model, on_meta = build(load_factory(target))
    ops, shapes = import_model(model, input_shape)
    return ops, shapes, type(model).__name__, on_meta


def import_model(model, input_shape: tuple) -> tuple[list[Op], list[tuple]]:
    """An nn.Module (on any device) -> (Ops, torch's output shape of each, per sample)."""
    return to_ops(trace(model, tuple(input_shape)))
