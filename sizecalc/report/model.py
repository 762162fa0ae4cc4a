"""The Report: plain records, no rendering and no live model. Every renderer reads only this.

Definitions of every figure (per sample unless it says batch):
- output: the output volume (C, *spatial); printed H x W x C.
- weights, biases: trainable parameters; buffers: non-trainable state (BN running stats).
- activations: output elements per sample (the lecture's "memory" column), whether or not the
  output has a storage of its own.
- macs: multiply-accumulates of conv and fc layers (torchvision's "GFLOPS" column).
- receptive field: size, jump (effective stride) and effective padding per dimension.
- forward_activations: the elements of the distinct storages of a forward pass, input
  included: an output in place (`relu: {inplace: true}`) or a view (flatten, split) shares
  its input's storage and counts once; forward_bytes = forward_activations x batch x bytes of
  the dtype (physical memory: the lecture's table of VGG16, row for row, with its in-place
  ReLUs, is 15,237,608 values).
- memory: saved-for-backward, training and inference peak (see engine/memory.py), computed
  into the Report by the engine; training bytes are linear in the batch, and Memory states
  the line (fixed + per sample x batch) for `sizecalc fit`.
"""

from __future__ import annotations

import json

from ..core.errors import ERROR, Finding
from ..core.receptive import ReceptiveField
from ..core.record import dataclass, field
from ..core.units import DTYPE_BYTES


@dataclass
class Row:
    id: str
    op: str
    depth: int
    output: tuple[int, ...]
    weights: int = 0
    biases: int = 0
    buffers: int = 0
    macs: int = 0
    activations: int = 0
    receptive_field: ReceptiveField | None = None
    explain: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    loc: str | None = None
    saved_bytes: int = 0  # kept for the backward pass, at the report's batch and dtype
    index: int = -1  # the node's place in the graph
    shares_storage: bool = False  # in place or a view: the output lives in input 0's storage
    kernel: tuple[int, ...] | None = None  # a window layer's kernel per spatial dimension (pictures draw it)

    @property
    def params(self) -> int:
        return self.weights + self.biases


@dataclass
class Totals:
    params: int = 0
    weights: int = 0
    biases: int = 0
    buffers: int = 0
    activations: int = 0  # input included
    macs: int = 0
    forward_activations: int = 0  # distinct storages, input included (see the module docstring)
    forward_bytes: int = 0


@dataclass
class Memory:
    """The memory figures at the Report's batch, optimizer and precision (bytes)."""

    forward_bytes: int = 0
    saved_bytes: int = 0
    params_bytes: int = 0
    buffers_bytes: int = 0
    gradient_bytes: int = 0
    optimizer_bytes: int = 0
    training_bytes: int = 0
    inference_peak_bytes: int = 0
    optimizer: str = "sgd"
    amp: bool = False
    # training bytes = training_fixed_bytes + training_per_sample_bytes x batch, at any batch
    training_fixed_bytes: int = 0
    training_per_sample_bytes: int = 0

    def training_at(self, batch: int) -> int:
        """The training bytes at another batch size (everything else as analysed)."""
        return self.training_fixed_bytes + self.training_per_sample_bytes * batch


@dataclass
class Report:
    name: str
    source: str
    input_shape: tuple[int, ...]
    batch: int
    dtype: str
    rows: list[Row]
    totals: Totals
    findings: list[Finding] = field(default_factory=list)
    memory: Memory | None = None

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    @property
    def output(self) -> tuple[int, ...] | None:
        return self.rows[-1].output if self.rows else None

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    def row(self, id: str) -> Row:
        return next(r for r in self.rows if r.id == id)

    def to_dict(self) -> dict:
        from .json_out import report_dict
        return report_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        from .markdown import render
        return render(self)

    def draw(self, style: str | None = None, depth: int | None = None, layout: str = "hwc"):
        """A picture of the network (report/draw/): volumes or graph; shows as SVG in Jupyter."""
        from .draw import draw
        return draw(self, style, depth, layout)

    def __rich__(self):
        from .rich_table import table
        return table(self)

    def _repr_html_(self) -> str:
        from .rich_table import html
        return html(self)

