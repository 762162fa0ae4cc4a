"""The records the ONNX mapping shares: `Layer` (one layer of the imported network), `Unmapped`
(why a node has no layer) and `layer_id` (the module path the exporter recorded for a node,
which names its layer and bounds the regions onnx_patterns.py looks in)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .onnx_read import OnnxNode


@dataclass
class Layer:
    """One layer of the imported network: `kind` (a sizecalc kind), `main` (its main value, or
    None), `args` (the other arguments, YAML-ready), `inputs` (ids; `input` is the network's)."""

    id: str
    kind: str
    main: object = None
    args: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)
    source: str = ""  # "Conv node '/conv1/Conv'": where it came from


class Unmapped(Exception):
    """This node has no sizecalc layer; `why` says what about it (None: the op itself)."""

    def __init__(self, why: str | None = None):
        super().__init__(why)
        self.why = why


def layer_id(node: OnnxNode) -> str:
    """The module path the exporter recorded, dotted (`/layer1/layer1.0/conv1/Conv` ->
    layer1.0.conv1; the dynamo exporter's `namespace` likewise), else the node's name; the
    spec writer makes it an id."""
    if node.scope:
        segments = [part.split(":")[0].strip() for part in node.scope.split("/")[1:]]
    elif node.name.startswith("/"):
        segments = node.name.strip("/").split("/")
    else:
        return node.name[:80]
    path = ""
    for seg in segments[:-1]:  # the last one is the op
        last = path.rsplit(".", 1)[-1]
        # a child of a Sequential is recorded as `downsample.0` under `downsample`
        path = f"{path[:len(path) - len(last)]}{seg}" if path and seg.startswith(last + ".") else \
            f"{path}.{seg}" if path else seg
    return path[:80]
