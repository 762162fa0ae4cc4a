"""`sizecalc inputs`: which input sizes a whole spec accepts.

Sweeps the spatial input size over a range (square by default, or one side fixed): expands
the spec once and sizes it at every size with the shape-only walk (engine/shapes.py: the
layers' own `infer`, as `table` uses them, without rows, explain text or memory), and records
for each size either that every layer fits or the first error: the layer and its
arithmetic. Each layer keeps its own rounding (exact unless the spec says floor or ceil).
No I/O beyond reading the spec; no click; rendered by report/inputs_out.py.
"""

from __future__ import annotations

from math import prod

from ..core.escape import printable
from ..core.limits import MAX_ELEMS
from ..core.record import dataclass, field

FORMAT = 1
MAX_SIZES = 4096  # the most sizes one sweep may try
LARGEST = 100_000  # the largest input side


@dataclass
class Probe:
    """One input size and its verdict: fits, or the first layer that breaks and why."""

    input_shape: tuple[int, ...]  # channels first, as the spec writes it
    layer: str | None = None
    rule: str | None = None
    message: str | None = None
    loc: str | None = None

    @property
    def fits(self) -> bool:
        return self.rule is None

    def to_dict(self) -> dict:
        d = {"input": list(self.input_shape), "fits": self.fits}
        if not self.fits:
            d.update(layer=self.layer, rule=self.rule, message=self.message, loc=self.loc)
        return d


@dataclass
class Sweep:
    name: str
    source: str
    spec_input: tuple[int, ...]
    swept: str  # "square", "width" (height fixed), "height" (width fixed), or "length" (a 1-D input)
    sizes: list[int]
    probes: list[Probe] = field(default_factory=list)

    @property
    def fitting(self) -> list[int]:
        return [n for n, p in zip(self.sizes, self.probes) if p.fits]

    def to_dict(self) -> dict:
        return {"sizecalc_inputs": FORMAT, "name": self.name, "source": self.source,
                "spec_input": list(self.spec_input), "swept": self.swept, "fitting": self.fitting,
                "sizes": [p.to_dict() for p in self.probes]}


def parse_range(text: str) -> list[int]:
    """`200:256` (both ends included) or `200:256:8` -> sizes; ValueError says what is accepted."""
    parts = text.split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (2, 3):
        raise ValueError(f"'{text}' must be LO:HI or LO:HI:STEP, whole numbers, e.g. 200:256")
    lo, hi, step = (*nums, 1) if len(nums) == 2 else nums
    if not 1 <= lo <= hi <= LARGEST:
        raise ValueError(f"'{text}' needs 1 <= LO <= HI <= {LARGEST:,}")
    if step < 1:
        raise ValueError(f"'{text}': STEP must be at least 1")
    sizes = list(range(lo, hi + 1, step))
    if len(sizes) > MAX_SIZES:
        raise ValueError(f"'{text}' is {len(sizes):,} sizes; at most {MAX_SIZES:,} (use a STEP, e.g. {lo}:{hi}:8)")
    return sizes


def sweep(spec, sizes: list[int] | None, height: int | None = None, width: int | None = None) -> Sweep:
    """Size `spec` (a path or built-in name) at every input size; height or width fixes that side.
    Raises SpecError/InputError when the spec itself cannot be read, ValueError for a bad side.

    The spec is expanded once (its layers do not depend on the input) and sized at all the
    sizes together by the shape-only walk (engine/shapes.py), whose first error at each size
    is the one `table` would report first. An input too large to be a tensor is refused by
    the loader, as `table --input` refuses it. Without `sizes`, every size from 1 to twice the
    spec's own largest side is tried (at most MAX_SIZES)."""
    from ..spec import loads
    from ..spec.yamlsafe import read_text
    from .source import load

    if spec == "-":  # stdin can be read once only
        name, text = read_text("-")

        def graph_at(shape):
            return loads(text, name, shape)
    else:
        def graph_at(shape):
            return load(spec, shape)
    base = graph_at(None)
    c, dims = base.input_shape[0], len(base.input_shape) - 1
    if dims == 0:
        raise ValueError(f"{base.name} takes a vector input ({c}), which has no spatial size to sweep")
    if (height or width) and dims != 2:
        raise ValueError(f"--height and --width fix one side of a 2-D input; {base.name} has {dims} "
                         "spatial dimension(s): sweep it square")
    if sizes is None:
        sizes = list(range(1, min(2 * max(base.input_shape[1:]), MAX_SIZES) + 1))
    swept = "width" if height else "height" if width else "length" if dims == 1 else "square"
    result = Sweep(printable(base.name), printable(base.source), tuple(base.input_shape), swept, list(sizes))
    shapes = [(c, height, n) if height else (c, n, width) if width else (c, *([n] * dims)) for n in sizes]
    first = _first_errors(base, graph_at, shapes)
    for shape in shapes:
        error = first[shape]
        where = str(error.loc) if error and error.loc else None
        result.probes.append(Probe(shape) if error is None else
                             Probe(shape, error.layer and printable(error.layer), error.rule,
                                   printable(error.message), where))
    return result


def _first_errors(base, graph_at, shapes: list[tuple]) -> dict:
    """Each shape's first error (None where every layer fits), as `table` would report it. The
    shape-only walk leaves out the receptive field, whose limit depends on the input only
    through global windows (largest at the largest input): one full walk at the largest size
    that fits checks it, and should that fail, every size is walked in full."""
    from ..engine.shapes import first_errors
    from ..engine.walk import analyze
    tensors = [shape for shape in shapes if prod(shape) <= MAX_ELEMS]
    first = dict(zip(tensors, first_errors(base, tensors))) if tensors else {}
    fits = [shape for shape in tensors if first[shape] is None]
    if fits and analyze(graph_at(max(fits, key=prod))).errors():
        first = {shape: _full(graph_at, shape) for shape in tensors}
    return first | {shape: _full(graph_at, shape) for shape in shapes if shape not in first}


def _full(graph_at, shape):
    """The first error of the full walk at one input (the loader's, for an input too large)."""
    from ..core.errors import SpecError
    from ..engine.walk import analyze
    try:
        errors = analyze(graph_at(shape)).errors()
    except SpecError as err:
        return err.findings[0]
    return errors[0] if errors else None
