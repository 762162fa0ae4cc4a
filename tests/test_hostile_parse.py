"""Hostile input to the reader: what lint opens, what it skips, and what it quotes.

Each case runs `sizecalc lint` in its own process (test_hostile's `run_lint` and `check`:
one clean line, the exit code, no traceback, under the time and memory bounds) and also
checks that no control byte reaches the output. Where a case cannot be made for real (root
reads a mode-000 file anyway), it is simulated at the library level with monkeypatch.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import threading
import time

import pytest
import yaml

import test_hostile
from test_hostile import HOSTILE, check, run_lint
from sizecalc.core.errors import INFO, SpecError
from sizecalc.tools.lint import lint_paths
from sizecalc.report.formats import LINT, render
from sizecalc.spec import yamlsafe

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # any control byte but the newline
# libyaml's loader where this PyYAML has it, and always the pure-Python one
LOADERS = [pytest.param(getattr(yaml, "CSafeLoader", None), id="libyaml",
                        marks=pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML without libyaml")),
           pytest.param(yaml.SafeLoader, id="pure-python")]
# the same child as test_hostile's, on a machine whose PyYAML has no libyaml
PURE_CHILD = "import yaml\nif hasattr(yaml, 'CSafeLoader'):\n    del yaml.CSafeLoader\n" + test_hostile.CHILD

# file -> (exit code, rule, words the one finding holds, (line, col) or None)
CASES = {
    "parse_rawctl.yaml": (1, "yaml-syntax", "character U+0007 is not allowed in YAML", (2, 12)),
    "parse_rawesc.yaml": (1, "yaml-syntax", "character U+001B is not allowed in YAML", (3, 11)),
    "parse_version_true.yaml": (1, "version", "sizecalc: a boolean (true) is not a format version this "
                                "sizecalc reads; the format version is 1", (2, 11)),
    "parse_secrets_compose.yaml": (2, "not-a-spec", "not a sizecalc spec", (1, 1)),
    "parse_secrets_workflow.yaml": (2, "not-a-spec", "not a sizecalc spec", (1, 1)),
    "parse_reserved_id.yaml": (1, "type", "id 'input' is reserved", (5, 10)),
    "parse_long_key.yaml": (1, "unknown-key", "conv has no key '" + "k" * 40 + "…'", (5, 26)),
}
SECRETS = ("hunter2", "ghp_", "do_not_print", "do-not-print", "SECRET", "postgres")


def checked(result, want_code, rule, words):
    """test_hostile's check, and no control byte and no secret in what was printed."""
    code, stdout, stderr = result[:3]
    assert not CONTROL.search(stdout + stderr), repr(stdout)
    assert not any(s in stdout for s in SECRETS), stdout
    return check(*result, want_code, rule, words)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_parse_file(name):
    want_code, rule, words, where = CASES[name]
    path = HOSTILE / name
    line = checked(run_lint(str(path)), want_code, rule, words)
    if where:
        assert line.startswith(f"{path}:{where[0]}:{where[1]}: "), line


@pytest.mark.parametrize("name", ["parse_rawctl.yaml", "nesting_flow.yaml", "nesting_block.yaml"])
def test_without_libyaml_the_same_line(name, monkeypatch):
    """The pure-Python parser (PyYAML installed without libyaml) gives the same finding."""
    monkeypatch.setattr(test_hostile, "CHILD", PURE_CHILD)
    want = {"parse_rawctl.yaml": ("yaml-syntax", "character U+0007", (2, 12)),
            "nesting_flow.yaml": ("nesting", "nesting deeper than 64 levels", (3, 72)),
            "nesting_block.yaml": ("nesting", "nesting deeper than 64 levels", (4, 129))}[name]
    path = HOSTILE / name
    line = checked(run_lint(str(path)), 1, *want[:2])
    assert line.startswith(f"{path}:{want[2][0]}:{want[2][1]}: "), line


# -- deep nesting, whichever parser's limit fires first -------------------------------------

