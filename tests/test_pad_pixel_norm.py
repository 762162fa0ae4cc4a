"""Pad, pixel shuffle / unshuffle and instance norm (issue #15, point 3).

Every figure is computed by hand (the arithmetic is in the comments) or is torch's own
behaviour: its output shapes, its refusals, and the input pixels whose gradient is not zero
for one output unit (the receptive field as Araujo, Norris & Sim define it, Distill 2019:
unit u's field starts at u*jump - padding and is `size` pixels wide).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import sizecalc
from sizecalc.core.errors import SpecError
from sizecalc.core.receptive import ReceptiveField


def spec(shape, *layers: str) -> str:
    return "sizecalc: 1\nname: t\ninput: " + str(list(shape)) + "\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)


def rows(shape, *layers: str):
    return sizecalc.analyze(spec(shape, *layers)).rows


def error(shape, *layers: str) -> str:
    with pytest.raises(SpecError) as info:
        sizecalc.analyze(spec(shape, *layers))
    (finding,) = info.value.findings
    return finding.line()


# --- pad ---------------------------------------------------------------------------------

def test_cyclegan_resnet_generator_starts_with_reflect_pad_3():
    # CycleGAN's ResnetGenerator: ReflectionPad2d(3), Conv2d(3, 64, 7) with bias (instance norm),
    # InstanceNorm2d(64) (affine false, no running stats), ReLU. 256 + 3 + 3 = 262; 262 - 7 + 1 = 256;
    # conv params 3*7*7*64 + 64 = 9,472; the norm has none
    r = rows((3, 256, 256), "{pad: 3, mode: reflect}", "{conv: 64, kernel: 7}", "{instance_norm}", "{relu}")
    assert r[0].output == (3, 262, 262)
    assert r[1].output == (64, 256, 256) and r[1].params == 9_472
    assert (r[2].params, r[2].buffers) == (0, 0)


@pytest.mark.parametrize("padding, out", [
    ("1", (3, 7, 8)),                    # every side: 5 + 1 + 1, 6 + 1 + 1
    ("[1, 2]", (3, 7, 10)),              # per dimension: H 5 + 2*1, W 6 + 2*2
    ("[[0, 1], [2, 3]]", (3, 6, 11)),    # per side [[top, bottom], [left, right]]: 5 + 0 + 1, 6 + 2 + 3
    ("[[0, 1], 2]", (3, 6, 10)),         # mixed: H 5 + 0 + 1, W 6 + 2 + 2
])
def test_pad_spellings(padding, out):
    assert rows((3, 5, 6), f"{{pad: {padding}}}")[-1].output == out


def test_pad_sides_go_to_torch_last_dimension_first():
    torch = pytest.importorskip("torch")
    module = sizecalc.to_torch(spec((3, 5, 6), "{pad: [[0, 1], [2, 3]], mode: reflect}"))
    (pad,) = list(module.nodes.values())
    # F.pad's order: (left, right, top, bottom) = (2, 3, 0, 1)
    assert isinstance(pad, torch.nn.ReflectionPad2d) and tuple(pad.padding) == (2, 3, 0, 1)
    assert module(torch.randn(1, 3, 5, 6)).shape == (1, 3, 6, 11)


def test_torch_names_imply_their_mode():
    torch = pytest.importorskip("torch")
    for name, cls in (("ReflectionPad2d", "ReflectionPad2d"), ("ReplicationPad2d", "ReplicationPad2d"),
                      ("CircularPad2d", "CircularPad2d"), ("ZeroPad2d", "ZeroPad2d")):
        (pad,) = list(sizecalc.to_torch(spec((2, 4, 4), f"{{{name}: 2}}")).nodes.values())
        assert type(pad).__name__ == cls
    (pad,) = list(sizecalc.to_torch(spec((2, 4, 4), "{pad: 1, value: 0.5}")).nodes.values())
    assert isinstance(pad, torch.nn.ConstantPad2d) and pad.value == 0.5
    assert "ReflectionPad2d means mode: reflect, but the layer says mode: constant" in \
        error((2, 4, 4), "{ReflectionPad2d: 1, mode: constant}")


def test_pad_beside_conv_is_still_conv_padding():
    # Caffe's `pad:` on a conv: 8 - 3 + 2*1 + 1 = 8
    assert rows((3, 8, 8), "{conv: 4, kernel: 3, pad: 1}")[-1].output == (4, 8, 8)


def test_wrong_count_teaches_the_three_spellings():
    line = error((3, 8, 8), "{pad: [1, 2, 3]}")
    assert "pad has 3 values but the input is 2-D (8x8)" in line
    assert "pad: [[1, 1], [1, 1]] (per side, [[top, bottom], [left, right]])" in line
    for fix in ("1", "[1, 1]", "[[1, 1], [1, 1]]"):  # each offered spelling sizes: 8 + 2 = 10
        assert rows((3, 8, 8), f"{{pad: {fix}}}")[-1].output == (3, 10, 10)


@pytest.mark.parametrize("mode, too_wide, widest", [("reflect", 8, 7), ("circular", 9, 8)])
def test_torch_limits_are_refused_with_fixes_that_work(mode, too_wide, widest):
    """torch: reflect padding must be < the input's size (it mirrors without the edge pixel),
    circular <= (it wraps around once); at the limit both run."""
    torch = pytest.importorskip("torch")
    cls = {"reflect": torch.nn.ReflectionPad2d, "circular": torch.nn.CircularPad2d}[mode]
    x = torch.randn(1, 2, 8, 8)
    with pytest.raises(RuntimeError):
        cls(too_wide)(x)
    assert cls(widest)(x).shape == (1, 2, 8 + 2 * widest, 8 + 2 * widest)
    line = error((2, 8, 8), f"{{pad: {too_wide}, mode: {mode}}}")
    assert "pad-exceeds-input" in line and f"at most {widest}" in line and f"{too_wide} " in line
    # the fixes offered: the widest padding, replicate, a larger input
    assert rows((2, 8, 8), f"{{pad: {widest}, mode: {mode}}}")[-1].output == (2, 8 + 2 * widest, 8 + 2 * widest)
    assert rows((2, 8, 8), f"{{pad: {too_wide}, mode: replicate}}")[-1].output == (2, *[8 + 2 * too_wide] * 2)
    assert "an input of at least 9" in line
    assert rows((2, 9, 9), f"{{pad: {too_wide}, mode: {mode}}}")[-1].output[1] == 9 + 2 * too_wide


def test_reflect_limit_per_side_and_dimension():
    # H 5: reflect 4 on the bottom is < 5; W 3: 3 on the left is not < 3
    line = error((1, 5, 3), "{pad: [[0, 4], [3, 0]], mode: reflect}")
    assert "W: reflect padding 3 is not less than the input's 3" in line


def test_value_only_with_constant_mode():
    assert "torch refuses a value" in error((1, 5, 5), "{pad: 1, mode: reflect, value: 1}")


def test_pad_memory():
    # stem 1x1 conv 3 -> 3 channels, batch 1, fp32: the conv keeps its input 3*8*8*4 = 768 bytes;
    # reflect and replicate keep theirs too (768 more), constant and circular keep nothing
    for mode, saved in (("constant", 768), ("circular", 768), ("reflect", 1_536), ("replicate", 1_536)):
        report = sizecalc.analyze(spec((3, 8, 8), "{conv: 3, kernel: 1, bias: false}", f"{{pad: 2, mode: {mode}}}"))
        assert report.memory.saved_bytes == saved, mode
        assert report.rows[-1].params == report.totals.macs - 3 * 3 * 64 == 0


# --- receptive field through a pad, against torch's gradients ----------------------------------

def _seen(net, width: int, at: int) -> set[int]:
    """The input positions of a 1-D input of `width` whose gradient is not zero for output `at`
    (positive weights: no two paths cancel)."""
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(0.5, 1.5)
    x = torch.randn(1, 1, width, dtype=torch.float64, requires_grad=True)
    net.double()(x)[0, :, at].sum().backward()
    return set(x.grad[0].abs().sum(0).nonzero().flatten().tolist())


def _field_at(rf: ReceptiveField, u: int) -> range:
    """Unit u's field on the padded input grid: from u*jump - padding, size pixels."""
    start = u * rf.jump[0] - rf.padding[0]
    return range(start, start + rf.size[0])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_shifts_the_field_and_torch_agrees(mode):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    # pad 2 then conv 3: size 1 + 2 = 3, jump 1, effective padding 0 + 2*1 = 2
    rf = rows((1, 10), f"{{pad: 2, mode: {mode}}}", "{conv: 1, kernel: 3}")[-1].receptive_field
    assert rf == ReceptiveField((3,), (1,), (2,))
    pad = {"constant": nn.ZeroPad1d(2), "reflect": nn.ReflectionPad1d(2), "replicate": nn.ReplicationPad1d(2),
           "circular": nn.CircularPad1d(2)}[mode]
    fold = {"constant": lambda x: x if 0 <= x < 10 else None, "reflect": lambda x: -x if x < 0 else 18 - x if x > 9
            else x, "replicate": lambda x: min(max(x, 0), 9), "circular": lambda x: x % 10}[mode]
    net = nn.Sequential(pad, nn.Conv1d(1, 1, 3))
    for u in range(12):
        geometric = _field_at(rf, u)
        # the pixels that change unit u: its field, each padded position read as the pixel it copies
        # (zeros: none; reflect: -x -> x; replicate: the edge; circular: -x -> 10 - x)
        assert _seen(net, 10, u) == {fold(x) for x in geometric} - {None}, u
        if 2 <= u <= 9:  # a field inside the image: exactly the geometric one
            assert _seen(net, 10, u) == set(geometric)


