"""The `sizecalc` command: click commands that parse options, call the library, render.

Exit codes: 0 fine, 1 the spec has errors (or a check mismatched), 2 bad usage or
unreadable input. A user's mistake is one line on stderr, never a traceback; an internal
error is one line asking for a bug report (`--debug` shows the traceback).
"""

from __future__ import annotations

import functools
import os
import sys

import click

from . import __version__

DTYPES = ("fp32", "fp16", "bf16", "fp64")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
FORMATS = ("rich", "markdown", "csv", "json", "svg")  # rich falls back to plain text off a terminal
EPILOG_TABLE = """\b
Examples:
  sizecalc table vgg16                      the lecture's VGG16 table
  sizecalc table alexnet-cs231n --explain   every row's arithmetic
  sizecalc table my_net.yaml --input 3x32x32 --batch 64 --dtype bf16
  sizecalc table resnet50 --depth 1 --format markdown
"""


def fail(findings, code: int) -> None:
    for f in findings:
        line = f.line()
        click.echo(line, err=True, color=False)
    raise SystemExit(code)


def guarded(fn):
    """Turn sizecalc's errors into one line each and the right exit code."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .errors import SizecalcError
        try:
            return fn(*args, **kwargs)
        except SizecalcError as err:
            fail(err.findings, err.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            os._exit(0)
        except Exception as exc:  # a bug of ours: one line, not a traceback
            if os.environ.get("SIZECALC_DEBUG") or "--debug" in sys.argv:
                raise
            click.echo(f"sizecalc: internal error ({type(exc).__name__}: {exc}). This is a bug in sizecalc; "
                       "please report it with the spec attached (run again with --debug for the traceback).",
                       err=True)
            raise SystemExit(2)
    return wrapper


def parse_input(ctx, param, value):
    if value is None:
        return None
    from .single import parse_volume
    try:
        return parse_volume(value, "chw")
    except ValueError as err:
        raise click.BadParameter(f"{err} (channels first, e.g. 3x224x224)") from None


def positive(ctx, param, value):
    if value is not None and value < 1:
        raise click.BadParameter(f"must be at least 1, not {value}")
    return value


def batch_size(ctx, param, value):
    from .limits import MAX_BATCH
    if value is not None and not 1 <= value <= MAX_BATCH:
        from .single import short
        raise click.BadParameter(f"must be from 1 to {MAX_BATCH:,} (2^31), not {short(str(value))}")
    return value


def emit(text: str, output: str | None) -> None:
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as err:
            raise click.BadParameter(f"cannot write {output}: {err.strerror or err}", param_hint="-o") from None
    else:
        click.echo(text, nl=not text.endswith("\n"))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="sizecalc")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks of internal errors.")
def main(debug):
    """Size convolutional networks before anyone trains them.

    Reads a YAML architecture spec (or a built-in network such as vgg16) and prints every
    layer's output volume, parameters, activations, multiply-accumulates and receptive
    field, with (W - F + 2P)/S + 1 checked exactly at every layer. No torch needed.

    \b
    Start here:
      sizecalc list                     the built-in networks
      sizecalc table vgg16              the lecture's VGG16 table
      sizecalc layer conv --in 32x32x3 --filters 10 --kernel 5 --stride 1 --pad 2
    """
    # one command per process and no reference cycles worth collecting: the cyclic GC only
    # costs time here (about 15% of a 10,000-layer table)
    import gc
    gc.disable()


@main.command(epilog=EPILOG_TABLE)
@click.argument("spec")
@click.option("--input", "input_shape", callback=parse_input, metavar="CxHxW",
              help="Input volume per sample, channels first (overrides the spec's input:).")
@click.option("--batch", "-b", default=1, show_default=True, callback=batch_size, help="Batch size N for memory figures.")
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True, help="Bytes per element.")
@click.option("--explain", is_flag=True, help="Show each row's arithmetic, as the lecture writes it.")
@click.option("--layout", type=click.Choice(("hwc", "chw")), default="hwc", show_default=True,
              help="Volumes as H x W x C (the lecture) or N x C x H x W (PyTorch).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="rich", show_default=True, help="Output format.")
@click.option("--depth", type=int, callback=positive, help="Fold rows below this depth into one row per block.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="sgd", show_default=True,
              help="Optimizer state in the training memory (momentum: 1 slot, adam: 2).")
@click.option("--amp", is_flag=True, help="Mixed precision: fp32 weights, half-precision activations.")
@click.option("--bars", is_flag=True, help="Add bars for each row's activations and params (rich, plain and svg).")
@click.option("--macs", "mac_count", type=click.Choice(("conv-fc", "all")), default="conv-fc", show_default=True,
              help="conv-fc: conv and fc multiply-accumulates (torchvision's GFLOPS column); all: also bias adds, "
                   "norms, pooling and merges.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@guarded
def table(spec, input_shape, batch, dtype, explain, layout, fmt, depth, optimizer, amp, bars, mac_count, output):
    """Print the layer table of SPEC (a YAML file or a built-in network name)."""
    from . import analyze
    from .report.fold import fold
    if bars and fmt in ("markdown", "csv", "json"):
        raise click.BadParameter(f"bars are drawn in the rich, plain-text and svg tables, not --format {fmt}",
                                 param_hint="--bars")
    report = analyze(spec, batch=batch, dtype=dtype, input_shape=input_shape, optimizer=optimizer, amp=amp,
                     macs=mac_count)
    rows = fold(report.rows, depth)
    if fmt == "json":
        from .report.json_out import render
        emit(render(report, rows), output)
    elif fmt == "csv":
        from .report.csv_out import render
        emit(render(report, layout, rows), output)
    elif fmt == "markdown":
        from .report.markdown import render
        emit(render(report, layout, explain, rows), output)
    elif fmt == "svg":
        from .report.svg import render
        emit(render(report, layout, explain, rows, bars), output)
    elif output or not sys.stdout.isatty():
        from .report.plain import render
        emit(render(report, layout, explain, rows, bars), output)
    else:
        from .report.rich_table import table as rich_table
        print_rich(rich_table(report, layout, explain, rows, bars), None)
    _print_notes(report)


def print_rich(renderable, output: str | None) -> None:
    from rich.console import Console
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                Console(file=fh, width=160, color_system=None).print(renderable)
        except OSError as err:
            raise click.BadParameter(f"cannot write {output}: {err.strerror or err}", param_hint="-o") from None
        return
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200, color_system=None)
    console.print(renderable)


def _print_notes(report) -> None:
    for f in report.findings:
        if f.severity != "info":
            click.echo(f.line(), err=True)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
              epilog="""\b
