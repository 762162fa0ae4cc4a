"""Everything bounded (issue 11, point 6): no work or output in proportion to a number a
spec or an option holds. Sizes past the limits of sizecalc/limits.py (2^31 per dimension,
2^63 elements per tensor) are one `too-large` finding with the arithmetic and a fix that
works; one problem in 1,000 copies of a block is one finding; did-you-mean and lint output
stay bounded; the largest spec the limits allow fits in 3 s and 300 MB."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys

import pytest

from test_hostile import FINDING, HOSTILE, MAX_RSS_MB, MAX_SECONDS, check, child_seconds, run_lint

# file -> (exit code, rule, words of its one finding); the numbers are worked out in each comment
CASES = {
    # 64 x 10^9 x 10^9 = 6.4e19 > 2^63 = 9.22e18; 64 x 379,625,062^2 = 9.2233720e18 <= 2^63 < 64 x 379,625,063^2
    "bounds_adaptive_pool.yaml": (1, "too-large", "output 1,000,000,000 x 1,000,000,000 x 64 = 6.4e19 elements "
                                  "is more than 2^63 (the limit per tensor); fix: output 379625062 or less"),
    # 9 x 10^18 <= 2^63 < 10 x 10^18
    "bounds_conv_output.yaml": (1, "too-large", "= 6.4e19 elements is more than 2^63 (the limit per tensor); "
                                "fix: filters 9 or fewer"),
    "bounds_input_elems.yaml": (1, "too-large", "input 1,000,000,000 x 1,000,000,000 x 1,000 = 1e21 elements"),
    # 16 x 2^16 x 2^16 = 2^36 values in one vector
    "bounds_flatten_side.yaml": (1, "too-large", "output of 68,719,476,736 values is more than 2^31"),
    # 3 x 10^12 inputs x 10^9 outputs = 3e21; 2^63 // (3 x 10^12) = 3,074,457
    "bounds_fc_weights.yaml": (1, "too-large", "its weights are 3e21 elements, more than 2^63 "
                               "(the limit per tensor); fix: outputs 3074457 or fewer"),
    # jumps 10^9, 10^18, then 10^27 > 2^63 at the third pool
    "bounds_receptive_field.yaml": (1, "too-large", "maxpool3: its jump (effective stride) is 1e27 input pixels"),
    "bounds_side_float.yaml": (1, "type", "not the decimal 1e+180"),
    "bounds_side_digits.yaml": (1, "type", "integer with 181 digits is too long (at most 30)"),
    "bounds_block_copies.yaml": (1, "unknown-key", "conv has no key 'stide'; did you mean 'stride'? "
                                 "(in 1,000 copies of block 'x', first used at line 9:5)"),
    # (33 - 2 + 2*0)/2 + 1 = 16.5
    "bounds_geometry_copies.yaml": (1, "non-integer-output", "(33 - 2 + 2*0)/2 + 1 = 16.5 is not a whole number "
                                    "(the windows do not tile the input) (in 1,000 copies of block 'x'"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bounds_file(name):
    want_code, rule, words = CASES[name]
    # relative: the line names the file, and a long absolute path would count against its length
    check(*run_lint(os.path.relpath(HOSTILE / name)), want_code, rule, words)


def test_every_format_survives_the_absurd_files():
    """JSON, SARIF and GitHub output of every file above: parseable, no traceback."""
    files = [str(HOSTILE / name) for name in sorted(CASES)]
    for fmt in ("json", "sarif", "github"):
        code, stdout, stderr, seconds, rss_mb = run_lint("--format", fmt, *files)
        assert code == 1 and "Traceback" not in stdout + stderr, stderr
        assert seconds < MAX_SECONDS and rss_mb < MAX_RSS_MB
        if fmt != "github":
            json.loads(stdout)
    data = json.loads(run_lint("--format", "json", str(HOSTILE / "bounds_block_copies.yaml"))[1])
    [finding] = data["files"][0]["findings"]
    assert finding["copies"] == 1000


def _words(count: int, length: int) -> list[str]:
    rng = random.Random(11)
    return ["".join(rng.choice(string.ascii_lowercase) for _ in range(length)) for _ in range(count)]


@pytest.mark.parametrize("what", ["ops", "keys", "from"])
def test_a_thousand_distinct_unknown_names(tmp_path, what):
    """1,000 different long names (difflib on each, against every op or 20,000 ids, took
    seconds to minutes): bounded time, at most 1,000 findings and a line that counts the rest."""
    head = "sizecalc: 1\ninput: [3, 32, 32]\nlayers:\n"
    if what == "ops":
        body = "".join(f"  - op{w}\n" for w in _words(1001, 60))
    elif what == "keys":
        body = "  - conv: 8\n" + "".join(f"    k{w}: 1\n" for w in _words(1001, 60))
    else:
        body = "  - {repeat: 20000, layers: [relu]}\n" + "".join(
            f"  - {{relu: , from: relu{i}{w}}}\n" for i, w in enumerate(_words(1001, 8)))
    path = tmp_path / f"{what}.yaml"
    path.write_text(head + body)
    code, stdout, stderr, seconds, rss_mb = run_lint(str(path))
    assert code == 1 and stderr == "" and "Traceback" not in stdout
    lines = stdout.splitlines()
    findings = [line for line in lines if FINDING.match(line)]
    assert len(findings) == 1001 and len(lines) == 1002
    assert max(len(line) for line in lines) < 1000
    assert seconds < MAX_SECONDS and rss_mb < MAX_RSS_MB, (seconds, rss_mb)


def test_lint_output_is_bounded_whatever_the_spec(tmp_path):
    """1,050 layers with a 400-character id and a 420-character bad value each: at most 1,000
    findings of at most ~1 KB, then one line that counts the rest."""
    words = _words(1050, 400)
    path = tmp_path / "loud.yaml"
    path.write_text("sizecalc: 1\ninput: [3, 32, 32]\nlayers:\n" + "".join(
        f"  - {{conv: 8, kernel: 3, padding: '{'x' * 420}', from: input, id: {w}}}\n" for w in words))
    assert path.stat().st_size < 1024 * 1024
    code, stdout, stderr, seconds, rss_mb = run_lint(str(path))
    assert code == 1 and stderr == "" and "Traceback" not in stdout
    lines = stdout.splitlines()
    assert len(lines) == 1002 and lines[-2].endswith(("[too-many-findings]", "[too-many-errors]"))
    assert max(len(line) for line in lines) < 1200
    assert len(stdout) < 1024 * 1024
    assert seconds < MAX_SECONDS and rss_mb < MAX_RSS_MB, (seconds, rss_mb)


def sizecalc(*args):
    """`sizecalc ARGS` in a child process: (exit code, stdout, stderr, CPU seconds)."""
    with child_seconds() as timer:
        proc = subprocess.run([sys.executable, "-m", "sizecalc", *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env={**os.environ, "GITHUB_ACTIONS": "false"})
    return proc.returncode, proc.stdout, proc.stderr, timer.seconds


BILLION = "1000000000"
DIGITS_5000 = "9" * 5000
# command -> (exit code, words of the one error line)
ABSURD = {
    ("table", "vgg16", "--input", "3x1e180x32"):
        (2, "each size is a whole number from 1 to 1,000,000,000, not '1e180'"),
    ("table", "vgg16", "--input", f"3x{DIGITS_5000}"): (2, "not '99999999999999999999"),
    ("table", "vgg16", "--input", f"1000x{BILLION}x{BILLION}"):
        (1, "input 1,000,000,000 x 1,000,000,000 x 1,000 = 1e21"),
    ("table", str(HOSTILE / "bounds_conv_output.yaml"), "--format", "json"): (1, "fix: filters 9 or fewer"),
    ("table", "vgg16", "--batch", "1" + "0" * 400): (2, "must be from 1 to 2,147,483,648 (2^31)"),
    ("layer", "adaptive_avgpool", "--in", "32x32x64", "--output", BILLION): (1, "= 6.4e19 elements is more than 2^63"),
    ("layer", "conv", "--in", f"{BILLION}x{BILLION}x3", "--filters", BILLION, "--kernel", "1"):
        (1, "fix: filters 9 or fewer"),
    ("layer", "upsample", "--in", f"{BILLION}x{BILLION}x3", "--scale", BILLION): (1, "= 3e36 elements"),
    ("layer", "conv", "--in", "32x32x3", "--filters", "1" + "0" * 180, "--kernel", "3"): (1, "filters must be"),
    ("layer", "conv", "--in", "1e180x32x3", "--filters", "8", "--kernel", "3"): (2, "not '1e180'"),
    ("solve", "--in", "1" + "0" * 400, "--kernel", "3", "--stride", "1", "--pad", "0", "--out", "?"):
        (2, "must be a whole number from 1 to 1,000,000"),
    ("solve", "--kernel", "3", "--stride", "2", "--out", BILLION): (2, "must be a whole number from 1 to 1,000,000"),
    ("fit", "vgg16", "--memory", "1" + "0" * 60): (2, "must be a positive size of at most 1 EB (10^18 bytes)"),
    ("fit", "vgg16", "--memory", "1e18TiB"): (2, "at most 1 EB"),
    ("fit", "vgg16", "--memory", "16GiB", "--input", "1e180"): (2, "must be sizes separated by commas"),
    ("fit", str(HOSTILE / "bounds_adaptive_pool.yaml"), "--memory", "16GiB"): (1, "[too-large]"),
}


@pytest.mark.parametrize("args", list(ABSURD), ids=[" ".join(a)[:60] for a in ABSURD])
def test_absurd_numbers_on_the_command_line(args):
    want_code, words = ABSURD[args]
    code, stdout, stderr, seconds = sizecalc(*args)
    assert "Traceback" not in stdout + stderr and "internal error" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:") or FINDING.match(line)]
    assert len(errors) == 1, stderr
    assert words in errors[0], errors[0]
    assert len(errors[0]) < 400, errors[0]
    assert code == want_code, stderr
    assert seconds < MAX_SECONDS, f"took {seconds:.2f} s"


def test_adaptive_window_is_pytorchs_longest_window():
    """PyTorch's window i spans [floor(i*W/out), ceil((i+1)*W/out)); the closed form agrees with
    the longest of them, and an output of 10^9 costs no loop."""
    from sizecalc.layers.pool import adaptive_window
    for w in range(1, 70):
        for out in range(1, 80):
            longest = max(-(-(i + 1) * w // out) - (i * w // out) for i in range(out))
            assert adaptive_window(w, out).kernel == longest, (w, out)
    assert adaptive_window(7, 3).kernel == 3  # windows [0, 3), [2, 5), [4, 7)
    assert adaptive_window(32, 10 ** 9).kernel == 1  # 32 divides 10^9: each window lies inside one pixel
    assert adaptive_window(33, 10 ** 9).kernel == 2  # some window straddles two pixels
    assert adaptive_window(10 ** 9 + 1, 10 ** 9).kernel == 2  # window i is [i, i + 2) for i < 10^9


def test_did_you_mean_is_bounded(monkeypatch):
    from sizecalc.spec import hints
    from sizecalc.spec.hints import MAX_CANDIDATES, MAX_WORD, closest
    assert closest("stide", ["stride", "kernel", "padding"]) == "stride"
    assert closest("max", ["maxpool", "conv"]) is None  # 4 letters short: not a typo of maxpool
    assert closest("x" * (MAX_WORD + 1), ["x" * (MAX_WORD + 1)]) is None
    compared = []  # the comparisons made, per question: the cost is their number
    real = hints.distance

    def counting(a, b, limit):
        compared[-1] += 1
        return real(a, b, limit)
    monkeypatch.setattr(hints, "distance", counting)
    monkeypatch.setattr(hints, "_seen", {})
    ids = [f"layer{i}.conv{i % 7}" for i in range(100_000)]
    for i in range(100):  # 100 distinct misspellings among 100,000 ids
        compared.append(0)
        closest(f"layer{i}x.conv", ids)
    assert max(compared) == MAX_CANDIDATES  # 100 of 100,000 ids each
    compared.append(0)
    closest("layer0x.conv", ids)  # asked again: remembered, not compared again
    assert compared[-1] == 0

