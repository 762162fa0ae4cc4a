"""Lint: spec files -> every finding in each, for CI and editors.

Reads each file through the same bounded safe YAML reader, expansion and engine as
`sizecalc table`, but collects every finding instead of stopping at the first failure,
and never raises for a user's mistake: an unreadable path is a finding too (exit 2).
Floor/ceil rounding that drops or pads input rows is `info`, or a `warning` under
`strict`. Nothing here prints; `report/lint_out.py` renders a LintResult.
"""

from __future__ import annotations

import errno
import os
from ..core.record import dataclass, field, replace

from ..core.errors import ERROR, INFO, WARNING, Finding, InputError, LayerError, Loc, SpecError, cut

SPEC_SUFFIXES = (".yaml", ".yml")
ROUNDING_RULES = ("rounding-drops-input", "rounding-pads-input")
GEOMETRY_RULES = ("non-integer-output", "kernel-exceeds-input")


@dataclass
class FileLint:
    """The findings of one file; `unreadable` when it could not be read at all (exit 2)."""

    name: str
    findings: list[Finding] = field(default_factory=list)
    unreadable: bool = False

    def exit_code(self, strict: bool = False) -> int:
        if self.unreadable:
            return 2
        bad = (ERROR, WARNING) if strict else (ERROR,)
        return 1 if any(f.severity in bad for f in self.findings) else 0


@dataclass
class LintResult:
    files: list[FileLint]
    strict: bool = False

    @property
    def findings(self) -> list[Finding]:
        return [f for result in self.files for f in result.findings]

    @property
    def exit_code(self) -> int:
        """0 clean, 1 errors (or warnings under strict), 2 something unreadable: the highest wins."""
        return max((f.exit_code(self.strict) for f in self.files), default=0)

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)


def lint_text(text: str, name: str = "<spec>", strict: bool = False, walked: bool = False) -> FileLint:
    """Every finding of one spec given as YAML text; `name` is what locations call the file.
    A YAML file that is not a sizecalc spec is an error (exit 2), or, when a directory walk
    found it (`walked`), one note that it was skipped; neither quotes its content."""
    from ..engine.walk import analyze
    from ..spec.expand import NotASpec, expand_all, parse_spec
    try:
        graph, expanding = expand_all(parse_spec(text, name), name)
    except NotASpec as err:
        if walked:
            return FileLint(name, [_skipped(name)])
        return FileLint(name, list(err.findings), unreadable=True)
    except InputError as err:  # too many values to be a spec
        return FileLint(name, _cut_texts(_ordered(err.findings)), unreadable=True)
    except SpecError as err:  # not a mapping at all
        return FileLint(name, _cut_texts(_ordered(err.findings)))
    if graph is None:  # no input volume to size from, or a limit hit: the loader capped its findings
        return FileLint(name, _cut_texts(_ordered(expanding)))
    # the layers that expanded are sized even when others did not (expand_all): a geometry
    # error shows beside a misspelled key, not only once the key is fixed
    report = analyze(graph)
    # with layers missing, "nothing uses this output" may only mean its user failed to expand
    findings = expanding + [f for f in report.findings if not (expanding and f.rule == "unused-output")]
    if any(f.rule in ROUNDING_RULES + GEOMETRY_RULES for f in findings):
        _refine_fixes(findings, graph, report)
    if strict:
        for f in findings:
            if f.severity == INFO and f.rule in ROUNDING_RULES:
                f.severity = WARNING
    return FileLint(name, _capped(_ordered(findings)))


def lint_file(path: str, strict: bool = False, walked: bool = False) -> FileLint:
    """Lint one file (or `-` for stdin); `walked`: found by a directory walk, not named."""
    from ..spec.yamlsafe import read_text
    from .onnx_import import import_onnx, is_onnx
    try:
        name, text = (f"{path}[imported]", import_onnx(path)) if is_onnx(path) else read_text(path)
    except InputError as err:
        return FileLint("<stdin>" if path == "-" else path, list(err.findings), unreadable=True)
    except SpecError as err:  # an ONNX op sizecalc cannot map
        return FileLint(path, list(err.findings))
    return lint_text(text, name, strict, walked)


