"""The memory model: forward, saved-for-backward, training and inference peak, per batch.

Definitions (each checked against torch in tests/test_memory_torch.py):
- forward = the activations of one forward pass, each storage once, input included, x batch
  x dtype bytes: physical memory. An output in place (`relu: {inplace: true}`, as torchvision
  builds its ReLUs) or a view (flatten, split) shares its input's storage (the kind's `alias`
  rule) and adds nothing; dropout writes a new tensor unless in place, as in training. For
  the lecture's VGG16 this is its table, row for row: 15,237,608 values. (The activations
  column still lists every output.)
- saved = the bytes autograd keeps for the backward pass, following what torch saves for
  each op (the `saved` rule of each layer kind), counting each storage once: a view
  (flatten, split) or an in-place op shares the storage of its input.
- attention keeps what its kernel keeps (`attention`: "math", "fused", or "auto", the kernel
  torch picks on the device; layers/attention.py says which tensors each one saves).
- training = parameters x (weight + gradient + optimizer slots) + buffers + saved, where
  the slots are sgd 0, momentum 1, adam/adamw 2; with mixed precision (`amp`) the weights,
  gradients and slots stay fp32, activations are half precision, and autocast keeps a
  half-precision copy of the weights.
- inference peak = the largest set of activations alive at once in a forward pass without
  autograd, each freed after its last consumer (the graph's order; the input stays, as its
  caller holds it), plus parameters and buffers.
It is fed one node at a time by the engine's single walk, computes its figures into the
Report (`fill_report`: plain records, the model itself is not kept), and never imports torch.
"""

from __future__ import annotations

from math import prod
from operator import itemgetter

from ..core.units import AMP_ACTIVATION_BYTES, AMP_PARAM_BYTES, OPTIMIZER_SLOTS
from ..layers.base import Saved
from ..report.model import Memory

INPUT = -1
NOTHING = (0, 0, 0, 0)  # a row of no tensors (see _count)


class _Graph:
    """The storages of one graph (training or eval), in flat lists indexed by slot: slot 0 is
    the network's input, slot i + 1 node i's output (lists, not objects: 100,000 layers).
    `last_use` is kept where lifetimes matter (the eval graph: the inference peak), else None."""

    __slots__ = ("elems", "last_use", "storage_of")

    def __init__(self, input_elems: int, lifetimes: bool = True):
        self.elems: list = [input_elems]  # per storage slot: elements per sample; None = no storage of its own
        self.last_use: list | None = [INPUT] if lifetimes else None  # per storage slot: the last node that reads it
        self.storage_of: list = [0]  # per node slot: the slot of the storage its output lives in

    def place(self, index: int, inputs: list[int], aliased: bool, elems: int) -> int:
        """Give node `index` its output storage (its input's when aliased) and extend the
        lifetime of every storage it reads. Returns the storage's slot."""
        slot = index + 1
        storage_of, last_use = self.storage_of, self.last_use
        while len(storage_of) < slot:  # nodes that failed have no storage
            self.elems.append(None)
            storage_of.append(0)
            if last_use is not None:
                last_use.append(INPUT)
        sid = storage_of[inputs[0] + 1] if aliased else slot
        if len(storage_of) == slot:  # nodes are placed in order: the slot is the next one
            self.elems.append(None if aliased else elems)
            storage_of.append(sid)
            if last_use is not None:
                last_use.append(INPUT)
        else:
            if not aliased:
                self.elems[slot] = elems
            storage_of[slot] = sid
        if last_use is not None:
            for i in inputs:
                last_use[storage_of[i + 1]] = index
            if last_use[sid] < index:
                last_use[sid] = index
        return sid


