"""The receptive field through upsampling and global pooling (issue 13, point 3).

Figures are computed by hand with Araujo, Norris & Sim's recurrence ("Computing Receptive
Fields of Convolutional Neural Networks", Distill 2019): r' = r + (k - 1)*j, j' = j*s,
p' = p + p_layer*j, an upsampling by f being a window of kernel 1 and stride 1/f; or they are
the figures of the table their library publishes for TF-Slim's networks
(github.com/google-research/receptive_field, RECEPTIVE_FIELD_TABLE.md: "RF", "effective
stride", "effective padding"). The torch tests at the end measure the same fields as the
input pixels whose gradient is not zero for one output unit.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.errors import SpecError
from sizecalc.core.receptive import ReceptiveField, Window, compose, upsample

UPSAMPLED = "input: [1, 16, 16]\nlayers:\n  - {conv: 1, kernel: 2, stride: 2}\n  - {upsample: 2}\n" \
            "  - {conv: 1, kernel: 3, padding: 1}\n"


def field(text: str, layer: int = -1) -> ReceptiveField:
    return sizecalc.analyze(text).rows[layer].receptive_field


def run(*args) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


# --- upsampling divides the jump ------------------------------------------------------------

def test_conv_upsample_conv_sees_four_pixels_at_jump_one():
    # conv k2 s2: r 2, j 2, p 0; upsample x2: r 2, j 2/2 = 1, p 0; conv 3 pad 1: j 1. By hand:
    # output u reads upsampled u-1..u+1, which copy the conv units floor((u-1)/2)..floor((u+1)/2):
    # always two of them, 2 + 2 = 4 input pixels; unit 0 reads conv units -1..0, pixels -2..1:
    # padding 2 (the recurrence's p 0 + 1*1 = 1 was an average: odd units start a pixel later)
    assert field(UPSAMPLED, 1) == ReceptiveField((2, 2), (1, 1), (0, 0))
    assert field(UPSAMPLED) == ReceptiveField((4, 4), (1, 1), (2, 2))


def test_a_jump_below_one_pixel_is_an_exact_fraction():
    # upsample x2 of the input: j 1/2; conv 3 pad 1: output u reads input pixels
    # floor((u-1)/2)..floor((u+1)/2): always 2; unit 0 reads -1..0: padding 1
    text = "input: [1, 8, 8]\nlayers:\n  - {upsample: 2}\n  - {conv: 1, kernel: 3, padding: 1}\n"
    half = Fraction(1, 2)
    assert field(text) == ReceptiveField((2, 2), (half, half), (1, 1))
    layers = json.loads(_json(text))["layers"]
    assert layers[-1]["receptive_field"] == {"size": [2, 2], "jump": ["1/2", "1/2"], "padding": [1, 1],
                                             "global": False}


def _json(text: str) -> str:
    from sizecalc.report import json_out
    return json_out.render(sizecalc.analyze(text))


def test_a_size_that_varies_is_the_largest_over_positions():
    # upsample x2, then conv 2 without padding: output u reads input floor(u/2)..floor((u+1)/2),
    # 1 pixel for even u and 2 for odd u (Araujo et al.'s average, 1 + 1*(1/2) = 3/2, is no unit's):
    # the size is the largest, 2, the smallest is said, and the units repeat every 2
    text = "input: [1, 8, 8]\nlayers:\n  - {upsample: 2}\n  - {conv: 1, kernel: 2}\n"
    rf = field(text)
    assert (rf.size, rf.least, rf.period) == ((2, 2), (1, 1), (2, 2))
    from sizecalc.report.text import rf_text
    report = sizecalc.analyze(text)
    assert rf_text(report.rows[-1]) == "2"
    assert "receptive field 1 to 2 input pixels depending on the output unit (the units repeat every 2 x 2)" \
        in report.rows[-1].explain[-1]
    got = json.loads(_json(text))["layers"][-1]["receptive_field"]
    assert (got["size"], got["smallest"], got["period"]) == ([2, 2], [1, 1], [2, 2])


def test_upsample_and_compose_are_windows():
    # upsample by f: kernel 1, stride 1/f; x1 keeps the field
    assert upsample([2, 1]) == [Window(1, Fraction(1, 2), 0), Window(1, 1, 0)]
    # a transposed conv k3 s2 p1 = upsample x2, then a conv k3 pad 3 - 1 - 1 = 1 on the finer grid:
    # kernel 1 + (3 - 1)*(1/2) = 2, stride 1/2, padding 1*(1/2) = 1/2
    (w,) = compose(upsample([2]), [Window(3, 1, 1)])
    assert w == Window(2, Fraction(1, 2), Fraction(1, 2))
    # and back through a stride-2 conv, the jump is whole again and stays an int
    f = ReceptiveField.of_input(1).through([w]).through([Window(2, 2, 0)])
    assert f == ReceptiveField((Fraction(5, 2),), (1,), (Fraction(1, 2),)) and type(f.jump[0]) is int


def test_an_adaptive_pool_that_raises_the_resolution_divides_the_jump():
    # 3 -> 5: windows [0,1) [0,2) [1,2) [1,3) [2,3), at most 2 long (the conservative field), jump 3/5
    text = "input: [1, 3, 3]\nlayers:\n  - {adaptive_avgpool: 5}\n"
    assert field(text) == ReceptiveField((2, 2), (Fraction(3, 5), Fraction(3, 5)), (0, 0))


def test_fractions_finer_than_the_limit_are_refused():
    # upsample x3 then pool k3 s4, on a 1-pixel map: the jump is (4/3)^n, its denominator 3^n
    # passes 2^63 at n = 40 (3^40 = 1.2e19), while the jump itself is only (4/3)^40 = 99,437
    text = ("input: [1, 1]\nlayers:\n  - repeat: 45\n    layers: [{upsample: 3}, {maxpool: 3, stride: 4}]\n")
    with pytest.raises(SpecError) as err:
        sizecalc.analyze(text)
    (f,) = err.value.findings
    assert f.rule == "too-large" and "finer than 1/2^63" in f.message


# --- global fields ----------------------------------------------------------------------------

def test_a_global_field_stops_growing():
    whole = ReceptiveField((10,), (1,), (1,), whole=True)
    assert whole.through([Window(3, 2, 1)]) == ReceptiveField((10,), (2,), (2,), whole=True)


def test_a_pool_that_misses_pixels_is_not_global():
    # conv k2 s2 on 5 pixels: units see [0,2) and [2,4); pixel 4 is dropped by the floor, so the
    # global pool sees 2 + 1*2 = 4 pixels, not the whole input
    text = "input: [1, 5, 5]\nlayers:\n  - {conv: 1, kernel: 2, stride: 2, rounding: floor}\n  - gap\n"
    assert field(text) == ReceptiveField((4, 4), (2, 2), (0, 0))
    # without the dropped pixel it is: 6 pixels, [0, 6)
    assert field(text.replace("[1, 5, 5]", "[1, 6, 6]")).whole


def test_vgg16_pools_are_araujos_figures_and_its_fc_rows_are_global():
    # RECEPTIVE_FIELD_TABLE.md, vgg_16 at 224: pool1 6/2/2, pool2 16/4/6, pool3 44/8/18,
    # pool4 100/16/42, pool5 212/32/90 (RF / effective stride / effective padding); measured the
    # same way on torchvision's vgg16.features at 448 px: unit 7 of pool5 sees rows 134 = 7*32 - 90
    # to 345, 212 pixels
    report = sizecalc.analyze("vgg16")
    araujo = {1: (6, 2, 2), 2: (16, 4, 6), 3: (44, 8, 18), 4: (100, 16, 42), 5: (212, 32, 90)}
    for stage, (r, j, p) in araujo.items():
        assert report.row(f"stage{stage}.maxpool1").receptive_field == ReceptiveField((r, r), (j, j), (p, p))
    # flatten and fc6 read the whole 7x7 map: fields from -90 to -90 + 212 + 6*32 = 314, the whole
    # 224 pixels and the padding around them: global, 404 the padded input they cover
    for name in ("flatten1", "fc6", "fc7", "fc8"):
        rf = report.row(name).receptive_field
        assert rf.whole and rf.size == (404, 404), name
    finite = [r.receptive_field.size[0] for r in report.rows if not r.receptive_field.whole]
    assert max(finite) == 212


def test_vgg16_table_json_and_csv_say_global():
    table = run("table", "vgg16").splitlines()
    pool5 = next(line for line in table if line.strip().startswith("stage5.maxpool1"))
    fc6 = next(line for line in table if line.strip().startswith("fc6"))
    assert pool5.split()[-1] == "212" and fc6.split()[-1] == "global"
    layers = {layer["id"]: layer for layer in json.loads(run("table", "vgg16", "--format", "json"))["layers"]}
    assert layers["fc6"]["receptive_field"] == {"size": [404, 404], "jump": [32, 32], "padding": [90, 90],
                                               "global": True}
    assert layers["stage5.maxpool1"]["receptive_field"]["global"] is False
    csv = run("table", "vgg16", "--format", "csv").splitlines()
    assert next(line for line in csv if line.startswith("fc8,")).endswith(",global")


def test_alexnet_pool3_is_araujos_alexnet_v2_pool5():
    # the lecture's AlexNet (11 s4, pool 3 s2, 5 pad 2, pool, three 3 pad 1, pool) is TF-Slim's
    # alexnet_v2: pool5 195 / 32 / 64 in Araujo et al.'s table
    rf = sizecalc.analyze("alexnet-cs231n").row("pool3").receptive_field
    assert rf == ReceptiveField((195, 195), (32, 32), (64, 64))


def test_resnet50_last_conv():
    # torchvision strides in the first block of a stage: conv1 7 s2 (7, j 2), maxpool 3 s2
    # (11, j 4), layer1 3 x 3x3 at j 4 (35), layer2 8 + 3*16 (91, j 8), layer3 16 + 5*32 (267,
    # j 16), layer4 32 + 2*64 = 427, j 32. Araujo et al.'s 483 for resnet_v1_50/block4 is TF-Slim,
    # which strides in the last block of a stage (their FAQ): the same 35 after block1, then
    # the 3x3s of blocks 2 to 4 run at twice the jump. Neither is global: the first unit's field
    # ends at -213 + 427 = 214, before pixel 223. Measured on torchvision 0.28's resnet50 (weights
    # positive, relu removed, max pools averaged) at 512 px: unit 8 of layer4's 16x16 map has a
    # nonzero input gradient on rows 43 to 469: 427 pixels, starting at 8*32 - 213
    report = sizecalc.analyze("resnet50")
    assert report.row("layer1.2.conv3").receptive_field.size == (35, 35)
    assert report.row("layer4.2.conv3").receptive_field == ReceptiveField((427, 427), (32, 32), (213, 213))
    assert report.row("avgpool").receptive_field.whole


def test_efficientnet_b0_is_global_from_its_first_squeeze_excitation():
    # stem 3 s2 pad 1: 3, j 2, p 1; stage1's depthwise 3 pad 1: 3 + 2*2 = 7, p 3; the squeeze
    # pools the 112x112 map: 7 + 111*2 = 229 pixels from -3 to 226, the whole 224 input. Every
    # later layer reads that gate, so no row says 4,345 any more: the size stays 229
    report = sizecalc.analyze("efficientnet_b0")
    assert report.row("stage1.mbconv.0.block.depthwise.conv").receptive_field == ReceptiveField((7, 7), (2, 2), (3, 3))
    gate = report.row("stage1.mbconv.0.block.se.avgpool").receptive_field
    assert gate.whole and gate.size == (229, 229)
    rows = report.rows
    first = [r.id for r in rows].index("stage1.mbconv.0.block.se.avgpool")
    assert all(r.receptive_field.whole for r in rows[first:])
    assert not any(r.receptive_field.whole for r in rows[:first])
    assert max(r.receptive_field.size[0] for r in rows) == 229
    # the product keeps the map's grid
    assert report.row("stage1.mbconv.0.block.se.scale").receptive_field.jump == (2, 2)


def test_compare_shows_the_largest_finite_field():
    # VGG16: 212 at pool5, then global (fc6); the JSON says both
    data = json.loads(run("compare", "vgg16", "--format", "json"))
    (vgg,) = data["networks"]
    assert vgg["receptive_field"] == [212, 212] and vgg["receptive_field_global"] is True
    assert "212, then global" in run("compare", "vgg16")


# --- measured in torch: the input pixels whose gradient is not zero ---------------------------

def _measured(net, shape, at):
    """(first, last) input row and column whose gradient is not zero, for output unit `at`
    (channel 0), positive random weights so that no two paths cancel."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(0.5, 1.5)
    x = torch.randn(1, *shape, dtype=torch.float64, requires_grad=True)
    net.double()(x)[(0, 0, *at)].backward()
    seen = x.grad[0].abs().sum(0) != 0
    rows, cols = seen.any(1).nonzero().flatten(), seen.any(0).nonzero().flatten()
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


