"""`$` expressions that state the papers' formulas (issue #14, point 1) and the ids of point 4.

Figures are worked by hand in the comments, or were measured with torchvision 0.28.0's own
model builders (../shared/tools/torchvision-env.sh, weights=None, CPU) where the comment says
so; CI needs no torchvision. The hostile side: tests/hostile/expr_*.yaml, each one clean
line from `sizecalc lint` in its own process, checked as tests/test_hostile.py checks its files.
"""

from __future__ import annotations

import time

import pytest

import sizecalc
from sizecalc.core.errors import SpecError
from sizecalc.spec.expr import ExprError, evaluate, make_divisible
from test_hostile import HOSTILE, check, run_lint


def ev(text: str, **params):
    return evaluate(text, params)


def error(text: str, **params) -> str:
    with pytest.raises(ExprError) as err:
        evaluate(text, params)
    return str(err.value)


def findings(text: str):
    with pytest.raises(SpecError) as err:
        sizecalc.analyze(text)
    return err.value.findings


# -- make_divisible: torchvision's _make_divisible, the 10% rule included -------------------
@pytest.mark.parametrize("v, divisor, min_value, want", [
    (32 * 1.1, 8, None, 32),   # 35.2 + 4 = 39.2 -> int 39 // 8 * 8 = 32; 32 >= 0.9 * 35.2 = 31.68: 32
    (16 * 0.75, 8, None, 16),  # 12 + 4 = 16 -> 16; 16 >= 10.8: 16
    (16 * 1.2, 8, None, 24),   # 19.2 + 4 = 23.2 -> 23 // 8 * 8 = 16; 16 < 0.9 * 19.2 = 17.28: 16 + 8 = 24
    (112 * 1.2, 8, None, 136),  # 134.4 + 4 = 138.4 -> 138 // 8 * 8 = 136; 136 >= 120.96: 136
    (24 * 1.1, 8, None, 24),   # 26.4 + 4 = 30.4 -> 30 // 8 * 8 = 24; 24 >= 23.76: 24
    (80 * 1.1, 8, None, 88),   # 88 + 4 = 92 -> 88; 88 >= 79.2: 88
    (1.0, 8, None, 8),         # 1 + 4 = 5 -> 0; max(min_value = divisor = 8, 0) = 8
    (3.5, 8, 4, 4),            # 3.5 + 4 = 7.5 -> 7 // 8 * 8 = 0; max(4, 0) = 4; 4 >= 3.15: 4
    (83, 8, None, 80),         # MNASNet's docstring: (83, 8) -> 80 (87 // 8 * 8 = 80 >= 74.7)
    (84, 8, None, 88),         # ... and (84, 8) -> 88 (88 // 8 * 8 = 88)
    (100, 16, None, 96),       # 100 + 8 = 108 -> 108 // 16 * 16 = 96; 96 >= 90: 96
    (63, 64, None, 64),        # 63 + 32 = 95 -> 95 // 64 * 64 = 64: 64
])
def test_make_divisible_matches_torchvision(v, divisor, min_value, want):
    assert make_divisible(v, divisor, min_value) == want
    args = f"{v!r}, {divisor}" + (f", {min_value}" if min_value is not None else "")
    assert ev(f"make_divisible({args})") == want


def test_mnasnet_depths_are_make_divisible():
    # torchvision's mnasnet._get_depths(alpha) is _round_to_multiple_of(depth * alpha, 8), the same
    # formula as _make_divisible; measured: _get_depths(0.5) == [16, 8, 16, 24, 40, 48, 96, 160],
    # _get_depths(0.75) == [24, 16, 24, 32, 64, 72, 144, 240], _get_depths(1.3) == [40, 24, 32, 56, 104, 128, 248, 416]
    depths = [32, 16, 24, 40, 80, 96, 192, 320]
    figures = {0.5: [16, 8, 16, 24, 40, 48, 96, 160], 0.75: [24, 16, 24, 32, 64, 72, 144, 240],
               1.3: [40, 24, 32, 56, 104, 128, 248, 416]}
    for alpha, want in figures.items():
        assert [ev("make_divisible($d * $alpha, 8)", d=d, alpha=alpha) for d in depths] == want


