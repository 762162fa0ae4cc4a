"""`sizecalc import model.onnx` and `sizecalc table|lint|inputs|draw model.onnx`: ONNX files
made here with torch.onnx.export from the small modules of tests/onnx_nets.py (nothing
downloaded or stored), and hostile files built byte by byte.

The figures asserted are torch's own: params = the elements of the weights the file stores
(sum of the initializers' sizes, running statistics left out), MACs = FlopCounterMode's total
// 2 on the source module, per-layer output shapes from forward hooks on the source module.
"""

from __future__ import annotations

import os
import random
import warnings

import pytest
from click.testing import CliRunner

onnx = pytest.importorskip("onnx", reason="the ONNX import needs the onnx extra: pip install 'sizecalc[onnx]'")
torch = pytest.importorskip("torch", reason="ONNX files are made at test time with torch.onnx.export")

from onnx import TensorProto, helper  # noqa: E402

from sizecalc.cli import main  # noqa: E402
from sizecalc.engine.walk import analyze  # noqa: E402
from sizecalc.spec.writer import sanitise  # noqa: E402
from sizecalc.tools.onnx_import import load_onnx  # noqa: E402

from onnx_nets import (Mixed, Strided, TinyConvNeXt, TinyResNet, TinySegmentation, TinyShuffle,  # noqa: E402
                       TinyViT, randomized)


def run(*args):
    result = CliRunner().invoke(main, list(map(str, args)))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def export(module, shape, path, dynamo=False, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(1, *shape),), str(path), dynamo=dynamo,
                          opset_version=18 if dynamo else 17, **kw)
    return str(path)


