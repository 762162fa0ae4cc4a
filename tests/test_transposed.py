"""The transposed convolution (issue #15, point 1): sizes, params, MACs, torch's rules, the
receptive field and `solve --transposed`.

Sizes are the formula torch documents for ConvTranspose, computed by hand:
    out = (W - 1)*S - 2P + D*(F - 1) + output_padding + 1
params C_in*(C_out/groups)*F^d + C_out; MACs per input position C_in*(C_out/groups)*F^d (what
torch's FlopCounterMode counts, 2 flops each). The torch tests check the same against
nn.ConvTranspose1d/2d/3d; the receptive-field tests against the input pixels whose gradient
is not zero for one output unit.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.errors import SpecError
from sizecalc.tools.solve_transposed import solve_transposed


def spec(shape, *layers) -> str:
    return f"input: {list(shape)}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


def row(shape, *layers):
    return sizecalc.analyze(spec(shape, *layers)).rows[-1]


def error(shape, *layers):
    with pytest.raises(SpecError) as err:
        sizecalc.analyze(spec(shape, *layers))
    (f,) = err.value.findings
    return f


# --- output sizes --------------------------------------------------------------------------

@pytest.mark.parametrize("shape, layer, out", [
    # DCGAN's generator: 4x4 kernels, stride 2, padding 1 double: (4 - 1)*2 - 2*1 + 4 = 8
    ((1024, 4, 4), "{conv_transpose: 512, kernel: 4, stride: 2, padding: 1}", (512, 8, 8)),
    # ... and (32 - 1)*2 - 2*1 + 4 = 64
    ((128, 32, 32), "{ConvTranspose2d: 3, kernel_size: 4, stride: 2, padding: 1}", (3, 64, 64)),
    # DCGAN's first layer, z 100x1x1: (1 - 1)*1 - 0 + 4 = 4
    ((100, 1, 1), "{deconv: 1024, kernel: 4}", (1024, 4, 4)),
    # U-Net's 2x2 up-convolution: (28 - 1)*2 - 0 + 2 = 56
    ((1024, 28, 28), "{upconv: 512, kernel: 2, stride: 2}", (512, 56, 56)),
    # 1-D: (10 - 1)*3 - 2*1 + 5 + 2 = 32 (output_padding 2 < stride 3)
    ((4, 10), "{conv_transpose: 2, kernel: 5, stride: 3, padding: 1, output_padding: 2}", (2, 32)),
    # 3-D, k3 s2 p1 op1: (4 - 1)*2 - 2 + 3 + 1 = 8, (6 - 1)*2 - 2 + 3 + 1 = 12, (8 - 1)*2 - 2 + 3 + 1 = 16
    ((2, 4, 6, 8), "{ConvTranspose3d: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1}", (4, 8, 12, 16)),
    # dilation 2 covers 2*(3 - 1) + 1 = 5: (5 - 1)*1 - 0 + 5 = 9
    ((3, 5, 5), "{transposed_conv: 2, kernel: 3, dilation: 2}", (2, 9, 9)),
])
def test_output_sizes(shape, layer, out):
    assert row(shape, layer).output == out


def test_the_arithmetic_is_shown_as_the_lecture_shows_the_forward_formula():
    r = row((1024, 4, 4), "{conv_transpose: 512, kernel: 4, stride: 2, padding: 1}")
    assert r.explain[0] == "(4 - 1)*2 - 2*1 + 4 = 8"
    assert "params 4*4*1024*512 + 512 = 8,389,120" in r.explain
    # the weight tensor in torch's order, input channels first: 1024 x 512 x 4 x 4
    assert "weights 1024x512x4x4 (input channels x filters x kernel) = 8,388,608" in r.explain
    r = row((2, 6, 5), "{conv_transpose: 2, kernel: [3, 2], stride: [2, 1], output_padding: [1, 0], dilation: [1, 2]}")
    # H: (6 - 1)*2 - 0 + 3 + 1 = 14; W: (5 - 1)*1 - 0 + 2*(2 - 1) + 1 = 7
    assert r.explain[:2] == ["H: (6 - 1)*2 - 2*0 + 3 + 1 = 14, output_padding 1 included",
                             "W: (5 - 1)*1 - 2*0 + 2*(2 - 1) + 1 = 7"]
    assert r.output == (2, 14, 7)


# --- params and MACs -----------------------------------------------------------------------

@pytest.mark.parametrize("shape, layer, params", [
    # ConvTranspose2d(1024, 512, 4): 1024*512*16 + 512 = 8,389,120
    ((1024, 4, 4), "{conv_transpose: 512, kernel: 4, stride: 2, padding: 1}", 8_389_120),
    # U-Net's up-conv ConvTranspose2d(1024, 512, 2, stride=2): 1024*512*4 + 512 = 2,097,664
    ((1024, 28, 28), "{conv_transpose: 512, kernel: 2, stride: 2}", 2_097_664),
    # groups 2: 8*(6/2)*3*3 = 216 weights + 6 biases = 222
    ((8, 5, 5), "{conv_transpose: 6, kernel: 3, groups: 2}", 222),
    # no bias, 3-D: 2*4*27 = 216
    ((2, 3, 3, 3), "{conv_transpose: 4, kernel: 3, bias: false}", 216),
])
def test_params(shape, layer, params):
    assert row(shape, layer).params == params


def test_macs_are_counted_per_input_position():
    # 1024x4x4 -> 512x8x8 with 4x4 kernels: each of the 16 input positions 1024*512*16 MACs
    # = 16 * 8,388,608 = 134,217,728; the 512*64 bias adds are other MACs
    r = row((1024, 4, 4), "{conv_transpose: 512, kernel: 4, stride: 2, padding: 1}")
    assert r.macs == 134_217_728
    report = sizecalc.analyze(spec((1024, 4, 4), "{conv_transpose: 512, kernel: 4, stride: 2, padding: 1}"),
                              macs="all")
    assert report.rows[-1].macs == 134_217_728 + 512 * 8 * 8


def test_params_and_macs_match_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    for shape, layer, module in [
        ((1024, 4, 4), "{conv_transpose: 512, kernel: 4, stride: 2, padding: 1}",
         lambda: torch.nn.ConvTranspose2d(1024, 512, 4, 2, 1)),
        ((8, 5, 7), "{conv_transpose: 6, kernel: [3, 2], stride: 2, groups: 2, output_padding: 1}",
         lambda: torch.nn.ConvTranspose2d(8, 6, (3, 2), 2, output_padding=1, groups=2)),
        ((4, 9), "{conv_transpose: 3, kernel: 3, dilation: 3, bias: false}",
         lambda: torch.nn.ConvTranspose1d(4, 3, 3, dilation=3, bias=False)),
    ]:
        with torch.device("meta"):
            m = module()
            r = row(shape, layer)
            with FlopCounterMode(display=False) as flops:
                out = m(torch.empty(1, *shape))
        assert r.output == tuple(out.shape[1:]) and r.params == sum(p.numel() for p in m.parameters())
        assert r.macs == flops.get_total_flops() // 2


# --- torch's rules, as located errors with a fix that passes ----------------------------------

def test_output_padding_as_large_as_the_stride_is_one_located_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(spec((64, 4, 4), "{conv_transpose: 8, kernel: 4, stride: 2, padding: 1, "
                                                      "output_padding: 2}"))
    result = CliRunner().invoke(main, ["table", "g.yaml"])
    # torch: "output padding must be smaller than either stride or dilation"; (4 - 1)*2 - 2 + 4 + 2 = 10
    assert result.exit_code == 1 and result.output == (
        "g.yaml:3:75: error: conv_transpose1: output_padding 2 must be smaller than the stride 2 or the dilation 1 "
        "(torch's rule): (4 - 1)*2 - 2*1 + 4 + 2 = 10; fix: output_padding 1 ((4 - 1)*2 - 2*1 + 4 + 1 = 9); "
        "or stride 3 ((4 - 1)*3 - 2*1 + 4 + 2 = 13) [output-padding]\n")
    # each fix passes here and in torch, which refuses the original
    assert row((64, 4, 4), "{conv_transpose: 8, kernel: 4, stride: 2, padding: 1, output_padding: 1}").output[1] == 9
    assert row((64, 4, 4), "{conv_transpose: 8, kernel: 4, stride: 3, padding: 1, output_padding: 2}").output[1] == 13
    torch = pytest.importorskip("torch")
    x = torch.randn(1, 64, 4, 4)
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        torch.nn.ConvTranspose2d(64, 8, 4, 2, 1, output_padding=2)(x)
    assert torch.nn.ConvTranspose2d(64, 8, 4, 2, 1, output_padding=1)(x).shape[-1] == 9
    assert torch.nn.ConvTranspose2d(64, 8, 4, 3, 1, output_padding=2)(x).shape[-1] == 13


def test_output_padding_below_the_dilation_is_allowed():
    # torch takes output_padding 1 at stride 1 when the dilation is 2: (5 - 1) + 2*(3 - 1) + 1 + 1 = 10
    assert row((3, 5), "{conv_transpose: 2, kernel: 3, dilation: 2, output_padding: 1}").output == (2, 10)


def test_an_output_of_nothing_is_refused_with_the_padding_that_leaves_one():
    f = error((3, 4, 4), "{conv_transpose: 8, kernel: 3, padding: 5}")
    # (4 - 1)*1 - 2*5 + 3 = -4; the largest padding leaving a row: 2P <= 3 + 2 = 5, P = 2 -> 2
    assert f.rule == "output-too-small" and "(4 - 1)*1 - 2*5 + 3 = -4" in f.message
    assert f.fixes[0] == "padding 2 ((4 - 1)*1 - 2*2 + 3 = 2)"
    assert f.fixes[1] == "kernel 8 ((4 - 1)*1 - 2*5 + 8 = 1)"
    assert row((3, 4, 4), "{conv_transpose: 8, kernel: 3, padding: 2}").output == (8, 2, 2)
    assert row((3, 4, 4), "{conv_transpose: 8, kernel: 8, padding: 5}").output == (8, 1, 1)


def test_groups_and_in_channels_are_checked():
    assert error((3, 4, 4), "{conv_transpose: 8, kernel: 3, groups: 2}").message == \
        "groups 2 does not divide the 3 input channels"
    assert error((4, 4, 4), "{conv_transpose: 7, kernel: 3, groups: 2}").message == \
        "groups 2 does not divide the 7 filters"
    assert error((3, 4, 4), "{conv_transpose: 8, kernel: 3, in_channels: 4}").rule == "channels-mismatch"
    # ConvTranspose2d states its rank: a 1-D input is refused
    assert error((3, 4), "{ConvTranspose2d: 8, kernel: 3}").rule == "rank"


# --- the receptive field, against torch's gradients -------------------------------------------

def _nonzero_rows(net, shape, at):
    """The input rows (of dimension 0) whose gradient is not zero for output unit `at`, with
    positive weights so that no two paths cancel."""
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(0.5, 1.5)
    x = torch.randn(1, *shape, dtype=torch.float64, requires_grad=True)
    net.double()(x)[(0, 0, *at)].backward()
    seen = x.grad[0].abs().sum(0)
    while seen.dim() > 1:
        seen = seen.sum(-1)
    return [int(i) for i in seen.nonzero().flatten()]


def _fielded(rf, u: int, dim: int = 0) -> list[int]:
    """The input rows unit u sees by Araujo et al.'s figures: from u*j - p, r wide (fractions allowed)."""
    start = u * rf.jump[dim] - rf.padding[dim]
    return list(range(math.ceil(start), math.floor(start + rf.size[dim] - 1) + 1))


