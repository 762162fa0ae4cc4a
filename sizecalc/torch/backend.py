"""The torch backend: a spec's graph as a real torch.nn.Module, and a cross-check against it.

`build_module` turns every node into the module its layer kind's `torch` builder describes
(a `TorchModule` record naming nn.Conv2d, nn.MaxPool2d, ... or a class of
`sizecalc.torch.modules`; `instantiate` builds it, resolving the class name only from a
fixed list) and wraps them in a GraphModule that runs them in order. `check` runs that
module on the meta device (no memory, no arithmetic) to compare every layer's output
volume and parameter count with the static engine, then, unless told to stay on meta, a
real forward and backward pass on the CPU or a GPU, timed, with CUDA's peak memory beside
the prediction.

torch is an optional extra: this module imports it inside its functions only, so importing
sizecalc (or this module) never loads torch, and the static path stays torch-free.
"""

from __future__ import annotations

import functools
import math
import re
import time
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from ..core.errors import Finding, InputError, SpecError
from ..core.units import torch_order
from ..layers.base import TorchModule
from ..report.model import DTYPE_BYTES, Report
from ..report.text import binary

DEVICES = ("auto", "cpu", "cuda", "meta")
TORCH_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16", "fp64": "float64"}
TORCH_MAX_BYTES = 2 ** 63 - 1  # torch counts a tensor's bytes in an int64, even on the meta device


@dataclass
class LayerCheck:
    """One layer, statically and in torch. Shapes are N x C x ... as torch gives them."""

    id: str
    key: str  # the module's name in GraphModule.nodes
    static_shape: tuple[int, ...]
    torch_shape: tuple[int, ...] | None  # None: torch never reached this layer
    static_params: int
    torch_params: int
    static_buffers: int
    torch_buffers: int

    @property
    def ok(self) -> bool:
        return (self.static_shape == self.torch_shape and self.static_params == self.torch_params
                and self.static_buffers == self.torch_buffers)


@dataclass
class Measured:
    """A real forward and backward pass."""

    device: str
    seconds: float  # wall time of one forward + backward
    peak_bytes: int | None = None  # torch.cuda.max_memory_allocated during it (CUDA only)
    saved_bytes: int | None = None  # what autograd packed in training mode, once per storage
    training_mode: bool = True


@dataclass
class CheckReport:
    name: str
    device: str  # where the real pass ran or would have run: cpu, cuda or meta
    batch: int
    dtype: str
    layers: list[LayerCheck]
    static_params: int
    torch_params: int
    static_buffers: int
    torch_buffers: int
    error: str | None = None  # torch refused the module in the shape pass
    error_layer: str | None = None
    estimated_bytes: int = 0  # estimate_bytes(report): what the real pass is predicted to need
    predicted_saved_bytes: int = 0  # memory.py's saved-for-backward at this batch and dtype
    available_bytes: int | None = None
    refused: str | None = None  # why the real pass did not run
    measured: Measured | None = None
    run_error: str | None = None  # the real pass failed (out of memory, dtype unsupported, ...)
    notes: list[str] = field(default_factory=list)

    def mismatches(self) -> list[LayerCheck]:
        return [row for row in self.layers if not row.ok and row.torch_shape is not None]

    @property
    def ok(self) -> bool:
        return (not self.error and not self.run_error and not self.mismatches()
                and self.static_params == self.torch_params and self.static_buffers == self.torch_buffers)


KEY_UNSAFE = re.compile(r"[^0-9A-Za-z_-]")  # a spec's ids hold only letters, digits, _, - and .


