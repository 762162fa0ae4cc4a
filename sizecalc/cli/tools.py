"""Click commands for the student and the engineer: `solve`, `inputs`, `compare`.

Thin like every command: parse and validate options (every message names the option and
what it accepts), call tools/solve.py, inputs.py or compare.py, and write what the format
registry (report/formats.py) renders.
Exit codes: 0 something fits, 1 nothing fits (or spec errors), 2 bad usage.
"""

from __future__ import annotations

import click

from ..core.units import DTYPES
from ..report import formats
from .common import batch_size, guarded, show, variant_option

UNKNOWN = "?"


def _whole(minimum: int, largest: int, unknown_ok: bool = False):
    """An option callback: a whole number from minimum to largest (or `?` where allowed)."""
    def callback(ctx, param, value):
        if value is None:
            return None
        text = str(value).strip()
        if unknown_ok and text == UNKNOWN:
            return UNKNOWN
        try:
            number = int(text) if len(text) <= 20 else None  # never a 5,000-digit int()
        except ValueError:
            number = None
        if number == 0 and param.name == "dilation":
            from ..core.units import DILATION_COUNTS
            raise click.BadParameter(f"0 is not a dilation here: {DILATION_COUNTS}; use --dilation 1")
        if number is None or not minimum <= number <= largest:
            from ..tools.layer import short
            raise click.BadParameter(f"must be a whole number from {minimum} to {largest:,}"
                                     + (" (or ? to solve for it)" if unknown_ok else "") + f", not '{short(text)}'")
        return number
    return callback


SOLVE_EPILOG = """\b
Examples:
  sizecalc solve --in 32 --kernel 5 --out 32             stride and padding that keep 32
  sizecalc solve --in 32 --kernel 5 --stride 2 --out 16  no symmetric padding: the ways out
  sizecalc solve --kernel 3 --stride 2 --out 112         the inputs (with padding) that give 112
  sizecalc solve --in 32 --kernel 3 --stride 1 --pad 0 --dilation '?' --out 28
  sizecalc solve --in 32 --kernel 5 --stride 1           every padding that tiles (no --out)
  sizecalc solve --in 7 --kernel 3 --pad 0               every stride that tiles
  sizecalc solve --transposed --in 32 --kernel 4 --stride 2 --out 64
                                 the padding of a transposed conv that doubles 32 (1)
"""


LARGEST = 1_000_000  # = solve.LARGEST, not imported so that startup stays light


def _solve_options(fn):
    for flags, name, minimum, text in reversed([
            (("--in",), "size", 1, "Input size W along one dimension."),
            (("--kernel", "-k"), "kernel", 1, "Kernel size F."),
            (("--stride", "-s"), "stride", 1, "Stride S."),
            (("--pad", "--padding", "-p"), "pad", 0, "Zero padding P on each side."),
            (("--dilation",), "dilation", 1, "Dilation D, counted as PyTorch does: 1 is a plain convolution "
                                             "(the notes' 0). 1 unless given; ? to solve for it."),
    ]):
        fn = click.option(*flags, name, metavar="N|?", callback=_whole(minimum, LARGEST, True), help=text)(fn)
    return fn


@click.command(epilog=SOLVE_EPILOG)
@_solve_options
@click.option("--out", "out", metavar="N", callback=_whole(1, LARGEST),
              help="The output size you want; leave it out to list every setting that tiles.")
@click.option("--transposed", is_flag=True,
              help="Solve a transposed convolution: out = (W - 1)*S - 2P + D*(F - 1) + output_padding + 1.")
@click.option("--output-padding", "output_padding", metavar="N|?", callback=_whole(0, LARGEST, True),
              help="A transposed convolution's output_padding (with --transposed): 0 unless given; ? to solve for it.")
@click.option("--format", "fmt", type=click.Choice(tuple(formats.SOLVE)), default="text", show_default=True)
@guarded
def solve(size, kernel, stride, pad, dilation, out, transposed, output_padding, fmt):
    """Find the input, kernel, stride, padding or dilation that gives --out exactly.

    Give --out and at least three of --in, --kernel, --stride, --pad, --dilation
    (dilation is 1 unless given); leave out (or write ?) the one or two to solve for.
    Without --out (--in given), it lists every value of the missing ones that tiles,
    with its output: --in 32 --kernel 5 --stride 1 gives each padding and what it makes.
    With everything given it checks the setting. When nothing fits it says which
    constraint fails and lists the nearest changes that do fit, each checked with
    (W - F + 2P)/S + 1. Exit 0 when something fits exactly, 1 when nothing does.
    """
    from ..tools.solve import solve as run

    def value(v):
        return None if v in (None, UNKNOWN) else v
    if transposed or output_padding is not None:
        _solve_transposed(out, (size, kernel, stride, pad, dilation, output_padding), value, fmt)
        return
    named = {"--in": size, "--kernel": kernel, "--stride": stride, "--pad": pad, "--dilation": dilation or 1}
    missing = [flag for flag, v in named.items() if value(v) is None]
    if len(missing) > 2:
        raise click.UsageError(f"give at least three of --in, --kernel, --stride, --pad, --dilation "
                               f"(dilation counts as 1 when left out); missing: {', '.join(missing)}")
    if out is None and value(size) is None:
        raise click.UsageError("give --out (the output size you want), or --in to list every setting that tiles")
    try:
        answer = run(out, value(size), value(kernel), value(stride), value(pad),
                     1 if dilation is None else value(dilation), relax_dilation=isinstance(dilation, int))
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    show(formats.SOLVE, fmt, answer)
    if not answer.fits:
        raise SystemExit(1)