def spec_files(path: str) -> tuple[list[str], list[FileLint]]:
    """The spec files a path names: itself, or a directory's *.yaml/*.yml found recursively
    (hidden files and folders such as .git and .github are skipped), sorted; and what the
    walk could not or would not read, as findings. A symlink that leads out of the directory
    is not followed (a warning names the link); one inside it is (a linked folder is walked
    at its own place). A folder that cannot be listed is unreadable (exit 2), never skipped."""
    if path == "-" or not os.path.isdir(path):
        return [path], []
    root = os.path.realpath(path)
    found: list[str] = []
    notes: list[FileLint] = []
    for top, dirs, files in os.walk(path, onerror=lambda err: notes.append(_unlistable(err, path))):
        kept = []
        for d in sorted(dirs):
            full = os.path.join(top, d)
            if d.startswith("."):
                continue
            if os.path.islink(full):
                if not _inside(full, root):
                    notes.append(_outside(full))
                continue
            kept.append(d)
        dirs[:] = kept
        for f in sorted(files):
            full = os.path.join(top, f)
            if not f.endswith(SPEC_SUFFIXES) or f.startswith("."):
                continue
            if os.path.islink(full) and not _inside(full, root):
                notes.append(_outside(full))
                continue
            found.append(full)
    if not found and not any(n.unreadable for n in notes):
        notes.append(FileLint(path, [Finding("unreadable", f"{path} is a directory with no .yaml or .yml files",
                                             None, fix="name spec files, or a directory that holds some")],
                              unreadable=True))
    return found, notes


def lint_paths(paths, strict: bool = False) -> LintResult:
    """Lint files and directories (searched recursively); `-` reads stdin once."""
    results: list[FileLint] = []
    seen: set[str] = set()
    for path in paths:
        files, notes = spec_files(path)
        results += notes
        walked = files != [path]
        for f in files:
            key = f if f == "-" else _same_file_key(f)
            if key not in seen:
                seen.add(key)
                results.append(lint_file(f, strict, walked))
    return LintResult(results, strict)


