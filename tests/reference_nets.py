"""Torch reference modules for zoo networks that torchvision does not have, written from the
papers (not from sizecalc's specs), so that the specs' figures can be checked against torch.

A plain module of nn.Module classes: tests import it (`from reference_nets import M5`) and it
imports torch at the top, so only tests that have torch (pytest.importorskip first) import it.

- Darknet53: Redmon & Farhadi, "YOLOv3: An Incremental Improvement", 2018, Table 1 (the
  classification network at 3x256x256), each convolution built as darknet builds a
  `[convolutional]` with `batch_normalize=1 activation=leaky`.
- M5: Dai, Dai, Qu, Li & Das, "Very Deep Convolutional Neural Networks for Raw Waveforms",
  ICASSP 2017, Table 1 (column M5), on raw audio at 8 kHz.
"""

from __future__ import annotations

from torch import nn


class DarknetConv(nn.Sequential):
    """One darknet `[convolutional]` with batch_normalize=1, activation=leaky: a convolution
    without bias (darknet's `biases` of a batch-normalised layer are the norm's shift, i.e.
    BatchNorm's beta), batch norm, leaky ReLU of slope 0.1 (darknet's `leaky`: x > 0 ? x : .1*x).
    `pad=1` in darknet's cfg means padding = size/2: 1 for 3x3, 0 for 1x1."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.1),
        )


class DarknetResidual(nn.Module):
    """Table 1's "Residual" rows: [1x1 conv C/2, 3x3 conv C] and darknet's `[shortcut] from=-3
    activation=linear`, i.e. the block's input added to the 3x3 conv's (activated) output."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = DarknetConv(channels, channels // 2, 1)
        self.conv2 = DarknetConv(channels // 2, channels, 3)

    def forward(self, x):
        return x + self.conv2(self.conv1(x))


class Darknet53(nn.Module):
    """Table 1 of YOLOv3, top to bottom: conv 3x3 32; conv 3x3/2 64; 1x residual; conv 3x3/2
    128; 2x residual; 3x3/2 256; 8x; 3x3/2 512; 8x; 3x3/2 1024; 4x; avgpool global; connected
    1000; softmax. Stride-2 convs are padded 1 as darknet's `pad=1`: (256 + 2 - 3)/2 + 1 =
    128.5, floor 128 (darknet's integer division), so each halves an even size exactly.
    "Connected 1000" is a fully connected layer with bias (darknet53.cfg writes it as a 1x1
    `[convolutional]` without batch norm, i.e. with bias: the same weights and MACs on 1x1).
    At 3x256x256 the stages give 64x128x128, 128x64x64, 256x32x32, 512x16x16, 1024x8x8."""

    REPEATS = (1, 2, 8, 8, 4)

    def __init__(self, classes: int = 1000):
        super().__init__()
        self.stem = DarknetConv(3, 32, 3)
        stages = []
        c_in = 32
        for i, n in enumerate(self.REPEATS):
            c = 64 * 2 ** i
            stages.append(nn.Sequential(DarknetConv(c_in, c, 3, stride=2), *[DarknetResidual(c) for _ in range(n)]))
            c_in = c
        self.stages = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(1024, classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.softmax(self.fc(self.flatten(self.avgpool(x))))


class M5(nn.Module):
    """Table 1's M5 column: [80/4, 128] (receptive field 80, 128 filters, stride 4), maxpool 4;
    [3, 128], maxpool 4; [3, 256], maxpool 4; [3, 512], maxpool 4; global average pooling;
    softmax. Every conv is followed by batch norm and ReLU (Section 2: "batch normalization
    ... after each convolutional layer", ReLU throughout).

    Padding: the table gives the length after each pool at 32000 samples: 2000, 500, 125, 32.
    The first conv gives 32000/4 = 8000 only if padded: (32000 + 2P - 80)/4 + 1 = 8000 needs
    2P = 76, i.e. TensorFlow's 'SAME' ((8000 - 1)*4 + 80 - 32000 = 76, 38 a side); the 3-wide
    convs keep the length ('same', padding 1); and the last pool's 32 = ceil(125/4) is a 'SAME'
    pool, i.e. torch's ceil_mode (ceil((125 - 4)/4) + 1 = 32). So every layer is 'same' here:
    conv padding 38 and 1, pools with ceil_mode. The conv bias is torch's default (the paper
    does not say; batch norm follows, so it changes nothing but 1,024 parameters).

    The classifier: the paper has no fully connected layers, yet its global average pool gives
    512 features for 10 classes (UrbanSound8K); as every re-implementation, a linear layer
    512 -> 10 (with bias) maps them to the softmax."""

    WIDTHS = (128, 128, 256, 512)

    def __init__(self, classes: int = 10):
        super().__init__()
        layers = []
        c_in = 1
        for i, c in enumerate(self.WIDTHS):
            kernel, stride, padding = (80, 4, 38) if i == 0 else (3, 1, 1)
            layers += [nn.Conv1d(c_in, c, kernel, stride=stride, padding=padding), nn.BatchNorm1d(c), nn.ReLU(),
                       nn.MaxPool1d(4, ceil_mode=True)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512, classes)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(self.flatten(self.avgpool(self.features(x)))))
