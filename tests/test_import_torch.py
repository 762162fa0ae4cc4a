"""`sizecalc import`: a PyTorch module -> a spec, with the round trip as the test of truth.

Small torch modules written here (a LeNet-like chain, a residual net with repeated blocks, a
branchy concat net, a transposed-conv decoder) are imported; the spec sizecalc writes must
give torch's own figures: params and buffers by counting the module's tensors, MACs by
FlopCounterMode // 2 (it counts convolutions and matrix products, 2 flops per
multiply-accumulate), and every layer's output shape by forward hooks on the module. The
spec writer (pure Python) is tested first, without torch. Where torchvision is importable
(not in the test venv: ../shared/tools/torchvision-env.sh), its models are imported and
compared with the built-in specs.
"""

from __future__ import annotations

import textwrap

import pytest
import yaml

import sizecalc
from sizecalc.spec import loads
from sizecalc.spec.writer import Op, quote, write_spec


# -- the writer, without torch -----------------------------------------------------------
HOSTILE = ["yes", "No", "null", "~", "1e5", "0x1F", "-x", "a: b", "#c", "[x]", "{y}", "&a", "*a", "!!python/object",
           "é", "line\nbreak", "tab\there", "\x00", "\u2028", "'\"", "\ud800", ""]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_string_reads_back_as_itself(text):
    # what YAML reads back must be the string written (a lone surrogate is written as U+FFFD)
    assert yaml.safe_load(f"k: {quote(text)}")["k"] == text.replace("\ud800", "\ufffd")


def test_hostile_names_become_ids_and_quoted_data():
    ops = [Op("a.b; rm -rf /", "conv", {"filters": 4, "kernel": 3, "rounding": "floor"}),
           Op("input", "relu", {}), Op("in", "relu", {}), Op("\n# evil: [", "fc", {"outputs": 2})]
    text = write_spec(ops, [3, 8, 8], name="x\n# sizecalc: 2", notes=("a: b",))
    assert "\n# sizecalc" not in text and "evil" not in text.split("layers:")[0]
    graph = loads(text)
    assert [n.id for n in graph.nodes] == ["a_b_rm_-rf", "input_", "in_", "evil"]
    assert yaml.safe_load(text)["name"] == "x\n# sizecalc: 2"


def test_from_only_where_the_input_is_not_the_layer_above_and_defaults_factored():
    ops = [Op("c1", "conv", {"filters": 8, "kernel": 3, "padding": 1, "rounding": "floor", "bias": False}),
           Op("r1", "relu", {"inplace": True}),
           Op("c2", "conv", {"filters": 8, "kernel": 3, "padding": 1, "rounding": "floor", "bias": False}),
           Op("r2", "relu", {"inplace": True}),
           Op("skip", "conv", {"filters": 8, "kernel": 1, "rounding": "floor", "bias": False}, ("r1",)),
           Op("sum", "add", {}, ("r2", "skip")), Op("cat", "concat", {}, ("sum", "input"))]
    text = write_spec(ops, [8, 16, 16], fold=False)
    assert "  rounding: floor\n  conv: {bias: false}\n  relu: {inplace: true}\n" in text
    assert "- {id: c2, conv: 8, kernel: 3, padding: 1}\n" in text
    assert "- {id: skip, from: r1, conv: 8, kernel: 1}\n" in text
    assert "- {id: sum, add: [r2, skip]}\n" in text and "- {id: cat, concat: [sum, input]}\n" in text
    # 8 + 8 channels; conv 3x3x8x8 = 576 weights each, 1x1x8x8 = 64
    report = sizecalc.analyze(text)
    assert report.output == (16, 16, 16) and report.totals.params == 576 * 2 + 64


