"""Hostile names through `sizecalc export --torch`, `build_module`, `to_torch` and `check`:
nothing a spec says becomes code, and every module still builds.

The spec is tiny so that every figure is computed by hand. Input 3 x 8 x 8:
  conv 4, kernel 3, no padding -> 4 x 6 x 6, params (3*3*3 + 1)*4 = 112
  relu (any number of them)    -> 4 x 6 x 6
  maxpool 2                    -> 4 x 3 x 3
  fc 5                         -> 5,           params (4*3*3 + 1)*5 = 185
so the output is (1, 5) at batch 1 and the network has 112 + 185 = 297 parameters.

Each written file is proved inert twice: its syntax tree equals the tree written for a
harmless name except in string constants and the class name (so no call, import or
statement came from the spec), and running it (all of them in one subprocess, as `python
file.py` would) creates none of the sentinel files its payloads name.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

import sizecalc  # noqa: E402
from sizecalc.cli import main  # noqa: E402
from sizecalc.engine.walk import analyze  # noqa: E402
from sizecalc.torch.export import class_name, export_torch  # noqa: E402
from sizecalc.core.record import replace  # noqa: E402
from sizecalc.spec import load as load_path, loads  # noqa: E402
from sizecalc.torch.backend import build_module, check, module_keys  # noqa: E402

OUTPUT = (1, 5)
PARAMS = 112 + 185
OUT_LINE = "input (1, 3, 8, 8) -> output (1, 5), params 297"
QUIET = ["-W", "ignore:Failed to initialize NumPy"]  # torch's own warning on a machine without NumPy


def tiny(name: str = "tiny", ids=("conv1", "relu1", "pool1", "fc1")) -> str:
    """The tiny spec with these ids: a conv, then relus for all ids but three, a pool, an fc."""
    conv, *relus, pool, fc = ids
    layers = [f"  - {{id: {conv}, conv: 4, kernel: 3}}"] + [f"  - {{id: {r}, relu}}" for r in relus] + \
        [f"  - {{id: {pool}, maxpool: 2}}", f"  - {{id: {fc}, fc: 5}}"]
    return f"sizecalc: 1\nname: {json.dumps(name)}\ninput: [3, 8, 8]\nlayers:\n" + "\n".join(layers) + "\n"


def renamed(graph, name=None, ids=None, source=None):
    """The graph with any name, ids and file name, even ones no YAML file could hold."""
    nodes = graph.nodes if ids is None else [replace(n, id=i) for n, i in zip(graph.nodes, ids)]
    return replace(graph, name=graph.name if name is None else name, nodes=nodes,
                   source=graph.source if source is None else source)


def payloads(sentinel) -> list[str]:
    """Texts that would run `touch sentinel` if they ever became code, in every quoting."""
    cmd = f"__import__('os').system('touch {sentinel}')"
    return [
        cmd,
        f'"""\n{cmd}\n"""',
        f"'''\n{cmd}\n'''",
        f"\"\n{cmd}\n#",
        f"'\n{cmd}\n#",
        f"\\\n{cmd}",
        f"x\r{cmd}",
        f"x\u2028{cmd}",
        f"x\x00{cmd}",
        f"{{{cmd}}}",  # an f-string's braces
        f"}}\n{cmd}\n{{",
    ]


ODD = ['"""', "'''", "\\", "a\\b\\", "nul\x00nul", "line\nbreak", "cr\rcr", "ls\u2028ls", "nel\x85nel",
       "\u202eevil", "\x1b[31mred", "class", "None", "True", "lambda", "match", "_", "type", "print",
       "Exception", "F", "nn", "torch", "math", "INPUTS", "INPUT_SHAPE", "NAME", "SOURCE", "GraphModule",
       "Add", "Concat", "PaddedPool", "Network", "model", "out", "", " ", "\u00e9t\u00e9", "x" * 5000]

# ids that clash with nn.Module / nn.ModuleDict attributes, or with the written file's own names
ATTRIBUTE_IDS = ["training", "_modules", "_parameters", "_buffers", "_forward_hooks", "_non_persistent_buffers_set",
                 "forward", "__init__", "__class__", "__dict__", "__getattr__", "__setattr__", "register_buffer",
                 "add_module", "to", "eval", "train", "half", "cuda", "state_dict", "parameters", "modules",
                 "keys", "items", "values", "update", "pop", "clear", "T_destination", "call_super_init"]
