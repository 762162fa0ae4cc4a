"""The memory model against torch itself, on the module the torch backend builds.

- saved: every tensor autograd packs during a training-mode forward pass
  (`torch.autograd.graph.saved_tensors_hooks`), counted once per storage, parameters and
  buffers excluded.
- forward: the distinct storages of the input and of every node's output in a training-mode
  forward pass (tests/test_physical_memory.py, tests/test_layer_contract.py).
- inference peak: the live activation storages during a `no_grad` eval-mode forward,
  tracked op by op with a TorchDispatchMode and freed when their last tensor dies.
Large networks run on the `meta` device, where autograd and the dispatcher behave the same
but nothing is allocated; small ones run for real on the CPU.
"""

from __future__ import annotations

import weakref

import pytest

import sizecalc
from zoo_sample import every_network

torch = pytest.importorskip("torch")
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils._pytree import tree_leaves  # noqa: E402

from sizecalc.torch.backend import build_module  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
REAL_CPU_LIMIT = 5_000_000  # forward activations per sample below which the CPU runs it for real
# attention runs on SDPA's math kernel on both sides: torch picks another kernel on the meta
# device than on the CPU, and what autograd keeps depends on it (tests/test_attention.py checks
# each kernel against torch)
ATTENTION = "math"


def _key(t) -> int:
    return t.untyped_storage()._cdata


def _module(name, dtype, device, train):
    graph = sizecalc.load(name)
    module = build_module(graph, device=device).to(DTYPES[dtype])
    module.train(train)
    for p in module.parameters():
        p.requires_grad_(train)
    return graph, module


def _device(name) -> str:
    return "cpu" if sizecalc.analyze(name).totals.activations < REAL_CPU_LIMIT else "meta"


def saved_bytes(module, x) -> int:
    """Bytes autograd packs while `module` (in training mode) runs on `x`, once per storage,
    parameters and buffers excluded."""
    excluded = {_key(t) for t in (*module.parameters(), *module.buffers())}
    storages: dict[int, int] = {}

    def pack(t):
        key = _key(t)
        if key not in excluded:
            storages[key] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = module(x)
    del out
    return sum(storages.values())


def forward_storages(module, x) -> int:
    """Bytes of the distinct storages of the input and of every node's output in a
    training-mode forward pass (each output kept alive, so that no storage is reused)."""
    kept = [x]

    def hook(mod, args, out):
        kept.append(out)

    handles = [node.register_forward_hook(hook) for node in module.nodes.values()]
    try:
        module(x)
    finally:
        for h in handles:
            h.remove()
    storages = {t.untyped_storage()._cdata: t.untyped_storage().nbytes() for t in kept}
    return sum(storages.values())


def measure_saved(name: str, batch: int, dtype: str, device: str) -> int:
    graph, module = _module(name, dtype, device, train=True)
    x = torch.randn(batch, *graph.input_shape, dtype=DTYPES[dtype], device=device)
    with sdpa_kernel(SDPBackend.MATH):
        return saved_bytes(module, x)


