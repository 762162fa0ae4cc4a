"""`sizecalc draw`: a picture of the network (report/draw/), SVG on stdout or to `-o FILE`.

Parses options and renders; a spec with errors draws nothing and prints its findings
(exit 1); an extension it cannot write is a usage error (exit 2). Never imports torch.
"""

from __future__ import annotations

import os

import click

from ..core.escape import printable
from .common import emit, guarded, layout_option, positive, read_volume, spec_inputs, stdin_open, variant_option

WRITERS = (".svg", ".html", ".png")  # the extensions -o may have: the picture, the report page, a raster

EPILOG = """\b
Examples:
  sizecalc draw vgg16 -o vgg16.svg              the lecture's volumes, left to right
  sizecalc draw alexnet --layout chw > a.svg    labels C x H x W
  sizecalc draw resnet50 --depth 2 -o r50.svg   a graph, one box per bottleneck block
  sizecalc draw googlenet --style graph --depth 3
  sizecalc draw vgg16 -o vgg16.html             the report page: figures, picture, foldable table
  sizecalc draw vgg16 -o vgg16.png              a PNG (the png extra: pip install 'sizecalc[png]')
"""


@click.command(epilog=EPILOG)
@click.argument("spec")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help=f"Write to FILE ({', '.join(WRITERS)}) instead of SVG on stdout.")
@click.option("--style", type=click.Choice(("volumes", "graph")),
              help="volumes: each output volume as a box in perspective (the lecture's picture of a chain); "
                   "graph: one node per layer, the shape on every edge. Unset: volumes for a chain, graph for a "
                   "network with branches.")
@click.option("--depth", type=int, callback=positive, help="Fold layers below this depth into one box per block.")
@click.option("--input", "input_text", metavar="CxHxW",
              help="Input volume per sample (overrides the spec's input:), C x H x W unless --layout hwc.")
@layout_option("--input", "chw", shown="C x H x W")
@variant_option
@guarded
def draw(spec, output, style, depth, input_text, layout):
    """Draw SPEC (a YAML file or a built-in network name) as an SVG picture."""
    from ..core.errors import SpecError
    from ..engine.walk import analyze
    from ..report.draw import draw as picture
    from ..tools.source import load
    if output is not None:
        ext = os.path.splitext(output)[1].lower()
        if ext not in WRITERS:
            raise click.BadParameter(f"cannot write '{printable(ext or output)}': the formats are "
                                     f"{', '.join(WRITERS)} (SVG on stdout without -o)", param_hint="'-o' / '--output'")
    stdin_open(spec)
    input_shape = read_volume(input_text, layout, "--input", "chw")
    report = analyze(load(spec, input_shape))
    if report.errors():
        raise SpecError(report.errors())
    for f in report.findings:
        if f.severity != "info":
            click.echo(f.line(), err=True)
    from ..report.draw.layout import NoLayout
    from .output import OneLineError
    try:
        svg = picture(report, style, depth, layout or "hwc").svg
    except NoLayout as err:
        raise OneLineError(str(err)) from None
    emit(written(report, svg, depth, layout or "hwc", output), output, spec_inputs(spec))


def written(report, svg: str, depth, layout: str, output: str | None):
    """What -o gets: the SVG, the HTML report around it (its table folded at `depth`, as
    `table --format html` does), or PNG bytes (exit 2 naming the extra without cairosvg)."""
    ext = os.path.splitext(output)[1].lower() if output else ".svg"
    if ext == ".html":
        from ..report.fold import fold
        from ..report.html_out import inline_svg, page
        return page(report, fold(report.rows, depth), layout, inline_svg(svg))
    if ext == ".png":
        from ..report.png_out import MissingExtra, png
        from .output import OneLineError
        try:
            return png(svg)
        except MissingExtra as err:
            raise OneLineError(str(err)) from None
    return svg
