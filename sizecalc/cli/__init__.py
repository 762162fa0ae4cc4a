"""The `sizecalc` command: click commands that parse options, call the library, render.

Exit codes: 0 fine, 1 the spec has errors (or a check mismatched), 2 bad usage or
unreadable input. A user's mistake is one line on stderr, never a traceback; an internal
error is one line asking for a bug report (`--debug` shows the traceback). Output goes
through cli_output (safe `-o`, broken pipes, full disks); user text is printed printable().
"""

from __future__ import annotations

import functools
import io
import os
import sys

import click

from ..core.version import __version__
from .output import OneLineError, echo, emit as _emit, finish, is_terminal, print_stdout, show_click_error, stdout_failed
from ..core.escape import printable

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


class Main(click.Group):
    """The `sizecalc` group: click's own error handling, with its messages printable(), stdout
    flushed inside the command's time (a closed pipe or a full disk is handled like any
    other write), and a reader that went away ending the run quietly (cli_output)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:  # a caller that handles click's exceptions itself
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = _run(super().main, args, prog_name, complete_var, **extra)
        except SystemExit as done:
            code = done.code
        sys.exit(code)


def _run(run, *args, **extra):
    """Run the command (standalone_mode off) and return its exit code."""
    try:
        try:
            code = run(*args, standalone_mode=False, **extra)
        except SystemExit as done:
            code = done.code
        finish()
        return code
    except OneLineError as err:
        err.show()
        return err.exit_code
    except click.ClickException as err:
        show_click_error(err)
        return err.exit_code
    except (click.Abort, KeyboardInterrupt, EOFError):
        click.echo("Aborted!", err=True)
        return 1
    except BrokenPipeError as err:  # sizecalc opens no pipe or socket: this is stdout's reader
        stdout_failed(err)


def guarded(fn):
    """Turn sizecalc's errors into one line each and the right exit code."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from ..core.errors import SizecalcError
        try:
            return fn(*args, **kwargs)
        except SizecalcError as err:
            fail(err.findings, err.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError as exc:  # sizecalc opens no pipe or socket: this is stdout's reader
            stdout_failed(exc)
        except Exception as exc:  # a bug of ours: one line, not a traceback
            _internal_error(exc)
    return wrapper


def _internal_error(exc: Exception):
    if os.environ.get("SIZECALC_DEBUG") or "--debug" in sys.argv:
        raise exc
    click.echo(f"sizecalc: internal error ({type(exc).__name__}: {printable(str(exc))}). This is a bug in "
               "sizecalc; please report it with the spec attached (run again with --debug for the traceback).",
               err=True)
    raise SystemExit(2)


def parse_input(ctx, param, value):
    if value is None:
        return None
    from ..tools.layer import parse_volume
    try:
        return parse_volume(value, "chw")
    except ValueError as err:
        raise click.BadParameter(f"{err} (channels first, e.g. 3x224x224)") from None


def positive(ctx, param, value):
    if value is not None and value < 1:
        raise click.BadParameter(f"must be at least 1, not {value}")
    return value


def batch_size(ctx, param, value):
    from ..core.limits import MAX_BATCH
    if value is not None and not 1 <= value <= MAX_BATCH:
        from ..tools.layer import short
        raise click.BadParameter(f"must be from 1 to {MAX_BATCH:,} (2^31), not {short(str(value))}")
    return value


def emit(text: str, output: str | None, inputs=()) -> None:
    """`text` to stdout, or to the file `output`: replaced atomically, refused where it is a
    symbolic link or one of `inputs` (the spec paths the command read); see cli/output.py."""
    _emit(text, output, inputs)


def spec_inputs(*specs: str) -> list[str]:
    """The files that the SPEC arguments name, a built-in network's packaged spec included
    (what `-o` must not overwrite)."""
    from ..spec.zoo import resolve
    return [path for spec in specs if spec != "-" for path in {spec, resolve(spec)}]


def stdin_open(spec: str) -> None:
    """Refuse `-` when stdin is closed (`<&-`): one line, exit 2."""
    if spec == "-" and sys.stdin is None:
        raise OneLineError("cannot read the spec from stdin: it is closed (pipe a spec in, or name a file)")


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    from ..engine import analyze
    from ..report.fold import fold
    from ..spec import load
    stdin_open(spec)
    if bars and fmt in ("markdown", "csv", "json"):
        raise click.BadParameter(f"bars are drawn in the rich, plain-text and svg tables, not --format {fmt}",
                                 param_hint="--bars")
    # spec.load reads SPEC as a path or a name only (sizecalc.load would read a name with a
    # newline in it as YAML text)
    report = analyze(load(spec, input_shape), batch=batch, dtype=dtype, optimizer=optimizer, amp=amp,
                     macs=mac_count)
    rows = fold(report.rows, depth)
    inputs = spec_inputs(spec)
    if fmt == "json":
        from ..report.json_out import render
        emit(render(report, rows), output, inputs)
    elif fmt == "csv":
        from ..report.csv_out import render
        emit(render(report, layout, rows), output, inputs)
    elif fmt == "markdown":
        from ..report.markdown import render
        emit(render(report, layout, explain, rows), output, inputs)
    elif fmt == "svg":
        from ..report.svg import render
        emit(render(report, layout, explain, rows, bars), output, inputs)
    elif output or not is_terminal():
        from ..report.plain import render
        emit(render(report, layout, explain, rows, bars), output, inputs)
    else:
        from ..report.rich_table import table as rich_table
        print_rich(rich_table(report, layout, explain, rows, bars), None)
    _print_notes(report)


def print_rich(renderable, output: str | None = None, inputs=()) -> None:
    """A rich renderable on stdout (plain, 200 columns, off a terminal), or as plain text
    to the file `output` (written as emit writes it)."""
    from rich.console import Console
    if output:
        buffer = io.StringIO()
        Console(file=buffer, width=160, color_system=None).print(renderable)
        emit(buffer.getvalue(), output, inputs)
        return
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200, color_system=None)
    print_stdout(console, renderable)