class LiveStorages(TorchDispatchMode):
    """Bytes of the storages that some live tensor still refers to, and their peak."""

    def __init__(self, excluded):
        super().__init__()
        self.excluded, self.refs, self.sizes = excluded, {}, {}
        self.live = self.peak = 0

    def track(self, t) -> None:
        key = _key(t)
        if key in self.excluded:
            return
        if key not in self.refs:
            self.refs[key] = 0
            self.sizes[key] = t.untyped_storage().nbytes()
            self.live += self.sizes[key]
            self.peak = max(self.peak, self.live)
        self.refs[key] += 1
        weakref.finalize(t, self.release, key)

    def release(self, key) -> None:
        self.refs[key] -= 1
        if self.refs[key] == 0:
            self.live -= self.sizes.pop(key)
            del self.refs[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.track(t)
        return out


NAMES = every_network()


# by default fp32 at batch 1 (run on the CPU where small) for every network of the sample, and
# bf16 at batch 4 (meta) for one network of each kind of block: each dtype and batch once; the
# other pairs, and bf16 for the rest, run with --slow
BF16_SAMPLE = {"resnet18", "densenet121", "googlenet", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x0_5"}


def _pairs():
    slow = pytest.mark.slow
    for param in NAMES:
        name, marks = (param, []) if isinstance(param, str) else (param.values[0], list(param.marks))
        yield pytest.param(name, "fp32", 1, marks=marks)
        yield pytest.param(name, "bf16", 4, marks=marks if name in BF16_SAMPLE else [*marks, slow])
        yield pytest.param(name, "fp32", 4, marks=[*marks, slow])
        yield pytest.param(name, "bf16", 1, marks=[*marks, slow])


@pytest.mark.parametrize("name, dtype, batch", list(_pairs()))
def test_saved_bytes_match_autograd(name, dtype, batch):
    device = _device(name) if batch == 1 and dtype == "fp32" else "meta"
    predicted = sizecalc.analyze(name, batch=batch, dtype=dtype, attention=ATTENTION).memory.saved_bytes
    try:
        measured = measure_saved(name, batch, dtype, device)
    except ValueError as err:  # torch's own refusal, e.g. DeepLabV3's image pooling at batch 1
        if "more than 1 value per channel" not in str(err):
            raise
        pytest.skip(f"torch cannot train this at batch {batch}: {err}")
    assert abs(predicted - measured) <= 0.01 * measured, (predicted, measured)


@pytest.mark.parametrize("name", ["cifar-simple", "lenet5", "alexnet-cs231n", "resnet18"])
def test_meta_and_cpu_keep_the_same_tensors(name):
    assert measure_saved(name, 1, "fp32", "meta") == measure_saved(name, 1, "fp32", "cpu")


# known gaps of the inference peak (stated in the README): the meta device runs attention on the
# math path, which holds the N x N scores and probabilities at once, where the model states the
# CPU's fused fast path; MViT's explicit attention holds more than its workspace says
MATH_PEAK = "inference workspace of attention on the math path (the meta device) is not modelled"
PEAK_GAPS = {"vit_b_16": MATH_PEAK, "vit_l_16": MATH_PEAK, "vit_h_14": MATH_PEAK,
             "mvit_v2_s": "MViT v2's pooling attention holds more at inference than its workspace says"}


@pytest.mark.parametrize("name", every_network(PEAK_GAPS))
def test_inference_peak_matches_live_storages(name):
    report = sizecalc.analyze(name, attention=ATTENTION)
    predicted = report.memory.inference_peak_bytes - report.memory.params_bytes - report.memory.buffers_bytes
    measured = measure_live_peak(name, 1, "fp32", _device(name))
    assert abs(predicted - measured) <= 0.05 * measured, (predicted, measured)


def live_peak_bytes(module, x) -> int:
    """The most activation bytes alive at once while `module` (in eval mode) runs on `x`
    without autograd, the input included, parameters and buffers excluded."""
    excluded = {_key(t) for t in (*module.parameters(), *module.buffers())}
    mode = LiveStorages(excluded)
    with torch.no_grad():
        with mode:
            mode.track(x)  # the caller holds the input for the whole pass
            out = module(x)
        del out
    return mode.peak


def measure_live_peak(name: str, batch: int, dtype: str, device: str) -> int:
    graph, module = _module(name, dtype, device, train=False)
    x = torch.randn(batch, *graph.input_shape, dtype=DTYPES[dtype], device=device)
    return live_peak_bytes(module, x)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["resnet50", "vgg16"])
def test_training_peak_on_cuda(name):
    """One SGD-momentum step at batch 32: the predicted training memory against CUDA's peak."""
    report = sizecalc.analyze(name, batch=32, optimizer="momentum", device="cuda")
    module = build_module(sizecalc.load(name), device="cuda").train()
    opt = torch.optim.SGD(module.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(32, *report.input_shape, device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        module(x).sum().backward()
        opt.step()
        torch.cuda.synchronize()

    step()  # momentum buffers exist from the first step on, as in training
    del x
    x = torch.randn(32, *report.input_shape, device="cuda")
    torch.cuda.reset_peak_memory_stats()
    step()
    measured = torch.cuda.max_memory_allocated() - x.numel() * 4
    predicted = report.memory.training_bytes
    assert abs(predicted - measured) <= 0.10 * measured, (predicted, measured)
