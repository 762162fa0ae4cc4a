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