@pytest.mark.parametrize("loader", LOADERS)
def test_nesting_is_located_where_it_passes_our_limit(loader):
    """10,000 nested `[`: the 64th bracket opens the 65th container (the spec's mapping is the
    first), at column 8 + 64 = 72 of line 3 ("layers: " is 8 characters). libyaml's own limit
    of PyYAML 6.0.4 fires at its 1,000th bracket while reading ahead; the finding is ours."""
    text = (HOSTILE / "nesting_flow.yaml").read_text()
    assert text.splitlines()[2].startswith("layers: " + "[" * 100)
    with pytest.raises(SpecError) as err:
        yamlsafe.parse(text, "deep.yaml", loader)
    [finding] = err.value.findings
    assert (finding.rule, finding.message) == ("nesting", "nesting deeper than 64 levels")
    assert (finding.loc.line, finding.loc.col) == (3, 72)


@pytest.mark.parametrize("loader", LOADERS)
def test_block_nesting_located(loader):
    """`  - - - ...`: the layers list opens at column 3 (container 2), each further `- ` two
    columns on: container 65 opens at column 3 + 2 * 63 = 129 of line 4."""
    with pytest.raises(SpecError) as err:
        yamlsafe.parse((HOSTILE / "nesting_block.yaml").read_text(), "deep.yaml", loader)
    [finding] = err.value.findings
    assert finding.rule == "nesting" and (finding.loc.line, finding.loc.col) == (4, 129)


def test_parser_limit_below_ours_is_still_nesting(monkeypatch):
    """With our limit above the parser's own (libyaml's 1,000 in PyYAML 6.0.4, none in 6.0.3),
    the parser's stop is still rule `nesting`, on line 3, no later than the bracket where ours
    would fire (5,000th bracket: column 8 + 5,000)."""
    monkeypatch.setattr(yamlsafe, "MAX_DEPTH", 5000)
    with pytest.raises(SpecError) as err:
        yamlsafe.parse((HOSTILE / "nesting_flow.yaml").read_text(), "deep.yaml")
    [finding] = err.value.findings
    assert finding.rule == "nesting" and finding.message.startswith("nesting deeper than")
    assert finding.loc.line == 3 and 9 <= finding.loc.col <= 8 + 5000
    assert "\n" not in finding.line()


@pytest.mark.parametrize("loader", LOADERS)
def test_control_character_one_located_line(loader):
    """`name: "ab\x1b[31m"`: the ESC is the 10th character of line 2 (`name: "ab` is 9)."""
    text = 'sizecalc: 1\nname: "ab\x1b[31m"\ninput: [3, 8, 8]\nlayers: [relu]\n'
    with pytest.raises(SpecError) as err:
        yamlsafe.parse(text, "ctl.yaml", loader)
    [finding] = err.value.findings
    assert finding.rule == "yaml-syntax" and (finding.loc.line, finding.loc.col) == (2, 10)
    assert "U+001B" in finding.message and not CONTROL.search(finding.line())
    # after a multi-byte character: libyaml counts bytes, the column counts characters
    with pytest.raises(SpecError) as err:
        yamlsafe.parse('sizecalc: 1\nname: "é€\x07"\n', "ctl.yaml", loader)
    assert (err.value.findings[0].loc.line, err.value.findings[0].loc.col) == (2, 10)


# -- what a directory walk reads ------------------------------------------------------------

CLEAN = "sizecalc: 1\ninput: [3, 8, 8]\nlayers: [relu]\n"
BROKEN = "sizecalc: 1\ninput: [3, 8, 8]\nlayers: [{conv: 4, kernel: 5, stride: 2}]\n"


def test_symlink_out_of_the_tree_is_not_followed(tmp_path):
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    (tree / "net.yaml").write_text(CLEAN)
    (outside / "evil.yaml").write_text(BROKEN + "# SECRET\n")  # an error if it were read
    (tree / "link.yaml").symlink_to(outside / "evil.yaml")
    line = checked(run_lint(str(tree)), 0, "symlink-outside", "link.yaml is a symlink that leads out")
    assert line.startswith("warning: ")
    (tree / "link.yaml").unlink()
    (tree / "more").symlink_to(outside, target_is_directory=True)
    checked(run_lint(str(tree)), 0, "symlink-outside", "more is a symlink that leads out")


def test_symlink_inside_the_tree_is_read_once(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "net.yaml").write_text(BROKEN)
    (tmp_path / "alias.yaml").symlink_to(tmp_path / "real" / "net.yaml")
    (tmp_path / "again").symlink_to(tmp_path / "real", target_is_directory=True)
    result = lint_paths([str(tmp_path)])
    assert len(result.files) == 1 and [f.rule for f in result.findings] == ["non-integer-output"]