# -- rounding, stated -----------------------------------------------------------------------
def test_rounding_functions_say_how_they_round():
    assert [ev(f"round({x})") for x in ("0.5", "1.5", "2.5", "3.5", "-0.5")] == [0, 2, 2, 4, 0]  # halves to even
    assert [ev(f"int({x})") for x in ("2.7", "-2.7")] == [2, -2]  # towards zero, as Python's int()
    assert [ev(f"floor({x})") for x in ("2.7", "-2.7")] == [2, -3]
    assert [ev(f"ceil({x})") for x in ("2.1", "-2.7")] == [3, -2]
    # EfficientNet's depth: int(math.ceil(3 * 1.4)); 3 * 1.4 is 4.199999999999999 in float64, ceil 5
    assert ev("3 * 1.4") == 4.199999999999999 and ev("ceil(3 * 1.4)") == 5
    assert all(type(ev(f"{fn}(2.5)")) is int for fn in ("round", "int", "floor", "ceil"))


def test_arithmetic_is_pythons():
    assert ev("7 / 2") == 3.5 and ev("7 // 2") == 3 and ev("-7 // 2") == -4 and ev("-7 % 3") == 2
    assert ev("6 / 3") == 2.0 and type(ev("6 / 3")) is float  # `/` is true division, a float
    assert ev("2 ** 10") == 1024 and ev("2 ** -1") == 0.5 and ev("-2 ** 2") == -4 and ev("2 ** 3 ** 2") == 512
    assert ev("1 + 2 * 3 - 4 // 2") == 5 and ev("(1 + 2) * 3") == 9
    assert ev("min(3, 2.5, 4)") == 2.5 and ev("max($a, 8)", a=3) == 8 and ev("abs(-3)") == 3
    assert ev("log(8, 2)") == 3.0 and ev("0.1 + 0.2") == 0.30000000000000004  # float64, as Python


def test_conditions():
    assert ev("1 < $n <= 3", n=3) is True and ev("1 < $n < 3", n=3) is False  # chained, as Python
    assert ev("$stride == 1 and $cin == $cout", stride=1, cin=16, cout=16) is True
    assert ev("not $se or $n > 2", se=True, n=1) is False
    assert ev("$not $se", se=False) is True  # the leading `$` marks the expression; `$not` is `not`
    assert ev("$a if $se else $b", a=1, b=2, se=False) == 2
    assert ev("'se' == $kind", kind="se") is True and ev("true != false") is True
    # only the branch taken is evaluated: no division by zero here
    assert ev("$n > 0 and 8 // $n == 4", n=0) is False and ev("1 if true else 1 // 0") == 1


def test_errors_quote_the_failing_names_with_their_values():
    assert error("$a // $b", a=3, b=0) == "division by zero (with $a = 3, $b = 0)"
    assert error("$x + 1", x=True) == "+ needs numbers, not true (with $x = true)"
    assert error("$n and true", n=3).startswith("`and` needs true or false, not 3")
    assert error("$widht * 2", width=32) == "unknown parameter $widht (did you mean $width?)"
    assert error("$x == 1", x=True) == "cannot compare true == 1 (with $x = true)"
    assert error("round(1, 2)") == "round takes 1 argument, not 2"
    assert error("make_divisible(35.2, 0)") == "make_divisible's divisor must be a whole number >= 1, not 0"
    assert error("(-8) ** 0.5") == "(-8) ** 0.5 is not a real number"
    assert error("1 if true") == "`x if condition` needs `else y`"


def test_bounds():
    start = time.perf_counter()
    assert error("10 ** 10 ** 10") == "10 ** 10000000000 is out of range (more than 10^12)"
    assert error("2 ** 41") == "2 ** 41 is out of range (more than 10^12)"  # 2^41 = 2.2e12
    assert error("1000000 * 1000000 * 2") == "value 2000000000000 is out of range (more than 10^12 in size)"
    assert error("9" * 30) == "the number 99999999999999999999… is out of range (more than 10^12 in size)"
    assert error("1e999") == "the number 1e999 is out of range (more than 10^12 in size)"
    assert error("(" * 30 + "1" + ")" * 30) == "expression nested more than 24 deep"
    assert error("-" * 100 + "1") == "expression nested more than 24 deep"
    assert error("not " * 50 + "true") == "expression nested more than 24 deep"
    assert error(" + ".join(["1"] * 150)) == "expression longer than 400 characters"
    assert error("$n.__class__", n=1) == "cannot read '.__class__': an expression has no attributes (no `.name`)"
    assert error("__import__('os')").startswith("'__import__' is not a function")
    assert time.perf_counter() - start < 1.0


