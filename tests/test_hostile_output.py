"""Hostile output: what sizecalc prints and writes, whatever a spec, a file name or the
stream around it holds (issue #11, points 3, 4 and 7).

- User text (name, ids from block names, op names, keys, from:/use: values, file names) is
  printed escaped in every format of `table` and `lint`: no control character reaches the
  terminal or the CI log, no line but sizecalc's own annotations starts with `::`, JSON and
  SARIF parse, SVG is XML, markdown rows keep the header's cells.
- `-o` is atomic and refuses a symbolic link or an input; a closed pipe, a full disk and a
  closed stdin end with one line (or none) and the documented code.

Commands run as CI runs them: `python -m sizecalc` in a child process, bytes compared.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import stat
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from sizecalc.cli import main
from sizecalc.core.escape import markdown_cell, printable
from test_hostile import HOSTILE, check, run_lint

# what a pull request could put in a spec: a line break and a workflow command, a colour
# escape, a bell, NEL (C1), LINE SEPARATOR, RIGHT-TO-LEFT OVERRIDE, NUL, rich markup, the
# characters GitHub escapes in properties, and a legacy `##[command]`
EVIL = "\n::error::forged\x1b[31m\x07\x85\u2028\u202e\x00[bold red]x|y,z:%##[set-output name=a]b"
# the same, as printable() must show it (written out by hand from the rules in escape.py)
EVIL_SHOWN = (r"\n:\x3aerror:\x3aforged\x1b[31m\x07\x85\u2028\u202e\x00[bold red]x|y,z:%#\x23"
              "[set-output name=a]b")
NAME = "::error::forged" + EVIL  # at the start of a line (the plain table's first line)
NAME_SHOWN = r"\x3a\x3aerror:\x3aforged" + EVIL_SHOWN
FILE_PART = "\n::error::forged\x1b[31m\x07\x85\u2028"  # a file name cannot hold NUL or /
TABLE_FORMATS = ("rich", "markdown", "csv", "json", "svg", "html")
LINT_FORMATS = ("text", "github", "json", "sarif")
ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text)


# a network that sizes fine: the name and a block name (which every id inside it carries)
# hold EVIL
GOOD = f"""\
sizecalc: 1
name: {q(NAME)}
input: [3, 8, 8]
blocks:
  {q("blk" + EVIL)}:
    layers:
      - {{id: c, conv: 4, kernel: 3, padding: 1}}
layers:
  - {{id: a, conv: 4, kernel: 3, padding: 1}}
  - {{use: {q("blk" + EVIL)}}}
  - {{from: a, relu: {{}}}}
"""
# five errors, each quoting EVIL: an id, a key, an op, a use: and a from:
BAD = f"""\
sizecalc: 1
name: {q(NAME)}
input: [3, 8, 8]
layers:
  - {{id: {q("a" + EVIL)}, conv: 4, kernel: 1}}
  - {{conv: 4, kernel: 1, {q("k" + EVIL)}: 1}}
  - {{{q("op" + EVIL)}: 3}}
  - {{use: {q("blk" + EVIL)}}}
  - {{from: {q("zz" + EVIL)}, relu: {{}}}}
