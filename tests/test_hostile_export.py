"""Hostile specs for `sizecalc check` and `sizecalc export --torch` (files tests/hostile/export_*):
a spec torch could not hold is one located finding, exit 1, found before torch is imported
(so in well under a second and in bounded memory); a spec whose name and ids are code in
disguise exports to a file that runs none of it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile

import pytest
from click.testing import CliRunner

from sizecalc.cli import main
from test_hostile import CHILD, HOSTILE, check, child_seconds

def run_sizecalc(*args, cwd=None):
    """`sizecalc ARGS` in a child, as run_lint runs lint: (exit code, stdout, stderr, CPU seconds, peak RSS MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".hwm") as hwm:
        with child_seconds() as timer:
            proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=cwd,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "HWM_FILE": hwm.name})
        seconds = timer.seconds
        peak = hwm.read().split()
        rss_mb = int(peak[1]) / 1024 if len(peak) >= 2 else 0.0
    return proc.returncode, proc.stdout, proc.stderr, seconds, rss_mb


def refused(*args, words):
    """One finding on stderr (check() wants it as the only output), nothing on stdout, exit 1."""
    code, stdout, stderr, seconds, rss_mb = run_sizecalc(*args)
    assert stdout == ""
    return check(code, stderr, stdout, seconds, rss_mb, 1, "torch-limit", words)


@pytest.mark.parametrize("command", [["check", "--device", "meta"], ["check", "--device", "cpu"]])
def test_input_beyond_int64(command):
    path = HOSTILE / "export_input_int64.yaml"
    # 1 x 4 x 10^9 x 10^9 = 4e18 elements x 4 B = 1.6e19 B
    line = refused(*command, str(path), words="4,000,000,000,000,000,000 elements x 4 B = "
                                              "16,000,000,000,000,000,000 B")
    assert line.startswith(f"{path}:6:8: error: the input at batch 1 is 1 x 4 x 1000000000 x 1000000000 = ")
    assert line.endswith("; fix: use a smaller --input (`sizecalc table` has no such limit) [torch-limit]")


@pytest.mark.parametrize("command", [["check", "--device", "meta"], ["export", "--torch"]])
def test_parameters_beyond_int64(command):
    path = HOSTILE / "export_params_int64.yaml"
    line = refused(*command, str(path), words=f"its parameters are {(10 ** 12 + 1) * 5 * 10 ** 6:,} elements")
    assert line.startswith(f"{path}:8:5: error: fc1: ")


def test_batch_beyond_int64():
    # at batch 1,000 the input is 1000 x 4 x 10^9 x 10^6 = 4e18 elements x 4 B = 1.6e19 B
    refused("check", str(HOSTILE / "export_batch_int64.yaml"), "--device", "cpu", "--batch", "1000",
            words="= 16,000,000,000,000,000,000 B,")


def test_names_that_are_code_stay_text(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "net.py"
    code, stdout, stderr, _, _ = run_sizecalc("export", str(HOSTILE / "export_names.yaml"), "--torch",
                                              "-o", str(out), cwd=tmp_path)
    assert (code, stdout, stderr) == (0, "", "")
    tree = ast.parse(out.read_text())
    name = next(n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "NAME")
    assert name == "x\"\"\"\n__import__('os').system('touch pwned-by-export')\n'''\u2028\r\\"
    assert not any(isinstance(n, ast.Name) and n.id in ("__import__", "os") for n in ast.walk(tree))
    run = subprocess.run([sys.executable, "-W", "ignore:Failed to initialize NumPy", str(out)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    # conv 4 (3*3*3 + 1)*4 = 112 -> 4x6x6; relus; pool -> 4x3x3; fc 5 (36 + 1)*5 = 185
    assert run.stdout.rstrip().endswith("-> output (1, 5), params 297")
    assert not (tmp_path / "pwned-by-export").exists()
    # check in this process (torch is imported already; the two children above prove the file)
    done = CliRunner().invoke(main, ["check", str(HOSTILE / "export_names.yaml"), "--device", "cpu"])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert done.exit_code == 0 and "params: static 297, torch 297 ✓" in done.stdout and done.stderr == ""
    assert not (tmp_path / "pwned-by-export").exists()
