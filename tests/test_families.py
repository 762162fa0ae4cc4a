"""Families: one spec file, several named variants (a model family's scales). Each variant
sets the spec's own `params:` and may carry its own input size and name."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.errors import SpecError
from sizecalc.spec import zoo

FAMILY = """\
sizecalc: 1
name: Tiny
input: [3, 32, 32]
params: {filters: 16, n: 1}
variants:
  tiny_s: {with: {filters: 8}, input: [3, 16, 16]}
  tiny_l: {with: {filters: 32, n: 2}, name: Tiny-L}
layers:
  - repeat: $n
    layers: [{conv: $filters, kernel: 3, padding: 1}, relu]
  - global_avgpool
  - flatten
  - {fc: 10}
"""
# By hand: a 3x3 conv from C to F channels has 9*C*F weights + F biases; fc F -> 10 has 10*F + 10.
TINY_S = 9 * 3 * 8 + 8 + 10 * 8 + 10                                  # 224 + 90 = 314
TINY_L = (9 * 3 * 32 + 32) + (9 * 32 * 32 + 32) + (10 * 32 + 10)      # 896 + 9,248 + 330 = 10,474


@pytest.fixture
def family(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(FAMILY)
    return str(path)


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_the_first_variant_is_the_default(family):
    report = sizecalc.analyze(family)
    assert report.name == "tiny_s"
    assert report.input_shape == (3, 16, 16)
    assert report.totals.params == TINY_S


def test_a_variant_by_path_colon_name_and_by_option(family):
    by_colon = sizecalc.analyze(f"{family}:tiny_l")
    assert by_colon.name == "Tiny-L"
    assert by_colon.input_shape == (3, 32, 32)  # no input of its own: the spec's
    assert by_colon.totals.params == TINY_L
    out = run("table", family, "--variant", "tiny_l", "--format", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["totals"]["params"] == TINY_L


def test_an_input_option_still_wins_over_the_variant(family):
    report = sizecalc.analyze(f"{family}:tiny_s", input_shape=(3, 8, 8))
    assert report.input_shape == (3, 8, 8)
    assert report.totals.params == TINY_S  # a global pool: params do not depend on the size


def test_an_unknown_variant_is_a_usage_error_with_the_choices(family):
    out = run("table", f"{family}:tiny_m")
    assert out.exit_code == 2
    assert "no variant 'tiny_m'" in out.output and "tiny_s, tiny_l" in out.output
    assert "Traceback" not in out.output


def test_a_variant_of_a_plain_spec_is_refused(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text("sizecalc: 1\ninput: [3, 8, 8]\nlayers: [{conv: 4}]\n")
    out = run("table", str(path), "--variant", "big")
    assert out.exit_code == 2 and "this spec has no variants" in out.output


@pytest.mark.parametrize("text, message", [
    ("params: {filters: int}\n", "needs parameter 'filters'"),
    ("params: {filters: 16}\nvariants: {a: {with: {filter: 8}}}\n", "did you mean 'filters'"),
    ("params: {filters: 16}\nvariants: {a: {with: {filters: 8}, inputs: [3, 8, 8]}}\n", "unknown key 'inputs'"),
    ("variants: {a: {with: {filters: 8}}}\n", "declares no params"),
    ("params: {filters: 16}\nvariants: [a, b]\n", "variants must be a mapping"),
])
def test_family_mistakes_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text("sizecalc: 1\ninput: [3, 8, 8]\n" + text + "layers: [{conv: $filters, kernel: 3}]\n")
    out = run("lint", str(path))
    assert out.exit_code == 1, out.output
    assert message in out.output
    assert "bad.yaml:" in out.output


def test_built_in_names_resolve_to_file_and_variant(tmp_path, monkeypatch):
    (tmp_path / "tiny.yaml").write_text(FAMILY)
    (tmp_path / "plain.yaml").write_text("sizecalc: 1\ninput: [3, 8, 8]\nlayers: [{conv: 4}]\n")
    monkeypatch.setattr(zoo, "zoo_dir", lambda: tmp_path)
    zoo._entries.cache_clear()
    try:
        assert zoo.names() == ["plain", "tiny_l", "tiny_s"]  # a family answers to its variants only
        assert zoo.locate("TINY-L") == (tmp_path / "tiny.yaml", "tiny_l")
        assert zoo.locate("tiny") == (tmp_path / "tiny.yaml", None)  # the family's own name: its first variant
        assert zoo.split("tiny:tiny_l") == (str(tmp_path / "tiny.yaml"), "tiny_l")
        assert zoo.locate("plain") == (tmp_path / "plain.yaml", None)
    finally:
        zoo._entries.cache_clear()


def test_the_networks_params_are_seen_in_blocks_and_defaults():
    # `$width` inside a block body and `$eps` in defaults used inside a block; the block's own
    # `width` shadows the network's. By hand: inner conv 3 -> 8 (width 8): 9*3*8 + 8 = 224;
    # the shadowing block's conv 8 -> 4: 9*8*4 + 4 = 292; bn 4: 8 params.
    text = """\
