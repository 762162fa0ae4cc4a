"""The receptive field past a layer that raises the resolution, unit by unit, against torch.

Araujo et al.'s recurrences give each unit the same field; past a transposed conv, a resize or a
pixel shuffle the units differ, and after a strided layer the recurrences' figure is not even
their average. sizecalc then measures every unit of one period (engine/exact_field.py): size is
the largest field, least the smallest, padding where unit 0's field starts (before the image).
Each figure here is checked against the input pixels whose gradient is not zero for one output
unit (positive weights and inputs, so that no ReLU stops a path and no two paths cancel; max
pools as average pools, which read the same window: a max pool's gradient picks one pixel of
it, but the unit depends on all of them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import sizecalc

sys.path.insert(0, str(Path(__file__).parent))


def _hulls(net, shape, units):
    """(first, last) input row (dimension 0) whose gradient is not zero, for each output unit
    (row u, the middle column of a 2-D map, channel 0): one batched backward pass."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(0.5, 1.5)
    net = net.double()
    x = torch.rand(1, *shape, dtype=torch.float64, requires_grad=True)
    y = net(x)
    grads = torch.zeros(len(units), *y.shape, dtype=y.dtype)
    for i, u in enumerate(units):
        grads[(i, 0, 0, u, *[s // 2 for s in y.shape[3:]])] = 1
    (seen,) = torch.autograd.grad(y, x, grads, is_grads_batched=True)
    rows = seen[:, 0].abs().sum(1)
    while rows.dim() > 2:
        rows = rows.sum(-1)
    return [(int(r.nonzero()[0]), int(r.nonzero()[-1])) for r in rows]


def _field(text: str):
    return sizecalc.analyze(text).rows[-1].receptive_field


def _spec(shape, *layers) -> str:
    return f"input: {list(shape)}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


def _unet_1d():
    """specs/unet.yaml's geometry in 1-D, width 1 (the field does not depend on the widths):
    valid convs 3, pool 2, up-convolution 2 stride 2, centre crop of the skip, concat."""
    import torch
    from torch import nn

    class UNet1d(nn.Module):
        def __init__(self):
            super().__init__()
            self.downs = nn.ModuleList(self._double(1) for _ in range(5))
            self.ups = nn.ModuleList(nn.ConvTranspose1d(1, 1, 2, stride=2) for _ in range(4))
            self.convs = nn.ModuleList(self._double(2) for _ in range(4))
            self.pool = nn.AvgPool1d(2)
            self.head = nn.Conv1d(1, 2, 1)

        @staticmethod
        def _double(c_in):
            return nn.Sequential(nn.Conv1d(c_in, 1, 3), nn.ReLU(), nn.Conv1d(1, 1, 3), nn.ReLU())

        def forward(self, x):
            skips = []
            for i, down in enumerate(self.downs):
                x = down(x if i == 0 else self.pool(x))
                skips.append(x)
            for up, conv, skip in zip(self.ups, self.convs, reversed(skips[:-1])):
                x = up(x)
                top = (skip.shape[-1] - x.shape[-1]) // 2
                x = conv(torch.cat([skip[..., top:top + x.shape[-1]], x], dim=1))
            return self.head(x)

    return UNet1d()


def test_conv_stride_2_then_transposed_conv_then_conv_sees_7():
    # conv k3 s2, transposed k4 s2 p1, conv k3 p1: unit u sees 2*ceil((u - 3)/2)..2*floor((u + 2)/2) + 2,
    # 7 pixels at every unit (tests/test_transposed.py works it out); the recurrence said 8
    from torch import nn
    net = nn.Sequential(nn.Conv1d(1, 1, 3, stride=2), nn.ConvTranspose1d(1, 1, 4, 2, 1), nn.Conv1d(1, 1, 3, padding=1))
    hulls = _hulls(net, (1, 41), range(4, 36))
    assert {b - a + 1 for a, b in hulls} == {7}
    rf = _field(_spec((1, 41), "{conv: 1, kernel: 3, stride: 2}",
                      "{conv_transpose: 1, kernel: 4, stride: 2, padding: 1}", "{conv: 1, kernel: 3, padding: 1}"))
    assert (rf.size, rf.least, rf.jump, rf.padding) == ((7,), None, (1,), (2,))


def test_unet_1d_every_unit_of_a_period():
    # U-Net's geometry: jump 1 at the output, but 16 at the bottom, so the units repeat every 16.
    # torch, on the 1-D chain at 204 (output 20: units 0..15 are one period): units 0..3 see 188
    # pixels, 4..15 see 204, all from pixel 0 (the valid convs read nothing outside the image)
    hulls = _hulls(_unet_1d(), (1, 204), range(16))
    widths = [b - a + 1 for a, b in hulls]
    assert widths == [188] * 4 + [204] * 12 and {a for a, _ in hulls} == {0}
    report = sizecalc.analyze("unet", input_shape=(1, 204))
    rf = report.rows[-1].receptive_field
    assert report.rows[-1].output == (2, 20)
    assert (rf.size, rf.least, rf.jump, rf.padding, rf.period) == ((204,), (188,), (1,), (0,), (16,))
    assert "receptive field 188 to 204 input pixels depending on the output unit" in report.rows[-1].explain[-1]


def test_unet_itself_at_its_smallest_tile():
    # specs/unet.yaml at 1x188x188 (output 4x4: units 0..3 of a period) against the reference
    # module (tests/reference_dense.py) at width 1: each of the four rows sees all 188 pixels,
    # sizecalc's smallest field; the largest, 204, is a unit (4..15) this tile has not got
    from torch import nn
    from reference_dense import UNet
    net = UNet(base=1)
    net.pool = nn.AvgPool2d(2, stride=2)
    assert _hulls(net, (1, 188, 188), range(4)) == [(0, 187)] * 4
    rf = sizecalc.analyze("unet", input_shape=(1, 188, 188)).rows[-1].receptive_field
    assert (rf.size, rf.least, rf.padding) == ((204, 204), (188, 188), (0, 0))


def test_bilinear_x2_after_a_stride_2_conv():
    # conv k3 s2, bilinear x2, conv k2: unit u reads bilinear units u, u + 1, which read conv units
    # floor((u - 1)/2)..floor((u + 2)/2): 3 of them for even u (7 pixels), 2 for odd u (5 pixels).
    # The recurrence's 3 + (2 - 1)*2 + 1*1 = 6 (bilinear x2: a window of 2 at stride 1/2) is their
    # average, no unit's; unit 0 starts at -2
    from torch import nn
    net = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Upsample(scale_factor=2, mode="bilinear"),
                        nn.Conv2d(1, 1, 2))
    hulls = _hulls(net, (1, 33, 9), range(4, 24))
    assert [b - a + 1 for a, b in hulls] == [7, 5] * 10
    assert all(a == 2 * ((u - 1) // 2) for u, (a, _) in zip(range(4, 24), hulls))
    rf = _field(_spec((1, 33, 9), "{conv: 1, kernel: 3, stride: 2}", "{resize: 2, mode: bilinear}",
                      "{conv: 1, kernel: 2}"))
    assert (rf.size[0], rf.least[0], rf.jump[0], rf.padding[0], rf.period[0]) == (7, 5, 1, 2, 2)


def test_pixel_shuffle_after_a_stride_2_conv():
    # conv k3 s2 to 4 channels, pixel shuffle 2, conv k2: unit u reads shuffled u, u + 1, copies of
    # conv units floor(u/2)..floor((u + 1)/2): one for even u (3 pixels), two for odd u (5 pixels)
    from torch import nn
    net = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.PixelShuffle(2), nn.Conv2d(1, 1, 2))
    hulls = _hulls(net, (1, 33, 9), range(2, 26))
    assert [b - a + 1 for a, b in hulls] == [3, 5] * 12
    rf = _field(_spec((1, 33, 9), "{conv: 4, kernel: 3, stride: 2}", "{pixel_shuffle: 2}", "{conv: 1, kernel: 2}"))
    assert (rf.size[0], rf.least[0], rf.jump[0], rf.padding[0]) == (5, 3, 1, 0)


def test_whole_strides_keep_the_recurrences():
    # no fractional stride on the path: no period, the recurrences' figures (3 + 2*1 = 5, j 2, p 1)
    rf = _field(_spec((1, 33, 33), "{conv: 1, kernel: 3, stride: 2, padding: 1}", "{conv: 1, kernel: 2}"))
    assert (rf.size, rf.jump, rf.padding, rf.period, rf.least) == ((5, 5), (2, 2), (1, 1), None, None)


def test_a_long_period_is_measured_over_its_first_64_units():
    # resize 65 -> 64 (nearest): stride 65/64, the units repeat every 64; 63 -> 64 every 64 too;
    # 97 -> 128: every 128, of which the first 64 are measured (each reads 1 pixel, a conv 2 after
    # it 1 or 2 pixels: floor(u*97/128)..floor((u + 1)*97/128))
    rf = _field(_spec((1, 97), "{resize, size: 128}", "{conv: 1, kernel: 2}"))
    assert rf.period == (128,) and (rf.size, rf.least) == ((2,), (1,))