class MemoryModel:
    """Collects, per node, which storage its output lives in and what it saves."""

    def __init__(self, input_shape: tuple, device: str = "cpu", attention: str = "auto", half: bool = False):
        self.input_shape, self.device, self.attention = input_shape, device, attention
        self.half = half  # activations in half precision (fp16, bf16, or amp)
        self.train = _Graph(prod(input_shape), lifetimes=False)  # training keeps every saved storage
        self.eval = _Graph(prod(input_shape))
        self.grad: dict = {INPUT: False}  # node index -> output requires grad
        self.saved_seen: set = set()
        # per node: (activation elems per sample, own bytes per sample, activation elems in
        # total, own bytes in total)
        self.saved_rows: dict = {}
        self.order: list = []
        self.rules: dict = {}  # (kind, arguments, input shapes) -> what _rules returns

    def add(self, index: int, node, inputs: list[int], ins: list[tuple], out: tuple, has_params: bool) -> bool:
        """Place node `index`'s output; True when it shares input 0's storage (in place or a view)."""
        try:
            rules = self.rules[(node.kind.name, id(node.args), *ins)]
        except (KeyError, TypeError):
            rules = self._rules(node, ins, out)
        aliased, kept, extra, out_elems, eval_alias = rules
        train = self.train
        sid = train.place(index, inputs, aliased, out_elems)
        grad = self.grad
        needs_grad = has_params
        if not needs_grad:
            for i in inputs:
                if grad[i]:
                    needs_grad = True
                    break
        grad[index] = needs_grad
        if needs_grad:
            if kept is None:  # asked for once, and only where the output needs a gradient
                kept = rules[1] = self._saved(node, ins, out)
            own, refs = kept
            acts = 0
            for what, i in refs:
                storage = train.storage_of[inputs[i] + 1] if what == "input" else sid
                if storage not in self.saved_seen:
                    self.saved_seen.add(storage)
                    acts += train.elems[storage]
            row = (own[0] + acts, own[1], own[2], own[3])
            if any(row):
                self.saved_rows[index] = row
        esid = self.eval.place(index, inputs, eval_alias, out_elems)
        self.order.append((index, esid, not eval_alias, extra))
        return aliased

    def _rules(self, node, ins: list[tuple], out: tuple) -> list:
        """What the kind's contract says of this node: [aliased, what it saves (None until
        _saved is asked), its workspace row, output elements, aliased in the inference graph,
        where dropout passes its input through]. Kept per (kind, arguments, input shapes),
        which is all it depends on: most layers of a long spec repeat a few configurations."""
        kind = node.kind
        extra = [0, 0, 0, 0]
        for item in kind.workspace(node, ins, out):
            if self.runs(item):
                _count(extra, self.on_device(item))
        aliased = kind.alias(node, ins)
        rules = [aliased, None, tuple(extra) if any(extra) else NOTHING, prod(out), aliased or kind.family == "dropout"]
        try:
            self.rules[(kind.name, id(node.args), *ins)] = rules
        except TypeError:  # a shape given as a list (a Graph built by hand): not kept
            pass
        return rules

    def _saved(self, node, ins: list[tuple], out: tuple) -> tuple:
        """(the op's own tensors as a row, the (what, index) of the inputs and outputs it keeps)."""
        own, refs = [0, 0, 0, 0], []
        for item in node.kind.saved(node, ins, out):
            if not self.runs(item):
                continue
            if item.what == "own":
                _count(own, self.on_device(item))
            else:
                refs.append((item.what, item.index))
        return own, tuple(refs)

    def runs(self, item: Saved) -> bool:
        """Whether the tensor belongs to the attention kernel that runs: `attention` "math" or
        "fused" as asked, or with "auto" the one torch picks on this device (the item says)."""
        if item.path is None:
            return True
        if self.attention == "auto":
            return self.device in item.picked_on
        return item.path == self.attention

    def on_device(self, item: Saved) -> Saved:
        """The item with the bytes per element of this model's device and precision."""
        if self.device == "cuda" and item.cuda_nbytes is not None:
            return Saved("own", elems=item.elems, nbytes=item.cuda_nbytes, per_sample=item.per_sample)
        if self.half and item.half is not None:
            return Saved("own", elems=item.half[0], nbytes=item.half[1], per_sample=item.per_sample)
        return item

    def saved_bytes(self, index: int, batch: int, act_bytes: int) -> int:
        row = self.saved_rows.get(index)
        if row is None:
            return 0
        act, own_sample, act_total, own_total = row  # _bytes(row), written out: once per row of a report
        return (act * act_bytes + own_sample) * batch + act_total * act_bytes + own_total

    def inference_peak_bytes(self, act_bytes: int, batch: int = 1) -> int:
        """Largest number of activation bytes alive at once, at `batch`: the live storages
        plus the workspace of the op that runs."""
        elems = self.eval.elems
        unit = act_bytes * batch
        if not self.order:
            return elems[0] * unit
        final = self.order[-1][1]
        live = elems[0] * unit
        peak = live
        frees: dict[int, list[int]] = {}
        for sid, last in enumerate(self.eval.last_use):
            if sid != final and sid != 0 and elems[sid] is not None:  # the caller holds the input for the whole pass
                frees.setdefault(last, []).append(sid)
        for index, esid, allocates, extra in self.order:
            if allocates:
                live += elems[esid] * unit
            now = live if extra is NOTHING else live + _bytes(extra, batch, act_bytes)
            if now > peak:
                peak = now
            if index in frees:
                for sid in frees[index]:
                    live -= elems[sid] * unit
        return peak

    def totals(self, forward_elems: int, params: int, buffers: int, batch: int, dtype_bytes: int,
               optimizer: str = "sgd", amp: bool = False) -> Memory:
        if optimizer not in OPTIMIZER_SLOTS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZER_SLOTS)}")
        act_bytes = AMP_ACTIVATION_BYTES if amp else dtype_bytes
        param_bytes = AMP_PARAM_BYTES if amp else dtype_bytes
        # _bytes is linear in the row: the sum over the rows is _bytes of their sum, taken once (in C)
        rows = self.saved_rows.values()
        total = tuple(sum(map(itemgetter(k), rows)) for k in range(4))
        saved = _bytes(total, batch, act_bytes)
        t = Memory(optimizer=optimizer, amp=amp)
        t.forward_bytes = forward_elems * batch * act_bytes
        t.saved_bytes = saved
        t.params_bytes = params * param_bytes
        t.buffers_bytes = buffers * param_bytes
        t.gradient_bytes = params * param_bytes
        t.optimizer_bytes = params * param_bytes * OPTIMIZER_SLOTS[optimizer]
        weight_cache = params * 2 if amp else 0  # autocast's half-precision copy of the weights
        t.training_bytes = (t.params_bytes + t.gradient_bytes + t.optimizer_bytes + t.buffers_bytes
                            + weight_cache + saved)
        t.inference_peak_bytes = self.inference_peak_bytes(act_bytes, batch) + t.params_bytes + t.buffers_bytes
        # saved bytes are linear in the batch (see _bytes): the training bytes are a line too
        t.training_per_sample_bytes = _bytes(total, 1, act_bytes) - _bytes(total, 0, act_bytes)
        t.training_fixed_bytes = t.training_bytes - t.training_per_sample_bytes * batch
        return t


