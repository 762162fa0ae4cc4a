"""The torch backend: every layer kind as the torch module it should be, every built-in network
checked layer by layer against torch, and `sizecalc check` end to end.

Figures asserted are torch's own behaviour, torchvision's published parameter counts, or
arithmetic done by hand in the comments; never numbers copied from sizecalc's output.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402

import sizecalc  # noqa: E402
from sizecalc.torch import backend as torch_backend  # noqa: E402
from sizecalc.cli import main  # noqa: E402
from sizecalc.engine.walk import analyze  # noqa: E402
from sizecalc.layers import REGISTRY  # noqa: E402
from sizecalc.spec import loads, zoo  # noqa: E402
from zoo_sample import every_network  # noqa: E402
from sizecalc.torch.backend import build_module, check, estimate_bytes  # noqa: E402

# torchvision's documented parameter counts (https://pytorch.org/vision/stable/models.html)
TORCHVISION_PARAMS = {
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg16": 138_357_544, "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240, "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "resnext50_32x4d": 25_028_904,
    "wide_resnet50_2": 68_883_240, "googlenet": 6_624_904, "inception_v3": 23_834_568,
    "mobilenet_v2": 3_504_872, "mobilenet_v3_large": 5_483_032, "densenet121": 7_978_856,
    "squeezenet1_0": 1_248_424, "squeezenet1_1": 1_235_496, "efficientnet_b0": 5_288_548,
    "shufflenet_v2_x1_0": 2_278_604,
}
REAL_CPU_MACS = 2_000_000_000  # networks below this run a real forward/backward on the CPU
REAL_CPU_BYTES = 200 * 2 ** 20


def one(layer_yaml: str, input_shape: str = "[3, 8, 8]"):
    """A one-layer graph from YAML text."""
    return loads(f"sizecalc: 1\ninput: {input_shape}\nlayers:\n  - {layer_yaml}\n")


def node_module(graph, index: int = 0):
    return list(build_module(graph).nodes.values())[index]


def forward(graph, x=None):
    module = build_module(graph).eval()
    x = torch.randn(1, *graph.input_shape) if x is None else x
    with torch.no_grad():
        return module(x)


def static_or_skip(name):
    graph = sizecalc.load(name)
    report = analyze(graph)
    if report.errors():
        pytest.skip(f"{name} does not size statically yet (`sizecalc lint {name}` says why)")
    return graph, report


# -- every layer kind --------------------------------------------------------------------

def test_every_layer_kind_has_a_torch_builder():
    assert [name for name, kind in REGISTRY.items() if kind.torch is None] == []


def test_conv_args_reach_torch():
    conv = node_module(one("{conv: 16, kernel: [3, 5], stride: 2, padding: [1, 2], dilation: 2, bias: false}",
                           "[4, 33, 33]"))
    assert isinstance(conv, nn.Conv2d)
    assert (conv.in_channels, conv.out_channels) == (4, 16)
    assert conv.kernel_size == (3, 5) and conv.stride == (2, 2) and conv.padding == (1, 2)
    assert conv.dilation == (2, 2) and conv.bias is None


@pytest.mark.parametrize("n, cls", [(1, nn.Conv1d), (2, nn.Conv2d), (3, nn.Conv3d)])
def test_conv_dimensions(n, cls):
    graph = one("{conv: 4, kernel: 3, padding: 1}", str([2] + [6] * n))
    assert isinstance(node_module(graph), cls)
    assert forward(graph).shape == (1, 4, *[6] * n)  # (6 - 3 + 2)/1 + 1 = 6


def test_depthwise_conv():
    # 8 channels, multiplier 2: 16 filters of 3x3x1 each, + 16 biases = 160 params
    conv = node_module(one("{conv: {depthwise: true, multiplier: 2}, kernel: 3, padding: 1}", "[8, 6, 6]"))
    assert conv.groups == 8 and conv.out_channels == 16
    assert sum(p.numel() for p in conv.parameters()) == 160


def test_uneven_conv_padding_pads_in_front():
    graph = one("{conv: 2, kernel: 3, padding: [[1, 2], [0, 1]]}", "[1, 8, 8]")
    module = node_module(graph)
    assert isinstance(module, nn.Sequential) and isinstance(module[0], nn.ZeroPad2d)
    # F.pad order: W (0, 1) first, then H (1, 2)
    assert module[0].padding == (0, 1, 1, 2) and module[1].padding == (0, 0)
    # H: (8 + 1 + 2 - 3)/1 + 1 = 9, W: (8 + 0 + 1 - 3)/1 + 1 = 7
    assert forward(graph).shape == (1, 2, 9, 7)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_is_torchs_same():
    graph = one("{conv: 2, kernel: 4, padding: same}", "[1, 7, 7]")
    assert node_module(graph).padding == "same"
    assert forward(graph).shape == (1, 2, 7, 7)


def test_conv_ceil_rounding_pads_the_end():
    # (8 - 3)/2 + 1 = 3.5 -> ceil 4: torch floors, so one more zero at the end
    graph = one("{conv: 1, kernel: 3, stride: 2, rounding: ceil}", "[1, 8]")
    assert forward(graph).shape == (1, 1, 4)


def test_exact_builds_the_same_module_as_floor():
    text = "{{conv: 8, kernel: 3, stride: 2, padding: 1, rounding: {r}}}"
    exact, floor = (node_module(one(text.format(r=r), "[3, 9, 9]")) for r in ("exact", "floor"))
    assert repr(exact) == repr(floor)
    text = "{{maxpool: 3, stride: 2, rounding: {r}}}"
    exact, floor = (node_module(one(text.format(r=r), "[3, 9, 9]")) for r in ("exact", "floor"))
    assert repr(exact) == repr(floor) and exact.ceil_mode is False


def test_pools():
    pool = node_module(one("{maxpool: 3, stride: 2, padding: 1, dilation: 1, rounding: ceil}", "[3, 10, 10]"))
    assert isinstance(pool, nn.MaxPool2d) and pool.ceil_mode and pool.kernel_size == (3, 3) and pool.padding == (1, 1)
    pool = node_module(one("{avgpool: 2, count_include_pad: false, padding: 1, rounding: floor}", "[3, 10]"))
    assert isinstance(pool, nn.AvgPool1d) and pool.count_include_pad is False and pool.stride == (2,)
    assert isinstance(node_module(one("maxpool: 2", "[1, 4, 4, 4]")), nn.MaxPool3d)


@pytest.mark.parametrize("op, count_include_pad, expected", [
    ("maxpool", True, [2.0, 4.0, 5.0]),   # [1 2] [3 4] [5 pad]: the pad never wins a max
    ("avgpool", True, [1.5, 3.5, 2.5]),   # (5 + 0)/2
    ("avgpool", False, [1.5, 3.5, 5.0]),  # 5/1: the pad is not counted
])
def test_uneven_pool_padding(op, count_include_pad, expected):
    # (5 + 0 + 1 - 2)/2 + 1 = 3
    extra = f", count_include_pad: {str(count_include_pad).lower()}" if op == "avgpool" else ""
    graph = one(f"{{{op}: 2, padding: [[0, 1]]{extra}}}", "[1, 5]")
    y = forward(graph, torch.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]))
    assert y.flatten().tolist() == expected


def test_global_and_adaptive_pools():
    assert isinstance(node_module(one("global_avgpool", "[8, 5, 5]")), nn.AdaptiveAvgPool2d)
    module = node_module(one("global_maxpool", "[8, 5]"))
    assert isinstance(module, nn.AdaptiveMaxPool1d) and module.output_size == 1
    module = node_module(one("{adaptive_avgpool: [2, 3]}", "[8, 7, 7]"))
    assert isinstance(module, nn.AdaptiveAvgPool2d) and tuple(module.output_size) == (2, 3)


def test_local_layer_is_the_lectures():
    # the lecture's unshared layer: 32x32x3 input, 30 filters of 5x5, pad 2 -> 32x32x30,
    # 32*32*30*5*5*3 = 2,304,000 weights and one bias per output element, 32*32*30 = 30,720
    graph = one("{local: 30, kernel: 5, padding: 2}", "[3, 32, 32]")
    module = node_module(graph)
    assert module.weight.numel() == 2_304_000 and module.bias.numel() == 30_720
    assert forward(graph).shape == (1, 30, 32, 32)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_local_layer_with_one_filter_everywhere_is_a_convolution(n):
    graph = one("{local: 3, kernel: 2, stride: 2, padding: 1}", str([2] + [6] * n))  # (6 - 2 + 2)/2 + 1 = 4
    local = node_module(graph)
    conv = getattr(nn, f"Conv{n}d")(2, 3, 2, stride=2, padding=1)
    with torch.no_grad():
        local.weight.copy_(conv.weight.reshape(1, 3, -1).expand_as(local.weight))
        local.bias.copy_(conv.bias.reshape(3, *[1] * n).expand_as(local.bias))
        x = torch.randn(2, 2, *[6] * n)
        assert torch.allclose(local(x), conv(x), atol=1e-6)


def test_fc_flattens_a_volume_only():
    module = node_module(one("{fc: 10}", "[3, 4, 4]"))
    assert isinstance(module[0], nn.Flatten) and isinstance(module[1], nn.Linear)
    assert (module[1].in_features, module[1].out_features) == (48, 10)
    module = node_module(loads("sizecalc: 1\ninput: [3, 4, 4]\nlayers: [flatten, {fc: 10, bias: false}]\n"), 1)
    assert isinstance(module, nn.Linear) and module.bias is None
    assert isinstance(node_module(one("flatten", "[3, 4, 4]")), nn.Flatten)


def test_norms():
    bn = node_module(one("{bn: {eps: 0.001, momentum: 0.01, affine: false, track_running_stats: false}}"))
    assert isinstance(bn, nn.BatchNorm2d) and bn.num_features == 3
    assert (bn.eps, bn.momentum, bn.affine, bn.track_running_stats) == (0.001, 0.01, False, False)
    assert isinstance(node_module(one("bn", "[3, 8]")), nn.BatchNorm1d)
    assert isinstance(node_module(one("bn", "[3, 4, 4, 4]")), nn.BatchNorm3d)
    gn = node_module(one("{groupnorm: 2, eps: 0.0001}", "[4, 8, 8]"))
    assert isinstance(gn, nn.GroupNorm) and (gn.num_groups, gn.num_channels, gn.eps) == (2, 4, 0.0001)
    lrn = node_module(one("{lrn: 5, alpha: 0.0001, beta: 0.75, k: 2}"))
    assert isinstance(lrn, nn.LocalResponseNorm) and (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 0.0001, 0.75, 2.0)


def test_activations_and_dropout():
    m = node_module(one("{relu: {inplace: true}}"))
    assert isinstance(m, nn.ReLU) and m.inplace
    m = node_module(one("{leaky_relu: 0.2}"))
    assert isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 and not m.inplace
    m = node_module(one("{elu: {alpha: 0.5, inplace: true}}"))
    assert isinstance(m, nn.ELU) and m.alpha == 0.5 and m.inplace
    for op, cls in (("relu6", nn.ReLU6), ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh), ("gelu", nn.GELU),
                    ("silu", nn.SiLU), ("hardswish", nn.Hardswish), ("hardsigmoid", nn.Hardsigmoid),
                    ("identity", nn.Identity)):
        assert type(node_module(one(op))) is cls, op
    m = node_module(one("{dropout: 0.3}"))
    assert isinstance(m, nn.Dropout) and m.p == 0.3
    graph = one("softmax", "[5, 2, 2]")
    assert isinstance(node_module(graph), nn.Softmax) and node_module(graph).dim == 1
    assert torch.allclose(forward(graph).sum(dim=1), torch.ones(1, 2, 2))  # over the channels


MERGES = """
sizecalc: 1
input: [4, 6, 6]
layers:
  - {id: a, conv: 4, kernel: 1}
  - {id: b, from: input, conv: 4, kernel: 1}
  - {id: sum, add: [a, b]}
  - {id: both, concat: [sum, a]}
  - {id: squeeze, global_avgpool}
  - {id: gate, sigmoid}
  - {id: scaled, mul: [both, gate]}
  - {id: half, split: 2, part: 1}
  - {id: mixed, shuffle: 2}
  - {id: big, upsample: [2, 3]}
