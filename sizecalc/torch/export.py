"""`sizecalc export --torch`: a spec as the source of a standalone PyTorch module.

The file it writes imports only torch, defines one nn.Module class equal to what
`torch_backend.build_module` gives (the same modules under the same names, so the same
parameters and output), and prints the output shape and parameter count when run. Each
module is written as the constructor call its layer kind's torch builder describes (the
same `TorchModule` record that `backend.instantiate` builds); the few classes torch lacks
are copied from `sizecalc.torch.modules`. Imports torch inside its function only.
"""

from __future__ import annotations

import inspect
import keyword
import math
import re
import textwrap

from ..core.version import __version__
from ..layers.base import TorchModule
from .backend import NN_CLASSES, resolve

HEADER = '''\
"""{name} as a PyTorch module, written by `sizecalc export --torch` (sizecalc {version}) from {source}.

Standalone: it imports only torch. `python {{this file}}` builds the network on the meta device
and prints its output shape and parameter count.
"""
'''

MAIN = '''


__all__ = ["{cls}", "INPUT_SHAPE"]

if __name__ == "__main__":
    with torch.device("meta"):
        model = {cls}()
        out = model(torch.empty(1, *INPUT_SHAPE))
    print(f"{cls}: input {{(1, *INPUT_SHAPE)}} -> output {{tuple(out.shape)}}, "
          f"params {{sum(p.numel() for p in model.parameters()):,}}")
'''


def class_name(name: str) -> str:
    """`ResNet-18` -> `ResNet18`, `cifar-simple` -> `CifarSimple`: a Python class name."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    text = "".join(p[0].upper() + p[1:] for p in parts)
    if not text or keyword.iskeyword(text):
        return "Network"
    return text if not text[0].isdigit() else "Net" + text


def _value(v, needed: list) -> str:
    if isinstance(v, TorchModule):
        return _expr(v, needed)
    if isinstance(v, tuple):
        inner = ", ".join(_value(x, needed) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"
    if v is None or isinstance(v, (bool, int, float, str)):
        return repr(v)
    raise ValueError(f"cannot write a {type(v).__name__} as a constructor argument")


def _expr(desc: TorchModule, needed: list) -> str:
    """The constructor call a TorchModule describes; a class of sizecalc's own is added to
    `needed` (its source is copied into the file)."""
    resolve(desc.cls)  # a name outside the two fixed lists is refused here too
    if desc.cls in NN_CLASSES:
        name = f"nn.{desc.cls}"
    else:
        name = desc.cls
        if desc.cls not in needed:
            needed.append(desc.cls)
    parts = [_value(a, needed) for a in desc.args] + [f"{k}={_value(v, needed)}" for k, v in desc.kwargs.items()]
    return f"{name}({', '.join(parts)})"


def export_torch(graph) -> str:
    """The Python source of a standalone module equal to `build_module(graph)`."""
    from . import modules
    from .backend import _graph, describe
    graph = _graph(graph)
    cls = class_name(graph.name)
    needed: list = ["GraphModule"]
    lines = []
    for key, desc in describe(graph):
        lines.append(f"            {key!r}: {_expr(desc, needed)},")
    if cls in needed:
        cls += "Net"
    sources = [inspect.getsource(getattr(modules, name)) for name in needed]
    imports = ["import torch"]
    if any("F." in s for s in sources):
        imports.append("import torch.nn.functional as F")
    imports.append("from torch import nn")
    items = [repr(list(node.inputs)).replace(" ", "\xa0") for node in graph.nodes]
    inputs = textwrap.fill("INPUTS = [" + ", ".join(items) + "]", 96, subsequent_indent="    ",
                           break_long_words=False, break_on_hyphens=False).replace("\xa0", " ")
    body = [
        HEADER.format(name=graph.name, version=__version__, source=graph.source),
        "\n".join(imports),
        "",
        f"INPUT_SHAPE = {tuple(graph.input_shape)!r}  # per sample, channels first",
        "# node i takes the outputs of the nodes INPUTS[i] (-1 = the network input)",
        inputs,
        "",
        "",
        "\n\n".join(sources).rstrip(),
        "",
        "",
        f"class {cls}(GraphModule):",
        f'    """{graph.name}: {len(graph.nodes)} layers, input {"x".join(map(str, graph.input_shape))}."""',
        "",
        "    def __init__(self):",
        "        super().__init__({",
        *lines,
        "        }, INPUTS)",
    ]
    return "\n".join(body) + MAIN.format(cls=cls)
