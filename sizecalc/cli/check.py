"""The commands that need torch: `sizecalc check` and `sizecalc export --torch`.

Thin click commands over torch/backend.py and torch/export.py. torch is imported inside
the commands only, so that `sizecalc --help` stays torch-free; without torch they exit 2
with the one line that says how to get it.
"""

from __future__ import annotations

import click

from ..core.units import DTYPES
from .common import (attention_option, batch_size, emit, guarded, layout_option, print_rich, read_volume,
                     spec_inputs, variant_option)
from .output import echo

NO_TORCH = "needs torch, which is not installed: pip install sizecalc[torch]"


def _need_torch(command: str) -> None:
    from ..torch import installed
    if not installed():
        click.echo(f"sizecalc {command}: {NO_TORCH}", err=True)
        raise SystemExit(2)


@click.command(epilog="""\b
Examples:
  sizecalc check vgg16                       meta shape pass, then a real pass on the GPU or CPU
  sizecalc check resnet50 --device meta      shapes and params only, no memory, in seconds
  sizecalc check my_net.yaml --device cuda --batch 64 --dtype bf16
  sizecalc check vit_b_16 --device cpu --attention math     saved bytes with the math attention kernel
""")
@click.argument("spec")
@click.option("--device", type=click.Choice(("auto", "cpu", "cuda", "meta")), default="auto", show_default=True,
              help="Where the real forward/backward pass runs (auto: cuda if torch sees a GPU, else cpu; "
                   "meta: shapes and params only).")
@click.option("--batch", "-b", default=1, show_default=True, callback=batch_size, help="Batch size N.")
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True)
@click.option("--force", is_flag=True, help="Run the real pass even if it is estimated not to fit in memory.")
@click.option("--input", "input_text", metavar="CxHxW",
              help="Input volume per sample (overrides the spec's input:): C x H x W unless --layout hwc.")
@layout_option("--input", "chw", shown=None)
@attention_option
@variant_option
@guarded
def check(spec, device, batch, dtype, force, input_text, layout, attention):
    """Cross-check SPEC against torch, layer by layer.

    Builds SPEC as a torch module, runs it on the meta device to compare every layer's
    output volume and params with the static figures, then (unless --device meta) runs a
    real forward and backward pass, timed, with CUDA's peak memory when on a GPU.
    Exit 1 if torch disagrees anywhere.
    """
    from ..report import check_out
    from ..tools.source import load  # SPEC is a path or a built-in name, never YAML text (a path may hold a newline)
    from ..torch import backend as torch_backend
    graph = load(spec, read_volume(input_text, layout, "--input", "chw"))
    # spec errors and torch's size limits, torch-free
    report = torch_backend.prepare(graph, batch, dtype, attention=attention)
    _need_torch("check")
    result = torch_backend.check(graph, device=device, batch=batch, dtype=dtype, force=force, report=report,
                                 attention=attention)
    print_rich(check_out.table(result), None)
    for line in check_out.totals(result):
        echo(line)
    for line in check_out.problems(result):
        click.echo(f"sizecalc check: {line}", err=True)
    if not result.ok:
        raise SystemExit(1)


@click.command(epilog="""\b
Examples:
  sizecalc export vgg16 --torch -o vgg16.py && python vgg16.py
""")
@click.argument("spec")
@click.option("--torch", "to_torch", is_flag=True, help="Write a standalone PyTorch module (Python source).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@variant_option
@guarded
def export(spec, to_torch, output):
    """Write SPEC as source code: --torch gives a standalone nn.Module.

    The file imports only torch, defines the module `sizecalc check` builds (same layer
    names, parameters and output), and prints its output shape and params when run.
    """
    if not to_torch:
        raise click.UsageError("say what to export to: --torch (the only target so far)")
    from ..tools.source import load
    from ..torch import backend as torch_backend
    from ..torch.export import export_torch
    graph = load(spec)
    torch_backend.prepare(graph, activations=False)  # spec errors and torch's size limits, torch-free
    _need_torch("export")
    emit(export_torch(graph), output, spec_inputs(spec))