def _print_notes(report) -> None:
    for f in report.findings:
        if f.severity != "info":
            click.echo(f.line(), err=True)  # Finding.line() is printable


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
    from ..tools.layer import WHERE, one_layer, parse_volume
    from ..core.errors import SpecError
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
        from ..report.json_out import render
        echo(render(report), nl=False)
        return
    from ..report.text import binary, volume
    echo(f"{printable(row.op)}: {volume(shape)} -> {volume(row.output)}")
    for line in row.explain:
        echo(f"  {printable(line)}")
    echo(f"  params {row.params:,} ({row.weights:,} weights + {row.biases:,} biases)"
               + (f", buffers {row.buffers:,}" if row.buffers else ""))
    echo(f"  activations {row.activations:,}, MACs {row.macs:,}")
    rf = row.receptive_field
    if rf and rf.size:
        echo(f"  receptive field {'x'.join(map(str, rf.size))}, jump {'x'.join(map(str, rf.jump))}")
    echo(f"  forward memory {binary(report.totals.forward_bytes)} (input + output, batch {batch}, {dtype})")
    for f in report.findings:
        echo(f"  note: {printable(f.message)}")


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
    from ..tools.zoo_table import zoo_rows
    rows = zoo_rows()
    if fmt == "json":
        import json
        echo(json.dumps(rows, indent=2))
        return
    from ..report.text import si
    headers = ("name", "input", "params", "MACs", "layers", "source")
    cells = [(r["name"], r["input"], f"{r['params']:,}" if r["params"] is not None else "error",
              si(r["macs"]) if r["macs"] is not None else "", str(r["layers"] or ""), r["source"])
             for r in rows]
    if fmt == "markdown":
        echo("| " + " | ".join(headers) + " |\n|" + "---|" * len(headers))
        for c in cells:
            echo("| " + " | ".join(c) + " |")
        return
    if not is_terminal():
        from ..report.plain import grid
        echo("\n".join(grid(headers, cells, 2, 5)))
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
    from ..spec import load
    from ..tools.fit import fit as fit_batches, square_inputs
    from ..engine.memory import parse_bytes
    from ..report.text import binary
    stdin_open(spec)
    try:
        total = parse_bytes(budget)
    except ValueError as err:
        raise click.BadParameter(printable(str(err)), param_hint="--memory") from None
    if total < 1:  # `0.5` is half a byte: int() made it 0, which no batch fits in
        raise click.BadParameter(f"'{printable(budget)}' is {total} bytes: a memory budget needs a unit "
                                 "(16GiB, 24GB, 512MiB) or is at least 1 byte", param_hint="--memory")
    try:
        share = float(reserve.rstrip("%")) / 100
        if not 0 <= share < 1:
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"'{printable(reserve)}' must be a percentage from 0% to 99%",
                                 param_hint="--reserve") from None
    usable = int(total * (1 - share))
    graph = load(spec)
    try:
        shapes = square_inputs(graph.input_shape, sizes) if sizes else [graph.input_shape]
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--input") from None
    results = fit_batches(spec, usable, optimizer, dtype, amp, shapes)
    if fmt == "json":
        import json
        echo(json.dumps(results, indent=2))
        return
    echo(f"{printable(graph.name)}: {binary(usable)} usable of {binary(total)}, {optimizer}, {'amp' if amp else dtype}")
    for r in results:
        side = "x".join(map(str, r["input"]))
        if r["batch"] == 0:
            echo(f"  input {side}: not even batch 1 fits (needs {binary(r['training_bytes'])})")
        else:
            echo(f"  input {side}: batch {r['batch']:,} ({binary(r['training_bytes'])}; batch "
                       f"{r['batch'] + 1:,} would need {binary(r['next_training_bytes'])})")
    if all(r["batch"] == 0 for r in results):
        raise SystemExit(1)


from .check import check, export  # noqa: E402

main.add_command(check)
main.add_command(export)

from .lint import lint, schema  # noqa: E402

main.add_command(lint)
main.add_command(schema)

from .tools import compare, inputs, solve  # noqa: E402

main.add_command(solve)
main.add_command(inputs)
main.add_command(compare)


if __name__ == "__main__":  # pragma: no cover
    main()