# --- pixel shuffle / unshuffle ----------------------------------------------------------------

def test_espcn_shuffle():
    # ESPCN (Shi et al. 2016) at r = 3: the last conv gives 3*3^2 = 27 channels of 32x32;
    # the shuffle makes 27/9 = 3 channels of 32*3 = 96 x 96
    r = rows((27, 32, 32), "{pixel_shuffle: 3}")
    assert r[-1].output == (3, 96, 96) and r[-1].params == 0 and r[-1].macs == 0
    assert rows((27, 32, 32), "{depth_to_space: 3}")[-1].output == (3, 96, 96)


def test_space_to_depth():
    # 3 x 224 x 224 -> 3*2^2 = 12 x 112 x 112; and back
    assert rows((3, 224, 224), "{space_to_depth: 2}")[-1].output == (12, 112, 112)
    assert rows((3, 224, 224), "{pixel_unshuffle: 2}", "{PixelShuffle: 2}")[-1].output == (3, 224, 224)


def test_shuffle_refusals_match_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):  # torch: 6 channels are not divisible by 2^2
        torch.nn.PixelShuffle(2)(torch.randn(1, 6, 4, 4))
    line = error((6, 4, 4), "{pixel_shuffle: 2}")
    assert "6 channels do not divide by 2^2 = 4 (6 = 1*4 + 2)" in line and "4 or 8 channels" in line
    with pytest.raises(RuntimeError):  # torch: width 6 is not divisible by 4
        torch.nn.PixelUnshuffle(4)(torch.randn(1, 1, 8, 6))
    line = error((1, 8, 6), "{pixel_unshuffle: 4}")
    assert "W 6 does not divide by 4 (6 = 1*4 + 2)" in line
    # the fixes: a factor dividing both (2), or an input rounded up to 8x8
    assert "write pixel_unshuffle: 2" in line and "an input of 8x8" in line
    assert rows((1, 8, 6), "{pixel_unshuffle: 2}")[-1].output == (4, 4, 3)
    assert rows((1, 8, 8), "{pixel_unshuffle: 4}")[-1].output == (16, 2, 2)
    assert "rearranges an image (C x H x W)" in error((4, 8), "{pixel_shuffle: 2}")