"""


def test_merges_and_channel_ops_compute_what_they_say():
    graph = loads(MERGES)
    module = build_module(graph).eval()
    outs = {}
    for key, m in module.nodes.items():
        m.register_forward_hook(lambda mod, args, out, key=key: outs.__setitem__(key, (args, out)))
    with torch.no_grad():
        module(torch.randn(2, 4, 6, 6))
    (a, b), s = outs["sum"]
    assert torch.equal(s, a + b)
    (s, a), both = outs["both"]
    assert torch.equal(both, torch.cat([s, a], 1)) and both.shape == (2, 8, 6, 6)
    (both, gate), scaled = outs["scaled"]
    assert gate.shape == (2, 8, 1, 1) and torch.equal(scaled, both * gate)
    (scaled,), half = outs["half_"]  # `half` is a method of nn.Module: the key gets a `_`
    assert torch.equal(half, scaled[:, 4:])  # torch.chunk(x, 2, dim=1)[1]
    (half,), mixed = outs["mixed"]
    assert torch.equal(mixed, nn.ChannelShuffle(2)(half))  # torch's own channel shuffle
    (mixed,), big = outs["big"]
    assert torch.equal(big, mixed.repeat_interleave(2, dim=2).repeat_interleave(3, dim=3))


# -- the built-in networks ---------------------------------------------------------------

@pytest.mark.parametrize("name", every_network())
def test_zoo_agrees_with_torch(name):
    graph, report = static_or_skip(name)
    small = report.totals.macs <= REAL_CPU_MACS and report.totals.forward_bytes <= REAL_CPU_BYTES
    result = check(graph, device="cpu" if small else "meta", batch=1)
    assert result.error is None
    assert [r.id for r in result.layers if r.torch_shape != r.static_shape] == []
    assert result.static_params == result.torch_params
    assert result.ok
    if small:
        assert result.measured is not None or result.refused, result.run_error


@pytest.mark.parametrize("name", [n for n in zoo.names() if n in TORCHVISION_PARAMS])
def test_built_module_has_torchvisions_parameter_count(name):
    graph, _ = static_or_skip(name)
    module = build_module(graph, "meta")
    assert sum(p.numel() for p in module.parameters()) == TORCHVISION_PARAMS[name]
    with torch.no_grad():
        assert module.eval()(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1000)


def test_module_names_follow_the_ids():
    graph, _ = static_or_skip("resnet18") if "resnet18" in zoo.names() else pytest.skip("no resnet18")
    keys = list(build_module(graph, "meta").nodes)
    assert "layer1_0_conv1" in keys and len(keys) == len(set(keys)) == len(graph.nodes)


# -- mismatches ------------------------------------------------------------------------------

SMALL = """
sizecalc: 1
name: small
input: [3, 32, 32]
layers:
  - {id: conv1, conv: 12, kernel: 3, padding: 1}
  - {id: relu1, relu}
  - {id: pool1, maxpool: 2}
  - {id: fc1, fc: 10}
