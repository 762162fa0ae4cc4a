"""What the commands share: turning errors into one line and an exit code, option callbacks,
and writing a result out (emit, print_rich, show through the format registry).

Imported by every command module and by nothing below the CLI; it imports no command, so
the group (cli/__init__.py) and the commands never import back into each other.
"""

from __future__ import annotations

import functools
import io
import os
import sys

import click

from ..core.escape import printable
from ..core.layout import LAYOUTS
from .output import OneLineError, emit as _emit, is_terminal, print_stdout, stdout_failed


def fail(findings, code: int) -> None:
    for f in findings:
        line = f.line()
        click.echo(line, err=True, color=False)
    raise SystemExit(code)


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


def layout_option(option: str, default_in: str, shown: str | None):
    """`--layout hwc|chw`: how the volume typed after `option` is read (unset: `default_in`)
    and, where the command prints volumes, how they are written (`shown`: how chw shows them)."""
    from ..core.layout import order_text
    unset = f"Unset: {option} is read {order_text(default_in, 3)}"
    if shown:
        text = (f"How volumes are written, the one typed after {option} and the ones shown: hwc = H x W x C "
                f"(the lecture), chw = C x H x W (PyTorch; shown {shown}). {unset} and volumes are "
                "shown H x W x C.")
    else:
        text = f"How {option} is typed: chw = C x H x W (PyTorch), hwc = H x W x C (the lecture). {unset}."
    return click.option("--layout", type=click.Choice(LAYOUTS), default=None, help=text)


def read_volume(text: str | None, layout: str | None, option: str, default: str) -> tuple[int, ...] | None:
    """The volume typed after `option` -> (C, *spatial), read in `layout` (None: the option's
    `default`). Usage errors (exit 2): not 1 to 4 sizes; two equal sizes with the layout
    unstated (an image without its channels). A volume that looks typed in the other layout
    is read as asked, with a warning on stderr that names the other reading and its fix."""
    if text is None:
        return None
    from ..core import layout as volumes
    from ..core.errors import WARNING, Finding
    from ..core.units import dims_text
    from ..tools.layer import parse_sizes
    chosen = layout or default
    try:
        typed = parse_sizes(text)
    except ValueError as err:
        raise click.BadParameter(f"{err} (read {volumes.order_text(chosen, 3)}, {_how(layout, option)})",
                                 param_hint=option) from None
    if layout is None and volumes.missing_channels(typed):
        raise click.BadParameter(
            volumes.missing_message(typed, chosen, f"{option} {dims_text(typed)}", _how(layout, option)) + "; write "
            + " or ".join(f"{option} {dims_text(volumes.with_channels(typed, chosen, c))} ({c} channel{s})"
                          for c, s in ((3, "s"), (1, "")))
            + f", or add --layout {chosen} to mean the 1-D volume", param_hint=option)
    fixed = volumes.looks_swapped(typed, chosen)
    if fixed is not None:
        written = f"{option} {dims_text(typed)}"
        warning = Finding("layout", volumes.swapped_message(typed, chosen, written, _how(layout, option)),
                          fixes=(f"write {option} {dims_text(fixed)}", f"add --layout {volumes.other(chosen)}"),
                          severity=WARNING)
        click.echo(warning.line(), err=True)
    return volumes.to_shape(typed, chosen)


def _how(layout: str | None, option: str) -> str:
    return f"--layout {layout}" if layout else f"the default of {option}"


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
    from ..spec.zoo import split
    return [path for spec in specs if spec != "-" for path in {spec, split(spec)[0]}]


def variant_option(fn):
    """`--variant NAME`: pick one network of a family file (EfficientNet B0-B7 in one spec).
    It is the same as writing SPEC:NAME, which every command reads."""
    @functools.wraps(fn)
    def wrapper(*args, variant=None, **kwargs):
        if variant is not None:
            kwargs["spec"] = f"{kwargs['spec']}:{variant}"
        return fn(*args, **kwargs)
    return click.option("--variant", metavar="NAME",
                        help="A variant of a family spec (same as SPEC:NAME), e.g. --variant efficientnet_b3; "
                             "`sizecalc list` shows each variant.")(wrapper)


def stdin_open(spec: str) -> None:
    """Refuse `-` when stdin is closed (`<&-`): one line, exit 2."""
    if spec == "-" and sys.stdin is None:
        raise OneLineError("cannot read the spec from stdin: it is closed (pipe a spec in, or name a file)")


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


def show(formats: dict, fmt: str, *args, output: str | None = None, inputs=()) -> None:
    """Render `args` in format `fmt` of the command's table in report/formats.py and write
    it: text as emit writes it, a rich renderable (a terminal format, on a terminal, without
    `-o`) as print_rich prints it."""
    from ..report.formats import render
    out = render(formats, fmt, *args, terminal=not output and is_terminal())
    if isinstance(out, str):
        emit(out, output, inputs)
    else:
        print_rich(out, output, inputs)


def attention_option(fn):
    """`--attention auto|math|fused`: which attention kernel's saved tensors the memory counts."""
    from ..core.units import ATTENTION_PATHS
    return click.option(
        "--attention", type=click.Choice(ATTENTION_PATHS), default="auto", show_default=True,
        help="Which attention kernel's saved tensors count: math keeps the N x N probabilities of each head "
             "(and the dropout mask), fused (flash, memory-efficient) keeps q, k, v, the output and a log-sum-exp "
             "per row; auto is what torch picks: fused, or on the CPU the math path when attention dropout > 0."
    )(fn)
