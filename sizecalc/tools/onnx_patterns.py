"""Patterns that span several ONNX nodes, made one node each before the nodes are mapped (`fuse`):
torch's exact GELU as opsets before 20 write it (its Erf chain) a Gelu, torchvision's channel
shuffle a `sizecalc.Shuffle`, and a module's self-attention (its projections, q.k, softmax and
weighted sum) a `sizecalc.Attention`; onnx_ops.py maps the nodes made. Reads the graph only:
no layers, no mapping state."""

from __future__ import annotations

from .onnx_layer import layer_id
from .onnx_read import OnnxGraph, OnnxNode


def fuse(g: OnnxGraph) -> list[OnnxNode]:
    """The nodes, with patterns that span nodes made one node each: torch's exact GELU as
    opsets before 20 write it (x / sqrt 2 -> Erf -> + 1 -> * x -> * 0.5) a Gelu, and a
    module's self-attention (see attention_region) a `sizecalc.Attention` node."""
    nodes = list(g.nodes)
    for n in nodes:  # an Identity of a stored weight (the exporter's shared tensors) is that weight
        if n.op == "Identity" and n.inputs and n.inputs[0] in g.weights:
            g.weights[n.outputs[0]] = g.weights[n.inputs[0]]
    made = {t: i for i, n in enumerate(nodes) for t in n.outputs}
    users: dict = {}
    for i, n in enumerate(nodes):
        for t in n.inputs:
            users.setdefault(t, []).append(i)
    put: dict = {}

    def sole(t):
        u = users.get(t, [])
        return u[0] if len(u) == 1 and t not in g.outputs else None

    def other(n, t):
        return n.inputs[1] if n.inputs[0] == t else n.inputs[0]

    def near(t, v):
        c = g.constants.get(t)
        return c is not None and len(c) == 1 and abs(c[0] - v) < 1e-4

    for e, erf in enumerate(nodes):
        d = made.get(erf.inputs[0]) if erf.op == "Erf" and erf.inputs else None
        if d is None or nodes[d].op != "Div" or not near(nodes[d].inputs[1], 2 ** 0.5) or sole(erf.inputs[0]) != e:
            continue
        x = nodes[d].inputs[0]
        a = sole(erf.outputs[0])
        if a is None or nodes[a].op != "Add" or not near(other(nodes[a], erf.outputs[0]), 1.0):
            continue
        m1 = sole(nodes[a].outputs[0])
        if m1 is None or nodes[m1].op != "Mul" or other(nodes[m1], nodes[a].outputs[0]) != x:
            continue
        m2 = sole(nodes[m1].outputs[0])
        if m2 is None or nodes[m2].op != "Mul" or not near(other(nodes[m2], nodes[m1].outputs[0]), 0.5):
            continue
        last = nodes[m2]
        put.update(dict.fromkeys((d, e, a, m1)))
        put[m2] = OnnxNode("Gelu", last.name, [x], list(last.outputs), {}, last.domain, last.scope)
    fuse_shuffle(g, nodes, sole, put)
    fuse_attention(g, nodes, made, users, put)
    return [put.get(i, n) for i, n in enumerate(nodes) if put.get(i, n) is not None]


def fuse_shuffle(g: OnnxGraph, nodes: list[OnnxNode], sole, put: dict) -> None:
    """torchvision's channel_shuffle: x.view(b, g, c // g, *spatial), transpose(1, 2), view
    (b, c, *spatial), as Reshape (stored target), Transpose [0, 2, 1, ...], Reshape: one node."""
    for r, first in enumerate(nodes):
        target = g.constants.get(first.inputs[1]) if first.op == "Reshape" and len(first.inputs) > 1 else None
        if r in put or not target or len(target) < 4:
            continue
        t = sole(first.outputs[0])
        if t is None or nodes[t].op != "Transpose" or \
                list(nodes[t].attrs.get("perm") or []) != [0, 2, 1, *range(3, len(target))]:
            continue
        last = sole(nodes[t].outputs[0])
        back = g.constants.get(nodes[last].inputs[1]) if last is not None and nodes[last].op == "Reshape" \
            and len(nodes[last].inputs) > 1 else None
        groups, per = int(target[1]), int(target[2])
        if not back or len(back) != len(target) - 1 or groups < 1 or per < 1 or \
                back[1] not in (-1, groups * per) or list(back[2:]) != list(target[3:]) or min(target[3:]) < 1:
            continue
        put.update(dict.fromkeys((r, t)))
        put[last] = OnnxNode("sizecalc.Shuffle", first.name, [first.inputs[0]], list(nodes[last].outputs),
                             {"groups": groups}, first.domain, first.scope)