"""


def wrong_module(graph):
    module = build_module(graph, "meta")
    module.nodes["conv1"] = nn.Conv2d(3, 13, 3, padding=1, device="meta")  # 13 filters, not 12
    return module


def test_a_wrong_layer_is_named():
    graph = loads(SMALL)
    result = check(graph, device="meta", module=wrong_module(graph))
    assert not result.ok
    bad = result.mismatches()
    assert bad[0].id == "conv1"
    assert bad[0].torch_shape == (1, 13, 32, 32) and bad[0].static_shape == (1, 12, 32, 32)
    assert (bad[0].static_params, bad[0].torch_params) == ((27 + 1) * 12, (27 + 1) * 13)
    assert result.error_layer == "fc1"  # Linear(3072) then receives 13*16*16 = 3328


def test_cli_exits_1_on_a_mismatch(tmp_path, monkeypatch):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    monkeypatch.setattr(torch_backend, "build_module", lambda graph, device=None, report=None: wrong_module(graph))
    result = CliRunner().invoke(main, ["check", str(path), "--device", "meta"])
    assert result.exit_code == 1
    assert "mismatch at conv1" in result.output and "✗" in result.output


def test_cli_check_passes(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    result = CliRunner().invoke(main, ["check", str(path), "--device", "cpu", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "2x12x32x32" in result.output and "forward + backward on cpu" in result.output
    # --input: fc1 then sees 12 x 8 x 8 = 768 inputs: (768 + 1)*10 = 7,690 params
    result = CliRunner().invoke(main, ["check", str(path), "--device", "meta", "--input", "3x16x16"])
    assert result.exit_code == 0, result.output
    assert "7,690" in result.output


def test_cli_without_torch_says_how_to_get_it(tmp_path, monkeypatch):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    for args in (["check", str(path)], ["export", str(path), "--torch"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2
        assert "pip install sizecalc[torch]" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_one_clear_line(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    result = CliRunner().invoke(main, ["check", str(path), "--device", "cuda"])
    assert result.exit_code == 2
    assert "no CUDA GPU" in result.output and "Traceback" not in result.output


# -- the real pass -----------------------------------------------------------------------------

def test_estimate_by_hand():
    # the lecture's CIFAR net: params 336 + 30,730 = 31,066 (weights and gradients, fp32);
    # autograd keeps the conv's input 32*32*3, the relu's output 32*32*12 (also the pool's
    # input), the pool's int64 indices 16*16*12 and the fc's input 16*16*12
    report = sizecalc.analyze(loads(SMALL))
    saved = (32 * 32 * 3 + 32 * 32 * 12 + 16 * 16 * 12) * 4 + 16 * 16 * 12 * 8
    assert estimate_bytes(report) == 31_066 * 4 * 2 + saved


def test_refuses_what_does_not_fit_unless_forced(monkeypatch):
    graph = loads(SMALL)
    monkeypatch.setattr(torch_backend, "estimate_bytes", lambda report: 2 ** 60)
    result = check(graph, device="cpu")
    assert result.measured is None and "estimated to need" in result.refused and result.ok
    result = check(graph, device="cpu", force=True)
    assert result.refused is None and result.measured.seconds > 0


def test_other_dtypes():
    result = check(loads(SMALL), device="cpu", dtype="bf16", batch=2)
    assert result.ok and result.measured is not None, result.run_error


def test_a_network_without_parameters_still_runs_backward():
    graph = loads("sizecalc: 1\ninput: [3, 8, 8]\nlayers: [{relu: {inplace: true}}, {maxpool: 2}]\n")
    result = check(graph, device="cpu")
    assert result.ok and result.measured is not None, result.run_error


def test_meta_runs_nothing_for_real():
    result = check(loads(SMALL), device="meta")
    assert result.ok and result.device == "meta" and result.measured is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_check_of_a_big_network():
    name = "resnet50" if "resnet50" in zoo.names() else "vgg16"
    static_or_skip(name)
    result = CliRunner().invoke(main, ["check", name, "--device", "cuda", "--batch", "8"])
    assert result.exit_code == 0, result.output
    assert "torch.cuda.max_memory_allocated" in result.output


def test_static_path_never_imports_torch():
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "sizecalc", "table", "vgg16"],
                         capture_output=True, text=True, check=True).stderr
    modules = {line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if line.startswith("import time:")}
    assert not {m for m in modules if m == "torch" or m.startswith("torch.")}
    assert not modules & {"sizecalc.torch.backend", "sizecalc.torch.modules", "sizecalc.torch.export"}


# -- torch's limits: a tensor's bytes are an int64 ---------------------------------------------

LIMIT = 2 ** 63 - 1  # torch counts a tensor's bytes in an int64, on every device, meta included


def one_finding(fn, *args, **kwargs):
    with pytest.raises(sizecalc.SpecError) as err:
        fn(*args, **kwargs)
    [finding] = err.value.findings
    assert finding.rule == "torch-limit"
    return finding


def test_an_input_torch_cannot_address_is_one_located_finding():
    # 4 x 10^9 x 10^9 = 4e18 elements (within 2^63) x 4 B = 1.6e19 B, above 2^63 - 1 = 9.22e18 B
    graph = loads("sizecalc: 1\nname: wide\ninput: [4, 1000000000, 1000000000]\nlayers: [relu]\n")
    f = one_finding(check, graph, device="meta")
    assert (f.loc.line, f.layer) == (3, None)
    assert "1 x 4 x 1000000000 x 1000000000 = 4,000,000,000,000,000,000 elements x 4 B" in f.message
    assert f.fix.startswith("use a smaller --input")


def test_a_batch_beyond_int64_names_the_largest_that_fits():
    # BIG's largest volume is conv1's 8 x 10^9 x 10^6 = 8e15 elements, 3.2e16 B in fp32: the
    # largest batch is (2^63 - 1) // 3.2e16 = 288 (the input, half as large, still fits then)
    largest = LIMIT // (8 * 10 ** 15 * 4)
    assert largest == 288
    graph = loads(BIG)
    assert check(graph, device="meta", batch=largest).ok  # meta: shapes only, nothing allocated
    f = one_finding(check, graph, device="meta", batch=largest + 1)
    assert f.layer == "conv1" and "use --batch 288 or less" in f.fix
    # in fp64 every byte count doubles, so the largest batch halves
    f = one_finding(check, graph, device="meta", batch=largest, dtype="fp64")
    assert "use --batch 144 or less" in f.fix


BIG = "sizecalc: 1\nname: big\ninput: [4, 1000000000, 1000000]\nlayers:\n  - {conv: 8, kernel: 1}\n"


def test_cli_batch_beyond_int64_is_one_line(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(BIG)
    for device in ("meta", "cpu"):
        result = CliRunner().invoke(main, ["check", str(path), "--device", device, "--batch", "1000"])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1, result.output
        # the input is first: 1000 x 4 x 10^9 x 10^6 = 4e18 elements x 4 B = 1.6e19 B (input: is on line 3)
        assert lines[0].startswith(f"{path}:3:8: error: the input at batch 1,000 is ")
        assert "= 16,000,000,000,000,000,000 B," in lines[0] and lines[0].endswith("[torch-limit]")


def test_parameters_torch_cannot_hold_are_refused_before_building(tmp_path):
    # fc of 5 x 10^6 outputs on 1000 x 10^6 x 1000 = 10^12 inputs: (10^12 + 1) x 5 x 10^6 weights
    # and biases, within 2^63 elements but not x 4 B
    spec = "sizecalc: 1\nname: fat\ninput: [1000, 1000000, 1000]\nlayers:\n  - {fc: 5000000}\n"
    graph = loads(spec)
    for fn in (sizecalc.to_torch, lambda g: build_module(g, "meta"), lambda g: check(g, device="meta")):
        f = one_finding(fn, graph)
        assert f.layer == "fc1" and f"{(10 ** 12 + 1) * 5 * 10 ** 6:,} elements x 4 B" in f.message
    path = tmp_path / "fat.yaml"
    path.write_text(spec)
    result = CliRunner().invoke(main, ["export", str(path), "--torch"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "[torch-limit]" in result.output


# -- no noise ---------------------------------------------------------------------------------

# torch warns "Failed to initialize NumPy" when it is imported without NumPy; hide NumPy so that
# the test means the same on a machine that has it
WITHOUT_NUMPY = "import sys; sys.modules['numpy'] = None; from sizecalc.cli import main; main()"


@pytest.mark.parametrize("args", [["check", "cifar-simple", "--device", "cpu", "--batch", "2"],
                                  ["export", "cifar-simple", "--torch"]])
def test_check_and_export_print_nothing_on_stderr(args):
    proc = subprocess.run([sys.executable, "-c", WITHOUT_NUMPY, *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout


def test_the_numpy_warning_is_real_and_only_it_is_silenced():
    # without sizecalc's import, torch does warn; with it, other warnings still show
    code = ("import sys, warnings; sys.modules['numpy'] = None; {}"
            "warnings.warn('another warning', UserWarning)")
    plain = subprocess.run([sys.executable, "-c", code.format("import torch; ")], capture_output=True, text=True)
    ours = subprocess.run([sys.executable, "-c", code.format("from sizecalc.torch.backend import import_torch; "
                                                              "import_torch(); ")], capture_output=True, text=True)
    assert "Failed to initialize NumPy" in plain.stderr and "another warning" in plain.stderr
    assert "Failed to initialize NumPy" not in ours.stderr and "another warning" in ours.stderr