# -- the round trip through torch --------------------------------------------------------
torch = pytest.importorskip("torch")
nn = torch.nn
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from sizecalc.torch.fx_import import build, import_model  # noqa: E402


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.Tanh(), nn.MaxPool2d(3, 2, ceil_mode=True))
        self.classifier = nn.Sequential(nn.Linear(16 * 5 * 5, 120), nn.ReLU(True), nn.Dropout(0.2), nn.Linear(120, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-3)
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else None)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += x if self.down is None else self.down(x)
        return self.relu(out)


class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(True),
                                  nn.MaxPool2d(3, 2, 1))
        self.layer1 = nn.Sequential(Block(16, 16, 1), Block(16, 16, 1))
        self.layer2 = nn.Sequential(Block(16, 32, 2), Block(32, 32, 1), Block(32, 32, 1))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.layer2(self.layer1(self.stem(x))).mean([2, 3]))  # global average pool


class Branchy(nn.Module):
    """Inception-like: three branches concatenated on channels, a gate multiplied in."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 1)
        self.b = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 8, 3, padding=1, dilation=1, groups=2))
        self.c = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.Conv2d(3, 8, 5, padding=2))
        self.gate = nn.Conv2d(24, 24, 1)

    def forward(self, x):
        y = torch.cat([self.a(x), self.b(x), self.c(x)], dim=1)
        y = y * torch.sigmoid(self.gate(y))
        return nn.functional.adaptive_avg_pool2d(nn.functional.relu(y), (2, 2))


class Decoder(nn.Module):
    """A crop-free decoder: strided convs down, transposed convs and upsampling back up."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.InstanceNorm2d(16, affine=True), nn.LeakyReLU(0.2),
                                  nn.Conv2d(16, 32, 4, 2, 1), nn.GroupNorm(4, 32), nn.SiLU())
        self.up1 = nn.ConvTranspose2d(32, 16, 4, 2, 1)
        self.up2 = nn.ConvTranspose2d(16, 8, 3, 2, 1, output_padding=1, bias=False)
        self.up3 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.head = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(8, 3, 3), nn.Hardsigmoid())

    def forward(self, x):
        y = self.up2(nn.functional.relu(self.up1(self.down(x)), inplace=True))
        y = nn.functional.interpolate(self.up3(y), scale_factor=0.5, mode="nearest")
        return self.head(y)


NETS = {"lenet": (LeNet, (1, 28, 28)), "resnet_like": (ResNetLike, (3, 64, 64)),
        "branchy": (Branchy, (3, 17, 17)), "decoder": (Decoder, (3, 32, 32))}


def torch_figures(model, shape):
    """params, buffers, MACs (FlopCounterMode // 2) and each module's output shape (hooks)."""
    shapes = {}

    def keep(name):
        def hook(module, inputs, output):  # returns None: the output stays as it is
            shapes.setdefault(name, tuple(output.shape[1:]))
        return hook
    hooks = [m.register_forward_hook(keep(name)) for name, m in model.named_modules() if name]
    with FlopCounterMode(display=False) as flops:
        model(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()),
            flops.get_total_flops() // 2, shapes)


@pytest.mark.parametrize("fold", [False, True])
@pytest.mark.parametrize("name", NETS)
def test_round_trip_gives_torchs_figures(name, fold):
    cls, shape = NETS[name]
    torch.manual_seed(0)
    model = cls().eval()
    params, buffers, macs, module_shapes = torch_figures(model, shape)
    ops, traced = import_model(model, shape)
    text = write_spec(ops, shape, name=name, fold=fold)
    report = sizecalc.analyze(text)
    assert report.totals.params == params, text
    assert report.totals.buffers == buffers
    assert report.totals.macs == macs
    # layers come out in the order traced, one row per op; a module called once has its shape
    assert len(report.rows) == len(ops)
    called = [op.id for op in ops]
    for op, row, shape_traced in zip(ops, report.rows, traced):
        assert shape_traced is None or row.output == shape_traced, (op.id, row.id)
        if op.id in module_shapes and called.count(op.id) == 1:
            assert row.output == module_shapes[op.id], (op.id, row.id)