# -- in a spec: sizes, counts and conditions ------------------------------------------------
EFFICIENTNET_B3 = """
sizecalc: 1
input: [3, 300, 300]
defaults: {rounding: floor}   # (300 - 3 + 2*1)/2 + 1 = 150.5: floored, as torch does
blocks:
  stage:   # EfficientNet's stage, one 1x1 conv per MBConv: only the widths and the depths matter here
    params: {c: int, n: int, stride: 1, width_mult: 1.2, depth_mult: 1.4}
    layers:
      - {conv: "$make_divisible($c * $width_mult, 8)", kernel: 1, stride: $stride, repeat: $ceil($n * $depth_mult)}
layers:
  - {id: stem, conv: "$make_divisible(32 * 1.2, 8)", kernel: 3, stride: 2, padding: 1}
  - {id: s1, use: stage, with: {c: 16, n: 1}}
  - {id: s2, use: stage, with: {c: 24, n: 2, stride: 2}}
  - {id: s3, use: stage, with: {c: 40, n: 2, stride: 2}}
  - {id: s4, use: stage, with: {c: 80, n: 3, stride: 2}}
  - {id: s5, use: stage, with: {c: 112, n: 3}}
  - {id: s6, use: stage, with: {c: 192, n: 4, stride: 2}}
  - {id: s7, use: stage, with: {c: 320, n: 1}}
  - {id: head, conv: "$make_divisible(4 * 320 * 1.2, 8)", kernel: 1}
"""


def test_efficientnet_b3_widths_and_depths():
    # measured with torchvision: efficientnet_b3() (width_mult 1.2, depth_mult 1.4): features[0]
    # has 40 channels, features[1..7] end at 24, 32, 48, 96, 136, 232, 384 channels with
    # 2, 3, 3, 5, 5, 6, 2 blocks, features[8] has 1536. By hand: stem 32 * 1.2 = 38.4 -> 40;
    # 16 * 1.2 = 19.2 -> 16 < 17.28 -> 24; depths ceil(1.4, 2.8, 2.8, 4.2, 4.2, 5.6, 1.4).
    rows = sizecalc.analyze(EFFICIENTNET_B3).rows
    stages = {}
    for row in rows:
        stages.setdefault(row.id.split(".")[0], []).append(row.output[0])
    assert stages["stem"] == [40] and stages["head"] == [1536]
    assert [stages[f"s{i}"][-1] for i in range(1, 8)] == [24, 32, 48, 96, 136, 232, 384]
    assert [len(stages[f"s{i}"]) for i in range(1, 8)] == [2, 3, 3, 5, 5, 6, 2]


def test_regnet_quantised_widths_in_float64_match_torchvision():
    # RegNet's block widths (torchvision BlockParams.from_init_params, computed there in float32):
    # w_j = round(w_0 * w_m ** round(log((j * w_a + w_0) / w_0) / log(w_m)) / 8) * 8, j < depth.
    # regnet_y_400mf: depth 16, w_0 48, w_a 27.89, w_m 2.09; measured: widths [48, 104, 208, 440],
    # depths [1, 3, 6, 6]. (The float64 formula gave torchvision's per-block widths for all 15
    # RegNet X/Y sizes, checked with the torchvision environment.)
    formula = "round($w_0 * $w_m ** round(log(($j * $w_a + $w_0) / $w_0) / log($w_m)) / 8) * 8"
    widths = [ev(formula, j=j, w_0=48, w_a=27.89, w_m=2.09) for j in range(16)]
    stages = sorted(set(widths))
    assert stages == [48, 104, 208, 440] and [widths.count(w) for w in stages] == [1, 3, 6, 6]


def test_a_shortcut_that_exists_when_stride_is_1_and_in_equals_out():
    text = """
sizecalc: 1
input: [16, 9, 9]
blocks:
  mbconv:
    params: {cin: int, cout: int, stride: 1}
    layers:
      - {id: conv, conv: $cout, kernel: 3, stride: $stride, padding: 1}
      - {id: sum, add: [in, conv], enabled: $stride == 1 and $cin == $cout}
layers:
  - {id: a, use: mbconv, with: {cin: 16, cout: 16}}
  - {id: b, use: mbconv, with: {cin: 16, cout: 24}}
  - {id: c, use: mbconv, with: {cin: 24, cout: 24, stride: 2}}
"""
    # only a's shortcut exists: b changes the channels (16 -> 24), c the side ((9 - 3 + 2)/2 + 1 = 5)
    assert [r.id for r in sizecalc.analyze(text).rows] == ["a.conv", "a.sum", "b.conv", "c.conv"]