"""


def run(*args, cwd=None, stdout=subprocess.PIPE, **popen) -> tuple[int, bytes, bytes]:
    """`python -m sizecalc ARGS` in a child process: (exit code, stdout, stderr) as bytes."""
    env = {**os.environ, "GITHUB_ACTIONS": "false", "COLUMNS": "400"}
    proc = subprocess.run([sys.executable, "-m", "sizecalc", *args], stdout=stdout, stderr=subprocess.PIPE,
                          stdin=popen.pop("stdin", subprocess.DEVNULL), cwd=cwd, env=env, timeout=60, **popen)
    return proc.returncode, proc.stdout or b"", proc.stderr


def assert_inert(text: str) -> None:
    """No control or invisible character but the line feeds, and no line a CI runner reads
    as a command (GitHub trims leading whitespace before it looks for `::`)."""
    for line in text.split("\n"):
        assert all(c.isprintable() for c in line), ascii(line)
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line


@pytest.fixture()
def specs(tmp_path):
    """GOOD and BAD under file names that carry FILE_PART."""
    good, bad = tmp_path / f"good{FILE_PART}.yaml", tmp_path / f"bad{FILE_PART}.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(BAD, encoding="utf-8")
    return good, bad


# -- printable: the one escaping function --------------------------------------------------
@pytest.mark.parametrize("raw, shown", [
    ("conv1_1", "conv1_1"),
    ("résumé 網絡", "résumé 網絡"),
    ("a\nb\rc\td", r"a\nb\rc\td"),
    ("\x1b[31m\x07\x00\x7f", r"\x1b[31m\x07\x00\x7f"),
    ("\x85\x9b", r"\x85\x9b"),  # C1: NEL, CSI
    ("\u2028\u2029", r"\u2028\u2029"),
    ("\u202a\u202e\u2066\u2069\u200b\ufeff", r"\u202a\u202e\u2066\u2069\u200b\ufeff"),
    ("spec\udcff.yaml", r"spec\xff.yaml"),  # a non-UTF-8 byte, as os.fsdecode keeps it
    ("::error::x", r"\x3a\x3aerror:\x3ax"),
    ("a::b", r"a:\x3ab"),
    (":", r"\x3a"),
    (" :x", r" \x3ax"),
    ("##[add-mask]x ##vso[task]", r"#\x23[add-mask]x #\x23vso[task]"),
    ("C:\\specs\\net.yaml", "C:\\specs\\net.yaml"),  # backslashes are kept: paths stay readable
])
def test_printable(raw, shown):
    assert printable(raw) == shown
    assert printable(shown) == shown  # escaping twice changes nothing


def test_printable_escapes_every_control_and_format_character():
    """Every code point Unicode calls a control (Cc), format (Cf), line or paragraph
    separator (Zl, Zp) or surrogate (Cs) prints as ASCII escape text."""
    hidden = [chr(i) for i in range(0x110000) if unicodedata.category(chr(i)) in ("Cc", "Cf", "Zl", "Zp", "Cs")]
    assert len(hidden) > 2000  # 65 controls, 2,048 surrogates and the format characters
    for c in hidden:
        shown = printable(c)
        assert shown.startswith("\\") and shown.isascii() and shown.isprintable(), ascii(c)


def test_markdown_cell():
    assert markdown_cell("a|b") == "a\\|b"
    assert markdown_cell("[x](https://e.example) *y* `z` <b>") == r"\[x\](https://e.example) \*y\* \`z\` \<b\>"
    assert markdown_cell("a\nb") == "a\\\\nb"  # the escape's backslash, itself escaped for markdown


# -- table: every format -------------------------------------------------------------------
@pytest.mark.parametrize("fmt", TABLE_FORMATS)
def test_table_formats_print_user_text_escaped(specs, fmt):
    good, _ = specs
    code, out, err = run("table", good.name, "--format", fmt, "--explain", cwd=good.parent)
    assert code == 0, err
    text, notes = out.decode("utf-8"), err.decode("utf-8")
    assert "Traceback" not in notes
    assert_inert(text)
    assert_inert(notes)
    if fmt == "json":
        data = json.loads(text)
        assert data["name"] == NAME_SHOWN
        assert data["source"] == printable(good.name) == r"good\n:\x3aerror:\x3aforged\x1b[31m\x07\x85\u2028.yaml"
        assert [row["id"] for row in data["layers"]] == ["a", f"blk{EVIL_SHOWN}1.c", "relu1"]
    elif fmt == "svg":
        root = ET.fromstring(text)
        assert root.tag.endswith("svg")
    elif fmt == "html":  # the name and ids as text, each escaped where it stands
        from html import escape
        assert f"<h1>{escape(NAME_SHOWN)}</h1>" in text
        assert f'<span class="id" style="--level:1">{escape(f"blk{EVIL_SHOWN}1.c")}</span>' in text
        assert "<script" not in text and "[bold red]" in text
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert {len(r) for r in rows} == {11}
        assert rows[1][0] == "input"  # the input's row first, as in the other tables
        assert rows[3][0] == f"blk{EVIL_SHOWN}1.c"
    elif fmt == "markdown":
        lines = text.splitlines()
        assert lines[0] == "### " + markdown_cell(NAME)
        table = [line for line in lines if line.startswith("|")]
        cells = [len(re.split(r"(?<!\\)\|", line)) for line in table]
        assert len(table) == 2 + 4 + 2  # head, rule, input, 3 layers, the 2 convolutions' arithmetic
        assert set(cells) == {len(re.split(r"\|", table[0]))}, table
    else:  # plain text (stdout is a pipe)
        assert text.splitlines()[0] == NAME_SHOWN


def test_rich_table_prints_markup_literally():
    """On a terminal: `[bold red]x` in a name or id is text, not a style."""
    from rich.console import Console

    from sizecalc import analyze
    from sizecalc.spec import loads
    from sizecalc.report.rich_table import table
    report = analyze(loads(GOOD.replace(q(NAME), q("[bold red]net[/] :smile:")), "net.yaml"))
    console = Console(record=True, width=400, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    console.print(table(report, explain=True))
    shown = console.export_text()
    assert "[bold red]net[/] :smile:" in shown
    assert f"blk{EVIL_SHOWN}1.c" in shown


def test_table_of_a_file_name_with_a_newline_reads_the_file(tmp_path):
    """A path holding a newline is still a path (sizecalc.load reads YAML text only when no
    such file exists)."""
    path = tmp_path / "a\nb.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [{conv: 2, kernel: 3}]\n")
    code, out, err = run("table", str(path), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["layers"][0]["output"] == [2, 6, 6]  # (8 - 3)/1 + 1 = 6


# -- lint: every format --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", LINT_FORMATS)
def test_lint_formats_print_user_text_escaped(specs, fmt):
    _, bad = specs
    code, out, err = run("lint", bad.name, "--format", fmt, cwd=bad.parent)
    assert code == 1 and err == b""
    text = out.decode("utf-8")
    lines = text.splitlines()
    annotations = [line for line in lines if line.startswith("::")]
    assert_inert("\n".join(line for line in lines if line not in annotations))
    messages = {"text": lambda: lines[:-1],
                "github": lambda: [a.replace("%25", "%") for a in annotations],
                "json": lambda: [f["message"] for f in json.loads(text)["files"][0]["findings"]],
                "sarif": lambda: [r["message"]["text"] for r in json.loads(text)["runs"][0]["results"]]}[fmt]()
    assert len(messages) == 5
    for quoted in ("a", "k", "op", "blk", "zz"):  # each error quotes its value, escaped
        assert sum(f"'{quoted}" + r"\n:\x3aerror" in m for m in messages) == 1, (quoted, messages)
    if fmt == "github":
        assert len(annotations) == 5
        for line in annotations:
            assert all(c.isprintable() for c in line), ascii(line)
            m = ANNOTATION.match(line)
            assert m, line
            props = dict(p.split("=", 1) for p in m["props"].split(","))
            assert set(props) == {"file", "line", "col", "title"}, props
            assert props["file"] == r"bad\n%3A\x3aerror%3A\x3aforged\x1b[31m\x07\x85\u2028.yaml"
            data = m["data"].replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
            assert data.count("\n") == 1 and "\nfix: " in data  # only sizecalc's own line break
        assert lines[len(annotations)].startswith(r"bad\n:\x3aerror:\x3aforged")
    elif fmt == "json":
        data = json.loads(text)
        assert data["files"][0]["file"] == printable(bad.name)
        assert len(data["files"][0]["findings"]) == 5
    elif fmt == "sarif":
        data = json.loads(text)
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in data["runs"][0]["results"]}
        # the file name's UTF-8 bytes, percent-encoded: LF %0A, ':' %3A, ESC %1B, BEL %07,
        # NEL C2 85, LINE SEPARATOR E2 80 A8
        assert uris == {"bad%0A%3A%3Aerror%3A%3Aforged%1B%5B31m%07%C2%85%E2%80%A8.yaml"}


def test_github_format_keeps_file_names_that_start_with_colons_off_line_starts(tmp_path):
    path = tmp_path / "::error::x.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [{conv: 2, kernel: 4, stride: 3}]\n")
    code, out, _ = run("lint", path.name, "--format", "github", cwd=tmp_path)
    assert code == 1
    lines = out.decode().splitlines()
    # (8 - 4)/3 + 1 = 2.33; the file property is printable, then escaped as GitHub reads it
    assert lines[0].startswith(r"::error file=\x3a\x3aerror%3A\x3ax.yaml,line=2,col=39,")
    assert lines[1].startswith(r"\x3a\x3aerror:\x3ax.yaml:2:")
    assert [line for line in lines if line.lstrip().startswith("::")] == lines[:1]


def test_hostile_file_with_forged_command(tmp_path):
    """tests/hostile/output_forged_op.yaml: one clean line, whatever the op's name holds."""
    result = run_lint(str(HOSTILE / "output_forged_op.yaml"))
    check(*result, 1, "unknown-op", r"unknown op 'x\n:\x3aerror:\x3aforged\x1b[31m\x07\x85\u2028\u202e'")
    assert_inert(result[1] + result[2])


