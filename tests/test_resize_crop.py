"""Resize (upsample, interpolate) and centre crop, and the `like: <id>` they both take (issue 15,
points 2 and 3).

Figures come from torch's own behaviour (F.interpolate's output size, measured here), from
the U-Net paper (Ronneberger et al. 2015, Fig. 1: the 64x568x568 map is cropped to 392x392,
(568 - 392)/2 = 88 on each side) and from torchvision's LR-ASPP head (a 65x65 map resized to
the 520x520 input: `F.interpolate(out, size=input_shape[-2:], mode="bilinear")`). Receptive
fields are checked as in test_receptive_global.py: the input pixels whose gradient is not
zero for one output unit (Araujo et al.'s figures: size, jump, effective padding).
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.errors import SpecError
from sizecalc.core.receptive import ReceptiveField


def rows(text: str, **options):
    return sizecalc.analyze(text, **options).rows


def error(text: str):
    with pytest.raises(SpecError) as err:
        sizecalc.analyze(text)
    (finding,) = err.value.findings
    return finding


# --- sizes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("side, scale, out", [
    # floor(W * scale): 7 * 0.5 = 3.5 -> 3, 7 * 1.5 = 10.5 -> 10, 7 * 2.25 = 15.75 -> 15,
    # 9 * 0.5 = 4.5 -> 4, 9 * 2.25 = 20.25 -> 20, 10 * 1.5 = 15
    (7, 0.5, 3), (7, 1.5, 10), (7, 2.25, 15), (9, 0.5, 4), (9, 2.25, 20), (10, 1.5, 15), (5, 2, 10)])
def test_a_scale_floors_w_times_scale(side, scale, out):
    text = f"input: [1, {side}, {side}]\nlayers:\n  - {{resize: {scale}, mode: bilinear}}\n"
    assert rows(text)[-1].output == (1, out, out)


def test_fractional_scales_are_torchs_sizes_with_recompute_both_ways():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for side in (5, 7, 9, 11, 13, 520):
        for scale in (0.5, 1.5, 2.25, 0.3, 1.1):
            for recompute in (None, False, True):
                y = F.interpolate(torch.zeros(1, 1, side), scale_factor=scale, mode="linear",
                                  recompute_scale_factor=recompute)
                flag = "" if recompute is None else f", recompute_scale_factor: {str(recompute).lower()}"
                text = f"input: [1, {side}]\nlayers:\n  - {{resize: {scale}, mode: linear{flag}}}\n"
                assert rows(text)[-1].output == (1, y.shape[-1]), (side, scale, recompute)


def test_a_decimal_scale_is_torchs_double_not_the_decimal():
    # 10 * 0.3: the decimal gives 3 exactly; torch multiplies 10 by the double nearest 0.3
    # (0.29999999999999998889...) and rounds the product to a double: 3.0, so 3 as well. 1.1 * 10
    # is 11.000000000000002 in doubles: 11. Python's float arithmetic is torch's:
    for side, scale in ((10, 0.3), (10, 1.1), (49, 0.7), (29, 1.15)):
        text = f"input: [1, {side}]\nlayers:\n  - {{resize: {scale}}}\n"
        assert rows(text)[-1].output == (1, math.floor(side * scale))


def test_size_and_like_and_the_upsample_alias():
    text = ("input: [3, 65, 65]\nlayers:\n  - {id: a, upsample: 2}\n  - {id: b, resize: {size: [33, 40]}}\n"
            "  - {id: c, resize: {like: input}, mode: bilinear}\n  - {id: d, interpolate: [1, 2]}\n")
    out = {r.id: r.output for r in rows(text)}
    assert out == {"a": (3, 130, 130), "b": (3, 33, 40), "c": (3, 65, 65), "d": (3, 65, 130)}


LRASPP = """\
sizecalc: 1
name: lraspp-head
input: [3, 520, 520]
layers:
  - {id: low, conv: 40, kernel: 3, stride: 8, padding: 1, rounding: floor}
  - {id: head, conv: 21, kernel: 1}
  - {id: out, resize: {like: input}, mode: bilinear}