def test_lenet_spec_reads_as_a_person_writes_it():
    ops, _ = import_model(LeNet().eval(), (1, 28, 28))
    text = write_spec(ops, (1, 28, 28), name="LeNet", fold=False)
    assert "- {id: features_0, conv: 6, kernel: 5, padding: 2}\n" in text
    assert "- {id: features_5, maxpool: 3, stride: 2, rounding: ceil}\n" in text  # ceil_mode
    assert "- {id: classifier_2, dropout: 0.2}\n" in text and "from:" not in text


def test_residual_blocks_fold_into_a_repeated_block():
    ops, _ = import_model(ResNetLike().eval(), (3, 64, 64))
    text = write_spec(ops, (3, 64, 64), name="r")
    assert "repeat: 3" in text and "first:" in text and "blocks:" in text
    assert "repeat: 2" in text


class Sorts(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.sort(self.conv(x) * 2.0, dim=1).values


def test_an_op_sizecalc_lacks_is_listed_by_name_and_path():
    with pytest.raises(sizecalc.SpecError) as err:
        import_model(Sorts().eval(), (3, 8, 8))
    lines = [f.message for f in err.value.findings]
    assert any("operator.mul" in line for line in lines)  # a tensor times a number
    assert any("sort" in line for line in lines)


def _cli(*args):
    """The command in this process (torch is imported already: a child would spend seconds
    importing it again): exit code as returncode, stdout and stderr apart."""
    from click.testing import CliRunner

    from sizecalc.cli import main

    done = CliRunner().invoke(main, list(args), prog_name="sizecalc")
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception  # a traceback a user would have seen
    done.returncode = done.exit_code
    return done


def test_cli_import_from_a_file(tmp_path):
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        def build():
            return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 7 * 7, 5))
        def bad():
            return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Softmin(dim=1))
    """))
    out = tmp_path / "spec.yaml"
    done = _cli("import", f"{tmp_path / 'net.py'}:build", "--input", "3x15x15", "-o", str(out))
    assert done.returncode == 0, done.stderr
    # (15 - 3)/2 + 1 = 7; conv 3*3*3*8 + 8 = 224, fc 392*5 + 5 = 1,965
    assert sizecalc.analyze(str(out)).totals.params == 224 + 1965
    done = _cli("import", f"{tmp_path / 'net.py'}:bad", "--input", "3x15x15")
    assert done.returncode == 1 and "Softmin at 1" in done.stderr and "Traceback" not in done.stderr
    done = _cli("import", f"{tmp_path / 'net.py'}:nothing")
    assert done.returncode == 2 and "no callable 'nothing'" in done.stderr
    assert "RUNS YOUR CODE" in _cli("import", "--help").stdout


# -- torchvision, where it is importable (not in CI) ---------------------------------------
# where they match (torch 2.13, torchvision 0.28): params, buffers and MACs equal the built-in spec's.
# Not listed, as the import stops with the ops it lacks: convnext_tiny (the permutes of its
# LayerNorm2d), shufflenet_v2 (channel shuffle written as view/transpose), vit_b_16 (attention,
# class token and position embedding as tensors).
ZOO = ["resnet18", "resnet50", "vgg16", "mobilenet_v2", "alexnet", "resnext50_32x4d", "wide_resnet50_2",
       "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf", "densenet121",
       "squeezenet1_0", "googlenet", "mnasnet1_0"]


@pytest.mark.parametrize("name", ZOO)
def test_torchvision_import_matches_the_built_in_spec(name):
    models = pytest.importorskip("torchvision.models")
    model, _ = build(getattr(models, name))  # on the meta device where the factory can run there
    ops, _ = import_model(model, (3, 224, 224))
    imported = sizecalc.analyze(write_spec(ops, (3, 224, 224), name=name))
    built_in = sizecalc.analyze(name)
    assert (imported.totals.params, imported.totals.buffers, imported.totals.macs) == \
        (built_in.totals.params, built_in.totals.buffers, built_in.totals.macs)