sizecalc: 1
input: [3, 8, 8]
params: {width: 8, eps: 0.001}
defaults: {bn: {eps: $eps}}
blocks:
  a:
    layers: [{conv: $width, kernel: 3, padding: 1}]
  b:
    params: {width: 4}
    layers: [{conv: $width, kernel: 3, padding: 1}, bn]
layers:
  - {use: a}
  - {use: b}
"""
    report = sizecalc.analyze(text)
    assert [r.params for r in report.rows if r.params] == [224, 292, 8]
    bn = next(n for n in sizecalc.load(text).nodes if n.kind.name == "bn")
    assert bn.args["eps"] == 0.001


def test_the_spec_params_are_seen_inside_blocks_and_a_block_param_shadows_them(tmp_path):
    path = tmp_path / "wide.yaml"
    path.write_text("""\
sizecalc: 1
input: [3, 8, 8]
params: {width: 2.0, n: 3}
variants:
  half: {with: {width: 0.5}}
blocks:
  unit:
    params: {c: int, n: 1}
    layers: [{conv: "$make_divisible($c * $width, 8)", kernel: 1}, {conv: $n, kernel: 1}]
layers:
  - {use: unit, with: {c: 32}}
""")
    report = sizecalc.analyze(f"{path}:half")
    # make_divisible(32 * 0.5, 8) = 16 filters on 3 channels: 3*16 + 16; then the block's own n = 1 (not the
    # spec's n = 3): 16*1 + 1
    assert report.totals.params == (3 * 16 + 16) + (16 * 1 + 1)


def test_an_unknown_network_name_is_quoted_short():
    # a name that is neither a file nor a built-in network is quoted by its first 40 characters
    out = run("table", "n" * 500)
    assert out.exit_code == 2
    assert "'" + "n" * 40 + "…' is neither a spec file nor a built-in network" in out.output
    assert "n" * 41 not in out.output


def test_a_block_parameter_names_the_layer_a_from_takes(tmp_path):
    # U-Net's expansive levels crop a different skip each: `from: $skip` in the block
    path = tmp_path / "skip.yaml"
    path.write_text("""\
sizecalc: 1
input: [3, 8, 8]
blocks:
  head:
    params: {skip: str}
    layers:
      - {id: a, conv: 4, kernel: 1}
      - {id: b, from: $skip, conv: 2, kernel: 1}
layers:
  - {id: stem, conv: 5, kernel: 1}
  - {id: h, use: head, with: {skip: stem}}
  - {id: h2, use: head, with: {skip: input}}
""")
    report = sizecalc.analyze(str(path))
    # h.b takes stem's 5 channels: 5*2 + 2; h2.b the network's input, 3 channels: 3*2 + 2
    assert report.row("h.b").params == 5 * 2 + 2
    assert report.row("h2.b").params == 3 * 2 + 2
    path.write_text(path.read_text().replace("skip: input}", "skip: stemm}"))
    out = run("table", str(path))
    assert out.exit_code == 1
    assert "no layer 'stemm' is defined above this one; did you mean 'stem'?" in out.output


def test_a_repeated_block_reads_its_copy_number():
    """`$repeat_index` in a repeated `use:`'s `with:` is the copy's number, 0 first: three
    copies of a 1x1 conv of 8 * (i + 1) filters are 8, 16 and 24 wide (ConvNeXt's
    stochastic-depth rate grows the same way); outside a repeat it is no name."""
    text = ("sizecalc: 1\nname: r\ninput: [3, 8, 8]\nblocks:\n  b:\n    params: {c: int}\n    layers:\n"
            "      - {conv: $c, kernel: 1}\nlayers:\n"
            "  - {use: b, repeat: 3, with: {c: \"$8 * ($repeat_index + 1)\"}}\n")
    assert [row.output[0] for row in sizecalc.analyze(text).rows] == [8, 16, 24]
    with pytest.raises(SpecError, match="repeat_index"):
        sizecalc.analyze(text.replace("repeat: 3, ", ""))