NOT_WHOLE = """
sizecalc: 1
input: [3, 32, 32]
blocks:
  b:
    params: {w: 32, n: 3, se: true}
    layers:
      - {conv: WHAT, kernel: 1}
layers: [b]
"""


@pytest.mark.parametrize("what, message, fix", [
    ("$w * 1.1", "filters: '$w * 1.1' = 35.2, not a whole number",
     "say how to round it: $round($w * 1.1) (or $floor, $ceil, $int, $make_divisible($w * 1.1, 8))"),
    ("$w / 2", "filters: '$w / 2' = 16.0, a float (`/` and decimals give floats), where a whole number is needed",
     "say how to round it: $round($w / 2) (or $floor, $ceil, $int, $make_divisible($w / 2, 8))"),
    ("$w > 1", "filters: '$w > 1' = true, a condition, where a whole number is needed",
     "choose numbers with it: $1 if $w > 1 else 0"),
])
def test_a_float_where_a_size_is_needed_is_an_error_with_a_fix_that_works(what, message, fix):
    [finding] = findings(NOT_WHOLE.replace("WHAT", what))
    assert (finding.rule, finding.message, finding.fix) == ("param", message, fix)
    fixed = fix.split(": ", 1)[1].split(" (or")[0]
    assert sizecalc.analyze(NOT_WHOLE.replace("WHAT", fixed)).rows[0].op == "conv"


def test_expressions_in_repeat_enabled_and_block_parameters():
    text = NOT_WHOLE.replace("{conv: WHAT, kernel: 1}", "{conv: 4, kernel: 1, repeat: $ceil($n * 1.4)}")
    assert len(sizecalc.analyze(text).rows) == 5  # ceil(3 * 1.4) = ceil(4.2) = 5 copies
    text = NOT_WHOLE.replace("{conv: WHAT, kernel: 1}", "{conv: 4, kernel: 1, enabled: $not $se}\n      - relu")
    assert [r.op for r in sizecalc.analyze(text).rows] == ["relu"]  # the conv is disabled
    [f] = findings(NOT_WHOLE.replace("{conv: WHAT, kernel: 1}", "{conv: 4, kernel: 1, repeat: $n * 1.5}"))
    assert f.message == "repeat: '$n * 1.5' = 4.5, not a whole number"
    [f] = findings(NOT_WHOLE.replace("{conv: WHAT, kernel: 1}", "{conv: 4, kernel: 1, enabled: not $se}"))
    assert f.message == "enabled must be true or false, not the text 'not $se'"
    assert f.fix == "an expression starts with $: write enabled: $not $se"
    [f] = findings(NOT_WHOLE.replace("{conv: WHAT, kernel: 1}", "{conv: 4, kernel: 1, enabled: $n}"))
    assert (f.message, f.fix) == ("enabled: '$n' = 3, not true or false", "compare it: $n > 0")
    # a block parameter declared int takes an expression that gives one, and refuses a float
    text = NOT_WHOLE.replace("layers: [b]", "layers: [{use: c, with: {k: $round(2.5)}}]").replace(
        "blocks:\n", "blocks:\n  c:\n    params: {k: int}\n    layers: [{conv: $k, kernel: 1}]\n")
    assert sizecalc.analyze(text).rows[0].output[0] == 2  # round(2.5) = 2, halves to even
    text = text.replace("$round(2.5)", "$2.5 * 2")
    assert findings(text)[0].message == "k: '$2.5 * 2' = 5.0, a float (`/` and decimals give floats), " \
                                        "where a whole number is needed"


def test_an_expression_cut_by_a_flow_mapping_comma_says_to_quote_it():
    text = NOT_WHOLE.replace("WHAT", "$max($w, 8)")  # YAML ends the value at the comma: '$max($w'
    f = findings(text)[0]
    assert "missing ')' after the arguments of max" in f.message
    assert f.fix == 'inside {...} or [...] a comma ends the value: quote the expression, e.g. "$max($a, 8)"'
    assert sizecalc.analyze(NOT_WHOLE.replace("WHAT", '"$max($w, 8)"')).rows[0].output[0] == 32