Examples (the lecture's):
  sizecalc layer conv --in 32x32x3 --filters 10 --kernel 5 --stride 1 --pad 2
  sizecalc layer pool --in 55x55x96 --kernel 3 --stride 2
  sizecalc layer conv --in 7x7x1 --filters 1 --kernel 3 --stride 3      (does not fit)
  sizecalc layer local --in 32x32x3 --filters 30 --kernel 5 --pad 2
""")
@click.argument("op")
@click.option("--in", "in_volume", required=True, metavar="HxWxC",
              help="Input volume, H x W x C as in the lecture (e.g. 32x32x3).")
@click.option("--batch", "-b", default=1, show_default=True, callback=batch_size, help="Batch size for memory.")
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True)
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.pass_context
@guarded
def layer(ctx, op, in_volume, batch, dtype, fmt):
    """Size one layer OP (conv, local, maxpool, avgpool, fc, ...) with the arithmetic.

    Any argument of the op is an option: --filters, --kernel, --stride, --pad (or
    --padding), --dilation, --groups, --rounding floor|ceil, ... Give one value, or one per
    dimension separated by commas (--kernel 3,5).
    """
    from .single import WHERE, one_layer, parse_volume
    from .errors import SpecError
    try:
        shape = parse_volume(in_volume, "hwc")
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--in") from None
    options = _extra_options(ctx.args)
    try:
        report = one_layer(op, shape, options, batch, dtype)
    except SpecError as err:
        for f in err.findings:
            if f.loc and f.loc.file == WHERE:
                f.loc = None
        fail(err.findings, 1)
    row = report.rows[0]
    if fmt == "json":
        from .report.json_out import render
        click.echo(render(report), nl=False)
        return
    from .report.text import binary, volume
    click.echo(f"{row.op}: {volume(shape)} -> {volume(row.output)}")
    for line in row.explain:
        click.echo(f"  {line}")
    click.echo(f"  params {row.params:,} ({row.weights:,} weights + {row.biases:,} biases)"
               + (f", buffers {row.buffers:,}" if row.buffers else ""))
    click.echo(f"  activations {row.activations:,}, MACs {row.macs:,}")
    rf = row.receptive_field
    if rf and rf.size:
        click.echo(f"  receptive field {'x'.join(map(str, rf.size))}, jump {'x'.join(map(str, rf.jump))}")
    click.echo(f"  forward memory {binary(report.totals.forward_bytes)} (input + output, batch {batch}, {dtype})")
    for f in report.findings:
        click.echo(f"  note: {f.message}")


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


@main.command("list")
@click.option("--format", "fmt", type=click.Choice(("rich", "markdown", "json")), default="rich", show_default=True)
@guarded
def list_(fmt):
    """List the built-in networks with their params and MACs."""
    from .zoo_table import zoo_rows
    rows = zoo_rows()
    if fmt == "json":
        import json
        click.echo(json.dumps(rows, indent=2))
        return
    from .report.text import si
    headers = ("name", "input", "params", "MACs", "layers", "source")
    cells = [(r["name"], r["input"], f"{r['params']:,}" if r["params"] is not None else "error",
              si(r["macs"]) if r["macs"] is not None else "", str(r["layers"] or ""), r["source"])
             for r in rows]
    if fmt == "markdown":
        click.echo("| " + " | ".join(headers) + " |\n|" + "---|" * len(headers))
        for c in cells:
            click.echo("| " + " | ".join(c) + " |")
        return
    if not sys.stdout.isatty():
        from .report.plain import grid
        click.echo("\n".join(grid(headers, cells, 2, 5)))
        return
    from rich.table import Table
    from rich import box
    t = Table(box=box.SIMPLE_HEAD)
    for i, h in enumerate(headers):
        t.add_column(h, justify="right" if 2 <= i <= 4 else "left")
    for c in cells:
        t.add_row(*c)
    print_rich(t, None)


@main.command(epilog="""\b
Examples:
  sizecalc fit resnet50 --memory 16GiB --optimizer adam
  sizecalc fit vgg16 --memory 24GiB --dtype bf16 --input 224,320,384
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
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@guarded
def fit(spec, budget, optimizer, dtype, amp, reserve, sizes, fmt):
    """The largest batch whose training memory fits in --memory.

    Training memory = params x (weight + gradient + optimizer slots) + buffers + the bytes
    autograd saves for backward (see `sizecalc table`'s footer for each part).
    """
    from . import load
    from .fit import fit as fit_batches, square_inputs
    from .memory import parse_bytes
    from .report.text import binary
    try:
        total = parse_bytes(budget)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--memory") from None
    try:
        share = float(reserve.rstrip("%")) / 100
        if not 0 <= share < 1:
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"'{reserve}' must be a percentage from 0% to 99%", param_hint="--reserve") from None
    usable = int(total * (1 - share))
    graph = load(spec)
    try:
        shapes = square_inputs(graph.input_shape, sizes) if sizes else [graph.input_shape]
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--input") from None
    results = fit_batches(spec, usable, optimizer, dtype, amp, shapes)
    if fmt == "json":
        import json
        click.echo(json.dumps(results, indent=2))
        return
    click.echo(f"{graph.name}: {binary(usable)} usable of {binary(total)}, {optimizer}, {'amp' if amp else dtype}")
    for r in results:
        side = "x".join(map(str, r["input"]))
        if r["batch"] == 0:
            click.echo(f"  input {side}: not even batch 1 fits (needs {binary(r['training_bytes'])})")
        else:
            click.echo(f"  input {side}: batch {r['batch']:,} ({binary(r['training_bytes'])}; batch "
                       f"{r['batch'] + 1:,} would need {binary(r['next_training_bytes'])})")
    if all(r["batch"] == 0 for r in results):
        raise SystemExit(1)


from .cli_check import check, export  # noqa: E402

main.add_command(check)
main.add_command(export)

from .cli_lint import lint, schema  # noqa: E402

main.add_command(lint)
main.add_command(schema)

from .cli_tools import compare, inputs, solve  # noqa: E402

main.add_command(solve)
main.add_command(inputs)
main.add_command(compare)


if __name__ == "__main__":  # pragma: no cover
    main()