GLOBAL_IDS = ["F", "nn", "torch", "INPUTS", "INPUT_SHAPE", "NAME", "SOURCE", "math", "GraphModule", "Tiny",
              "super", "self", "x", "y", "outs", "class", "None", "lambda"]


def normalised(source: str) -> str:
    """The syntax tree with every string constant blanked and the exported class named CLS."""
    tree = ast.parse(source)
    cls = next(n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name != "GraphModule"
               and any(isinstance(b, ast.Name) and b.id == "GraphModule" for b in n.bases))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
        elif isinstance(node, ast.Name) and node.id == cls:
            node.id = "CLS"
        elif isinstance(node, ast.ClassDef) and node.name == cls:
            node.name = "CLS"
    return ast.dump(tree)


def constants(source: str) -> dict:
    """NAME and SOURCE as the file assigns them."""
    tree = ast.parse(source)
    return {t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
            for t in n.targets if isinstance(t, ast.Name) and t.id in ("NAME", "SOURCE")}


def calls(source: str) -> set[str]:
    """Every function a Call node calls, as dotted text."""
    return {ast.unparse(n.func) for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)}


def run_all(paths, cwd) -> dict:
    """Run every file as `python file.py` would (run_name __main__), in one subprocess; stdout per file."""
    script = textwrap.dedent("""
        import contextlib, io, json, runpy, sys
        outs = {}
        for path in sys.argv[1:]:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                runpy.run_path(path, run_name="__main__")
            outs[path] = buf.getvalue()
        print(json.dumps(outs))
    """)
    proc = subprocess.run([sys.executable, *QUIET, "-c", script, *map(str, paths)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def base():
    graph = loads(tiny())
    report = analyze(graph)
    # the hand figures above are what the static engine says too
    assert report.totals.params == PARAMS and tuple(report.rows[-1].output) == OUTPUT[1:]
    return graph


def test_hostile_names_ids_and_paths_stay_text(base, tmp_path):
    sentinel = tmp_path / "pwned"
    reference = normalised(export_torch(base))
    texts = payloads(sentinel) + ODD
    written = []
    for i, text in enumerate(texts):
        ids = [f"{text}", f"{text}.0", f"{text}", "__class__"]  # duplicates and dots too
        graph = renamed(base, name=text, ids=ids, source=f"specs/{text}.yaml")
        source = export_torch(graph)
        assert source.isascii() and "\x00" not in source
        assert normalised(source) == reference, f"the file for {text!r} has code the harmless one lacks"
        assert constants(source) == {"NAME": text, "SOURCE": f"specs/{text}.yaml"}
        assert not {"__import__", "eval", "exec", "compile", "open", "os.system", "getattr"} & calls(source)
        path = tmp_path / f"net{i}.py"
        path.write_text(source, encoding="ascii")
        written.append(path)
    outs = run_all(written, tmp_path)
    assert not sentinel.exists()
    for path in written:
        assert outs[str(path)].rstrip().endswith(OUT_LINE), outs[str(path)]


@pytest.mark.parametrize("name", ["F", "INPUTS", "INPUT_SHAPE", "NAME", "GraphModule", "Add", "class", "None",
                                  "lambda", "match", "Exception", "True", "print", "__import__('os')"])
def test_class_name_is_a_fresh_identifier(name):
    cls = class_name(name)
    assert cls.isidentifier() and cls.isascii()
    import builtins
    import keyword
    assert not keyword.iskeyword(cls) and not keyword.issoftkeyword(cls) and not hasattr(builtins, cls)
    assert cls not in {"F", "nn", "torch", "math", "INPUTS", "INPUT_SHAPE", "NAME", "SOURCE", "GraphModule", "Add"}


def test_class_name_is_bounded():
    assert len(class_name("a" * 100_000)) <= 64 + len("Net")


def test_a_spec_file_whose_path_holds_quotes_and_newlines(tmp_path):
    sentinel = tmp_path / "pwned"
    odd_dir = tmp_path / "d'\"ir"
    odd_dir.mkdir()
    spec = odd_dir / f"n\"\"\"e\nw'''\r\\\u2028{payloads(sentinel)[0]}.yaml".replace("/", "_")
    spec.write_text(tiny(payloads(sentinel)[1]))
    out = tmp_path / "exported.py"
    result = CliRunner().invoke(main, ["export", str(spec), "--torch", "-o", str(out)])
    assert result.exit_code == 0, result.output
    source = out.read_text()
    assert constants(source) == {"NAME": payloads(sentinel)[1], "SOURCE": str(spec)}
    assert normalised(source) == normalised(export_torch(loads(tiny())))
    proc = subprocess.run([sys.executable, *QUIET, str(out)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.rstrip().endswith(OUT_LINE) and not sentinel.exists()


def test_ids_that_clash_with_module_attributes_still_build(tmp_path):
    ids = ATTRIBUTE_IDS + GLOBAL_IDS
    graph = loads(tiny("F", ids))
    keys = module_keys(graph)
    assert len(set(keys)) == len(ids)
    module = build_module(graph, "cpu")
    assert list(module.nodes.keys()) == keys
    # nn.Module's own machinery is untouched: flags, registries and methods are still themselves
    nodes = module.nodes
    assert nodes.training is True and isinstance(nodes._modules, dict) and callable(nodes.forward)
    assert type(nodes).__init__ is torch.nn.ModuleDict.__init__ and nodes.__class__ is torch.nn.ModuleDict
    assert module.eval() is module and module.to("cpu") is module and nodes.training is False
    assert all(k.startswith("nodes.") for k in module.state_dict())
    assert sum(p.numel() for p in module.parameters()) == PARAMS
    with torch.no_grad():
        assert module(torch.randn(1, 3, 8, 8)).shape == OUTPUT
    # the same through the public entry point, from a file
    path = tmp_path / "clash.yaml"
    path.write_text(tiny("F", ids))
    module = sizecalc.to_torch(str(path))
    with torch.no_grad():
        assert module.eval()(torch.randn(2, 3, 8, 8)).shape == (2, 5)
    # and the exported file, which names its class FNet (F is torch.nn.functional there)
    source = export_torch(graph)
    assert "class FNet(GraphModule):" in source
    out = run_all([_write(tmp_path / "clash.py", source)], tmp_path)
    assert next(iter(out.values())).rstrip() == f"FNet: {OUT_LINE}"


def _write(path, text):
    path.write_text(text)
    return path


def test_check_keeps_the_ids_it_was_given(base):
    hostile = ["training", "x\n\x00'\"", "x\n\x00'\"", "_modules.0"]
    result = check(renamed(base, ids=hostile), device="cpu", batch=2)
    assert result.ok, result
    assert [row.id for row in result.layers] == hostile
    # x + four characters that are not letters, digits, _ or - -> x____; the second one gains _2
    assert [row.key for row in result.layers] == ["training_", "x____", "x_____2", "n_modules_0"]
    assert (result.static_params, result.torch_params) == (PARAMS, PARAMS)
    assert result.layers[-1].torch_shape == (2, 5)


def test_cli_check_with_clashing_ids(tmp_path):
    path = tmp_path / "clash.yaml"
    path.write_text(tiny("training", ATTRIBUTE_IDS + GLOBAL_IDS))
    result = CliRunner().invoke(main, ["check", str(path), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "params: static 297, torch 297 ✓" in result.output
    assert "forward + backward on cpu" in result.output


def test_keys_are_names_moduledict_accepts():
    ids = ["-", "_", "__", "a-b", "_0", "0", "to", "to_", "half_", "a.b", "a_b", ""]
    graph = renamed(loads(tiny("k", [f"l{i}" for i in range(len(ids))])), ids=ids)
    keys = module_keys(graph)
    # _ in front gains an n (no private names); an attribute gains _; a name given twice gains _2
    assert keys == ["-", "n_", "n__", "a-b", "n_0", "0", "to_", "to__2", "half_", "a_b", "a_b_2", "n"]
    nodes = torch.nn.ModuleDict({k: torch.nn.Identity() for k in keys})
    assert list(nodes.keys()) == keys


def test_loading_a_path_never_reads_it_as_yaml(tmp_path):
    # a file name with a newline is a path, not YAML text
    path = tmp_path / "a\nb.yaml"
    path.write_text(tiny("nl"))
    assert load_path(str(path)).source == str(path)
    assert os.path.exists(path)
