"""`sizecalc import`: a model that already exists -> a spec (YAML) on stdout or to `-o FILE`.

An ONNX file (`model.onnx`) is read by tools/onnx_import.py (the onnx extra: pip install
"sizecalc[onnx]"); nothing in the file is run. Parses options and writes; an op sizecalc
cannot map is listed (exit 1), an unreadable file is one line (exit 2).
"""

from __future__ import annotations

import click

from .common import emit, guarded, layout_option, read_volume

EPILOG = """\b
Examples:
  sizecalc import model.onnx -o model.yaml          the spec of an ONNX file
  sizecalc import model.onnx --input 3x320x320      a file exported with dynamic height and width
  sizecalc table model.onnx                         every command reads a .onnx file directly
"""


@click.command("import", epilog=EPILOG)
@click.argument("source")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the spec to FILE instead of stdout.")
@click.option("--input", "input_text", metavar="CxHxW",
              help="Input volume per sample, C x H x W unless --layout hwc: needed where the model's "
                   "height or width is dynamic; the batch is always free.")
@layout_option("--input", "chw", shown=None)
@guarded
def import_(source, output, input_text, layout):
    """Write the spec of SOURCE, an ONNX file (model.onnx): one layer per node, ids from the
    module paths the exporter recorded, params the weights the file stores."""
    from ..tools.onnx_import import import_onnx, is_onnx
    if not is_onnx(source):
        raise click.BadParameter(f"'{click.format_filename(source)[:80]}' is not an ONNX file (model.onnx)",
                                 param_hint="SOURCE")
    text = import_onnx(source, read_volume(input_text, layout, "--input", "chw"))
    emit(text, output, [source])
