"""Hostile input: each file of tests/hostile/ (and a few paths made here) gets one clear
finding from `sizecalc lint`, exit 1 or 2, in well under a second of work, in bounded
memory, and never a traceback. Each runs in its own process, as CI would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

try:
    import resource
except ImportError:  # not on Windows: wall time there
    resource = None

HOSTILE = Path(__file__).resolve().parent / "hostile"
# CPU seconds of the child (user + sys, interpreter start included): the work takes well under
# 1 s; CPU time, unlike wall time, does not grow when other jobs share the machine
MAX_SECONDS = 3.0
MAX_RSS_MB = 200
FINDING = re.compile(r"^(?:\S.*?: )?(error|warning|info): .* \[(?P<rule>[a-z-]+)\]$")

# file (or path) -> (exit code, rule of the one finding, words its message must hold)
CASES = {
    "alias_bomb.yaml": (1, "alias", "alias *lol0 is not allowed"),
    "duplicate_key.yaml": (1, "duplicate-key", "key 'kernel' appears twice"),
    "block_uses_itself.yaml": (1, "block-recursion", "block 'loop' uses itself (loop -> loop)"),
    "block_cycle.yaml": (1, "block-recursion", "(ping -> pong -> ping)"),
    "block_chain.yaml": (1, "nesting", "blocks used inside blocks more than 64 deep"),
    "block_bomb.yaml": (1, "expansion-cap", "block 'b0' would expand to more than 100,000 layers"),
    "repeat_billion.yaml": (1, "expansion-cap", "repeat 1,000,000,000 would make more than 100,000 layers"),
    "expansion_cap.yaml": (1, "expansion-cap", "more than 100,000 layers (repeat 1,000, at least 1,000 layers each)"),
    "nesting_flow.yaml": (1, "nesting", "nesting deeper than 64 levels"),
    "nesting_block.yaml": (1, "nesting", "nesting deeper than 64 levels"),
    "huge_int.yaml": (1, "type", "integer with 10000 digits is too long"),
    "float_int.yaml": (1, "type", "kernel must be a whole number >= 1, not the fraction 2.5"),
    "bool_int.yaml": (1, "type", "kernel must be a whole number >= 1, not a boolean (true)"),
    "nan_int.yaml": (1, "type", "kernel must be a whole number >= 1, not NaN"),
    "inf_int.yaml": (1, "type", "kernel must be a whole number >= 1, not infinity"),
    "python_tag.yaml": (1, "tag", "python/object/apply:os.system is not allowed"),
    "huge_stride.yaml": (1, "non-integer-output", "(32 - 3 + 2*0)/1000000000 + 1"),
    "huge_kernel.yaml": (1, "kernel-exceeds-input", "kernel 1000000000 is larger than the padded input"),
    "binary.yaml": (2, "unreadable", "is a binary file"),
    "invalid_utf8.yaml": (2, "encoding", "invalid UTF-8 (byte 0xe9)"),
    "empty.yaml": (1, "empty", "the spec is empty"),
    "no_specs": (2, "unreadable", "is a directory with no .yaml or .yml files"),
    "missing.yaml": (2, "unreadable", "no such file"),
}
LOCATED = {"alias_bomb.yaml": (4, 14), "duplicate_key.yaml": (4, 26), "python_tag.yaml": (4, 5),
           "invalid_utf8.yaml": (3, 10), "huge_int.yaml": (4, 23), "nesting_flow.yaml": (3, 72),
           "nesting_block.yaml": (4, 129)}  # where the 65th level opens, whichever parser stops first


# The child reports its own peak resident memory (VmHWM of the process after exec): the
# rusage that wait4 returns also counts the memory of the forking test process, torch included.
CHILD = """
import atexit, os, runpy, sys
def report():
    with open(os.environ["HWM_FILE"], "w") as fh:
        fh.write(next((line for line in open("/proc/self/status") if line.startswith("VmHWM:")), ""))
if os.path.exists("/proc/self/status"):
    atexit.register(report)
