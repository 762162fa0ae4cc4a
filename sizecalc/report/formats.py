"""Every output format of every command, in one table per command: format name -> renderer.

The keys are the formats a command offers (the CLI's `--format` choices are read from here,
in this order); a renderer is named "module:function" inside sizecalc/report/ and imported
only when it is used, so this module costs nothing to import. A new output format is one
module in report/ and one line below. Each table states the arguments its renderers take;
a renderer returns the text to write or, under `terminal`, a rich renderable.

`rich` is a terminal format: on a terminal (stdout, no `-o`) its `terminal` renderer gives
a rich table; anywhere else the same columns as plain text, without importing rich.
"""

from __future__ import annotations


from ..core.record import dataclass


@dataclass(frozen=True)
class Format:
    render: str  # "module:function" in sizecalc/report/: the text of this format
    terminal: str | None = None  # on a terminal instead: a function giving a rich renderable
    bars: bool = False  # (layer tables) draws `--bars`


# sizecalc table: (report, layout, explain, rows, bars)
TABLE = {
    "rich": Format("plain:render", terminal="rich_table:table", bars=True),
    "markdown": Format("markdown:render"),
    "csv": Format("csv_out:render"),
    "json": Format("json_out:render"),
    "svg": Format("svg:render", bars=True),
    "html": Format("html_out:render"),
}
# sizecalc layer: (report) of the one layer
LAYER = {
    "text": Format("layer_out:text"),
    "json": Format("json_out:render"),
}
# sizecalc list: (rows) of tools/zoo_table.zoo_rows
LIST = {
    "rich": Format("zoo_out:plain", terminal="zoo_out:rich_table"),
    "markdown": Format("zoo_out:markdown"),
    "json": Format("zoo_out:json"),
}
# sizecalc fit: (results of tools/fit.fit, total bytes of the budget)
FIT = {
    "text": Format("fit_out:text"),
    "json": Format("fit_out:json"),
}
# sizecalc compare: (entries of tools/compare.compare, batch, dtype)
COMPARE = {
    "rich": Format("compare_out:plain", terminal="compare_out:rich_table"),
    "markdown": Format("compare_out:markdown"),
    "json": Format("compare_out:json"),
}
# sizecalc solve: (the tools/solve.Answer)
SOLVE = {
    "text": Format("solve_out:text"),
    "json": Format("solve_out:json"),
}
# sizecalc inputs: (the tools/inputs.Sweep)
INPUTS = {
    "text": Format("inputs_out:text"),
    "json": Format("inputs_out:json"),
}
# sizecalc lint: (the tools/lint.LintResult)
LINT = {
    "text": Format("lint_out:text"),
    "github": Format("lint_out:github"),
    "json": Format("lint_out:to_json"),
    "sarif": Format("lint_out:sarif"),
}


def renderer(formats: dict, name: str, terminal: bool = False):
    """The function that renders format `name` of a command's table `formats` (its terminal
    renderer when `terminal` and it has one). KeyError for a format the command lacks."""
    fmt = formats[name]
    module, function = (fmt.terminal if terminal and fmt.terminal else fmt.render).split(":")
    # __import__, not importlib.import_module: `python -X importtime` lists what it imports
    return getattr(__import__(f"{__package__}.{module}", fromlist=[function]), function)


def render(formats: dict, name: str, *args, terminal: bool = False):
    """Render `args` in format `name` of `formats` (see renderer)."""
    return renderer(formats, name, terminal)(*args)
