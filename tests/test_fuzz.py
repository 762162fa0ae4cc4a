"""Fuzzing the linter: mutated specs (built-in and small hand-written ones, with keys and
items deleted or duplicated, values retyped or perturbed, lines damaged) never make lint
raise, and every result renders in every format with exit code 0, 1 or 2.

CI runs the bounded `ci` profile (tests/conftest.py); for a longer run:
    python -m pytest tests/test_fuzz.py --hypothesis-profile=long
"""

from __future__ import annotations

import copy
import json

import pytest

pytest.importorskip("hypothesis")
import yaml  # noqa: E402
from hypothesis import given, strategies as st  # noqa: E402

from sizecalc.core.errors import ERROR, INFO, WARNING  # noqa: E402
from sizecalc.tools.lint import LintResult, lint_text  # noqa: E402
from sizecalc.report.formats import LINT, render  # noqa: E402
from sizecalc.spec import zoo  # noqa: E402

SMALL = [
    """
input: [3, 32, 32]
layers:
  - {conv: 10, kernel: 5, stride: 1, padding: 2}
  - relu
  - {maxpool: 2}
  - flatten
  - {fc: 10}
""",
    """
input: [16, 8, 8]
defaults: {rounding: floor, conv: {bias: false}}
blocks:
  basic:
    params: {planes: int, stride: 1, project: false}
    layers:
      - {id: conv1, conv: $planes, kernel: 3, stride: $stride, padding: 1}
      - bn
      - relu
      - {id: conv2, conv: $planes, kernel: 3, padding: 1}
      - {id: sc, from: in, conv: $planes, kernel: 1, stride: $stride, enabled: $project}
      - {add: [conv2, sc]}
layers:
  - {id: layer1, use: basic, repeat: 2, with: {planes: 16}}
  - {id: layer2, use: basic, repeat: 2, with: {planes: 32}, first: {stride: 2, project: true}}
  - gap
""",
    """
input: [8, 100]
layers:
  - {conv1d: 16, kernel: 5, stride: 1, padding: [[2, 2]], dilation: 1}
  - {id: a, avgpool: 2}
  - {id: b, from: a, conv: 16, kernel: 1}
  - {concat: [a, b]}
  - {id: gate, from: b, global_avgpool}
  - {mul: [b, gate]}
""",
    """
input: [1, 16, 16, 16]
layers:
  - {conv3d: 4, kernel: [3, 3, 1], stride: [2, 2, 1], padding: [1, 1, 0], rounding: ceil}
  - {repeat: 2, id: g, layers: [{conv: 4, kernel: 1, groups: 2}, leaky_relu]}
  - {split: 2, part: 0}
  - {upsample: 2}
""",
]
BASES = SMALL + [path.read_text() for path in sorted({zoo.find(name) for name in zoo.names()})]  # each file once
DOCS = [yaml.safe_load(text) for text in BASES]
ODD_TEXT = ["$n", "$planes * 2", "$", "same", "valid", "floor", "ceil", "in", "input", "relu", "conv",
            "kernel", "-", "~", "0x10", "1e3", ".nan", "2.5", "true", "[1, [2, 3]]", "{a: 1}", "é", ""]
VALUES = st.one_of(
    st.integers(-3, 300), st.integers(-10 ** 40, 10 ** 40), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(), st.sampled_from(ODD_TEXT), st.text(max_size=6),
    st.lists(st.one_of(st.integers(-2, 64), st.sampled_from(ODD_TEXT)), max_size=4),
    st.dictionaries(st.sampled_from(["kernel", "stride", "x", "layers", "use", "conv", "id"]),
                    st.integers(-2, 64), max_size=3),
)


def slots(node, out):
    """Every (container, key) in a parsed document, depth first."""
    if isinstance(node, dict):
        for key in list(node):
            out.append((node, key))
            slots(node[key], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            slots(node[i], out)
    return out


@st.composite
def mutated_specs(draw):
    doc = copy.deepcopy(draw(st.sampled_from(DOCS)))
    for _ in range(draw(st.integers(1, 4))):
        places = slots(doc, [])
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        how = draw(st.sampled_from(["delete", "duplicate", "retype", "perturb", "rename"]))
        value = container[key]
        if how == "delete":
            del container[key]
        elif how == "duplicate" and isinstance(container, list):
            container.insert(key, copy.deepcopy(value))
        elif how == "duplicate" or how == "rename":
            if isinstance(container, dict):
                new = draw(st.sampled_from(["kernal", "id", "from", "repeat", "layers", "use", "with",
                                            "conv", "enabled", "padding", "rounding", "first", "k2"]))
                container[new] = value if how == "duplicate" else container.pop(key)
        elif how == "perturb" and isinstance(value, int) and not isinstance(value, bool):
            container[key] = draw(st.sampled_from([value + 1, value - 1, value * 2, -value, 0, 10 ** 9,
                                                   10 ** 30, 100_001, value // 2]))
        else:
            container[key] = draw(VALUES)
    text = yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                     default_flow_style=draw(st.sampled_from([None, False])), allow_unicode=True)
    if draw(st.booleans()):  # damage the text itself: duplicate keys, broken indentation, stray marks
        lines = text.splitlines()
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        how = draw(st.sampled_from(["dup", "drop", "indent", "char"]))
        if lines and how == "dup":
            lines.insert(i, lines[i])
        elif lines and how == "drop":
            del lines[i]
        elif lines and how == "indent":
            lines[i] = " " + lines[i]
        elif lines:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.sampled_from(list(":[]{}&*!|>-#'\"%@`,?\t"))) + lines[i][at:]
        text = "\n".join(lines) + "\n"
    return text


def check(text: str, strict: bool) -> None:
    result = lint_text(text, "fuzz.yaml", strict=strict)
    code = result.exit_code(strict)
    assert code in (0, 1, 2)
    for f in result.findings:
        assert f.severity in (ERROR, WARNING, INFO) and f.rule and f.message
        assert f.loc is None or (f.loc.line >= 1 and f.loc.col >= 1)
        assert "Traceback" not in f.line()
    assert (code == 1) == (not result.unreadable and any(
        f.severity == ERROR or (strict and f.severity == WARNING) for f in result.findings))
    run = LintResult([result], strict)
    for fmt in LINT:
        out = render(LINT, fmt, run)
        if fmt in ("json", "sarif"):
            json.loads(out)


@given(mutated_specs(), st.booleans())
def test_lint_never_crashes_on_mutated_specs(text, strict):
    check(text, strict)


@given(st.text(max_size=200))
def test_lint_never_crashes_on_any_text(text):
    check(text, False)


@pytest.mark.parametrize("text", BASES[:len(SMALL)])
def test_the_small_bases_are_clean(text):
    assert lint_text(text, "base.yaml").exit_code() == 0