def _unblock_after(fifo, seconds: float) -> None:
    """Should lint ever open the FIFO for reading, give it an end of file instead of a hang."""
    def later():
        time.sleep(seconds)
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # nobody reading: nothing to unblock
            pass
    threading.Thread(target=later, daemon=True).start()


def test_fifo_is_refused_not_read(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    _unblock_after(fifo, 5)
    checked(run_lint(str(fifo)), 2, "unreadable", "pipe.yaml is a FIFO (named pipe), not a regular file")
    (tmp_path / "net.yaml").write_text(CLEAN)
    checked(run_lint(str(tmp_path)), 2, "unreadable", "pipe.yaml is a FIFO (named pipe)")


def test_device_is_refused():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    checked(run_lint("/dev/zero"), 2, "unreadable", "/dev/zero is a character device, not a regular file")


def test_over_long_paths(tmp_path):
    """A name of 300 characters passes NAME_MAX (255); a path of 6,000 passes PATH_MAX (4,096).
    The message quotes the path cut to 160 characters."""
    line = checked(run_lint(str(tmp_path / ("a" * 300 + ".yaml"))), 2, "unreadable",
                   "is a path too long for the file system")
    assert "…" in line and "a" * 300 not in line
    checked(run_lint("d/" * 3000 + "net.yaml"), 2, "unreadable", "(6,008 characters)")


def _readable_anyway(path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except PermissionError:
        return False


def test_unreadable_file_and_directory_for_real(tmp_path):
    spec, folder = tmp_path / "net.yaml", tmp_path / "locked"
    spec.write_text(CLEAN)
    folder.mkdir()
    (folder / "inner.yaml").write_text(CLEAN)
    spec.chmod(0)
    folder.chmod(0)
    try:
        if _readable_anyway(spec):
            pytest.skip("this user (root) reads a mode-000 file anyway; see the simulated test")
        checked(run_lint(str(spec)), 2, "unreadable", "net.yaml cannot be read (permission denied)")
        spec.chmod(stat.S_IRUSR | stat.S_IWUSR)
        checked(run_lint(str(tmp_path)), 2, "unreadable", "locked is a directory that cannot be listed")
    finally:
        spec.chmod(stat.S_IRUSR | stat.S_IWUSR)
        folder.chmod(stat.S_IRWXU)


def test_unreadable_file_and_directory_simulated(tmp_path, monkeypatch):
    """As root mode 000 stops nothing: the OS's refusals are made by hand, where lint meets them."""
    (tmp_path / "net.yaml").write_text(CLEAN)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inner.yaml").write_text(CLEAN)
    real_open, real_scandir = os.open, os.scandir

    def refusing_open(path, *args, **kwargs):
        if str(path).endswith("net.yaml"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def refusing_scandir(path="."):
        if str(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "open", refusing_open)
    monkeypatch.setattr(os, "scandir", refusing_scandir)
    result = lint_paths([str(tmp_path)])
    assert result.exit_code == 2
    lines = sorted(f.line() for f in result.findings)
    assert lines == [f"error: {tmp_path / 'locked'} is a directory that cannot be listed (permission denied); "
                     "fix: make it readable to this user [unreadable]",
                     f"error: {tmp_path / 'net.yaml'} cannot be read (permission denied); "
                     "fix: make it readable to this user [unreadable]"]


# -- a YAML file that is not a spec -------------------------------------------------------

def test_non_spec_yaml_in_a_walk_is_skipped_with_a_note_and_never_quoted(tmp_path):
    (tmp_path / "net.yaml").write_text(CLEAN)
    for name in ("parse_secrets_compose.yaml", "parse_secrets_workflow.yaml"):
        (tmp_path / name).write_bytes((HOSTILE / name).read_bytes())
    result = lint_paths([str(tmp_path)])
    assert result.exit_code == 0
    notes = list(result.findings)
    assert [(f.rule, f.severity) for f in notes] == [("not-a-spec", INFO)] * 2
    for fmt in LINT:
        out = render(LINT, fmt, result)
        assert not any(s in out for s in SECRETS), (fmt, out)
        assert "services" not in out and "API_TOKEN" not in out and "deploy" not in out


def test_what_counts_as_a_spec(tmp_path):
    """A mapping with `sizecalc:`, `layers:` or `input:` at its top is a spec (its mistakes are
    reported, a misspelt `layer:` too); anything else YAML is not, whether or not it parses."""
    cases = {
        "input: [3, 8, 8]\nlayers: [relu]\n": 0,  # no version line: still a spec
        "sizecalc: 1\ninput: [3, 8, 8]\n": 1,  # a spec without layers: that mistake is reported
        "input: [3, 8, 8]\nlayer: [relu]\n": 1,  # did you mean 'layers'?
        "name: deploy\ninputs: {SECRET: 1}\n": 2,
        "just text SECRET\n": 2,
        "- a\n- SECRET\n": 2,
        "a: &x SECRET\nb: *x\n": 2,  # does not parse as a spec (an alias), and no spec key
        "a: {b: [SECRET\n": 2,  # broken YAML, no spec key
        "layers: {a: *x}\n": 1,  # broken, but a spec: the alias error is reported
    }
    for i, (text, code) in enumerate(cases.items()):
        path = tmp_path / f"f{i}.yaml"
        path.write_text(text)
        result = lint_paths([str(path)])
        assert result.exit_code == code, (text, [f.line() for f in result.findings])
        if code == 2:
            [finding] = result.findings
            assert finding.rule == "not-a-spec" and "SECRET" not in finding.line()


@pytest.mark.parametrize("where", ["{long}: 1\nlayers: [relu]",
                                   "layers: [{{conv: 4, kernel: 1, padding: {long}}}]",
                                   "layers: [relu, {{id: a, from: {long}, relu}}]",
                                   "layers: [{long}]",
                                   "layers: [{{conv: 4, {long}: 1}}]",
                                   "blocks: {{b: {{params: {{n: int}}, layers: [{{conv: $n, kernel: 1}}]}}}}\n"
                                   "layers: [{{use: b, with: {{n: 1, {long}: 2}}}}]",
                                   "blocks: {{b: {{params: {{n: int}}, layers: [{{conv: '${long}'}}]}}}}\n"
                                   "layers: [{{use: b, with: {{n: 1}}}}]"])
def test_quoted_values_are_cut_to_forty_characters(where):
    from sizecalc.tools.lint import lint_text
    long = "x" * 39 + "SECRET" * 100
    text = "sizecalc: 1\ninput: [3, 8, 8]\n" + where.format(long=long) + "\n"
    [finding] = lint_text(text, "net.yaml").findings
    assert "x" * 39 in finding.line() and "…" in finding.line() and "SE" not in finding.line(), finding.line()


# -- odd but valid ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["\0layers", '"layers": null', "layers\": null"])
def test_name_equal_to_an_internal_placeholder(name):
    """The JSON renderer splices the layer rows in at a marker: a name cannot stand in for it."""
    from sizecalc import analyze
    from sizecalc.report.json_out import render as to_json
    from sizecalc.spec import loads
    text = f"sizecalc: 1\nname: {json.dumps(name)}\ninput: [3, 8, 8]\nlayers: [relu, {{conv: 2, kernel: 1}}]\n"
    data = json.loads(to_json(analyze(loads(text, "net.yaml"))))
    assert data["name"] == name.replace("\0", "\\x00")  # a NUL is escaped in every output format
    assert [layer["id"] for layer in data["layers"]] == ["relu1", "conv1"]


def test_reserved_ids_cannot_shadow_the_inputs():
    from sizecalc.tools.lint import lint_text
    [finding] = lint_text("sizecalc: 1\ninput: [3, 8, 8]\nlayers: [{id: in, relu}]\n", "net.yaml").findings
    assert finding.line() == ("net.yaml:3:15: error: id 'in' is reserved: `input` names the network's input "
                              "and `in` a block's input; fix: write id: in_layer [type]")


@pytest.mark.parametrize("version, words", [("true", "a boolean (true)"), ("2", "2"), ('"1"', "the text '1'"),
                                            ("1.0", "the decimal 1.0")])
def test_format_version(version, words):
    from sizecalc.tools.lint import lint_text
    [finding] = lint_text(f"sizecalc: {version}\ninput: [3, 8, 8]\nlayers: [relu]\n", "net.yaml").findings
    assert finding.rule == "version" and (finding.loc.line, finding.loc.col) == (1, 11)
    assert finding.message == (f"sizecalc: {words} is not a format version this sizecalc reads; "
                               "the format version is 1")
