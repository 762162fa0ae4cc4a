"""Where the CLI's output goes: `-o FILE`, stdout and stderr, and what happens when they fail.

- `-o FILE` is written to a temporary file in FILE's directory and renamed over FILE
  (os.replace), so FILE is either the old file or the whole new one, never a partial one
  after a crash or a full disk; the temporary file is removed on any error. A FILE that is
  one of the command's inputs (the same file, however it is named, a built-in network's
  packaged spec included) or a symbolic link is refused as bad usage (exit 2), before
  anything is written. An existing device or FIFO (/dev/null, a named pipe) is written in
  place: renaming over it would replace the device.
- A reader that stops early (`sizecalc lint specs | head -1`) ends the command quietly with
  141, what a shell reports for a program that SIGPIPE stopped: no message, no traceback,
  and never 0, since the output was not all delivered (a lint that found errors cannot turn
  a pipeline green). stdout is pointed at os.devnull first, as Python's signal docs advise,
  so that the interpreter's last flush has nowhere to fail.
- stdout that cannot take the bytes (`>/dev/full`, a full disk) or is closed (`>&-`) is one
  line on stderr, exit 2.
- Messages of click (usage errors) are printed with user text made printable().
"""

from __future__ import annotations

import io
import os
import stat
import sys

import click

from ..core.escape import printable

BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE, as a shell reports it
OUTPUT_HINT = "'-o' / '--output'"


class OneLineError(click.ClickException):
    """A stream that cannot be used (stdout that cannot be written, stdin that is closed):
    one line `sizecalc: ...` on stderr, exit 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        echo_err(f"sizecalc: {self.message}")


def echo_err(line: str) -> None:
    """One line on stderr; a closed or broken stderr loses it silently."""
    try:
        click.echo(line, err=True)
    except OSError:
        pass


def emit(text: str | bytes, output: str | None = None, inputs=()) -> None:
    """`text` to the file `output` (safely, see write_file) or to stdout (bytes, a PNG,
    only ever go to a file)."""
    if output:
        write_file(text, output, inputs)
    else:
        write_stdout(text)


def is_terminal() -> bool:
    """Whether stdout is a terminal (False when it is closed)."""
    return sys.stdout is not None and sys.stdout.isatty()


def write_stdout(text: str) -> None:
    """`text` on stdout, a newline added if it has none (see echo)."""
    echo(text, nl=not text.endswith("\n"))


def echo(text: str = "", nl: bool = True) -> None:
    """click.echo to stdout (which flushes), turning a failed write into OneLineError or,
    for a reader that went away, a quiet exit. Every CLI write to stdout goes through here
    or print_stdout: Python's buffer drops what it failed to write, so a failure cannot be
    told apart from others later on."""
    if sys.stdout is None:  # `>&-`: click would drop the text without a word
        raise OneLineError("cannot write the output: stdout is closed")
    try:
        click.echo(text, nl=nl)
    except OSError as err:
        stdout_failed(err)


def print_stdout(console, renderable) -> None:
    """console.print(renderable) for a rich Console on stdout, failures handled as in echo."""
    if sys.stdout is None:
        raise OneLineError("cannot write the output: stdout is closed")
    try:
        console.print(renderable)
        console.file.flush()
    except OSError as err:
        stdout_failed(err)


def stdout_failed(err: OSError):
    """Handle `err`, raised while writing stdout: a quiet exit for a broken pipe, else
    OneLineError. Either way stdout is pointed at os.devnull so nothing more is tried."""
    _silence_stdout()
    if isinstance(err, BrokenPipeError):
        raise SystemExit(BROKEN_PIPE_EXIT)
    raise OneLineError(f"cannot write the output to stdout: {err.strerror or err}") from None


def _silence_stdout() -> None:
    """Point file descriptor 1 at os.devnull and drop what sys.stdout still buffers."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return  # not a real stream (a test runner's buffer): nothing to protect
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def finish() -> None:
    """Flush stdout at the end of a command, where a small output meets a closed pipe."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except OSError as err:
        stdout_failed(err)


# -- -o FILE -------------------------------------------------------------------------------
def check_target(path: str, inputs=()) -> None:
    """Refuse an -o path that is a symbolic link or one of `inputs` (usage error, exit 2)."""
    if os.path.islink(path):
        raise click.BadParameter(f"{printable(path)} is a symbolic link (to {printable(os.readlink(path))}); "
                                 "sizecalc does not write through links: name the file itself",
                                 param_hint=OUTPUT_HINT)
    if not os.path.exists(path):
        return
    for source in inputs:
        if _same_file(source, path):
            same = "" if source == path else f" (the input {printable(source)})"
            raise click.BadParameter(f"{printable(path)} is one of the inputs{same}; writing it would destroy "
                                     "it: choose another file", param_hint=OUTPUT_HINT)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def write_file(text: str | bytes, path: str, inputs=()) -> None:
    """Replace `path` with `text` (UTF-8; bytes as they are) atomically, after check_target."""
    check_target(path, inputs)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    try:
        if mode is not None and not stat.S_ISREG(mode):
            with _open(path, text) as fh:  # /dev/null, a FIFO: write in place
                fh.write(text)
        else:
            _replace(text, path, stat.S_IMODE(mode) if mode is not None else _new_file_mode())
    except OSError as err:
        raise click.BadParameter(f"cannot write {printable(path)}: {err.strerror or err}",
                                 param_hint=OUTPUT_HINT) from None


def _open(target, text: str | bytes):
    return open(target, "wb") if isinstance(text, bytes) else open(target, "w", encoding="utf-8")


def _replace(text: str | bytes, path: str, mode: int) -> None:
    import tempfile
    folder, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(dir=folder or ".", prefix=f".{name}.", suffix=".tmp")
    try:
        with _open(fd, text) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _new_file_mode() -> int:
    """What open(path, "w") would give a new file: 0o666 less the umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


# -- click's own messages --------------------------------------------------------------------
def show_click_error(err: click.ClickException) -> None:
    """A click error (usage, bad option value) on stderr, each line printable()."""
    buffer = io.StringIO()
    err.show(file=buffer)
    for line in buffer.getvalue().splitlines():
        echo_err(printable(line) if line else "")
