"""`sizecalc lint` and `sizecalc schema`: thin click commands over tools/lint.py and spec/schema.py.

Importing this module must stay cheap (`sizecalc --help` imports it): the linter, the
renderers and the schema generator are imported inside the commands.
"""

from __future__ import annotations

import os

import click

from ..report import formats
from .common import emit, guarded
EPILOG_LINT = """\b
Examples:
  sizecalc lint specs/                      every *.yaml/*.yml below specs/
  sizecalc lint net.yaml --strict           rounding that drops input rows fails too
  sizecalc lint specs/ --format sarif -o sizecalc.sarif
  cat net.yaml | sizecalc lint -

\b
Exit codes: 0 clean, 1 errors (or warnings with --strict), 2 bad usage or an
unreadable path (missing, a directory without specs, binary, not UTF-8, too large).
"""


@click.command(epilog=EPILOG_LINT)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(tuple(formats.LINT)), default=None,
              help="Output format [default: github when GITHUB_ACTIONS=true, else text].")
@click.option("--strict", is_flag=True, help="Fail on warnings too; floor/ceil rounding that drops or "
              "pads input rows becomes a warning.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@guarded
def lint(paths, fmt, strict, output):
    """Check spec files for CI: every error in every file, one line each, with a fix.

    PATH is a spec file, a directory (searched recursively for *.yaml and *.yml) or - for
    stdin. Lint goes on over the other paths when one cannot be read; the highest exit
    code wins.
    """
    from ..tools.lint import lint_paths
    if fmt is None:
        fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    result = lint_paths(paths, strict=strict)
    # -o must not overwrite a path given or a spec found below a directory given
    emit(formats.render(formats.LINT, fmt, result), output, [*paths, *(r.name for r in result.files)])
    raise SystemExit(result.exit_code)


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@guarded
def schema(output):
    """Print the JSON Schema of the spec format (generated from the layer registry).

    Point an editor at it for completion and checks as you type: the first line
    `# yaml-language-server: $schema=sizecalc.schema.json` of a spec does it in VS Code's
    YAML extension.
    """
    from ..spec.schema import render
    emit(render(), output)