def _solve_transposed(out, given: tuple, value, fmt) -> None:
    """`solve --transposed`: the transposed formula read backwards (tools/solve_transposed.py)."""
    from ..tools.solve_transposed import solve_transposed
    if out is None:
        raise click.UsageError("give --out (the output size you want) with --transposed")
    defaults = (None, None, None, None, 1, 0)  # dilation 1 and output_padding 0 unless given
    values = [d if v is None else value(v) for v, d in zip(given, defaults)]
    if sum(v is None for v in values) > 2:
        raise click.UsageError("give all but one or two of --in, --kernel, --stride, --pad, --dilation, "
                               "--output-padding (dilation 1 and output_padding 0 when left out)")
    try:
        answer = solve_transposed(out, *values)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    show(formats.SOLVE, fmt, answer)
    if not answer.fits:
        raise SystemExit(1)


@click.command(epilog="""\b
Examples:
  sizecalc inputs unet                             every side from 1 to twice the spec's (572)
  sizecalc inputs vgg16 --range 200:256            square inputs from 200 to 256
  sizecalc inputs vgg16 --range 192:320:32
  sizecalc inputs alexnet-cs231n --range 220:230 --height 227   sweep the width only
""")
@click.argument("spec")
@click.option("--range", "size_range", metavar="LO:HI[:STEP]",
              help="Input sizes to try, both ends included (e.g. 200:256, or 192:320:32); "
                   "default: 1 to twice the spec's largest side.")
@click.option("--square", is_flag=True, help="Sweep square inputs N x N (the default).")
@click.option("--height", type=int, metavar="H", callback=_whole(1, 100_000),
              help="Fix the height at H and sweep the width.")
@click.option("--width", type=int, metavar="W", callback=_whole(1, 100_000),
              help="Fix the width at W and sweep the height.")
@click.option("--format", "fmt", type=click.Choice(tuple(formats.INPUTS)), default="text", show_default=True)
@variant_option
@guarded
def inputs(spec, size_range, square, height, width, fmt):
    """The input sizes for which every layer of SPEC fits, and where the others break.

    SPEC is a YAML file or a built-in network name; its channels are kept. Every layer
    keeps its own rounding (exact, the default, refuses a non-whole (W - F + 2P)/S + 1).
    Exit 0 when some size fits, 1 when none does.
    """
    from ..tools.inputs import parse_range, sweep
    try:
        sizes = None if size_range is None else parse_range(size_range)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--range") from None
    if height and width:
        raise click.UsageError("give --height or --width, not both: one side stays fixed, the other is swept")
    if square and (height or width):
        raise click.UsageError("--square sweeps both sides; leave it out to fix --height or --width")
    try:
        result = sweep(spec, sizes, height, width)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    show(formats.INPUTS, fmt, result)
    if not result.fitting:
        raise SystemExit(1)


@click.command(epilog="""\b
Examples:
  sizecalc compare alexnet vgg16 googlenet resnet50
  sizecalc compare vgg16 resnet50 --batch 32 --dtype bf16 --format markdown
""")
@click.argument("specs", nargs=-1, required=True, metavar="SPEC|NAME...")
@click.option("--batch", "-b", default=1, show_default=True, callback=batch_size, help="Batch size N for memory.")
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True, help="Bytes per element.")
@click.option("--format", "fmt", type=click.Choice(tuple(formats.COMPARE)), default="rich", show_default=True,
              help="Output format (rich is plain text off a terminal).")
@guarded
def compare(specs, batch, dtype, fmt):
    """One row per network: params, MACs, forward and training memory, receptive field.

    The lecture's "comparing complexity" slide as a table. Training memory shows — when
    the memory model is not available.
    """
    from ..tools.compare import compare as run
    show(formats.COMPARE, fmt, run(specs, batch, dtype), batch, dtype)
