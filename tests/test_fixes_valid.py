"""Property (issue #13, point 5): every fix sizecalc offers is itself valid.

Random failing window layers (conv, maxpool / pool, avgpool; 1-D to 3-D; small inputs,
kernels, strides, paddings, dilations, each rounding rule) are written as one-layer specs.
Every fix offered for them, by `table`'s engine and by `lint`, is read back from its text as
a person would (the text is what is shown, so the text is what is tested), applied to the
spec (the new value written into the layer, a new input, or the global pool in its place),
and the fixed spec must size without an error. A sample of the fixed layers is built by
torch (when installed): the module runs and gives the output sizecalc predicts.
Bounded by the `ci` profile (tests/conftest.py); `--hypothesis-profile=long` for a long hunt.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("hypothesis")
yaml = pytest.importorskip("yaml")

from hypothesis import example, given, settings, strategies as st  # noqa: E402

from sizecalc.core.errors import ERROR  # noqa: E402
from sizecalc.engine.walk import analyze  # noqa: E402
from sizecalc.spec import loads  # noqa: E402
from sizecalc.tools.lint import lint_text  # noqa: E402

MAX_SIZE = {1: 12, 2: 9, 3: 5}
OPS = ("conv", "maxpool", "pool", "avgpool")
KEY = re.compile(r"^(kernel|stride|padding) (\d+|\[.*?\]+)(?: \(|$)")
INPUT = re.compile(r"^an input of ([\dx]+(?: or [\dx]+)*) to this layer")
ROUNDING = re.compile(r"^`rounding: (floor|ceil|exact)`")
OP = re.compile(r"^`(global_avgpool|global_maxpool)` in its place")


@st.composite
def layers(draw):
    n = draw(st.integers(1, 3))
    op = draw(st.sampled_from(OPS))

    def per_dim(lo, hi):
        one = draw(st.booleans())
        values = [draw(st.integers(lo, hi)) for _ in range(1 if one else n)]
        return values[0] if one else values
    args = {"kernel": per_dim(1, 9), "padding": per_dim(0, 4),
            "rounding": draw(st.sampled_from(["exact", "exact", "floor", "ceil"]))}
    if op == "conv" or draw(st.booleans()):  # a pool's stride defaults to its kernel
        args["stride"] = per_dim(1, 4)
    if op != "avgpool":
        args["dilation"] = per_dim(1, 3)
    if op == "conv":
        args["filters"] = 2
    return {"input": [2, *[draw(st.integers(1, MAX_SIZE[n])) for _ in range(n)]], "layers": [{op: args}]}


def errors(spec: dict) -> list:
    report = analyze(loads(yaml.safe_dump(spec, default_flow_style=True)))
    return [f for f in report.findings if f.severity == ERROR]


def applied(spec: dict, fix: str) -> list[dict]:
    """The spec with the fix applied, one spec per option the fix names."""
    (op, args), = spec["layers"][0].items()
    if m := KEY.match(fix):
        return [{**spec, "layers": [{op: {**args, m[1]: yaml.safe_load(m[2])}}]}]
    if m := INPUT.match(fix):
        specs = []
        for size in m[1].split(" or "):
            spatial = [int(v) for v in size.split("x")]
            n = len(spec["input"]) - 1
            specs.append({**spec, "input": [spec["input"][0], *(spatial * n if len(spatial) == 1 else spatial)]})
        return specs
    if m := ROUNDING.match(fix):
        return [{**spec, "layers": [{op: {**args, "rounding": m[1]}}]}]
    if m := OP.match(fix):
        return [{**spec, "layers": [{m[1]: {}}]}]
    raise AssertionError(f"a fix that says no change the test can apply: {fix!r}")


def offered(spec: dict) -> list[str]:
    """Every fix of every error, from the engine (table, layer) and from lint."""
    fixes = [fix for f in errors(spec) for fix in f.fixes]
    text = yaml.safe_dump(spec, default_flow_style=True)
    fixes += [fix for f in lint_text(text).findings if f.severity == ERROR for fix in f.fixes]
    return list(dict.fromkeys(fixes))


def check_fixes(spec: dict) -> int:
    """Assert every fix of `spec` passes once applied; the number of fixes checked."""
    fixes = offered(spec)
    for fix in fixes:
        for fixed in applied(spec, fix):
            left = errors(fixed)
            assert not left, f"{spec}: the fix {fix!r} gives {fixed}, which fails: {left[0].line()}"
    return len(fixes)


# the issue's case: AvgPool3d of 7 on 3x3x3 was offered padding 2, which torch refuses
@example({"input": [4, 3, 3, 3], "layers": [{"avgpool": {"kernel": 7, "stride": 1, "padding": 0,
                                                          "rounding": "exact"}}]})
@example({"input": [1, 8, 8], "layers": [{"maxpool": {"kernel": 2, "padding": 2, "rounding": "exact"}}]})
@example({"input": [2, 7, 9], "layers": [{"conv": {"filters": 2, "kernel": 3, "stride": 3, "padding": 0,
                                                    "rounding": "exact"}}]})
@given(layers())
def test_every_fix_offered_is_valid(spec):
    check_fixes(spec)


def test_the_issue_case_is_offered_only_valid_fixes():
    # AvgPool3d(7, stride 1) on 3x3x3: kernel 3 gives (3 - 3 + 2*0)/1 + 1 = 1; an input of 7
    # gives (7 - 7)/1 + 1 = 1; padding 2 would give (3 - 7 + 2*2)/1 + 1 = 1, but AvgPool3d
    # needs the kernel within the unpadded input (torch: "input image smaller than kernel size")
    spec = {"input": [4, 3, 3, 3], "layers": [{"avgpool": {"kernel": 7, "stride": 1}}]}
    (f,) = errors(spec)
    assert f.fixes == ("kernel 3 ((3 - 3 + 2*0)/1 + 1 = 1)",
                       "an input of 7 to this layer ((7 - 7 + 2*0)/1 + 1 = 1)",
                       "`global_avgpool` in its place (one value per channel: 3x3x3 -> 1)")
    assert check_fixes(spec) == 3


def test_a_pool_padded_past_half_its_kernel_is_offered_what_torch_takes():
    # MaxPool2d(2, padding 2) on 8x8: torch allows padding <= 2 // 2 = 1, (8 - 2 + 2*1)/2 + 1 = 5;
    # or a kernel of 4 (stride follows it): padding 2 <= 4 // 2, (8 - 4 + 2*2)/4 + 1 = 3
    spec = {"input": [1, 8, 8], "layers": [{"maxpool": {"kernel": 2, "padding": 2}}]}
    (f,) = errors(spec)
    assert f.fixes == ("padding 1 ((8 - 2 + 2*1)/2 + 1 = 5)", "kernel 4 ((8 - 4 + 2*2)/4 + 1 = 3)")


def test_a_fix_for_one_dimension_is_written_for_that_dimension():
    # 7x9 input, 3x3 kernel, stride 3: H (7 - 3)/3 + 1 = 2.33 fails, W (9 - 3)/3 + 1 = 3 fits;
    # padding 1 in H only: (7 - 3 + 2*1)/3 + 1 = 3, so padding [1, 0]
    spec = {"input": [1, 7, 9], "layers": [{"conv": {"filters": 1, "kernel": 3, "stride": 3}}]}
    (f,) = errors(spec)
    assert f.fixes[0] == "padding [1, 0] (H: (7 - 3 + 2*1)/3 + 1 = 3)"
    assert check_fixes(spec) >= 3


torch = None
try:
    import torch  # noqa: F811
except ImportError:
    pass


@pytest.mark.skipif(torch is None, reason="torch not installed")
@settings(max_examples=max(30, settings.default.max_examples // 5))  # a fifth of the profile's
@example({"input": [4, 3, 3, 3], "layers": [{"avgpool": {"kernel": 7, "stride": 1}}]})
@given(layers())
def test_fixed_layers_build_in_torch_with_the_predicted_shape(spec):
    from sizecalc.torch.backend import build_module
    fixes = [fix for f in errors(spec) for fix in f.fixes]
    for fix in fixes[:2]:  # a sample: the first two fixes of each failing layer
        for fixed in applied(spec, fix)[:1]:
            graph = loads(yaml.safe_dump(fixed, default_flow_style=True))
            report = analyze(graph)
            with torch.no_grad():
                out = build_module(graph)(torch.zeros(1, *fixed["input"]))
            assert tuple(out.shape[1:]) == report.rows[-1].output, (spec, fix)