def _seen_2d(net, shape, at) -> set[tuple[int, int]]:
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(0.5, 1.5)
    x = torch.randn(1, *shape, dtype=torch.float64, requires_grad=True)
    net.double()(x)[(0, slice(None), *at)].sum().backward()
    return {tuple(p) for p in x.grad[0].abs().sum(0).nonzero().tolist()}


def test_shuffle_divides_the_jump_as_upsampling_does():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    # conv 3 pad 1: r 3, j 1, p 1; shuffle 2: j 1/2; conv 3 pad 1. By hand: unit u reads shuffled
    # u-1..u+1, copies of units floor((u-1)/2)..floor((u+1)/2): always 2, so 4 pixels; unit 0 reads
    # conv units -1..0, pixels -2..1: padding 2 (the recurrence's 1 + 1/2 was an average)
    rf = rows((4, 12, 12), "{conv: 4, kernel: 3, padding: 1}", "{pixel_shuffle: 2}",
              "{conv: 1, kernel: 3, padding: 1}")[-1].receptive_field
    half = Fraction(1, 2)
    assert rf == ReceptiveField((4, 4), (half, half), (2, 2))
    net = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.PixelShuffle(2), nn.Conv2d(1, 1, 3, padding=1))
    for u in range(4, 18):
        seen = _seen_2d(net, (4, 12, 12), (u, u))
        rows_seen = sorted({y for y, _ in seen})
        assert len(rows_seen) == 4 and rows_seen[0] == (u + 1) // 2 - 2  # 4 pixels at every position