CASES = [
    # Past a layer that raises the resolution the field depends on the unit; sizecalc measures each
    # unit of one period (output o of a transposed conv of stride s, padding p, effective kernel K
    # reads the inputs j with j*s - p <= o <= j*s - p + K - 1) and reports the largest (size), the
    # smallest (least) and where unit 0's field starts (-padding). Araujo et al.'s recurrence gave
    # averages that were not even averages here (5/2 for DCGAN's k4 s2 p1, whose units all see 2).
    # DCGAN: k4 s2 p1: 2j in [o - 2, o + 1]: always 2 inputs; unit 0 reads -1 and 0: padding 1
    ("{conv_transpose: 1, kernel: 4, stride: 2, padding: 1}", "ConvTranspose1d(1, 1, 4, 2, 1)",
     (2, 2, Fraction(1, 2), 1)),
    # U-Net: k2 s2: 2j in [o - 1, o]: exactly one input; unit 0 reads 0
    ("{conv_transpose: 1, kernel: 2, stride: 2}", "ConvTranspose1d(1, 1, 2, 2)",
     (1, 1, Fraction(1, 2), 0)),
    # dilation 2, k3, s2, p1: window 5, 2j in [o - 3, o + 1]: odd o reads (o - 3)/2..(o + 1)/2, 3
    # inputs; even o reads none in torch (o = 2i - 1 + 2t is odd), the hull of the window says 2
    # (o/2 - 1 and o/2: dilation's holes are inside a hull): least is 2, the odd units' 3 the size
    ("{conv_transpose: 1, kernel: 3, stride: 2, padding: 1, dilation: 2}",
     "ConvTranspose1d(1, 1, 3, 2, 1, dilation=2)", (3, 2, Fraction(1, 2), 1)),
    # output_padding 1 adds a row at the end and moves no field: k3 s2 p1, 2j in [o - 1, o + 1]:
    # even o reads o/2 (1), odd o (o - 1)/2 and (o + 1)/2 (2)
    ("{conv_transpose: 1, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
     "ConvTranspose1d(1, 1, 3, 2, 1, output_padding=1)", (2, 1, Fraction(1, 2), 0)),
    # stride 3, k5, p2: 3j in [o - 2, o + 2]: 1 input when 3 divides o, else 2
    ("{conv_transpose: 1, kernel: 5, stride: 3, padding: 2}", "ConvTranspose1d(1, 1, 5, 3, 2)",
     (2, 1, Fraction(1, 3), 0)),
]


