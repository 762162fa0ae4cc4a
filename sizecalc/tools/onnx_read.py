"""Reading an ONNX file, bounded and inert: bytes -> an `OnnxGraph` (the nodes in order, the
shapes of the weights, the few small constants the mapping needs, the input's shape).

Imported only by `sizecalc import` and by a command given a `.onnx` file (tools/onnx_import.py);
`onnx` is the optional extra `sizecalc[onnx]`. Nothing in the file is ever run: the model is
parsed as protobuf data, never checked by onnx's C++ shape inference, and external data
files (which a hostile model could point anywhere) are never opened. Bounds: the file size
(MAX_ONNX_BYTES), the nodes (MAX_LAYERS), every dimension (MAX_SIDE) and weight (MAX_ELEMS),
the opset (what the installed onnx knows). Subgraphs (If, Loop, Scan) are not entered: they
are ops sizecalc cannot map. Values are read only from constants of at most MAX_CONST
elements (pads, scales, clip bounds, reshape targets); weights are read as shapes only.
Every refusal is one line, exit 2 (InputError), with the file's text escaped by printable().
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..core.errors import Finding, InputError, cut
from ..core.limits import MAX_ELEMS, MAX_LAYERS, MAX_SIDE

MAX_ONNX_BYTES = 2 ** 31 - 1  # protobuf's own limit on one message
MAX_CONST = 64  # elements of a constant whose values are read (a shape, pads, scales)
MIN_OPSET = 7  # the oldest default-domain opset read (Conv, Gemm, pools as torch exports them)
NEWEST_OPSET = 28  # onnx 1.23's newest (onnx.defs.onnx_opset_version()); a newer one is unknown
# TensorProto data types whose small constants are read: code -> struct format, field of typed data
DATA_TYPES = {1: ("f", "float_data"), 6: ("i", "int32_data"), 7: ("q", "int64_data"), 11: ("d", "double_data")}
ONNX_DOMAINS = ("", "ai.onnx")


@dataclass
class OnnxNode:
    """One node: its op, a readable name, input and output tensor names, attributes (ints,
    floats, strings and lists of them; a subgraph attribute is recorded as `has_subgraph`)."""

    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict
    domain: str = ""
    scope: str | None = None  # the dynamo exporter's `namespace` (module path), where it has one
    has_subgraph: bool = False


@dataclass
class OnnxGraph:
    path: str
    name: str
    opset: int
    input_name: str
    input_dims: list  # per dimension: an int, or the name of a dynamic axis (str), batch first
    nodes: list[OnnxNode]
    weights: dict[str, tuple] = field(default_factory=dict)  # initializer name -> dims
    constants: dict[str, list] = field(default_factory=dict)  # small constants -> flat values
    outputs: list = field(default_factory=list)  # the graph's output tensor names


def unreadable(path: str, what: str, fix: str | None = None, rule: str = "unreadable") -> InputError:
    return InputError([Finding(rule, f"{cut(path)}: {what}", None, fix=fix)])


def need_onnx():
    """onnx's protobuf classes (ModelProto, ...), or one line saying how to install onnx (exit 2).

    Only the generated module onnx_ml_pb2 is loaded, from the installed onnx package, without
    running onnx/__init__.py: that imports numpy and ml_dtypes (about 2 s); protobuf is all
    reading a file needs. The classes are the very ones `import onnx` gives (one pool)."""
    import sys
    if "onnx.onnx_ml_pb2" in sys.modules:
        return sys.modules["onnx.onnx_ml_pb2"]
    import importlib.util
    found = importlib.util.find_spec("onnx")  # finds the package without importing it
    where = found.submodule_search_locations if found else None
    path = os.path.join(list(where)[0], "onnx_ml_pb2.py") if where else ""
    if not os.path.isfile(path):
        raise InputError([Finding("onnx-missing", "reading an ONNX file needs the onnx package", None,
                                  fix='pip install "sizecalc[onnx]"')])
    spec = importlib.util.spec_from_file_location("onnx.onnx_ml_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["onnx.onnx_ml_pb2"] = module
    return module


def read_bytes(path: str) -> bytes:
    """The file's bytes: a regular file of at most MAX_ONNX_BYTES (no FIFO, device or socket)."""
    from ..spec.yamlsafe import _check_regular, _os_error
    try:
        info = os.stat(path)
        _check_regular(path, info.st_mode)
        if info.st_size > MAX_ONNX_BYTES:
            raise unreadable(path, f"is {info.st_size:,} bytes; ONNX files are read up to {MAX_ONNX_BYTES:,} "
                             "bytes (protobuf's limit)", "save the weights as external data")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as fh:
            _check_regular(path, os.fstat(fh.fileno()).st_mode)
            return fh.read(MAX_ONNX_BYTES + 1)
    except FileNotFoundError:
        raise unreadable(path, "no such file", "check the path") from None
    except OSError as exc:
        raise _os_error(path, exc) from None


def parse(path: str, data: bytes):
    """The ModelProto in `data`, or one line: not protobuf, truncated, or not an ONNX model."""
    model = need_onnx().ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # DecodeError, RecursionError on nesting past protobuf's limit
        raise unreadable(path, f"is not an ONNX model: protobuf cannot parse it ({type(exc).__name__}: "
                         f"{cut(str(exc), 80)}); a truncated or corrupted file reads so",
                         "export the model again (torch.onnx.export)") from None
    if not model.HasField("graph") or not model.opset_import or model.ir_version < 1:
        raise unreadable(path, "is not an ONNX model (no graph, opset or IR version in it)",
                         "give a .onnx file written by an exporter (torch.onnx.export)")
    return model