def test_torch_conv_pool_chain():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2), nn.Conv2d(2, 2, 3, stride=2, padding=1),
                        nn.Conv2d(2, 1, 5, padding=2))
    rf = field("input: [1, 62, 62]\nlayers:\n  - {conv: 2, kernel: 3, padding: 1}\n  - {avgpool: 2}\n"
               "  - {conv: 2, kernel: 3, stride: 2, padding: 1}\n  - {conv: 1, kernel: 5, padding: 2}\n")
    # by hand: 3; 3 + 1*1 = 4, j 2; 4 + 2*2 = 8, j 4; 8 + 4*4 = 24, j 4; p 1 + 0 + 1*2 + 2*4 = 11
    assert rf == ReceptiveField((24, 24), (4, 4), (11, 11))
    (top, bottom), (left, right) = _measured(net, (1, 62, 62), (8, 8))
    (top2, _), _ = _measured(net, (1, 62, 62), (9, 8))
    assert bottom - top + 1 == right - left + 1 == 24  # the size
    assert top2 - top == 4  # the jump: the next unit's field starts 4 pixels further
    assert 8 * 4 - top == 11  # the padding: unit u's field starts at u*j - p


def test_torch_upsample_divides_the_jump():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 1, 2, stride=2), nn.Upsample(scale_factor=2, mode="nearest"),
                        nn.Conv2d(1, 1, 3, padding=1))
    assert field(UPSAMPLED) == ReceptiveField((4, 4), (1, 1), (2, 2))
    starts = []
    for u in range(4, 11):
        (top, bottom), (left, right) = _measured(net, (1, 16, 16), (u, u))
        assert bottom - top + 1 == right - left + 1 == 4  # 4 pixels at every position, not 6
        starts.append(top)
        assert top == u - 2 + u % 2  # even units start at u*j - p = u - 2, odd ones a pixel later
    assert (starts[-1] - starts[0]) / (len(starts) - 1) == 1  # the fields move 1 pixel per unit on average