def fill_report(report, model: MemoryModel, optimizer: str = "sgd", amp: bool = False) -> None:
    """Compute the memory figures into `report`: its Memory and each row's saved bytes."""
    report.memory = model.totals(report.totals.forward_activations, report.totals.params, report.totals.buffers,
                                 report.batch, report.dtype_bytes, optimizer, amp)
    act_bytes = AMP_ACTIVATION_BYTES if amp else report.dtype_bytes
    for row in report.rows:
        row.saved_bytes = model.saved_bytes(row.index, report.batch, act_bytes)


def _count(row: list, item: Saved) -> None:
    """Add a tensor of the op's own to `row`: [activation elems per sample, bytes per sample,
    activation elems in total, bytes in total] (elems of the activation dtype when the item
    gives no bytes per element)."""
    if item.nbytes is None:
        row[0 if item.per_sample else 2] += item.elems
    else:
        row[1 if item.per_sample else 3] += item.elems * item.nbytes


def _bytes(row: tuple, batch: int, act_bytes: int) -> int:
    act, own_sample, act_total, own_total = row
    return (act * act_bytes + own_sample) * batch + act_total * act_bytes + own_total


def largest_batch(training_at, budget_bytes: int, limit: int = 1 << 30) -> int:
    """The largest batch whose training memory `training_at(batch)` (bytes; a Report's
    `memory.training_at`) fits the budget, 0 if not even one. The line through batches 1
    and 2 gives the answer in one division; the steps after it keep the answer right for a
    curve that is not a line."""
    one = training_at(1)
    two = training_at(2)
    per_sample = two - one
    fixed = one - per_sample
    if one > budget_bytes:
        return 0
    batch = min((budget_bytes - fixed) // per_sample, limit) if per_sample > 0 else limit
    while batch > 1 and training_at(batch) > budget_bytes:
        batch -= 1
    while batch < limit and training_at(batch + 1) <= budget_bytes:
        batch += 1
    return batch


MAX_MEMORY = 10 ** 18  # bytes: a budget past this is a typo, and floats stay exact enough below it
MAX_MEMORY = 10 ** 18  # bytes: a budget past this is a typo, and floats stay exact enough below it
UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000 ** 2, "mb": 1000 ** 2, "g": 1000 ** 3, "gb": 1000 ** 3,
         "t": 1000 ** 4, "tb": 1000 ** 4, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4}


def parse_bytes(text: str) -> int:
    """`16GiB`, `24 GB`, `512MiB`, `1000000` -> bytes (binary units with `i`, decimal without)."""
    s = text.strip().lower().replace(" ", "")
    number = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(number):]
    if unit not in UNITS or not number:
        raise ValueError(f"'{text}' is not a size such as 16GiB, 24GB or 512MiB")
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"'{text}' is not a size such as 16GiB, 24GB or 512MiB") from None
    if not value > 0 or value * UNITS[unit] > MAX_MEMORY:
        raise ValueError(f"'{text}' must be a positive size of at most 1 EB (10^18 bytes)")
    return int(value * UNITS[unit])