def measure(module, shape) -> dict:
    """MACs (FlopCounterMode // 2) and every leaf module's output shape (batch left out, C first)."""
    from torch.utils.flop_counter import FlopCounterMode
    shapes = {}

    def hook(name):
        def record(mod, args, out):
            shapes.setdefault(sanitise(name), tuple(out.shape[1:]))  # the first call of a module used twice
        return record

    for name, child in module.named_modules():
        if name and not list(child.children()):
            child.register_forward_hook(hook(name))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module.eval()(torch.zeros(1, *shape))
    return {"macs": counter.get_total_flops() // 2, "shapes": shapes}


def stored_params(path) -> int:
    """Elements of the weights the file stores: initializers, bn running statistics left out."""
    model = onnx.load(path)
    stats = {n.input[i] for n in model.graph.node if n.op_type == "BatchNormalization" for i in (3, 4)}
    total = 0
    for t in model.graph.initializer:
        if t.name not in stats and len(t.dims) >= 1 and t.data_type == TensorProto.FLOAT:
            n = 1
            for d in t.dims:
                n *= d
            total += n
    return total


@pytest.fixture(scope="module")
def resnet_file(tmp_path_factory):
    torch.manual_seed(0)
    module = randomized(TinyResNet())
    return module, export(module, (3, 32, 32), tmp_path_factory.mktemp("onnx") / "tiny_resnet.onnx")


def test_resnet_params_macs_and_shapes_are_torchs(resnet_file):
    module, path = resnet_file
    report = analyze(load_onnx(path))
    ref = measure(module, (3, 32, 32))
    # the exporter folds each bn into its conv: the file stores conv weights + a bias per filter
    # conv1 8*3*7*7 + 8, layer1.conv1 16*8*9 + 16, conv2 16*16*9 + 16, downsample 16*8 + 16, fc 16*10 + 10
    assert report.totals.params == stored_params(path) == 1184 + 1168 + 2320 + 144 + 170 == 4986
    assert report.totals.macs == ref["macs"] == 358_560
    rows = {row.id: tuple(row.output) for row in report.rows}
    compared = {name: shape for name, shape in ref["shapes"].items() if name in rows}
    # every module that survives the export (bns are folded away) has its row and its shape
    assert set(compared) == {"conv1", "relu", "maxpool", "layer1_conv1", "layer1_relu", "layer1_conv2",
                             "layer1_downsample_0", "avgpool", "fc"}
    assert all(rows[name] == shape for name, shape in compared.items()), (rows, compared)


def test_import_writes_a_spec_that_sizes_as_the_file(resnet_file, tmp_path):
    _, path = resnet_file
    spec = tmp_path / "spec.yaml"
    assert run("import", path, "-o", spec).exit_code == 0
    text = spec.read_text()
    assert "no BatchNormalization" in text  # the note: the source's bns are folded into the convs
    direct, written = run("table", path, "--format", "json"), run("table", spec, "--format", "json")
    assert direct.exit_code == written.exit_code == 0
    import json
    assert json.loads(direct.output)["totals"] == json.loads(written.output)["totals"]


def test_batch_norm_kept_when_not_folded(tmp_path):
    torch.manual_seed(0)
    module = TinyResNet()
    path = export(module, (3, 32, 32), tmp_path / "bn.onnx", do_constant_folding=False)
    report = analyze(load_onnx(path))
    assert sum(row.op == "bn" for row in report.rows) == 4
    # unfolded, the file stores exactly the module's parameters and buffers
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    assert report.totals.macs == measure(module, (3, 32, 32))["macs"]


def test_strided_conv_stride_1_pool_one_tensor_concat_and_mean(tmp_path):
    torch.manual_seed(0)
    module = Strided()
    report = analyze(load_onnx(export(module, (3, 8, 8), tmp_path / "strided.onnx")))
    ref = measure(module, (3, 8, 8))
    # conv (3*3*3 + 1)*8 = 224, fc (8 + 1)*5 = 45; MACs 4*4*8*27 = 3,456 + 8*5 = 40
    assert report.totals.params == 224 + 45 == sum(p.numel() for p in module.parameters())
    assert report.totals.macs == 3456 + 40 == ref["macs"]
    rows = {row.id: tuple(row.output) for row in report.rows}
    assert rows["conv"] == ref["shapes"]["conv"] == (8, 4, 4)  # floor((8 + 2 - 3)/2) + 1
    assert rows["pool"] == ref["shapes"]["pool"] == (8, 4, 4)  # stride 1, padding 1: the size kept
    assert rows["fc"] == ref["shapes"]["fc"] == (5,)


def test_mixed_ops_map_with_torchs_figures(tmp_path):
    # torch's dynamo exporter (it needs onnxscript) writes chunk and pad with constant sizes,
    # where the TorchScript one computes them from Shape nodes
    pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")
    torch.manual_seed(0)
    module = Mixed()
    path = export(module, (3, 8, 8), tmp_path / "mixed.onnx", dynamo=True)
    report = analyze(load_onnx(path))
    ref = measure(module, (3, 8, 8))
    assert report.totals.params == sum(p.numel() for p in module.parameters()) == 1368  # dil and dil2: 296 each
    assert report.totals.macs == ref["macs"]
    ops = [row.op for row in report.rows]
    for kind in ("relu6", "resize", "conv_transpose", "concat", "split", "pad", "hardswish", "hardsigmoid",
                 "mul", "sigmoid", "avgpool", "leaky_relu", "global_avgpool", "flatten", "fc", "layernorm",
                 "tanh", "softmax"):
        assert kind in ops, kind
    rows = {row.id: tuple(row.output) for row in report.rows}
    for name in ("conv", "up", "resize", "pool", "fc", "norm", "head"):
        assert rows[name] == ref["shapes"][name], name


def math_macs(module, shape) -> int:
    """FlopCounterMode // 2 with grad enabled and attention on the math kernel (counted as
    matmuls; no_grad would take nn.MultiheadAttention's fused path)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        module.eval()(torch.zeros(1, *shape))
    return counter.get_total_flops() // 2


def test_convnext_block_permutes_layer_norm_linear_gelu_and_layer_scale(tmp_path):
    torch.manual_seed(0)
    module = TinyConvNeXt()
    path = export(module, (3, 16, 16), tmp_path / "convnext.onnx")
    report = analyze(load_onnx(path))
    # stem 8*3*16 + 8, dwconv 8*49 + 8, norm 16, fc1 8*32 + 32, fc2 32*8 + 8, layer scale 8, head 8*5 + 5
    assert report.totals.params == stored_params(path) == sum(p.numel() for p in module.parameters()) == 1413
    assert report.totals.macs == math_macs(module, (3, 16, 16))
    rows = {row.id: (row.op, tuple(row.output)) for row in report.rows}
    # the permutes are no layers; LayerNorm over channels last is sizecalc's layernorm on C x H x W,
    # the Linears at each position 1x1 convs, torch's exact GELU (Div, Erf, Add, Mul, Mul) one gelu
    assert rows["norm"] == ("layernorm", (8, 4, 4)) and rows["fc1"] == ("conv", (32, 4, 4))
    assert rows["gelu"] == ("gelu", (32, 4, 4)) and rows["fc2"] == ("conv", (8, 4, 4))
    assert [op for op, _ in rows.values()].count("layer_scale") == 1 and rows["head"] == ("fc", (5,))


@pytest.mark.parametrize("attention", ["mha", "hand"])
def test_vit_tokens_class_token_position_embedding_attention(tmp_path, attention):
    torch.manual_seed(0)
    module = TinyViT(attention)
    with torch.no_grad():  # no two equal tensors (the exporter stores those once: ones, zeros)
        for p in module.parameters():
            p.uniform_(0.5, 1.5)
    path = export(module, (3, 16, 16), tmp_path / f"vit_{attention}.onnx")
    report = analyze(load_onnx(path))
    # conv 12*3*16 + 12 = 588, class token 12, position embedding 17*12 = 204, attention
    # 4*12*12 + 4*12 = 624, 3 layer norms 24 each, mlp 12*24 + 24 + 24*12 + 12 = 612, head 65
    assert report.totals.params == stored_params(path) == sum(p.numel() for p in module.parameters()) == 2177
    assert report.totals.macs == math_macs(module, (3, 16, 16))
    ops = {row.op: (row.id, tuple(row.output)) for row in report.rows}
    assert ops["tokens"][1] == (12, 16) and ops["class_token"][1] == ops["position_embedding"][1] == (12, 17)
    # the attention module's nodes (Transpose, Reshape, MatMul, Div or Mul, Softmax, Gemm ...) as one layer
    assert ops["attention"][0].startswith("attn") and ops["attention"][1] == (12, 17)
    assert ops["select_token"][1] == (12,) and ops["fc"][1] == (5,)
    heads = [n for n in load_onnx(path).nodes if n.kind.name == "attention"][0].args["heads"]
    assert heads == 3


def grad_macs(module, shape) -> int:
    """FlopCounterMode's total // 2, grad enabled."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        module.eval()(torch.zeros(1, *shape))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("how", ["chunk", "split"])
def test_shufflenet_unit_chunk_and_channel_shuffle(tmp_path, how):
    torch.manual_seed(0)
    module = TinyShuffle(how)
    path = export(module, (3, 8, 8), tmp_path / f"shuffle_{how}.onnx")
    # chunk: two Slices whose bounds are (C + 1) / 2 * k read from the input's Shape; split: one
    # Split of stored sizes; the shuffle: Reshape (1, 2, 4, 4, 4), Transpose, Reshape (1, 8, 4, 4)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ("Slice" in ops and "Split" not in ops) if how == "chunk" else ("Split" in ops and "Slice" not in ops)
    report = analyze(load_onnx(path))
    # stem 8*27 + 8 = 224, branch 4*4 + 4 = 20, fc 8*5 + 5 = 45; MACs 16*8*27 = 3,456 + 16*4*4 = 256 + 40
    assert report.totals.params == stored_params(path) == sum(p.numel() for p in module.parameters()) == 289
    assert report.totals.macs == grad_macs(module, (3, 8, 8)) == 3456 + 256 + 40
    kinds = [(row.op, tuple(row.output)) for row in report.rows]
    assert kinds.count(("split", (4, 4, 4))) == 2 and ("shuffle", (8, 4, 4)) in kinds and ("fc", (5,)) in kinds
    spec = run("import", path).output
    assert "split: 2}" in spec and "split: 2, part: 1}" in spec and "shuffle: 2}" in spec


def test_other_slices_stay_listed(tmp_path):
    class Odd(torch.nn.Module):
        def forward(self, x):  # channels 1 to 3 of 4: no equal part; the first rows
            return torch.relu(x[:, 1:3]), torch.relu(x[:, :, :2])
    result = run("table", export(Odd(), (4, 4, 4), tmp_path / "odd_slice.onnx"))
    assert result.exit_code == 1 and "node '/Slice'" in result.output and "node '/Slice_1'" in result.output


def test_segmentation_resize_to_another_tensors_size(tmp_path):
    torch.manual_seed(0)
    module = TinySegmentation()
    # conv 4*27 + 4 = 112, project 4*4 + 4 = 20, classifier 3*8 + 3 = 27; MACs at 8x8: 16*4*27 = 1,728,
    # 4*4 (the pooled 1x1), 16*3*8 = 384
    fixed = export(module, (3, 8, 8), tmp_path / "seg.onnx")
    dynamic = export(module, (3, 8, 8), tmp_path / "seg_dyn.onnx", input_names=["x"],
                     dynamic_axes={"x": {2: "h", 3: "w"}})
    # the fixed file's sizes are numbers; the dynamic one's read from Shape nodes: `like:` the tensor
    assert "size: 4}" in run("import", fixed).output
    spec = run("import", dynamic, "--input", "3x8x8").output
    assert "{id: resize, resize, like: relu}" in spec and "{id: resize_2, resize, like: input}" in spec
    for report, shape in ((analyze(load_onnx(fixed)), (3, 8, 8)), (analyze(load_onnx(dynamic, (3, 8, 8))), (3, 8, 8)),
                          (analyze(load_onnx(dynamic, (3, 16, 12))), (3, 16, 12))):
        ref = measure(module, shape)
        assert report.totals.params == sum(p.numel() for p in module.parameters()) == 159
        assert report.totals.macs == grad_macs(module, shape)
        rows = {row.id: tuple(row.output) for row in report.rows}
        assert rows["resize"] == (4, *ref["shapes"]["conv"][1:]) and rows["resize_2"] == (3, *shape[1:])
        assert rows["classifier"] == ref["shapes"]["classifier"]
    assert analyze(load_onnx(fixed)).totals.macs == 1728 + 16 + 384


def test_other_transposes_stay_listed(tmp_path):
    class Odd(torch.nn.Module):
        def forward(self, x):
            return torch.relu(x.permute(0, 3, 2, 1))
    result = run("table", export(Odd(), (3, 4, 5), tmp_path / "odd_t.onnx"))
    assert result.exit_code == 1 and "Transpose" in result.output and "[0, 3, 2, 1]" in result.output


def test_dynamic_spatial_size_needs_input(tmp_path):
    path = export(TinyResNet(), (3, 32, 32), tmp_path / "dyn.onnx",
                  input_names=["x"], dynamic_axes={"x": {0: "batch", 2: "h", 3: "w"}})
    result = run("table", path)
    assert result.exit_code == 2 and "--input" in result.output and len(result.output.strip().splitlines()) == 1
    fixed = run("table", path, "--input", "3x64x64", "--format", "json")
    assert fixed.exit_code == 0
    import json
    # 64x64 has 4 times the positions of 32x32 in every conv; fc's 160 MACs do not grow
    assert json.loads(fixed.output)["totals"]["macs"] == (358_560 - 160) * 4 + 160


def test_batch_axis_is_free(tmp_path):
    path = export(TinyResNet(), (3, 32, 32), tmp_path / "batch.onnx",
                  input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    assert run("table", path).exit_code == 0


def test_unmappable_op_is_listed_by_name_and_node(tmp_path):
    class Odd(torch.nn.Module):
        def forward(self, x):
            return torch.erf(torch.nn.functional.relu(x))
    result = run("table", export(Odd(), (3, 4, 4), tmp_path / "odd.onnx"))
    assert result.exit_code == 1
    assert "Erf" in result.output and "node '/Erf'" in result.output and "[unsupported-op]" in result.output


def test_other_commands_read_onnx(resnet_file):
    _, path = resnet_file
    assert run("lint", path).exit_code == 0
    assert run("inputs", path, "--range", "31:33").exit_code == 0
    assert run("draw", path).output.startswith("<svg")


# --- hostile files: one line each, exit 2 (1 for an op sizecalc cannot map) -------------------

def model_bytes(nodes, inputs=None, opset=17, initializers=()) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                   [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return model.SerializeToString()


def one_line(tmp_path, data: bytes, code: int = 2, name: str = "bad.onnx", *args) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    result = run("table", path, *args)
    assert result.exit_code == code, result.output
    lines = result.output.strip().split("\n")
    assert len(lines) == 1 and "\x1b" not in result.output, result.output
    return lines[0]


def test_truncated_file(resnet_file, tmp_path):
    data = open(resnet_file[1], "rb").read()
    assert "is not an ONNX model" in one_line(tmp_path, data[: len(data) // 2])




@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes_are_not_a_model(tmp_path, seed):
    data = random.Random(seed).randbytes(4096)
    assert "is not an ONNX model" in one_line(tmp_path, data)


def varint(n: int) -> bytes:
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def with_graph_bytes(extra: bytes) -> bytes:
    """A valid model (one input x) whose GraphProto has `extra` appended (ModelProto.graph is field 7)."""
    model = onnx.load_from_string(model_bytes([]))
    graph = model.graph.SerializeToString() + extra
    model.ClearField("graph")
    return model.SerializeToString() + field(7, graph)


def test_a_million_nodes_are_refused(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"]).SerializeToString()
    line = one_line(tmp_path, with_graph_bytes(field(1, node) * 10 ** 6))  # GraphProto.node is field 1
    assert "1,000,000 nodes" in line and "[too-many-nodes]" in line


def int_constant(name: str, values, kind=TensorProto.INT64):
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name, kind, [len(values)], values))


@pytest.mark.parametrize("case", ["divide_by_0", "inf_bound", "3000_steps"])
def test_size_arithmetic_that_does_not_evaluate_is_listed(tmp_path, case):
    """Slice and Resize bounds read from Shape nodes: a division by 0, an infinite bound, a
    chain of 3,000 multiplications (8 steps are followed) are unmapped ops, exit 1."""
    shape_of_x = [helper.make_node("Shape", ["x"], ["s0"])]
    nodes = {
        "divide_by_0": shape_of_x + [int_constant("one", [1]), helper.make_node("Gather", ["s0", "one"], ["c"]),
                                     int_constant("zero", [0]), helper.make_node("Div", ["c", "zero"], ["end"]),
                                     helper.make_node("Slice", ["x", "zero", "end", "one"], ["y"])],
        "inf_bound": [int_constant("zero", [0]), int_constant("one", [1]),
                      int_constant("end", [float("inf")], TensorProto.FLOAT),
                      helper.make_node("Slice", ["x", "zero", "end", "one"], ["y"])],
        "3000_steps": shape_of_x + [int_constant("k", [2])] +
        [helper.make_node("Mul", [f"s{i}", "k"], [f"s{i + 1}"]) for i in range(3000)] +
        [int_constant("axes", [0, 1, 2, 3]), helper.make_node("Gather", ["s3000", "axes"], ["sizes"]),
         helper.make_node("Resize", ["x", "", "", "sizes"], ["y"])],
    }[case]
    line = one_line(tmp_path, model_bytes(nodes), 1)
    assert ("Slice" if case != "3000_steps" else "Resize") in line and "[unsupported-op]" in line


def test_a_dimension_of_2_to_the_62(tmp_path):
    huge = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 2 ** 62, 8])]
    assert "dimension of 4,611,686,018,427,387,904" in one_line(
        tmp_path, model_bytes([helper.make_node("Relu", ["x"], ["y"])], huge))
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2 ** 62, 3, 1, 1])  # claims, holds nothing
    assert "[too-large]" in one_line(tmp_path, model_bytes([helper.make_node("Conv", ["x", "w"], ["y"])],
                                                           initializers=[weight]))


