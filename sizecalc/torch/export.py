"""`sizecalc export --torch`: a spec as the source of a standalone PyTorch module.

The file it writes imports only torch, defines one nn.Module class equal to what
`backend.build_module` gives (the same modules under the same names, so the same
parameters and output), and prints the output shape and parameter count when run. Each
module is written as the constructor call its layer kind's torch builder describes (the
same `TorchModule` record that `backend.instantiate` builds); the few classes torch lacks
are copied from `sizecalc.torch.modules`. Imports torch inside its function only.

The spec is untrusted: nothing it says may become code. Its name and file name reach the
written file only as `ascii()` literals (NAME, SOURCE: repr with every non-ASCII character
escaped, so the file is printable ASCII); layer ids only as the module names of
`backend.module_keys` (letters, digits, `_`, `-`), and those only inside `repr()`
literals; the class name is built from ASCII letters and digits and never equals a keyword,
a builtin or a name the file defines. Docstrings and comments hold no text from the spec.
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
"""{cls}: a network as a PyTorch module, written by `sizecalc export --torch` (sizecalc {version}).

NAME is the spec's name and SOURCE the file it was read from. Standalone: it imports only
torch. `python {{this file}}` builds the network on the meta device and prints its output
shape and parameter count.
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


MAX_CLASS_NAME = 64  # characters taken from the spec's name

# names the written file defines or uses at module level: a class name must be none of them
RESERVED = frozenset({"torch", "nn", "F", "math", "INPUT_SHAPE", "INPUTS", "NAME", "SOURCE", "GraphModule",
                      "model", "out"})


def _module_classes() -> frozenset:
    """The classes of torch_modules that a written file may copy."""
    from . import modules as torch_modules
    return frozenset(n for n, v in vars(torch_modules).items() if isinstance(v, type))


def class_name(name: str) -> str:
    """`ResNet-18` -> `ResNet18`, `cifar-simple` -> `CifarSimple`: a Python class name of ASCII
    letters and digits only (the first 64), never a keyword, a builtin or a name the written file defines
    (then `Net` is added: `F` -> `FNet`, `INPUTS` -> `INPUTSNet`)."""
    import builtins
    parts = re.findall(r"[0-9A-Za-z]+", str(name))
    text = "".join(p[0].upper() + p[1:] for p in parts)[:MAX_CLASS_NAME]
    if not text:
        return "Network"
    if text[0].isdigit():
        text = "Net" + text
    if (keyword.iskeyword(text) or keyword.issoftkeyword(text) or hasattr(builtins, text)
            or text in RESERVED or text in _module_classes()):
        text += "Net"
    return text


def _value(v, needed: list) -> str:
    """A constructor argument as source: a description, a tuple or a plain literal, nothing else."""
    if isinstance(v, TorchModule):
        return _expr(v, needed)
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_value(x, needed) for x in v)
        if isinstance(v, list):
            return f"[{inner}]"
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"
    if v is None or isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        return float.__repr__(v)
    if isinstance(v, str):
        return ascii(str.__str__(v))
    raise ValueError(f"cannot export a constructor argument of type {type(v).__name__}")


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
    from .backend import _graph, describe, prepare
    graph = _graph(graph)
    report = prepare(graph, activations=False)  # before torch is imported: a refusal costs milliseconds
    cls = class_name(graph.name)
    needed: list = ["GraphModule"]
    lines = []
    for key, desc in describe(graph, report):
        lines.append(f"            {key!r}: {_expr(desc, needed)},")
    if cls in needed:
        cls += "Net"
    sources = [inspect.getsource(getattr(modules, name)) for name in needed]
    imports = ["import torch"]
    if any("F." in s for s in sources):
        imports.append("import torch.nn.functional as F")
    imports.append("from torch import nn")
    items = [repr([int(i) for i in node.inputs]).replace(" ", "\xa0") for node in graph.nodes]
    inputs = textwrap.fill("INPUTS = [" + ", ".join(items) + "]", 96, subsequent_indent="    ",
                           break_long_words=False, break_on_hyphens=False).replace("\xa0", " ")
    shape = "x".join(str(int(d)) for d in graph.input_shape)
    body = [
        HEADER.format(cls=cls, version=__version__),
        "\n".join(imports),
        "",
        f"NAME = {ascii(str(graph.name))}",  # ascii(): a literal of printable ASCII, whatever the text
        f"SOURCE = {ascii(str(graph.source))}",
        f"INPUT_SHAPE = {tuple(int(d) for d in graph.input_shape)!r}  # per sample, channels first",
        "# node i takes the outputs of the nodes INPUTS[i] (-1 = the network input)",
        inputs,
        "",
        "",
        "\n\n".join(sources).rstrip(),
        "",
        "",
        f"class {cls}(GraphModule):",
        f'    """The network NAME: {len(graph.nodes)} layers, input {shape}."""',
        "",
        "    def __init__(self):",
        "        super().__init__({",
        *lines,
        "        }, INPUTS)",
    ]
    return "\n".join(body) + MAIN.format(cls=cls)