# -- ids (point 4) ----------------------------------------------------------------------------
def test_ids_as_torch_names_them():
    text = """
sizecalc: 1
input: [4, 8, 8]
blocks:
  residual:   # named like the op alias of add: fine where a layer says use:
    layers:
      - {id: 0, conv: 4, kernel: 1}
      - {id: 1, add: [in, 0]}
layers:
  - {id: features_3, use: residual}
  - {id: 2, use: residual, from: features_3}
  - {add: [2, features_3.0]}
"""
    rows = sizecalc.analyze(text).rows
    assert [r.id for r in rows] == ["features_3.0", "features_3.1", "2.0", "2.1", "add1"]
    assert rows[-1].inputs == ["2.1", "features_3.0"]


@pytest.mark.parametrize("written, message, fix", [
    ("a.b", "id 'a.b' holds '.', which joins a block's id to the ids inside it "
            "(layer1.0.conv1 is layer conv1 of copy 0 of layer1)", "write id: a_b"),
    ("'a b'", "id 'a b' holds ' ', but an id is ASCII letters, digits, _ and - (a torch module path, flattened)",
     "write id: a_b"),
    ("-x", "id '-x' starts with '-' (an id starts with a letter, a digit or _)", "write id: x"),
    ("true", "id must be a name (ASCII letters, digits, _ and -), not a boolean (true)", "write id: conv1"),
    ("''", "id is empty", "write id: conv1"),
    ("-1", "id must be a name (ASCII letters, digits, _ and -), not -1", "write id: conv1"),
])
def test_a_bad_id_says_why_and_the_fix_is_an_id(written, message, fix):
    text = f"sizecalc: 1\ninput: [3, 8, 8]\nlayers:\n  - {{conv: 4, kernel: 1, id: {written}}}\n"
    [f] = findings(text)
    assert (f.rule, f.message, f.fix) == ("type", message, fix)
    sizecalc.analyze(text.replace(f"id: {written}", fix.removeprefix("write ")))


def test_a_block_named_like_an_op():
    base = "sizecalc: 1\ninput: [4, 8, 8]\nblocks:\n  NAME: {layers: [relu]}\nlayers: [LAYER]\n"
    assert len(sizecalc.analyze(base.replace("NAME", "residual").replace("LAYER", "{use: residual}")).rows) == 1
    [f] = findings(base.replace("NAME", "residual").replace("LAYER", "residual"))
    assert f.rule == "block-name" and f.message == "'residual' names both block 'residual' and the op add " \
                                                   "('residual' is its alias)"
    assert f.fix == "write {use: residual} to use the block (or rename the block)"
    [f] = findings(base.replace("NAME", "add").replace("LAYER", "{use: add}"))
    assert f.message == "block 'add' has the name of the op add: a reader of `- add` could not tell them apart"


# -- hostile expressions, each in its own process -------------------------------------------------
HOSTILE_EXPR = {
    "expr_power_tower.yaml": "10 ** 10000000000 is out of range (more than 10^12) (with $n = 10)",
    "expr_deep_nesting.yaml": "expression nested more than 24 deep",
    "expr_too_long.yaml": "expression longer than 400 characters",
    "expr_attribute.yaml": "an expression has no attributes",
    "expr_call_builtin.yaml": "cannot evaluate '$__import__('os').system('true')'",
    "expr_unknown_name.yaml": "unknown parameter $widht (did you mean $width?)",
    "expr_huge_literal.yaml": "the number 1e999 is out of range",
    "expr_not_whole.yaml": "filters: '$w * 1.1' = 35.2, not a whole number",
}


def test_every_expr_file_has_a_case():
    assert sorted(p.name for p in HOSTILE.glob("expr_*.yaml")) == sorted(HOSTILE_EXPR)


@pytest.mark.parametrize("name", sorted(HOSTILE_EXPR))
def test_hostile_expression(name):
    line = check(*run_lint(str(HOSTILE / name)), 1, "param", HOSTILE_EXPR[name])
    assert line.startswith(f"{HOSTILE / name}:7:21: "), line