# -- file names that are not UTF-8 ---------------------------------------------------------
def test_file_name_that_is_not_utf8(tmp_path):
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"spec\xff.yaml"), "w") as fh:
        fh.write("input: [3, 8, 8]\nlayers: [{conv: 2, kernel: 4, stride: 3}]\n")
    code, out, err = run("lint", b"spec\xff.yaml", "--format", "sarif", cwd=tmp_path)
    assert code == 1 and err == b""
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "spec%FF.yaml"
    code, out, err = run("lint", b"spec\xff.yaml", cwd=tmp_path)
    assert code == 1 and out.decode().startswith("spec\\xff.yaml:2:")
    assert_inert(out.decode())
    code, out, err = run("table", b"spec\xff.yaml", "--format", "json", cwd=tmp_path)
    assert code == 1  # the JSON document all the same, with the finding (issue #13, point 6)
    [finding] = json.loads(out)["findings"]
    assert finding["file"] == "spec\\xff.yaml" and finding["rule"] == "non-integer-output"
    assert err.decode().startswith("spec\\xff.yaml:2:") and "[non-integer-output]" in err.decode()


def test_table_of_a_non_utf8_file_name_in_every_format(tmp_path):
    """NUL and controls in name:, under a file name that is not UTF-8: every format stays
    well-formed."""
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"net\xfe.yaml"), "w", encoding="utf-8") as fh:
        fh.write(GOOD)
    for fmt in TABLE_FORMATS:
        code, out, err = run("table", b"net\xfe.yaml", "--format", fmt, cwd=tmp_path)
        assert code == 0, (fmt, err)
        assert_inert(out.decode("utf-8"))
        if fmt == "json":
            assert json.loads(out)["source"] == "net\\xfe.yaml"
        if fmt == "svg":
            ET.fromstring(out)