def _same_file_key(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.normpath(path)


def _inside(path: str, root: str) -> bool:
    """Whether `path` (followed through every symlink) is `root` or below it."""
    real = os.path.realpath(path)
    try:
        return os.path.commonpath([real, root]) == root
    except ValueError:  # different drives
        return False


def _outside(link: str) -> FileLint:
    return FileLint(link, [Finding("symlink-outside", f"{cut(link, 160)} is a symlink that leads out of the "
                                   "directory being linted: not followed", None,
                                   fix="lint its target where it lives, or name the file itself on the "
                                       "command line", severity=WARNING)])


def _unlistable(err: OSError, path: str) -> FileLint:
    where = err.filename if isinstance(err.filename, str) else path
    if err.errno == errno.ENAMETOOLONG:
        what, fix = f"is a path too long for the file system ({len(where):,} characters)", "shorten the path"
    elif err.errno in (errno.EACCES, errno.EPERM):
        what, fix = "is a directory that cannot be listed (permission denied)", "make it readable to this user"
    else:
        what, fix = f"is a directory that cannot be listed ({err.strerror or type(err).__name__})", None
    return FileLint(where, [Finding("unreadable", f"{cut(where, 160)} {what}", None, fix=fix)], unreadable=True)


def _skipped(name: str) -> Finding:
    return Finding("not-a-spec", "skipped: not a sizecalc spec (its top level has no `sizecalc:` key, nor "
                   "`layers:` or `input:`); none of its content is shown", Loc(name, 1, 1),
                   fix="if it is meant to be a spec, start it with `sizecalc: 1`", severity=INFO)


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Top to bottom of the file; findings without a place keep their order, first."""
    return sorted(findings, key=lambda f: (f.loc.line, f.loc.col) if f.loc else (0, 0))


def _capped(findings: list[Finding]) -> list[Finding]:
    """At most MAX_FINDINGS, then one line that counts the rest (as severe as the worst of them)."""
    from ..core.limits import MAX_FINDINGS
    _cut_texts(findings[:MAX_FINDINGS])
    if len(findings) <= MAX_FINDINGS:
        return findings
    rest = findings[MAX_FINDINGS:]
    worst = next((s for s in (ERROR, WARNING, INFO) if any(f.severity == s for f in rest)), INFO)
    more = Finding("too-many-findings", f"{len(rest):,} more findings not shown", rest[0].loc,
                   fix="fix the findings above first (one mistake in a block repeats in every copy)",
                   severity=worst)
    return findings[:MAX_FINDINGS] + [more]


def _cut_texts(findings: list[Finding]) -> list[Finding]:
    """Each message, fix and layer id cut to MAX_TEXT characters: with MAX_FINDINGS, a file's
    report is bounded whatever the spec holds (a megabyte-long name, ids nested 64 deep)."""
    from ..core.limits import MAX_TEXT

    def cut(text, most=MAX_TEXT):
        return text if text is None or len(text) <= most else text[:most - 3] + "..."
    for f in findings:
        f.message, f.layer = cut(f.message), cut(f.layer, MAX_TEXT // 4)
        if f.fix is not None and len(f.fix) > MAX_TEXT:
            f.fixes = (cut(f.fix),)  # the options' text, cut as one
    return findings


def _refine_fixes(findings: list[Finding], graph, report) -> None:
    """Rounding notes get the row's arithmetic and a change that makes the division exact;
    geometry errors of layers whose dimensions differ get a fix for every dimension at once."""
    from ..spec.graph import NETWORK_INPUT
    index = {n.id: i for i, n in enumerate(graph.nodes)}
    rows = {r.id: r for r in report.rows}
    for f in findings:
        if f.rule not in ROUNDING_RULES + GEOMETRY_RULES or f.layer not in index:
            continue
        node = graph.nodes[index[f.layer]]
        ins = [graph.input_shape if i == NETWORK_INPUT else getattr(rows.get(graph.nodes[i].id), "output", None)
               for i in node.inputs]
        if None in ins:
            continue
        if f.rule in GEOMETRY_RULES:
            f.fixes = _every_dim_fix(node, ins, f.rule) or f.fixes
            continue
        row = rows.get(f.layer)
        arith = [e for e in (row.explain if row else []) if "floored" in e or "ceil" in e]
        if arith:
            f.message += f": {'; '.join(arith)}"
        same = _same_output_fix(node, ins, row.output if row else None)
        if same:
            f.fixes = (same,)
            continue
        exact = _every_dim_fix(node, ins, "non-integer-output", {"rounding": "exact"}, rounding=False)
        if not exact:
            try:
                node.kind.infer(replace(node, args={**node.args, "rounding": "exact"}), ins)
            except LayerError as err:
                exact = tuple(o for o in err.fixes if "rounding" not in o)
        if exact:
            f.fixes = (*exact[:-1], exact[-1] + " (then the division is exact)")


def _window_dims(node, ins, args: dict) -> list[tuple] | None:
    """(size, kernel, stride, pad_lo, pad_hi, dilation) per spatial dimension of a sliding window,
    read from the arguments as the layer itself reads them (`layers.window.window_args`)."""
    from ..layers.window import window_args
    spatial = list(ins[0][1:])
    if "kernel" not in args or not spatial or args.get("padding") == "same":
        return None
    try:
        dims = window_args(args, len(spatial))
    except LayerError:
        return None
    return [(w, *dim) for w, dim in zip(spatial, dims)]


def _same_output_fix(node, ins, out) -> str | None:
    """Uneven padding that gives the same output with nothing dropped or read past the end."""
    from ..core.geometry import exact_pad_hi
    dims = _window_dims(node, ins, node.args)
    if dims is None or out is None:
        return None
    pads = []
    for (w, k, s, lo, _, d), o in zip(dims, out[1:]):
        new_hi = exact_pad_hi(w, k, s, lo, o, d)
        if new_hi is None:
            return None
        pads.append([lo, new_hi] if lo != new_hi else lo)
    value = pads[0] if all(p == pads[0] for p in pads) and not isinstance(pads[0], list) else pads
    if not _fits(node, {**node.args, "padding": value, "rounding": "exact"}, ins):
        return None
    return f"padding {value} (the same output, with no row dropped or read past the end)"


def _every_dim_fix(node, ins, rule: str, base: dict | None = None, rounding: bool = True) -> tuple[str, ...]:
    """For a sliding window over dimensions that differ: changes checked to fit all of them at
    once (by sizing the changed layer again); none where geometry's one-dimension fix holds."""
    from ..core.geometry import extent, fit_every_dim
    args = {**node.args, **(base or {})}
    dims = _window_dims(node, ins, args)
    if dims is None or len(set(dims)) == 1:
        return ()  # every dimension alike: geometry's fix is right for all of them
    exceeds = rule == "kernel-exceeds-input" or any(extent(w, k, s, lo, hi, d).numerator < 0
                                                    for w, k, s, lo, hi, d in dims)
    wanted = ("kernel", "padding", "input") if exceeds else ("padding", "stride", "input")
    options = []
    for what, values in fit_every_dim(dims, node.kind.family == "pool"):
        if what not in wanted:
            continue
        if what == "input":
            shape = (ins[0][0], *values)
            if _fits(node, args, [shape, *ins[1:]]):
                options.append(f"an input of {'x'.join(map(str, values))} to this layer")
            continue
        value = [list(v) if v[0] != v[1] else v[0] for v in values] if what == "padding" else values
        value = value[0] if all(v == value[0] for v in value) and not isinstance(value[0], list) else value
        if _fits(node, {**args, what: value}, ins):
            options.append(f"{what} {value}".replace("'", ""))
    if rounding and rule == "non-integer-output" and _fits(node, {**args, "rounding": "floor"}, ins):
        options.append("`rounding: floor` (what PyTorch does: the last rows that no window reaches are never read)")
    return tuple(options)


def _fits(node, args: dict, ins) -> bool:
    try:
        node.kind.infer(replace(node, args=args), ins)
    except LayerError:
        return False
    return True
