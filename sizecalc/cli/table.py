"""The static sizing commands: `table`, `layer`, `list` and `fit`.

Thin click commands: parse and check options, call the library (engine, tools), and write
what the format registry (report/formats.py) renders. Never imports torch; rich only for a
terminal table.
"""

from __future__ import annotations

import click

from ..core.escape import printable
from ..core.units import DTYPES, MAC_COUNTS, OPTIMIZERS
from ..report import formats
from .common import (attention_option, batch_size, emit, fail, guarded, layout_option, positive, read_volume, show,
                     spec_inputs, stdin_open, variant_option)

EPILOG_TABLE = """\b
Examples:
  sizecalc table vgg16                      the lecture's VGG16 table
  sizecalc table alexnet-cs231n --explain   every row's arithmetic
  sizecalc table my_net.yaml --input 3x32x32 --batch 64 --dtype bf16
  sizecalc table resnet50 --input 224x224x3 --layout hwc   the input typed H x W x C
  sizecalc table resnet50 --depth 1 --format markdown
"""


@click.command(epilog=EPILOG_TABLE)
@click.argument("spec")
@click.option("--input", "input_text", metavar="CxHxW",
              help="Input volume per sample (overrides the spec's input:): C x H x W unless --layout hwc; "
                   "C x L, C x D x H x W, or C alone (a vector of features) for other ranks.")
@click.option("--batch", "-b", default=1, show_default=True, callback=batch_size,
              help="Batch size N for memory figures.")
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True, help="Bytes per element.")
@click.option("--explain", is_flag=True,
              help="Show each row's arithmetic, as the lecture writes it (a conv's weight tensor and im2col "
                   "matrices too), and the forward memory by op.")
@layout_option("--input", "chw", shown="N x C x H x W")
@click.option("--format", "fmt", type=click.Choice(tuple(formats.TABLE)), default="rich", show_default=True,
              help="Output format.")
@click.option("--depth", type=int, callback=positive, help="Fold rows below this depth into one row per block.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="sgd", show_default=True,
              help="Optimizer state in the training memory (momentum: 1 slot, adam: 2).")
@click.option("--amp", is_flag=True, help="Mixed precision: fp32 weights, half-precision activations.")
@click.option("--bars", is_flag=True, help="Add bars for each row's activations and params (rich, plain and svg).")
@click.option("--macs", "mac_count", type=click.Choice(MAC_COUNTS), default="conv-fc", show_default=True,
              help="conv-fc: conv and fc multiply-accumulates (torchvision's GFLOPS column); all: also bias adds, "
                   "norms, pooling and merges.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@attention_option
@variant_option
@guarded
def table(spec, input_text, batch, dtype, explain, layout, fmt, depth, optimizer, amp, bars, mac_count, output,
          attention):
    """Print the layer table of SPEC (a YAML file or a built-in network name)."""
    from ..report.fold import fold
    stdin_open(spec)
    input_shape = read_volume(input_text, layout, "--input", "chw")
    if bars and not formats.TABLE[fmt].bars:
        raise click.BadParameter(f"bars are drawn in the rich, plain-text and svg tables, not --format {fmt}",
                                 param_hint="--bars")
    report = _report(spec, input_shape, fmt, output, batch=batch, dtype=dtype, optimizer=optimizer, amp=amp,
                     macs=mac_count, attention=attention)
    rows = fold(report.rows, depth)
    show(formats.TABLE, fmt, report, layout or "hwc", explain, rows, bars, output=output, inputs=spec_inputs(spec))
    for f in report.findings:
        if f.severity != "info":
            click.echo(f.line(), err=True)  # Finding.line() is printable


def _report(spec: str, input_shape, fmt: str, output, **options):
    """The Report of SPEC, or SizecalcError when it has errors; under --format json the
    document is written first all the same (report/json_out.py: what could be sized and the
    findings), so a program reading it always gets JSON."""
    from ..core.errors import SizecalcError, SpecError
    from ..engine.walk import analyze
    from ..report import json_out
    from ..tools.source import load
    try:
        # spec.load reads SPEC as a path or a name only (sizecalc.load would read a name with a
        # newline in it as YAML text)
        report = analyze(load(spec, input_shape), **options)
    except SizecalcError as err:
        if fmt == "json":
            emit(json_out.unsized(spec, input_shape, options["batch"], options["dtype"], err.findings), output,
                 spec_inputs(spec))
        raise
    if report.errors():
        if fmt == "json":
            show(formats.TABLE, fmt, report, output=output, inputs=spec_inputs(spec))
        raise SpecError(report.errors())
    return report


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
               epilog="""\b
Examples (the lecture's):
  sizecalc layer conv --in 32x32x3 --filters 10 --kernel 5 --stride 1 --pad 2
  sizecalc layer pool --in 55x55x96 --kernel 3 --stride 2
  sizecalc layer conv --in 7x7x1 --filters 1 --kernel 3 --stride 3      (does not fit)
  sizecalc layer local --in 32x32x3 --filters 30 --kernel 5 --pad 2
  sizecalc layer conv --in 3x32x32 --layout chw --filters 10 --kernel 5 --pad 2   channels first
  sizecalc layer conv --in 32x32x3 --filters 10 --kernel 4 --pad 1:2   pad 1 before, 2 after
  sizecalc layer fc --in 3072 --outputs 10       a vector of 3,072 features (the MLP)
""")
@click.argument("op")
@click.option("--in", "in_volume", required=True, metavar="HxWxC",
              help="Input volume, H x W x C as in the lecture (e.g. 32x32x3) unless --layout chw; "
                   "L x C or D x H x W x C for other ranks, or one number: a vector of features (fc).")