def test_unshuffle_is_a_window_of_r_stride_r():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    # unshuffle 2: r 2, j 2; conv 3 pad 1: r 2 + 2*2 = 6, j 2, p 0 + 1*2 = 2
    rf = rows((1, 12, 12), "{pixel_unshuffle: 2}", "{conv: 1, kernel: 3, padding: 1}")[-1].receptive_field
    assert rf == ReceptiveField((6, 6), (2, 2), (2, 2))
    net = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4, 1, 3, padding=1))
    for u in range(1, 5):  # inside the image: rows 2u - 2 .. 2u + 3
        seen = _seen_2d(net, (1, 12, 12), (u, u))
        assert {y for y, _ in seen} == set(range(2 * u - 2, 2 * u + 4))
    # the unshuffle alone: output position (2, 3) holds the 2x2 block at rows 4-5, columns 6-7
    assert _seen_2d(nn.Sequential(nn.PixelUnshuffle(2)), (1, 12, 12), (2, 3)) == {(4, 6), (4, 7), (5, 6), (5, 7)}


# --- instance norm ----------------------------------------------------------------------------

@pytest.mark.parametrize("layer, params, buffers", [
    ("{instance_norm}", 0, 0),                                              # torch's defaults: neither
    ("{instance_norm, affine: true}", 128, 0),                              # weight + bias, 64 each
    ("{instance_norm, track_running_stats: true}", 0, 129),                 # mean 64 + var 64 + 1 counter
    ("{InstanceNorm2d: 64, affine: true, track_running_stats: true}", 128, 129),
])
def test_instance_norm_counts(layer, params, buffers):
    r = rows((64, 32, 32), layer)[-1]
    assert (r.output, r.params, r.buffers) == ((64, 32, 32), params, buffers)
    torch = pytest.importorskip("torch")
    a = dict(affine="affine" in layer, track_running_stats="track" in layer)
    m = torch.nn.InstanceNorm2d(64, **a)
    assert (sum(p.numel() for p in m.parameters()), sum(b.numel() for b in m.buffers())) == (params, buffers)


def test_instance_norm_channels_are_checked():
    assert "num_features 32, but the input has 64 channels" in error((64, 8, 8), "{InstanceNorm2d: 32}")


def test_instance_norm_saved_for_backward():
    # batch 1, fp32, 4 x 6 x 6 = 144 elements = 576 bytes. The stem conv keeps its input (576);
    # instance norm keeps its input (576) and each channel's mean and inverse deviation
    # (2*4 = 8 values, 32 bytes); with affine, the weight repeated per sample (4 values, 16 bytes);
    # with running stats, the running mean and variance repeated (8 values, 32 bytes)
    for args, saved in (("", 1_184), (", affine: true", 1_200), (", track_running_stats: true", 1_216),
                        (", affine: true, track_running_stats: true", 1_232)):
        report = sizecalc.analyze(spec((4, 6, 6), "{conv: 4, kernel: 1, bias: false}", f"{{instance_norm{args}}}"))
        assert report.memory.saved_bytes == saved, args