@pytest.mark.parametrize("layer, module, figures", CASES)
def test_receptive_field_is_the_inputs_whose_gradient_is_not_zero(layer, module, figures):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    r = sizecalc.analyze(spec((1, 12), layer)).rows[-1]
    rf = r.receptive_field
    least = rf.least[0] if rf.least else rf.size[0]
    assert (rf.size[0], least, rf.jump[0], rf.padding[0]) == figures
    net = eval("torch.nn." + module)  # noqa: S307  (a constant of this test)
    holes = "dilation" in module  # stride and dilation share a factor: some units see nothing
    widths = []
    for u in range(4, r.output[1] - 4):  # every unit whose field lies inside the input
        rows = _nonzero_rows(net, (1, 12), (u,))
        assert rows == list(range(rows[0], rows[-1] + 1)) if rows else holes and u % 2 == 0, u
        if rows and u % rf.period[0] == 0:  # unit 0's place, a period on: u*j - p
            assert rows[0] == u * rf.jump[0] - rf.padding[0], u
        widths += [len(rows)] if rows else []
    assert max(widths) == rf.size[0]
    assert min(widths) == (least if not holes else rf.size[0])


def test_receptive_field_through_conv_then_transposed_conv_then_conv():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    text = spec((1, 21, 21), "{conv: 1, kernel: 3, stride: 2}", "{conv_transpose: 1, kernel: 4, stride: 2, padding: 1}",
                "{conv: 1, kernel: 3, padding: 1}")
    r = sizecalc.analyze(text).rows[-1]
    rf = r.receptive_field
    net = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.ConvTranspose2d(1, 1, 4, 2, 1), nn.Conv2d(1, 1, 3, padding=1))
    # (21 - 3)/2 + 1 = 10; (10 - 1)*2 - 2*1 + 4 = 20; (20 - 3 + 2*1)/1 + 1 = 20
    assert r.output == (1, 20, 20)
    # Exactly, unit u reads the transposed conv's rows u - 1..u + 1; row t reads conv rows m with
    # t = 2m - 1 + j (j < 4), ceil((t - 2)/2)..floor((t + 1)/2); conv row m reads pixels 2m..2m + 2.
    # So u sees pixels 2*ceil((u - 3)/2) .. 2*floor((u + 2)/2) + 2: 7 of them at every unit, unit 0
    # from -2 (padding 2). Araujo et al.'s recurrence said 8 (r = 3 + (3/2)*2 + 2 = 8, p 3), an
    # average over the finer grid that the stride-2 conv before it does not have.
    assert (rf.size, rf.least, rf.jump, rf.padding) == ((7, 7), None, (1, 1), (2, 2))
    for u in range(4, 16):  # unit u's field lies inside the 21 rows
        rows = _nonzero_rows(net, (1, 21, 21), (u, 9))
        assert rows == list(range(2 * math.ceil((u - 3) / 2), 2 * math.floor((u + 2) / 2) + 3)), u
        assert len(rows) == 7 and rows[0] == u - rf.padding[0] - u % 2, u