# -- -o: atomic, never through a link, never over an input ---------------------------------
def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_output_refuses_a_symbolic_link(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    link = tmp_path / "out.json"
    link.symlink_to(target)
    for args in (("table", "vgg16", "--format", "json"), ("schema",), ("lint", HOSTILE / "empty.yaml")):
        result = invoke(*args, "-o", link)
        assert result.exit_code == 2, result.output
        assert f"{link} is a symbolic link" in result.output
        assert link.is_symlink() and target.read_text() == "keep me\n"


def test_output_refuses_an_input(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers: [{conv: 2, kernel: 3}]\n")
    before = spec.read_text()
    (tmp_path / "alias.yaml").hardlink_to(spec)
    for args in (("table", spec, "-o", spec), ("table", spec, "-o", tmp_path / "alias.yaml"),
                 ("lint", spec, "-o", spec), ("lint", tmp_path, "-o", tmp_path / "alias.yaml"),
                 ("table", tmp_path / "." / "net.yaml", "-o", spec)):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "is one of the inputs" in result.output
        assert spec.read_text() == before


def test_output_refuses_a_built_in_networks_spec():
    from sizecalc.spec.zoo import find
    packaged = find("vgg16")
    before = packaged.read_bytes()
    try:
        result = invoke("table", "vgg16", "-o", packaged)
        assert result.exit_code == 2 and "is one of the inputs" in result.output
    finally:
        if packaged.read_bytes() != before:  # never leave the zoo broken, even when this fails
            packaged.write_bytes(before)
    assert packaged.read_bytes() == before


def test_output_is_replaced_atomically(tmp_path, monkeypatch):
    """The rename fails (as on a full disk): the old file is whole, no temporary file is left."""
    out = tmp_path / "table.json"
    out.write_text("old\n")

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    result = invoke("table", "vgg16", "--format", "json", "-o", out)
    assert result.exit_code == 2
    assert f"cannot write {out}: No space left on device" in result.output
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.json"]


def test_output_keeps_the_mode_and_writes_whole_files(tmp_path):
    out = tmp_path / "table.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    assert invoke("table", "vgg16", "--format", "csv", "-o", out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    rows = list(csv.reader(out.open()))
    # header, input, and VGG16's 37: 13 conv, 13 relu, 5 pools, flatten, 3 fc, 2 relu
    assert len(rows) == 1 + 1 + 37 and rows[-1][0] == "fc8"
    fresh = tmp_path / "new.csv"
    umask = os.umask(0o022)
    os.umask(umask)
    assert invoke("table", "vgg16", "--format", "csv", "-o", fresh).exit_code == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "table.csv"]


def test_output_to_a_device_writes_in_place():
    assert invoke("table", "vgg16", "--format", "json", "-o", os.devnull).exit_code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


# -- streams: a reader that leaves, a full disk, a closed stdin -----------------------------
@pytest.mark.parametrize("args", [("table", "vgg16"), ("table", "vgg16", "--format", "json"),
                                  ("lint", "specs"), ("schema",)])
def test_broken_pipe_exits_quietly(args):
    """`sizecalc ... | true`: the reader is gone before the first write. 141 = 128 + SIGPIPE."""
    proc = subprocess.Popen([sys.executable, "-m", "sizecalc", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=Path(__file__).parents[1])
    proc.stdout.close()  # the only reader leaves
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [("table", "vgg16"), ("table", "vgg16", "--format", "svg"), ("lint", "specs"),
                                  ("list",)])
def test_full_disk_on_stdout_is_one_line(args):
    with open("/dev/full", "wb") as full:
        code, _, err = run(*args, stdout=full, cwd=Path(__file__).parents[1])
    assert code == 2
    assert err.decode() == "sizecalc: cannot write the output to stdout: No space left on device\n"


def _closed_stdin():
    os.close(0)


@pytest.mark.parametrize("command", ["table", "fit", "lint"])
def test_closed_stdin(command):
    args = [command, "-"] + (["--memory", "1GiB"] if command == "fit" else [])
    proc = subprocess.run([sys.executable, "-m", "sizecalc", *args], capture_output=True, stdin=None,
                          preexec_fn=_closed_stdin, env={**os.environ, "GITHUB_ACTIONS": "false"}, timeout=60)
    if command == "lint":  # lint's form: the finding, then the summary, on stdout
        check(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), 0, 0, 2, "unreadable",
              "<stdin> cannot be read: stdin is closed")
    else:
        assert proc.returncode == 2 and proc.stdout == b""
        assert proc.stderr.decode().splitlines() == [
            "sizecalc: cannot read the spec from stdin: it is closed (pipe a spec in, or name a file)"]


def test_fit_memory_below_one_byte_is_a_usage_error():
    result = invoke("fit", "vgg16", "--memory", "0.5")
    assert result.exit_code == 2
    assert "'0.5' is 0 bytes: a memory budget needs a unit" in result.output
    # one byte is a budget: nothing fits in it (VGG16's 138,357,544 params alone need 553 MB)
    result = invoke("fit", "vgg16", "--memory", "1")
    assert result.exit_code == 1 and "not even batch 1 fits" in result.output


def test_click_errors_print_user_text_escaped():
    code, out, err = run("table", "vgg16", "--dtype", "\x1b[31m::error::x")
    assert code == 2 and out == b""
    text = err.decode()
    assert_inert(text)
    assert r"'\x1b[31m:\x3aerror:\x3ax' is not one of" in text


@pytest.mark.parametrize("args", [("table", "vgg16"), ("list",), ("compare", "vgg16")])
def test_closed_stdout_is_one_line(args):
    proc = subprocess.run([sys.executable, "-m", "sizecalc", *args], capture_output=False, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(1), timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.decode() == "sizecalc: cannot write the output: stdout is closed\n"