def fuse_attention(g: OnnxGraph, nodes: list[OnnxNode], made: dict, users: dict, put: dict) -> None:
    """Each Softmax's module (or the nearest module above it) that is a self-attention region
    becomes one node in `put` (its other nodes None)."""
    ids = [layer_id(n) for n in nodes]
    static = static_tensors(g, nodes)
    for s, soft in enumerate(nodes):
        if soft.op != "Softmax" or s in put:
            continue
        path = ids[s]
        while path:
            region = [i for i, p in enumerate(ids) if (p == path or p.startswith(path + ".")) and i not in put]
            found = attention_region(g, nodes, region, static, users)
            if found:
                x, out, heads, bias = found
                put.update(dict.fromkeys(region))
                at = made[out]
                name = "/" + "/".join(path.split(".")) + "/Attention"  # named by the module: its id
                put[at] = OnnxNode("sizecalc.Attention", name, [x], [out], {"heads": heads, "bias": bias})
                break
            path = path.rsplit(".", 1)[0] if "." in path else ""


def static_tensors(g: OnnxGraph, nodes: list[OnnxNode]) -> set:
    """Tensors computed from shapes and constants only (the exporter's size arithmetic)."""
    static = set(g.weights)
    for n in nodes:
        if n.op in ("Shape", "Constant") or all(t in static for t in n.inputs if t):
            static.update(n.outputs)
    return static


def attention_region(g: OnnxGraph, nodes, region: list[int], static: set, users: dict):
    """The nodes of one module that compute self-attention on one tensor: one data input, one
    output used outside, one Softmax between two MatMuls of data (q.k, then the weighted sum
    of v), and stored projections that are exactly q, k, v and output ones of C channels
    (4*C*C weights, as one 3C x C and one C x C, or four C x C; 4*C biases or none). Returns
    (input, output, heads, bias) or None. The heads are read from a reshape to (.., heads, ..,
    C/heads); 1 where none is found (they change no params or MACs)."""
    inside = set(region)
    made = {t for i in region for t in nodes[i].outputs}
    data = {t for i in region for t in nodes[i].inputs if t and t not in made and t not in static}
    outs = [t for i in region for t in nodes[i].outputs
            if t in g.outputs or any(u not in inside for u in users.get(t, []))]
    ops = [nodes[i].op for i in region]
    if len(data) != 1 or len(outs) != 1 or ops.count("Softmax") != 1:
        return None
    if sum(1 for i in region if nodes[i].op == "MatMul" and
           not any(t in g.weights for t in nodes[i].inputs)) != 2:
        return None
    matrices, vectors = [], []
    for i in region:
        if nodes[i].op not in ("MatMul", "Gemm", "Add") or all(t in static for t in nodes[i].inputs if t):
            continue  # size arithmetic (the exporter's) reads constants only
        for t in nodes[i].inputs:
            dims = g.weights.get(t)
            if dims:
                (matrices if len(dims) == 2 else vectors if len(dims) == 1 else []).append(dims)
    total = sum(a * b for a, b in matrices)
    c = int(round((total / 4) ** 0.5))
    if not c or 4 * c * c != total or any(c not in dims for dims in matrices) or \
            len(vectors) != len(matrices) or sum(v[0] for v in vectors) not in (0, 4 * c) or \
            any(len(v) != 1 for v in vectors) or not matrices:
        return None
    heads = 1
    for i in region:
        target = g.constants.get(nodes[i].inputs[1]) if nodes[i].op == "Reshape" else None
        if target and len(target) == 4 and target[3] > 0 and c % target[3] == 0:
            if target[1] * target[3] == c or target[2] * target[3] == c:
                heads = c // target[3]
                break
    return data.pop(), outs[0], heads, bool(vectors)
