"""`sizecalc export --torch`: the written file imports only torch, runs on its own, and defines
the module `build_module` gives: the same names, parameters and output."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

import sizecalc  # noqa: E402
from sizecalc.cli import main  # noqa: E402
from sizecalc.engine.walk import analyze  # noqa: E402
from sizecalc.torch.export import class_name, export_torch  # noqa: E402
from sizecalc.spec import loads  # noqa: E402
from zoo_sample import every_network  # noqa: E402
from sizecalc.torch.backend import build_module  # noqa: E402


def load_exported(source: str, path):
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, module.__all__[0]), module


def same_module(graph, tmp_path, device="meta"):
    """Build both ways on `device`; return them after checking names, shapes and output."""
    cls, _ = load_exported(export_torch(graph), tmp_path / "exported.py")
    with torch.device(device):
        exported = cls()
    built = build_module(graph, device)
    assert {k: v.shape for k, v in exported.state_dict().items()} == \
        {k: v.shape for k, v in built.state_dict().items()}
    assert sum(p.numel() for p in exported.parameters()) == sum(p.numel() for p in built.parameters())
    x = torch.randn(2, *graph.input_shape, device=device)
    with torch.no_grad():
        assert exported.eval()(x).shape == built.eval()(x).shape
    return exported, built


@pytest.mark.parametrize("name", every_network())
def test_every_built_in_network_exports(name, tmp_path):
    graph = sizecalc.load(name)
    if analyze(graph).errors():
        pytest.skip(f"{name} does not size statically yet")
    same_module(graph, tmp_path)


EVERY_KIND = """
sizecalc: 1
name: every kind
input: [4, 12, 12]
defaults: {rounding: floor}
layers:
  - {id: stem, conv: 8, kernel: 3, padding: [[1, 2], [0, 1]], bias: false}
  - {id: norm, bn}
  - {id: act, leaky_relu: 0.2}
  - {id: pool, maxpool: 2, padding: [[0, 1], [1, 0]], rounding: ceil}
  - {id: avg, avgpool: 3, stride: 1, padding: [[1, 0], [0, 1]], count_include_pad: false}
  - {id: local, local: 4, kernel: 2, stride: 2}
  - {id: dw, from: avg, conv: {depthwise: true}, kernel: 3, padding: same}
  - {id: gn, groupnorm: 4}
  - {id: lrn, lrn: 3}
  - {id: up, from: local, upsample: 2}
  - {id: trim, from: lrn, adaptive_avgpool: [6, 4]}
  - {id: both, concat: [up, trim]}
  - {id: gate, global_avgpool}
  - {id: sig, sigmoid}
  - {id: gated, mul: [both, sig]}
  - {id: shuffled, shuffle: 3}
  - {id: half, split: 3, part: 2}
  - {id: tail, conv: 4, kernel: 1, dilation: 2}
  - {id: res, add: [tail, half]}
  - {id: soft, softmax}
  - flatten
  - {dropout: 0.1}
  - {fc: 5}
"""


def test_exported_computes_what_built_computes(tmp_path):
    graph = loads(EVERY_KIND)
    exported, built = same_module(graph, tmp_path, device="cpu")
    exported.load_state_dict(built.state_dict())
    x = torch.randn(2, *graph.input_shape)
    with torch.no_grad():
        assert torch.equal(exported.eval()(x), built.eval()(x))


def test_exported_file_imports_only_torch(tmp_path):
    tree = ast.parse(export_torch(loads(EVERY_KIND)))
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert roots == {"torch"}


def test_exported_file_runs_on_its_own(tmp_path):
    path = tmp_path / "cifar.py"
    result = CliRunner().invoke(main, ["export", "cifar-simple", "--torch", "-o", str(path)])
    assert result.exit_code == 0, result.output
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout
    # the lecture's CIFAR net: conv (3*3*3 + 1)*12 = 336, fc (16*16*12 + 1)*10 = 30,730
    assert "output (1, 10)" in out and "params 31,066" in out


def test_export_needs_a_target():
    result = CliRunner().invoke(main, ["export", "cifar-simple"])
    assert result.exit_code == 2 and "--torch" in result.output


@pytest.mark.parametrize("name, expected", [("ResNet-18", "ResNet18"), ("cifar-simple", "CifarSimple"),
                                            ("VGG16", "VGG16"), ("3d net", "Net3dNet"), ("", "Network")])
def test_class_names(name, expected):
    assert class_name(name) == expected