# --- torch: the module sizecalc builds ------------------------------------------------------

def test_the_torch_module_is_conv_transpose():
    torch = pytest.importorskip("torch")
    text = spec((8, 4, 6), "{id: up, conv_transpose: 6, kernel: [3, 2], stride: 2, padding: [1, 0], "
                           "output_padding: [1, 0], groups: 2, bias: false}")
    m = sizecalc.to_torch(text)
    up = m.nodes["up"]
    assert isinstance(up, torch.nn.ConvTranspose2d)
    assert (up.kernel_size, up.stride, up.padding, up.output_padding, up.groups, up.bias) == \
        ((3, 2), (2, 2), (1, 0), (1, 0), 2, None)
    # H: (4 - 1)*2 - 2 + 3 + 1 = 8; W: (6 - 1)*2 - 0 + 2 = 12
    assert tuple(m(torch.randn(1, 8, 4, 6)).shape) == (1, 6, 8, 12)


def test_export_writes_conv_transpose(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "g.yaml"
    path.write_text("sizecalc: 1\nname: g\n" + spec((100, 1, 1), "{deconv: 64, kernel: 4, bias: false}",
                                                     "{ConvTranspose2d: 3, kernel: 4, stride: 2, padding: 1}"))
    out = tmp_path / "g.py"
    result = CliRunner().invoke(main, ["export", str(path), "--torch", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "nn.ConvTranspose2d(100, 64, kernel_size=(4, 4)" in out.read_text()


# --- the layer command and solve ------------------------------------------------------------

def test_layer_command():
    result = CliRunner().invoke(main, ["layer", "conv_transpose", "--in", "32x32x128", "--filters", "3",
                                       "--kernel", "4", "--stride", "2", "--padding", "1"])
    # (32 - 1)*2 - 2*1 + 4 = 64; params 4*4*128*3 + 3 = 6,147
    assert result.exit_code == 0, result.output
    assert "32x32x128 -> 64x64x3" in result.output and "(32 - 1)*2 - 2*1 + 4 = 64" in result.output
    assert "6,147" in result.output


def test_solve_the_padding_that_doubles_32():
    # which padding gives 64 from 32 with a 4x4 kernel at stride 2? (32 - 1)*2 - 2P + 4 = 64 -> P = 1
    answer = solve_transposed(64, 32, 4, 2, None)
    assert [(s.pad, s.arithmetic) for s in answer.solutions] == [((1, 1), "(32 - 1)*2 - 2*1 + 4 = 64")]
    result = CliRunner().invoke(main, ["solve", "--transposed", "--in", "32", "--kernel", "4", "--stride", "2",
                                       "--out", "64"])
    assert result.exit_code == 0
    assert result.output == "(32 - 1)*2 - 2*P + 4 = 64, for padding P:\n  padding 1   (32 - 1)*2 - 2*1 + 4 = 64\n"


@pytest.mark.parametrize("args, unknown, value", [
    # U-Net: (28 - 1)*S + 2 = 56 -> S = 2; (28 - 1)*2 + F = 56 -> F = 2
    ((56, 28, 2, None, 0), "stride", 2),
    ((56, 28, None, 2, 0), "kernel", 2),
    # 7 -> 14 with k3 s2 p1: (7 - 1)*2 - 2 + 3 + OP = 14 -> OP = 1 (< stride 2)
    ((14, 7, 3, 2, 1, 1, None), "output_padding", 1),
    # the input that gives 64 with DCGAN's layer: (W - 1)*2 - 2 + 4 = 64 -> W = 32
    ((64, None, 4, 2, 1), "in", 32),
])
def test_solve_one_missing_quantity(args, unknown, value):
    (s,) = solve_transposed(*args).solutions
    assert s.value(unknown) == value


def test_solve_refuses_what_torch_refuses_and_offers_what_it_takes():
    # 7 -> 15 with k3 s2 p1 needs output_padding 2, which stride 2 refuses
    answer = solve_transposed(15, 7, 3, 2, 1, 1, None)
    assert not answer.fits and "torch refuses" in answer.reason[0]
    # 32 -> 64 with a 3x3 kernel at stride 2 needs 2P = 1: output_padding 1 with P = 1 does it,
    # (32 - 1)*2 - 2 + 3 + 1 = 64, as torch's ConvTranspose2d(..., 3, 2, 1, output_padding=1) gives
    answer = solve_transposed(64, 32, 3, 2, None)
    assert answer.reason == ["needs P = 1/2, not a whole number"]
    assert answer.alternatives[0].setting.arithmetic == "(32 - 1)*2 - 2*1 + 3 + 1 = 64"
    result = CliRunner().invoke(main, ["solve", "--transposed", "--in", "32", "--kernel", "3", "--stride", "2",
                                       "--out", "64"])
    assert result.exit_code == 1 and "output_padding 1, padding 1" in result.output
