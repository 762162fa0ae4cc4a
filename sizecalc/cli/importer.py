"""`sizecalc import MODULE:FACTORY`: a PyTorch module -> a readable spec (torch/fx_import.py
reads the module, spec/writer.py writes the text); `sizecalc import model.onnx`: an ONNX file
(tools/onnx_import.py, the onnx extra; nothing in the file is run). Thin: parses options,
calls, writes."""

from __future__ import annotations

import click

from .common import emit, guarded, read_volume

NO_TORCH = "needs torch, which is not installed: pip install sizecalc[torch]"


@click.command("import", epilog="""\b
Examples:
  sizecalc import torchvision.models:resnet50 -o resnet50.yaml && sizecalc table resnet50.yaml
  sizecalc import my_net.py:build --input 1x28x28 -o net.yaml
  sizecalc import model.onnx -o model.yaml       an ONNX file (pip install 'sizecalc[onnx]')
  sizecalc import model.onnx --input 3x320x320   one exported with a dynamic height and width
  sizecalc table model.onnx                      every command reads a .onnx file directly
""")
@click.argument("target", metavar="MODULE:FACTORY|FILE.onnx")
@click.option("--input", "input_text", metavar="CxHxW", default="3x224x224", show_default=True,
              help="Input volume per sample the module is traced with (C x H x W). For an ONNX file: the "
                   "file's own input unless given (needed where its height or width is dynamic).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@click.option("--flat", is_flag=True, help="One line per layer: no blocks for repeated submodules.")
@guarded
def import_(target, input_text, output, flat):
    """Write the spec of a PyTorch module: MODULE:FACTORY names a function or class that
    returns an nn.Module without arguments (torchvision.models:resnet50, path/to/net.py:build).

    This IMPORTS AND RUNS YOUR CODE: the module is imported and FACTORY() called (on the meta
    device where it can be, so no weights are allocated), then traced with torch.fx. Run it
    only on code you would run yourself. The spec written is plain data.

    \b
    What maps: convs (padding, dilation, groups; rounding floor as PyTorch), transposed convs,
    Linear, BatchNorm / InstanceNorm / GroupNorm / LayerNorm (over tokens), LRN, max / avg /
    adaptive pools (ceil_mode -> rounding: ceil), the activations, Dropout, Flatten /
    torch.flatten / x.view(n, -1), + / torch.add, * / torch.mul, torch.cat on channels,
    Upsample / F.interpolate (-> resize), pads, PixelShuffle, ChannelShuffle, ViT's tokens and
    nn.MultiheadAttention, Swin's shifted window attention and patch merging, MaxViT's
    partitions and relative attention, MViT's pooling attention (README.md). An op sizecalc
    has no layer for (a scalar add, indexing...) is listed by name and module path, and the
    command exits 1: no spec with a silent zero.

    An ONNX file (FILE.onnx) is read as data, never run: see README.md, "Importing ONNX".
    """
    from ..tools.onnx_import import import_onnx, is_onnx
    if is_onnx(target):
        given = click.get_current_context().get_parameter_source("input_text").name != "DEFAULT"
        emit(import_onnx(target, read_volume(input_text, "chw", "--input", "chw") if given else None),
             output, [target])
        return
    from ..torch import installed
    if not installed():
        click.echo(f"sizecalc import: {NO_TORCH}", err=True)
        raise SystemExit(2)
    from ..spec.writer import write_spec
    from ..torch.fx_import import import_module
    shape = read_volume(input_text, "chw", "--input", "chw")
    ops, _, name, on_meta = import_module(target, shape)
    notes = () if on_meta else ("Built on the CPU: the factory could not run on the meta device.",)
    emit(write_spec(ops, shape, name=name, source=target, notes=notes, fold=not flat), output)