def test_torch_size_that_varies_is_the_largest():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(1, 1, 2))
    sizes = [_measured(net, (1, 8, 8), (u, 4))[0] for u in range(2, 12)]
    widths = [last - first + 1 for first, last in sizes]
    assert set(widths) == {1, 2}
    rf = field("input: [1, 8, 8]\nlayers:\n  - {upsample: 2}\n  - {conv: 1, kernel: 2}\n")
    assert (rf.size[0], rf.least[0]) == (max(widths), min(widths))


def test_torch_global_pool_and_gate_see_the_whole_input():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Gated(nn.Module):  # squeeze-excitation: the map times a gate pooled from all of it
        def __init__(self):
            super().__init__()
            self.conv, self.gate = nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 1)

        def forward(self, x):
            y = self.conv(x)
            return y * torch.sigmoid(self.gate(nn.functional.adaptive_avg_pool2d(y, 1)))

    pooled = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.AdaptiveAvgPool2d(1))
    assert _measured(pooled, (1, 7, 7), (0, 0)) == ((0, 6), (0, 6))  # all 49 pixels
    assert field("input: [1, 7, 7]\nlayers:\n  - {conv: 2, kernel: 3, stride: 2, padding: 1}\n  - gap\n").whole
    assert _measured(Gated(), (1, 8, 8), (0, 0)) == ((0, 7), (0, 7))  # a corner unit sees all 64
    rf = field("input: [1, 8, 8]\nlayers:\n  - {id: map, conv: 2, kernel: 3, padding: 1}\n  - {gap: {}}\n"
               "  - {conv: 2, kernel: 1}\n  - {id: gate, sigmoid: {}}\n  - {mul: [map, gate]}\n")
    assert rf.whole
    # the counter-example: a pool after a conv that drops the last pixel does not see it
    dropped = nn.Sequential(nn.Conv2d(1, 1, 2, stride=2), nn.AdaptiveAvgPool2d(1))
    assert _measured(dropped, (1, 5, 5), (0, 0)) == ((0, 3), (0, 3))