"""


def test_lraspp_resizes_its_65x65_map_to_the_520x520_input():
    # a stride-8 conv on 520: floor((520 + 2 - 3)/8) + 1 = 65; the head goes back to the input's size
    r = rows(LRASPP)
    assert r[0].output == (40, 65, 65) and r[-1].output == (21, 520, 520)
    # zero params; conv-fc MACs none; with --macs all, bilinear counts its 4 taps per output value
    assert r[-1].params == 0 and r[-1].macs == 0
    assert rows(LRASPP, macs="all")[-1].macs == 21 * 520 * 520 * 4


def test_interpolation_macs_are_the_taps_per_output_value():
    # nearest copies (0); linear reads 2 values per output, bilinear 2x2, trilinear 2x2x2, bicubic 4x4
    for mode, shape, taps in (("nearest", "[2, 4, 4]", 0), ("linear", "[2, 4]", 2), ("bilinear", "[2, 4, 4]", 4),
                              ("bicubic", "[2, 4, 4]", 16), ("trilinear", "[2, 4, 4, 4]", 8)):
        r = rows(f"input: {shape}\nlayers:\n  - {{resize: 2, mode: {mode}}}\n", macs="all")[-1]
        assert r.macs == math.prod(r.output) * taps, mode
        assert rows(f"input: {shape}\nlayers:\n  - {{resize: 2, mode: {mode}}}\n")[-1].macs == 0


UNET_CROP = """\
sizecalc: 1
name: unet-crop
input: [64, 568, 568]
layers:
  - {id: skip, relu}
  - {id: down, maxpool: 2}
  - {id: deep, conv: 64, kernel: 3}
  - {id: small, conv: 64, kernel: [87, 87]}
  - {id: cropped, from: skip, crop: {like: small}}
