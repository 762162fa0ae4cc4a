"""The JSON Schema of the spec format: generated from the layer registry, shipped as
specs/sizecalc.schema.json, and in agreement with the loader on the built-in specs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sizecalc.cli import main
from sizecalc.layers import ALIASES, REGISTRY, TORCH_NAMES
from sizecalc.spec.schema import schema
from sizecalc.spec import zoo

jsonschema = pytest.importorskip("jsonschema")
SHIPPED = Path(__file__).resolve().parents[1] / "specs" / "sizecalc.schema.json"


@pytest.fixture(scope="module")
def validator():
    generated = schema()
    jsonschema.Draft7Validator.check_schema(generated)
    return jsonschema.Draft7Validator(generated)


def test_shipped_schema_is_the_generated_one():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert SHIPPED.read_text(encoding="utf-8") == result.output, \
        "specs/sizecalc.schema.json is stale: run `sizecalc schema -o specs/sizecalc.schema.json`"


# each spec file once (a family file holds many variants: resnet.yaml is resnet18 ... resnet152)
@pytest.mark.parametrize("path", sorted({zoo.find(name) for name in zoo.names()}), ids=lambda p: p.name)
def test_every_builtin_spec_validates(validator, path):
    doc = yaml.safe_load(path.read_text())
    errors = list(validator.iter_errors(doc))
    assert not errors, jsonschema.exceptions.best_match(errors).message


def test_every_op_and_field_comes_from_the_registry():
    generated = schema()
    defs = generated["definitions"]
    for kind in REGISTRY.values():
        layer = defs[f"layer-{kind.name}"]["properties"]
        for name in (kind.name, *kind.aliases):
            assert name in layer
        for field in kind.fields:
            assert field.name in layer and all(a in layer for a in field.aliases)
    for torch_name, kind_name in TORCH_NAMES.items():  # PyTorch's spelling of the op: Conv2d, BatchNorm2d
        assert torch_name in defs[f"layer-{kind_name}"]["properties"]
    assert set(generated["properties"]["defaults"]["properties"]) == {*ALIASES, *TORCH_NAMES, "rounding"}


BAD = [
    "input: [3, 32, 32]\nlayers:\n  - {convv: 8, kernel: 3}\n",          # unknown op
    "input: [3, 32, 32]\nlayers:\n  - {conv: eight, kernel: 3}\n",       # text where an integer belongs
    "input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernel: '3'}\n",         # a quoted number is text
    "input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernal: 3}\n",           # unknown key
    "input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernel: 3, stride: 0}\n",  # below the minimum
    "input: [3, 32, 32]\nlayers:\n  - {maxpool: 2, rounding: round}\n",  # not a choice
    "input: [3, 32, 32]\nlayers:\n  - {conv: 8, conv2d: 8, kernel: 3}\n",  # two ops
    "input: [3, 32, 32]\nlayer: [relu]\n",                               # misspelt top-level key
    "input: [3, 32.5, 32]\nlayers: [relu]\n",                            # a fraction in the input
]


@pytest.mark.parametrize("text", BAD)
def test_schema_rejects_what_the_loader_rejects(validator, text):
    from sizecalc.tools.lint import lint_text
    assert list(validator.iter_errors(yaml.safe_load(text)))
    assert lint_text(text, "net.yaml").exit_code() == 1


GOOD = [
    "input: [3, 32, 32]\nlayers:\n  - {conv2d: 8, kernel_size: 3, padding: same}\n  - relu\n",
    "input: [3, 32, 32]\ndefaults: {conv: {kernel: 3, padding: 1}, rounding: floor}\n"
    "layers: [{conv: 8}, {maxpool: 2}]\n",
    "input: [3, 32, 32]\nblocks:\n  b:\n    params: {f: int, s: 1}\n    layers:\n"
    "      - {conv: $f, kernel: 3, stride: $s, padding: [[1, 1], $s]}\n"
    "layers:\n  - {use: b, repeat: 2, with: {f: 8}, first: {s: 1}}\n  - {repeat: 2, layers: [relu]}\n",
]


@pytest.mark.parametrize("text", GOOD)
def test_schema_accepts_what_the_loader_accepts(validator, text):
    from sizecalc.tools.lint import lint_text
    assert lint_text(text, "net.yaml").exit_code() == 0
    assert not list(validator.iter_errors(yaml.safe_load(text)))


def test_json_file_is_not_a_network():
    assert "sizecalc.schema" not in zoo.names()
    assert all(not n.endswith(".json") for n in zoo.names())


def test_schema_command_does_not_import_jsonschema():
    code = ("import sys; from sizecalc.cli import main\n"
            "try:\n    main(['schema'], standalone_mode=False)\nfinally:\n"
            "    assert 'jsonschema' not in sys.modules, 'jsonschema imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "sizecalc spec"