sys.argv = ["sizecalc", *sys.argv[1:]]
runpy.run_module("sizecalc", run_name="__main__", alter_sys=True)
"""


class child_seconds:
    """`with child_seconds() as t: subprocess.run(...)`; then t.seconds: the CPU time of the
    children waited for inside (wall time where the resource module is missing)."""

    def __enter__(self):
        self.start = _children_cpu()
        return self

    def __exit__(self, *exc):
        self.seconds = _children_cpu() - self.start


def _children_cpu() -> float:
    if resource is None:
        return time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_lint(*args, stdin=None):
    """Run `sizecalc lint` in a child process: (exit code, stdout, stderr, CPU seconds, peak RSS in MB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".hwm") as hwm:
        with child_seconds() as timer:
            proc = subprocess.run([sys.executable, "-c", CHILD, "lint", *args], stdout=out, stderr=err,
                                  stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                  env={**os.environ, "GITHUB_ACTIONS": "false", "HWM_FILE": hwm.name})
        seconds = timer.seconds
        out.seek(0)
        err.seek(0)
        peak = hwm.read().split()
        rss_mb = int(peak[1]) / 1024 if len(peak) >= 2 else 0.0  # "VmHWM: 20480 kB"; 0 where /proc is not
        return proc.returncode, out.read().decode(), err.read().decode(), seconds, rss_mb


# control characters a terminal or a CI log would act on: C0 (but the line feed), DEL, C1,
# and the line/paragraph separators and bidi controls that reflow or reorder what is shown
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def check(code, stdout, stderr, seconds, rss_mb, want_code, rule, words):
    assert "Traceback" not in stdout + stderr
    assert not CONTROL.search(stdout + stderr), repr(CONTROL.search(stdout + stderr))
    assert stderr == ""
    lines = stdout.splitlines()
    findings = [line for line in lines if FINDING.match(line)]
    assert len(findings) == 1, lines
    assert len(lines) == 2 and lines[1] == findings[0] or lines[0] == findings[0], lines
    assert FINDING.match(findings[0])["rule"] == rule, findings[0]
    assert words in findings[0], findings[0]
    assert len(findings[0]) < 400, findings[0]
    assert code == want_code, stdout
    assert seconds < MAX_SECONDS, f"took {seconds:.2f} s"
    assert rss_mb < MAX_RSS_MB, f"used {rss_mb:.0f} MB"
    return findings[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file(name):
    want_code, rule, words = CASES[name]
    path = HOSTILE / name
    assert path.exists() or name == "missing.yaml"
    line = check(*run_lint(str(path)), want_code, rule, words)
    if name in LOCATED:
        row, col = LOCATED[name]
        assert line.startswith(f"{path}:{row}:{col}: "), line


def test_fifty_megabytes(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "w") as fh:
        fh.write("input: [3, 32, 32]\nlayers:\n")
        chunk = "  - {conv: 8, kernel: 3, padding: 1}\n" * 10_000
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(chunk)
    check(*run_lint(str(big)), 2, "unreadable", "specs are limited to 1,048,576 bytes")
    with open(big, "rb") as stdin:  # the same through stdin: read no further than the limit
        check(*run_lint("-", stdin=stdin), 2, "unreadable", "over 1,048,576 bytes")


def test_too_many_values(tmp_path):
    many = tmp_path / "many.yaml"
    many.write_text("input: [3, 32, 32]\nlayers: [" + "1," * 250_000 + "1]\n")
    assert many.stat().st_size < 1024 * 1024
    check(*run_lint(str(many)), 2, "unreadable", "more than 200,000 YAML values")


def test_lint_goes_on_and_the_highest_code_wins():
    code, stdout, stderr, _, _ = run_lint(str(HOSTILE / "missing.yaml"), str(HOSTILE / "duplicate_key.yaml"),
                                          str(HOSTILE / "empty.yaml"))
    assert code == 2
    assert "[unreadable]" in stdout and "[duplicate-key]" in stdout and "[empty]" in stdout
    assert "Traceback" not in stdout + stderr


def test_second_document_is_an_error(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("input: [3, 32, 32]\nlayers: [relu]\n---\ninput: [3, 8, 8]\nlayers: [relu]\n")
    from sizecalc.tools.lint import lint_file
    [finding] = lint_file(str(path)).findings
    assert finding.rule == "yaml-syntax" and finding.loc.line == 4