@layout_option("--in", "hwc", shown="C x H x W")
@click.option("--batch", "-b", default=1, show_default=True, callback=batch_size, help="Batch size for memory.")
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True)
@click.option("--format", "fmt", type=click.Choice(tuple(formats.LAYER)), default="text", show_default=True)
@click.pass_context
@guarded
def layer(ctx, op, in_volume, layout, batch, dtype, fmt):
    """Size one layer OP (conv, local, maxpool, avgpool, fc, ...) with the arithmetic.

    Any argument of the op is an option: --filters, --kernel, --stride, --pad (or
    --padding), --dilation, --groups, --rounding floor|ceil, ... Give one value, or one per
    dimension separated by commas (--kernel 3,5). Padding LO:HI pads LO before and HI after
    (--pad 1:2 on every dimension, --pad 1:2,0:1 per dimension), as the spec's
    padding: [[1, 2], [0, 1]].
    """
    from ..core.errors import SpecError
    from ..tools.layer import WHERE, one_layer
    shape = read_volume(in_volume, layout, "--in", "hwc")
    options = _extra_options(ctx.args)
    try:
        report = one_layer(op, shape, options, batch, dtype)
    except SpecError as err:
        for f in err.findings:
            if f.loc and f.loc.file == WHERE:
                f.loc = None
        fail(err.findings, 1)
    show(formats.LAYER, fmt, report, layout or "hwc")


def _extra_options(args: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise click.UsageError(f"unexpected argument '{arg}' (options look like --kernel 3)")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                value = "true"
            else:
                i += 1
                value = args[i]
        options[key.replace("-", "_")] = value
        i += 1
    return options


@click.command("list")
@click.option("--format", "fmt", type=click.Choice(tuple(formats.LIST)), default="rich", show_default=True)
@guarded
def list_(fmt):
    """List the built-in networks with their params and MACs."""
    from ..tools.zoo_table import zoo_rows
    show(formats.LIST, fmt, zoo_rows())


@click.command(epilog="""\b
Examples:
  sizecalc fit resnet50 --memory 16GiB --optimizer adam
  sizecalc fit vgg16 --memory 24GiB --dtype bf16 --input 224,320,384
  sizecalc fit vit_l_16 --memory 80GB --optimizer adamw --amp     attention: the batch with each kernel
""")
@click.argument("spec")
@click.option("--memory", "budget", required=True, metavar="SIZE",
              help="Memory to fit in: 16GiB, 24GB, 512MiB (binary units with i, decimal without).")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="sgd", show_default=True)
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True)
@click.option("--amp", is_flag=True, help="Mixed precision: fp32 weights, half-precision activations.")
@click.option("--reserve", default="0%", show_default=True, metavar="PCT",
              help="Keep this share of the memory free (framework overhead, fragmentation).")
@click.option("--input", "sizes", metavar="S[,S...]",
              help="Sweep square input sizes (channels from the spec), e.g. 224,320,384.")
@click.option("--format", "fmt", type=click.Choice(tuple(formats.FIT)), default="text", show_default=True)
@attention_option
@variant_option
@guarded
def fit(spec, budget, optimizer, dtype, amp, reserve, sizes, fmt, attention):
    """The largest batch whose training memory fits in --memory.

    Training memory = params x (weight + gradient + optimizer slots) + buffers + the bytes
    autograd saves for backward (see `sizecalc table`'s footer for each part).
    """
    from ..tools.source import load
    from ..tools.fit import fit as fit_batches, square_inputs
    stdin_open(spec)
    total = _budget(budget)
    usable = int(total * (1 - _reserve(reserve)))
    graph = load(spec)
    try:
        shapes = square_inputs(graph.input_shape, sizes) if sizes else [graph.input_shape]
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--input") from None
    results = fit_batches(spec, usable, optimizer, dtype, amp, shapes, attention)
    show(formats.FIT, fmt, results, total)
    if fmt != "json" and all(r["batch"] == 0 for r in results):
        raise SystemExit(1)


def _budget(text: str) -> int:
    """--memory in bytes."""
    from ..engine.memory import parse_bytes
    try:
        total = parse_bytes(text)
    except ValueError as err:
        raise click.BadParameter(printable(str(err)), param_hint="--memory") from None
    if total < 1:  # `0.5` is half a byte: int() made it 0, which no batch fits in
        raise click.BadParameter(f"'{printable(text)}' is {total} bytes: a memory budget needs a unit "
                                 "(16GiB, 24GB, 512MiB) or is at least 1 byte", param_hint="--memory")
    return total


def _reserve(text: str) -> float:
    """--reserve as a share from 0 to 0.99."""
    try:
        share = float(text.rstrip("%")) / 100
        if not 0 <= share < 1:
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"'{printable(text)}' must be a percentage from 0% to 99%",
                                 param_hint="--reserve") from None
    return share