"""


def test_unet_crops_568_to_392_at_offset_88():
    # 568 -> pool 284 -> conv3 282 -> conv87 196: not U-Net's 392, so crop a 392 directly too
    r = {row.id: row for row in rows(UNET_CROP)}
    assert r["small"].output == (64, 196, 196) and r["cropped"].output == (64, 196, 196)
    text = "input: [64, 568, 568]\nlayers:\n  - {id: skip, relu}\n  - {crop: 392}\n"
    (_, crop) = rows(text)
    assert crop.output == (64, 392, 392)
    assert "offset floor((568x568 - 392x392)/2) = 88x88" in crop.explain[0]
    # the crop starts 88 pixels in: an effective padding of -88
    assert crop.receptive_field == ReceptiveField((1, 1), (1, 1), (-88, -88))


def test_crop_is_a_view_and_takes_no_memory_of_its_own():
    r = sizecalc.analyze("input: [64, 568, 568]\nlayers:\n  - {id: skip, relu}\n  - {crop: 392}\n")
    crop = r.rows[-1]
    assert crop.shares_storage
    # forward: input + relu's output, 64*568*568 each; the crop's 64*392*392 is a view of the second
    assert r.totals.forward_activations == 2 * 64 * 568 * 568


def test_like_does_not_keep_the_layer_alive():
    # `big` (4x16x16 = 1,024 values) is read by `low` and then only by like:; at the last resize
    # only `low` (4x2x2) and the input (4x8x8) are alive, exactly as with a fixed size
    text = ("input: [4, 8, 8]\nlayers:\n  - {id: big, resize: 2}\n  - {id: low, maxpool: 8}\n"
            "  - {id: out, resize: {like: input}}\n")
    by_like = sizecalc.analyze(text.replace("{like: input}", "{like: big}"), dtype="fp32")
    by_size = sizecalc.analyze(text.replace("{like: input}", "{size: [16, 16]}"), dtype="fp32")
    assert by_like.rows[-1].output == by_size.rows[-1].output == (4, 16, 16)
    assert by_like.memory.inference_peak_bytes == by_size.memory.inference_peak_bytes


# --- errors: one located line with a fix that passes ------------------------------------------

def test_like_an_unknown_id_says_did_you_mean():
    text = "input: [3, 16, 16]\nlayers:\n  - {id: low, maxpool: 2}\n  - {resize: {like: lwo}}\n"
    f = error(text)
    assert f.loc.line == 4 and "no layer 'lwo'" in f.message and "did you mean 'low'" in f.message
    assert "write like: low" in f.fixes
    assert not sizecalc.analyze(text.replace("lwo", "low")).errors()


def test_like_a_later_layer_names_its_line():
    text = "input: [3, 16, 16]\nlayers:\n  - {id: c, crop: {like: later}}\n  - {id: later, maxpool: 2}\n"
    f = error(text)
    assert f.loc.line == 3 and "'later' is a layer below this one (line 4)" in f.message
    assert "write like: input" in f.fixes
    assert not sizecalc.analyze(text.replace("like: later", "like: input")).errors()


def test_like_a_layer_of_another_rank():
    text = "input: [3, 16, 16]\nlayers:\n  - {id: v, flatten}\n  - {from: input, resize: {like: v}}\n"
    f = error(text)
    assert f.loc.line == 4 and "like: 'v' is a vector of 768" in f.message and "2-D" in f.message
    assert "write size: [16, 16] instead of like" in f.fixes
    assert not sizecalc.analyze(text.replace("{like: v}", "{size: [16, 16]}")).errors()


def test_a_crop_larger_than_its_source_names_both_layers():
    text = ("input: [3, 16, 16]\nlayers:\n  - {id: big, resize: 2}\n  - {id: low, from: input, maxpool: 2}\n"
            "  - {from: low, crop: {like: big}}\n")
    f = error(text)
    assert f.loc.line == 5
    assert "crop to 32x32 (like 'big'), but its input is smaller (8 < 32, 8 < 32)" in f.message
    assert "low gives 8x8x3 (line 4)" in f.message
    assert "write crop: [8, 8] (at most the input's 8x8)" in f.fixes
    assert not sizecalc.analyze(text.replace("{like: big}", "[8, 8]")).errors()


def test_mode_rank_and_align_corners_as_torch_refuses_them():
    f = error("input: [3, 16]\nlayers:\n  - {resize: 2, mode: bilinear}\n")
    assert "mode bilinear interpolates 2-D volumes, but the input is 1-D" in f.message
    assert f.fixes == ("write mode: linear", "write mode: nearest")
    assert not sizecalc.analyze("input: [3, 16]\nlayers:\n  - {resize: 2, mode: linear}\n").errors()
    f = error("input: [3, 16, 16]\nlayers:\n  - {resize: 2, align_corners: true}\n")
    assert "torch refuses it with mode nearest" in f.message
    f = error("input: [3, 16, 16]\nlayers:\n  - {resize: 2, size: [4, 4]}\n")
    assert "one of scale, size and like" in f.message


def test_torch_refuses_what_sizecalc_refuses():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    with pytest.raises((ValueError, NotImplementedError, RuntimeError)):
        F.interpolate(torch.zeros(1, 3, 16), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError):
        F.interpolate(torch.zeros(1, 3, 16, 16), scale_factor=2, mode="nearest", align_corners=True)


def test_the_cli_reports_a_bad_like_on_one_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("sizecalc: 1\ninput: [3, 16, 16]\nlayers:\n  - {resize: {like: nowhere}}\n")
    result = CliRunner().invoke(main, ["table", str(spec)])
    assert result.exit_code == 1
    assert "bad.yaml:4:" in result.output and "no layer 'nowhere'" in result.output
    assert "Traceback" not in result.output


# --- receptive fields, measured in torch ------------------------------------------------------

def _spans(net, shape, units):
    """For each output unit (row index, in the middle column), the first and last input row whose
    gradient is not zero (positive weights, so that no two paths cancel)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(0.5, 1.5)
    net = net.double()
    spans = []
    for u in units:
        x = torch.randn(1, *shape, dtype=torch.float64, requires_grad=True)
        y = net(x)
        y[(0, 0, u, y.shape[-1] // 2)].backward()
        seen = (x.grad[0].abs().sum(0) != 0).any(1).nonzero().flatten()
        spans.append((int(seen[0]), int(seen[-1])))
    return spans


def _average(spans):
    """Araujo et al.'s figures over the units measured: the mean width, and the mean step
    between the first pixels of neighbouring units."""
    widths = [b - a + 1 for a, b in spans]
    return Fraction(sum(widths), len(widths)), Fraction(spans[-1][0] - spans[0][0], len(spans) - 1)


def _rf(text):
    return rows(text)[-1].receptive_field


def test_nearest_x2_sees_one_pixel_at_half_a_pixel_per_unit():
    torch = pytest.importorskip("torch")
    net = torch.nn.Upsample(scale_factor=2, mode="nearest")
    size, jump = _average(_spans(net, (1, 8, 8), range(4, 13)))
    assert (size, jump) == (1, Fraction(1, 2))
    assert _rf("input: [1, 8, 8]\nlayers:\n  - {resize: 2}\n") == \
        ReceptiveField((1, 1), (Fraction(1, 2),) * 2, (0, 0))


def test_bilinear_x2_sees_two_pixels():
    torch = pytest.importorskip("torch")
    # half-pixel centres: unit 2m reads m-1 and m, unit 2m+1 reads m and m+1: 2 wide, 1/2 apart;
    # as upsample(2) then a 3-tap window on the finer grid: 1 + 2*(1/2) = 2
    net = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    size, jump = _average(_spans(net, (1, 8, 8), range(4, 13)))
    assert (size, jump) == (2, Fraction(1, 2))
    rf = _rf("input: [1, 8, 8]\nlayers:\n  - {resize: 2, mode: bilinear}\n")
    assert rf.size[0] == 2 and rf.jump[0] == Fraction(1, 2)


def test_bilinear_x2_aligned_corners_sees_one_or_two_pixels():
    torch = pytest.importorskip("torch")
    # 5 -> 9 with align_corners: unit j reads j/2 exactly: 1 pixel for even j, 2 for odd: 3/2 on average
    net = torch.nn.Upsample(size=(9, 9), mode="bilinear", align_corners=True)
    spans = _spans(net, (1, 5, 5), range(0, 9))
    assert [b - a + 1 for a, b in spans] == [1, 2] * 4 + [1]
    assert _average(spans[:8])[0] == Fraction(3, 2) and _average(spans)[1] == Fraction(1, 2)
    # sizecalc measures each unit: the largest 2, the smallest 1 (the average 3/2 is no unit's)
    rf = _rf("input: [1, 5, 5]\nlayers:\n  - {resize: {size: [9, 9]}, mode: bilinear, align_corners: true}\n")
    assert (rf.size[0], rf.least[0], rf.jump[0]) == (2, 1, Fraction(1, 2))


def test_bicubic_x2_sees_four_pixels():
    torch = pytest.importorskip("torch")
    net = torch.nn.Upsample(scale_factor=2, mode="bicubic")
    size, jump = _average(_spans(net, (1, 12, 12), range(8, 17)))
    assert (size, jump) == (4, Fraction(1, 2))
    assert _rf("input: [1, 12, 12]\nlayers:\n  - {resize: 2, mode: bicubic}\n").size[0] == 4


def test_conv_resize_conv():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    # conv k2 s2: r 2, j 2; bilinear x2 = upsample(2) (j 1) then 3 taps (r 2 + 2*1 = 4, p 1);
    # conv 3 pad 1: r 4 + 2*1 = 6, j 1, p 1 + 1 = 2
    net = nn.Sequential(nn.Conv2d(1, 1, 2, stride=2), nn.Upsample(scale_factor=2, mode="bilinear"),
                        nn.Conv2d(1, 1, 3, padding=1))
    spans = _spans(net, (1, 24, 24), range(8, 17))
    size, jump = _average(spans)
    rf = _rf("input: [1, 24, 24]\nlayers:\n  - {conv: 1, kernel: 2, stride: 2}\n  - {resize: 2, mode: bilinear}\n"
             "  - {conv: 1, kernel: 3, padding: 1}\n")
    assert rf == ReceptiveField((6, 6), (1, 1), (2, 2))
    assert (size, jump) == (6, 1)
    # unit u starts at u*1 - 2 for even u; an odd one a pixel earlier, at the floor of its place on
    # the coarser grid (as nearest upsampling's units do: test_receptive_global.py)
    assert all(a == u - 2 - u % 2 for u, (a, _) in zip(range(8, 17), spans))


def test_conv_crop_conv_shifts_the_padding():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    from sizecalc.torch.modules import Crop
    # conv 3: r 3, p 0; crop 12 -> 8 starts 2 in: p 0 - 2 = -2; conv 3 pad 1: r 5, p -2 + 1 = -1
    net = nn.Sequential(nn.Conv2d(1, 1, 3), Crop((2, 2), (8, 8)), nn.Conv2d(1, 1, 3, padding=1))
    spans = _spans(net, (1, 14, 14), range(1, 7))
    rf = _rf("input: [1, 14, 14]\nlayers:\n  - {conv: 1, kernel: 3}\n  - {crop: 8}\n"
             "  - {conv: 1, kernel: 3, padding: 1}\n")
    assert rf == ReceptiveField((5, 5), (1, 1), (-1, -1))
    assert all(b - a + 1 == 5 and a == u * 1 - (-1) for u, (a, b) in zip(range(1, 7), spans))