def test_a_cycle_is_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])]
    assert "[graph-order]" in one_line(tmp_path, model_bytes(nodes))


def test_an_unknown_opset_is_refused(tmp_path):
    assert "[unknown-opset]" in one_line(tmp_path, model_bytes([helper.make_node("Relu", ["x"], ["y"])],
                                                               opset=999))


def test_control_characters_in_names_are_escaped(tmp_path):
    node = helper.make_node("Evil\x1b[31m\nop", ["x"], ["y"], name="n\x1b]0;title\x07\nrm -rf")
    line = one_line(tmp_path, model_bytes([node]), code=1)
    assert "[unsupported-op]" in line and "\\x1b" in line and "\\n" in line


def test_static_path_never_imports_onnx():
    import subprocess
    import sys
    code = ("import sys; from click.testing import CliRunner; from sizecalc.cli import main; "
            "r = CliRunner().invoke(main, ['table', 'vgg16']); assert r.exit_code == 0; "
            "print('onnx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_subgraphs_are_not_entered(tmp_path):
    inner = helper.make_graph([helper.make_node("Relu", ["x"], ["z"])], "inner", [],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
    node = helper.make_node("If", ["x"], ["y"], name="branch", then_branch=inner, else_branch=inner)
    line = one_line(tmp_path, model_bytes([node]), code=1)
    assert "If (a subgraph)" in line and "node 'branch'" in line


def test_subgraphs_nested_past_protobufs_limit_are_refused(tmp_path):
    # an If whose then_branch holds an If ... 200 deep, written as protobuf bytes (onnx's own
    # classes cannot even hold it): NodeProto op_type 4, attribute 5; AttributeProto name 1,
    # type 20 (GRAPH = 5), g 6; GraphProto node 1
    graph = b""
    for _ in range(200):
        attribute = field(1, b"then_branch") + b"\xa0\x01\x05" + field(6, graph)
        graph = field(1, field(4, b"If") + field(5, attribute))
    assert "is not an ONNX model" in one_line(tmp_path, with_graph_bytes(graph))


# --- torchvision through ONNX, where torchvision is importable (not in CI) ------------------
# torch.onnx.export (TorchScript, opset 17, eval mode) folds each BatchNormalization into the
# conv before it: the conv gains a bias of C (VGG's bn variants: its convs have one already)
# and the bn's 2*C params (weight, bias) and its 2*C + 1 buffers (running statistics,
# num_batches_tracked) are gone. So against the built-in spec: params = built-in - C per
# folded bn (half its params) - C more per bn after a conv with a bias, buffers = built-in -
# the folded bns' buffers; MACs and the output equal. A segmentation model returns a dict:
# its ['out'] is exported. Export is the slow part (resnet18 about 2 s, vgg19_bn about 10 s,
# vit_l_16 about 40 s on two shared cores): QUICK by default, SIZECALC_ONNX_ZOO=all for every
# network listed here (those that import; see README.md, `Importing ONNX`, for the ones that do not).
ONNX_ZOO = ["alexnet", "vgg16", "vgg19_bn", "resnet18", "resnet50", "resnet101", "resnext50_32x4d",
            "wide_resnet50_2", "squeezenet1_0", "squeezenet1_1", "googlenet", "inception_v3", "mobilenet_v2",
            "mobilenet_v3_small", "mobilenet_v3_large", "mnasnet1_0", "efficientnet_b0", "efficientnet_b1",
            "efficientnet_b2", "efficientnet_b3", "regnet_y_400mf", "regnet_x_400mf", "densenet121",
            "shufflenet_v2_x1_0", "r3d_18", "r2plus1d_18", "mc3_18", "s3d", "convnext_tiny", "convnext_small",
            "vit_b_16", "vit_b_32", "vit_l_16", "fcn_resnet50", "deeplabv3_resnet50",
            "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]
ONNX_QUICK = ["resnet18", "googlenet", "mobilenet_v3_small", "shufflenet_v2_x1_0", "lraspp_mobilenet_v3_large"]


class SegmentationOut(torch.nn.Module):
    """A torchvision segmentation model's output dict -> its ['out'] (what ONNX can return)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


@pytest.mark.parametrize("name", ONNX_ZOO if os.environ.get("SIZECALC_ONNX_ZOO") == "all" else ONNX_QUICK)
def test_torchvision_through_onnx_matches_the_built_in_spec(name, tmp_path):
    pytest.importorskip("torchvision.models")
    from test_import_torch import ZOO, _factory
    import sizecalc
    shape = ZOO[name] or (3, 224, 224)
    model = _factory(name)()
    if "segmentation" in type(model).__module__:
        model = SegmentationOut(model)
    # grad enabled: under no_grad nn.MultiheadAttention takes a fused path no exporter writes
    path = export(model, shape, tmp_path / f"{name}.onnx")
    imported, built_in = analyze(load_onnx(path)), sizecalc.analyze(name)
    def bn_sums(report):
        bns = [row for row in report.rows if row.op == "bn"]
        return sum(row.params for row in bns), sum(row.buffers for row in bns)
    # a bn after a concat or before its conv (DenseNet's) has no conv to fold into: it stays
    (params_b, buffers_b), (params_i, buffers_i) = bn_sums(built_in), bn_sums(imported)
    folded_params, folded_buffers = (params_b - params_i) // 2, buffers_b - buffers_i
    rows = {row.id: row for row in built_in.rows}
    biased = sum(row.biases for row in built_in.rows if row.op == "bn" and len(row.inputs) == 1 and
                 rows.get(row.inputs[0]) is not None and rows[row.inputs[0]].op == "conv" and
                 rows[row.inputs[0]].biases)
    assert (imported.totals.params, imported.totals.buffers, imported.totals.macs, tuple(imported.output)) == \
        (built_in.totals.params - folded_params - biased, built_in.totals.buffers - folded_buffers,
         built_in.totals.macs, tuple(built_in.output))