def import_torch():
    """`import torch`, without the warning torch prints when NumPy is missing (it needs
    NumPy for nothing sizecalc does). The first import is the one that warns, so every
    entry point that may be first (`check`, `export`, `build_module`, `to_torch`) calls this."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
        import torch
    return torch


@functools.cache
def _taken_names() -> frozenset:
    """Every attribute an nn.ModuleDict has, of its class or set by nn.Module.__init__."""
    nn = import_torch().nn
    return frozenset(dir(nn.ModuleDict)) | frozenset(vars(nn.ModuleDict()))


def module_keys(graph) -> list[str]:
    """Each node's name in GraphModule.nodes (an nn.ModuleDict), in node order.

    The name is the id with every character other than an ASCII letter, digit, `_` or `-`
    as `_` (`layer1.0.conv1` -> `layer1_0_conv1`: torch forbids dots); an id that is empty
    or starts with `_` gains an `n` in front (`_modules` -> `n_modules`: no name is private);
    one that nn.ModuleDict has as an attribute (`to`, `training`, `forward`, `keys`) gains a
    `_` at the end; a name already given gains `_2`, `_3`, ... So any id, however hostile,
    names a module that neither breaks nor shadows nn.Module's own attributes; the id itself
    stays in the graph (LayerCheck keeps both).
    """
    attributes = _taken_names()
    keys: list[str] = []
    given: set[str] = set()
    for node in graph.nodes:
        base = KEY_UNSAFE.sub("_", str(node.id))
        if not base or base.startswith("_"):
            base = "n" + base
        if base in attributes:
            base += "_"
        key, n = base, 1
        while key in given or key in attributes:
            n += 1
            key = f"{base}_{n}"
        given.add(key)
        keys.append(key)
    return keys


def _graph(spec):
    if hasattr(spec, "nodes"):
        return spec
    from ..spec import load_any
    return load_any(spec)


def _static(graph, batch: int = 1, dtype: str = "fp32", attention: str = "auto") -> Report:
    from ..engine.walk import analyze
    report = analyze(graph, batch=batch, dtype=dtype, attention=attention)
    if report.errors():
        raise SpecError(report.errors())
    return report


def _volume(dims) -> str:
    return " x ".join(map(str, dims))


def _too_large(what: str, dims, item: int, node=None, fix: str | None = None, loc=None) -> Finding | None:
    """A Finding if a tensor of `dims` elements of `item` bytes is more than torch can address;
    it points at `node` (a layer) or else at `loc` (the input). `what` ends in its verb."""
    elems = math.prod(dims)
    if elems * item <= TORCH_MAX_BYTES:
        return None
    volume = f"{_volume(dims)} = " if len(dims) > 1 else ""
    default = "make the layer smaller" if node is not None else "use a smaller --input"
    return Finding("torch-limit", f"{what} {volume}{elems:,} elements x {item} B = {elems * item:,} B, "
                   "over torch's 2^63 - 1 B per tensor",
                   node.loc if node is not None else loc, node.id if node is not None else None,
                   (fix or default) + " (`sizecalc table` has no such limit)",
                   trail=node.trail if node is not None else ())


def params_limit(graph, report: Report, dtype: str = "fp32") -> list[Finding]:
    """A layer whose parameters (or buffers) torch could not hold: built in fp32, cast to dtype."""
    item = max(4, DTYPE_BYTES[dtype])
    found = []
    for row in report.rows:
        node = graph.nodes[row.index]
        for what, count in (("its parameters are", row.params), ("its buffers are", row.buffers)):
            finding = _too_large(what, (count,), item, node)
            if finding:
                found.append(finding)
                break
    return found


def activations_limit(graph, report: Report, batch: int, dtype: str) -> list[Finding]:
    """The input or a layer output that torch could not hold at this batch and dtype. The fix
    names the largest batch at which every one of them fits, where there is one."""
    item = DTYPE_BYTES[dtype]
    volumes = [(None, tuple(graph.input_shape))] + [(graph.nodes[r.index], tuple(r.output)) for r in report.rows]
    largest = min(TORCH_MAX_BYTES // (math.prod(dims) * item) for _, dims in volumes)
    fix = f"use --batch {largest} or less" if largest >= 1 else None
    found = []
    for node, dims in volumes:
        what = "the input" if node is None else "its output"
        finding = _too_large(f"{what} at batch {batch:,} is", (batch, *dims), item, node, fix, graph.input_loc)
        if finding:
            found.append(finding)
            break  # the first one: the layers after it usually follow from it
    return found


# the classes a TorchModule may name: torch.nn's (those sizecalc's layer kinds use) and
# sizecalc.torch.modules' own; a name outside these lists is refused, never looked up
NN_CLASSES = frozenset({
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "LocalResponseNorm", "LayerNorm",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "Linear", "Flatten", "Upsample",
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "GELU", "SiLU", "Hardswish", "Hardsigmoid",
    "Softmax", "Identity", "Dropout", "Sequential",
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "PixelShuffle", "PixelUnshuffle", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
})
OWN_CLASSES = ("Add", "Concat", "Mul", "Split", "ChannelShuffle", "PaddedPool", "LocallyConnected", "Crop",
               "WindowAttention", "WindowAttention3d", "PatchMerging", "ToTokens", "ClassToken", "PositionEmbedding",
               "SelectToken", "TokenMean", "SelfAttention", "ChannelLayerNorm", "LayerScale", "DropPath",
               "WindowPartition", "WindowDepartition", "RelativeAttention", "PoolingAttention", "TokenPool",
               "SeparablePositionEmbedding")


def resolve(name: str):
    """The class a TorchModule names, from the two fixed lists only."""
    if name in NN_CLASSES:
        from torch import nn
        return getattr(nn, name)
    if name in OWN_CLASSES:
        from . import modules
        return getattr(modules, name)
    raise ValueError(f"{name!r} is not a torch module sizecalc builds")


def instantiate(desc: TorchModule):
    """The nn.Module a TorchModule describes (nested descriptions built first)."""
    def value(v):
        if isinstance(v, TorchModule):
            return instantiate(v)
        return tuple(value(x) for x in v) if isinstance(v, tuple) else v
    return resolve(desc.cls)(*[value(a) for a in desc.args], **{k: value(v) for k, v in desc.kwargs.items()})


def describe(graph, report: Report | None = None) -> list[tuple[str, TorchModule]]:
    """(module key, TorchModule) per node: what each layer kind's torch builder gives. Raises
    SpecError if the spec does not fit statically: modules are only described from geometry
    that fits."""
    graph = _graph(graph)
    report = report or _static(graph)
    too_large = params_limit(graph, report)
    if too_large:
        raise SpecError(too_large)
    shapes = {row.index: row.output for row in report.rows}
    described = []
    for index, (node, key) in enumerate(zip(graph.nodes, module_keys(graph))):
        ins = [graph.input_shape if i < 0 else shapes[i] for i in node.inputs]
        described.append((key, node.kind.torch(node, ins, shapes[index])))
    return described


def build_module(graph, device=None, report: Report | None = None):
    """The graph as a GraphModule (an nn.Module); parameters are created on `device`
    (default: torch's default device; "meta" allocates nothing). Raises SpecError if the
    spec does not fit statically: a module is only built from geometry that fits."""
    torch = import_torch()

    from .modules import GraphModule
    graph = _graph(graph)
    described = describe(graph, report)
    with torch.device(device) if device is not None else nullcontext():
        nodes = {key: instantiate(desc) for key, desc in described}
    return GraphModule(nodes, [node.inputs for node in graph.nodes])


def estimate_bytes(report: Report) -> int:
    """What a forward and backward pass is predicted to need, at the report's batch and dtype:
    memory.py's training memory with plain SGD (weights, gradients, buffers, saved tensors)."""
    return report.memory.training_bytes


def available_bytes(device: str) -> int | None:
    """Free memory on the device: CUDA's mem_get_info, or MemAvailable of /proc/meminfo."""
    if device == "cuda":
        torch = import_torch()
        return torch.cuda.mem_get_info()[0]
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def resolve_device(device: str) -> str:
    torch = import_torch()
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError([Finding("no-cuda", "--device cuda, but torch sees no CUDA GPU "
                                  "(torch.cuda.is_available() is false)", None,
                                  fix="use --device cpu or --device meta, or install a CUDA build of torch")])
    return device


def _one_line(err: Exception) -> str:
    """torch's message, first line, spaces collapsed: one line for the terminal."""
    text = str(err).strip()
    return f"{type(err).__name__}: {' '.join(text.splitlines()[0].split()) if text else ''}"


@contextmanager
def _quiet():
    """torch's note that padding 'same' with an even kernel copies the input: known, not news."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using padding='same'")
        yield


def prepare(graph, batch: int = 1, dtype: str = "fp32", activations: bool = True, attention: str = "auto") -> Report:
    """The static report a torch module is built from; raises SpecError if the spec does not
    fit statically or torch could not hold one of its tensors (its parameters, and with
    `activations` the input and every output at this batch and dtype). Imports no torch, so
    `sizecalc check` and `export` refuse such a spec in milliseconds."""
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    graph = _graph(graph)
    report = _static(graph, batch, dtype, attention)
    too_large = params_limit(graph, report, dtype)
    if activations:
        too_large += activations_limit(graph, report, batch, dtype)
    if too_large:
        raise SpecError(too_large[:1])
    return report


def check(graph, device: str = "auto", batch: int = 1, dtype: str = "fp32", force: bool = False,
          module=None, report: Report | None = None, attention: str = "auto") -> CheckReport:
    """Cross-check the static engine against torch; see the module docstring.

    `module` replaces the one `build_module` would give (to check a module built elsewhere);
    its parameters move to the device and dtype of the real pass. `report` is what
    `prepare(graph, batch, dtype, attention=attention)` returned, if it was called already.
    `attention` "math" or "fused" forces that scaled-dot-product kernel in the real pass
    (torch.nn.attention.sdpa_kernel), as the static memory counts it; "auto" lets torch pick.
    """
    graph = _graph(graph)
    report = report or prepare(graph, batch, dtype, attention=attention)
    torch = import_torch()
    target = resolve_device(device)
    torch_dtype = getattr(torch, TORCH_DTYPES[dtype])

    if module is None:
        meta = build_module(graph, "meta", report)
    else:
        import copy
        meta = copy.deepcopy(module).to("meta")
    result = _shape_pass(graph, report, meta, batch, torch_dtype)
    result.device = target
    if target == "meta" or result.error:
        return result

    result.estimated_bytes = estimate_bytes(report)
    result.predicted_saved_bytes = report.memory.saved_bytes
    result.available_bytes = available_bytes(target)
    if result.available_bytes is not None and result.estimated_bytes > result.available_bytes and not force:
        result.refused = (f"not running on {target}: the pass is estimated to need "
                          f"{binary(result.estimated_bytes)} but only {binary(result.available_bytes)} "
                          f"is free (--force runs it anyway; --device meta checks shapes only)")
        return result
    if result.available_bytes is None:
        result.notes.append(f"free memory on {target} unknown; ran without checking the estimate")
    try:
        result.measured = _real_pass(graph, module, target, batch, torch_dtype, attention)
    except (RuntimeError, NotImplementedError) as err:  # out of memory, a dtype the device lacks
        result.run_error = _one_line(err)
    return result


def _shape_pass(graph, report: Report, meta, batch: int, torch_dtype) -> CheckReport:
    """Run the module on the meta device, recording every node's output shape."""
    torch = import_torch()
    keys = list(meta.nodes.keys())
    seen: dict[str, tuple] = {}
    current: list[str] = []

    def before(name):
        def hook(mod, args):
            current.append(name)
        return hook

    def after(name):
        def hook(mod, args, out):
            seen[name] = tuple(out.shape)
        return hook

    handles = []
    for key, mod in meta.nodes.items():
        handles.append(mod.register_forward_pre_hook(before(key)))
        handles.append(mod.register_forward_hook(after(key)))
    error = None
    meta.to(torch_dtype)
    meta.eval()  # batch norm refuses one value per channel in training mode; shapes are the same
    try:
        with torch.no_grad(), _quiet():
            meta(torch.empty((batch, *graph.input_shape), device="meta", dtype=torch_dtype))
    except Exception as err:  # torch refused the module: report where, not a traceback
        error = _one_line(err)
    finally:
        for h in handles:
            h.remove()

    rows = {row.index: row for row in report.rows}
    layers = []
    for index, (node, key) in enumerate(zip(graph.nodes, keys)):
        row = rows[index]
        mod = meta.nodes[key]
        layers.append(LayerCheck(node.id, key, (batch, *torch_order(row.output)), seen.get(key),
                                 row.params, sum(p.numel() for p in mod.parameters()),
                                 row.buffers, sum(b.numel() for b in mod.buffers())))
    error_layer = None
    if error:
        error_layer = next((graph.nodes[keys.index(k)].id for k in reversed(current) if k not in seen), None)
    return CheckReport(graph.name, "meta", batch, report.dtype, layers,
                       report.totals.params, sum(p.numel() for p in meta.parameters()),
                       report.totals.buffers, sum(b.numel() for b in meta.buffers()),
                       error=error, error_layer=error_layer)


def sdpa_backends(attention: str):
    """The context that makes torch run attention on the kernel asked for ("auto": none)."""
    if attention == "auto":
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    if attention == "math":
        return sdpa_kernel(SDPBackend.MATH)
    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION])