def opset_of(path: str, model) -> int:
    """The default domain's opset: refused when older than MIN_OPSET or newer than NEWEST_OPSET."""
    versions = [o.version for o in model.opset_import if o.domain in ONNX_DOMAINS]
    newest = NEWEST_OPSET
    if not versions:
        raise unreadable(path, "imports no default-domain ONNX opset", "export with opset_version=17")
    opset = versions[0]
    if not MIN_OPSET <= opset <= newest:
        raise unreadable(path, f"uses opset {opset:,}; sizecalc reads opsets {MIN_OPSET} to {newest}",
                         f"export with an opset from {MIN_OPSET} to {newest} (opset_version=17)", "unknown-opset")
    return opset


def read_graph(path: str) -> OnnxGraph:
    """The bounded, checked view of the ONNX file at `path` (see the module docstring)."""
    model = parse(path, read_bytes(path))
    opset = opset_of(path, model)
    g = model.graph
    if len(g.node) > MAX_LAYERS:
        raise unreadable(path, f"has {len(g.node):,} nodes; sizecalc reads at most {MAX_LAYERS:,}",
                         "import a smaller part of the model", "too-many-nodes")
    weights = {t.name: dims_of(path, t.name, t.dims) for t in g.initializer}
    constants = {t.name: values(t) for t in g.initializer if small(t.dims)}
    nodes = [node_of(n) for n in g.node]
    for node in nodes:
        if node.op == "Constant" and node.outputs and "value" in node.attrs:
            dims, flat = node.attrs["value"]
            weights[node.outputs[0]] = dims_of(path, node.outputs[0], dims)
            if flat is not None:
                constants[node.outputs[0]] = flat
    name, dims = the_input(path, g, weights)
    check_order(path, nodes, {name, *weights})
    return OnnxGraph(path, g.name or os.path.basename(path), opset, name, dims, nodes, weights, constants,
                     [o.name for o in g.output])


def dims_of(path: str, name: str, dims) -> tuple:
    dims = tuple(int(d) for d in dims)
    elems = 1
    for d in dims:
        if not 0 <= d <= MAX_SIDE:
            raise unreadable(path, f"tensor '{cut(name)}' has a dimension of {d:,}; at most 2^31", None, "too-large")
        elems *= d
    if elems > MAX_ELEMS:
        raise unreadable(path, f"tensor '{cut(name)}' has {elems:,} elements; at most 2^63", None, "too-large")
    return dims


def small(dims) -> bool:
    n = 1
    for d in dims:
        n *= max(int(d), 0)
    return n <= MAX_CONST


def values(tensor) -> list | None:
    """The flat values of a small tensor stored in the file (None when external, of another
    data type, or not as many values as its dims say)."""
    import struct
    if tensor.data_location == 1 or tensor.data_type not in DATA_TYPES:  # EXTERNAL: never opened
        return None
    code, typed = DATA_TYPES[tensor.data_type]
    n = 1
    for d in tensor.dims:
        n *= d
    if tensor.raw_data:
        if len(tensor.raw_data) != n * struct.calcsize(code):
            return None
        return list(struct.unpack(f"<{n}{code}", tensor.raw_data))
    flat = list(getattr(tensor, typed))
    return flat if len(flat) == n else None


def attr_value(a):
    """An attribute as plain values; a tensor as (dims, values or None); a subgraph as None."""
    A = need_onnx().AttributeProto
    kinds = {A.INT: lambda: a.i, A.FLOAT: lambda: a.f, A.STRING: lambda: a.s.decode("utf-8", "replace"),
             A.INTS: lambda: list(a.ints), A.FLOATS: lambda: list(a.floats),
             A.STRINGS: lambda: [s.decode("utf-8", "replace") for s in a.strings],
             A.TENSOR: lambda: (tuple(a.t.dims), values(a.t) if small(a.t.dims) else None)}
    return kinds[a.type]() if a.type in kinds else None


def node_of(n) -> OnnxNode:
    A = need_onnx().AttributeProto
    subgraph = any(a.type in (A.GRAPH, A.GRAPHS) for a in n.attribute)
    scope = next((p.value for p in getattr(n, "metadata_props", ()) if p.key == "namespace"), None)
    return OnnxNode(n.op_type, n.name, list(n.input), list(n.output), {a.name: attr_value(a) for a in n.attribute},
                    n.domain, scope, subgraph)


def the_input(path: str, g, weights: dict) -> tuple[str, list]:
    """The one graph input that is not a weight: its name and dims (ints, or dynamic-axis names)."""
    real = [i for i in g.input if i.name not in weights]
    if len(real) != 1:
        names = ", ".join(f"'{cut(i.name, 40)}'" for i in real[:5])
        raise unreadable(path, f"has {len(real)} inputs ({names or 'none'}); sizecalc sizes a network "
                         "with one input", "export the model with a single input tensor", "inputs")
    shape = real[0].type.tensor_type.shape
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in shape.dim]
    for d in dims:
        if isinstance(d, int) and not 0 <= d <= MAX_SIDE:
            raise unreadable(path, f"input '{cut(real[0].name)}' has a dimension of {d:,}; at most 2^31",
                             "export with a real input size", "too-large")
    return real[0].name, dims


def check_order(path: str, nodes: list[OnnxNode], known: set) -> None:
    """Every node reads only tensors made before it (ONNX requires topological order): a
    cycle, or a tensor no node makes, is refused."""
    made = set(known) | {""}  # "" is an omitted optional input
    for node in nodes:
        missing = [t for t in node.inputs if t not in made]
        if missing:
            raise unreadable(path, f"node '{cut(node.name, 60)}' ({cut(node.op, 40)}) reads '{cut(missing[0], 60)}' "
                             "before any node makes it (a cycle, or nodes out of order)",
                             "export the model again", "graph-order")
        made.update(node.outputs)
