"""The `sizecalc` command: click commands that parse options, call the library, render.

This module is the group only. Its commands live one module per group (table.py: table,
layer, list, fit; check.py: check, export; lint.py: lint, schema; tools.py: solve, inputs,
compare; importer.py: import), their shared helpers in common.py, and COMMANDS names where each is found:
click's lazily loading group, so `sizecalc table` imports table.py and nothing else of
the CLI, and no command module imports this one.

Exit codes: 0 fine, 1 the spec has errors (or a check mismatched), 2 bad usage or
unreadable input. A user's mistake is one line on stderr, never a traceback; an internal
error is one line asking for a bug report (`--debug` shows the traceback). Output goes
through cli/output.py (safe `-o`, broken pipes, full disks); user text is printed printable().
"""

from __future__ import annotations

import sys

import click

from ..core.version import __version__
from .output import OneLineError, finish, show_click_error, stdout_failed

# command name -> "module:function" in sizecalc/cli/, imported when the command is run
# (`sizecalc --help` imports them all, for their short help)
COMMANDS = {
    "table": "table:table",
    "layer": "table:layer",
    "list": "table:list_",
    "fit": "table:fit",
    "check": "check:check",
    "export": "check:export",
    "lint": "lint:lint",
    "schema": "lint:schema",
    "solve": "tools:solve",
    "inputs": "tools:inputs",
    "compare": "tools:compare",
    "draw": "draw:draw",
    "import": "importer:import_",
}


class Main(click.Group):
    """The `sizecalc` group: finds its commands lazily (COMMANDS), and runs them with
    click's own error handling, its messages printable(), stdout flushed inside the
    command's time (a closed pipe or a full disk is handled like any other write), and a
    reader that went away ending the run quietly (cli/output.py)."""

    def list_commands(self, ctx) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx, name: str):
        if name not in COMMANDS:
            return super().get_command(ctx, name)
        module, function = COMMANDS[name].split(":")
        # __import__, not importlib.import_module: `python -X importtime` lists what it imports
        return getattr(__import__(f"{__package__}.{module}", fromlist=[function]), function)

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


if __name__ == "__main__":  # pragma: no cover
    main()