def _real_pass(graph, module, device: str, batch: int, torch_dtype, attention: str = "auto") -> Measured:
    """One forward and backward pass on the device; on CUDA a warm-up pass first."""
    torch = import_torch()
    dev = torch.device(device)
    if module is None:
        module = build_module(graph, dev)
    module = module.to(device=dev, dtype=torch_dtype)
    module.train(batch > 1)  # batch norm cannot take batch statistics of a single sample
    x = torch.randn((batch, *graph.input_shape), device=dev, dtype=torch_dtype)
    if not any(p.requires_grad for p in module.parameters()):  # nothing to learn: backward to the input
        x = x.requires_grad_().clone()  # not a leaf, so an in-place first layer may still write it
    cuda = dev.type == "cuda"
    excluded = {t.untyped_storage().data_ptr() for t in (*module.parameters(), *module.buffers())}
    saved: dict[int, int] = {}

    def pack(t):  # what autograd keeps, counted once per storage, weights excluded
        ptr = t.untyped_storage().data_ptr()
        if ptr not in excluded:
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    def step():
        module.zero_grad(set_to_none=True)
        saved.clear()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), sdpa_backends(attention):
            out = module(x)
        out.sum().backward()
        if cuda:
            torch.cuda.synchronize(dev)

    if cuda:
        with _quiet():
            step()  # cuDNN picks its algorithms on the first call
        module.zero_grad(set_to_none=True)
        torch.cuda.reset_peak_memory_stats(dev)
    start = time.perf_counter()
    with _quiet():
        step()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(dev) if cuda else None
    return Measured(device, seconds, peak, sum(saved.values()), module.training)
