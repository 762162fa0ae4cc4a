"""Torch reference modules for the dense-prediction and generative zoo (specs/unet.yaml,
specs/dcgan.yaml), written from the papers, independently of sizecalc, so that
tests/test_zoo_dense.py can measure params, buffers, MACs (FlopCounterMode // 2), output and
stage shapes, and saved-for-backward bytes, on the real thing.

- `UNet`: Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image
  Segmentation", MICCAI 2015, Fig. 1 and Section 2 as published: unpadded ("valid") 3x3 convs
  with bias, each followed by a ReLU (no batch norm), 2x2 max pool stride 2, 2x2 up-convolution
  that halves the channels, the skip centre-cropped to the up-convolution's size and
  concatenated ([cropped skip, up-convolution], as Fig. 1 draws the white and blue boxes),
  and a final 1x1 conv to the classes. 1x572x572 -> 2x388x388.
- `DCGANGenerator` / `DCGANDiscriminator`: Radford, Metz & Chintala, "Unsupervised
  Representation Learning with Deep Convolutional Generative Adversarial Networks", 2015
  (ICLR 2016), Fig. 1 and Section 3's guidelines (strided convolutions, batch norm in both nets
  except the generator's output and the discriminator's input layer, ReLU in the generator
  with tanh at the output, LeakyReLU 0.2 in the discriminator), with the paper's widths
  1024/512/256/128. Biases: none, on every conv, as both reference implementations build them
  (the authors' Theano code, Newmu/dcgan_code, and pytorch/examples' dcgan/main.py, whose
  `bias=False` is on every layer, the output ones included).

The modules have the ReLUs in place as the specs do (`inplace: true`).
"""

from __future__ import annotations

import torch
from torch import nn


class DoubleConv(nn.Sequential):
    """Fig. 1's two blue arrows: 3x3 conv (valid, bias), ReLU, twice; the side shrinks by 4."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3)
        self.relu2 = nn.ReLU(inplace=True)


def centre_crop(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Fig. 1's grey arrow, "copy and crop": the centre of `x` at `like`'s spatial size, offset
    floor((W - T) / 2) on each side (the paper's sizes always leave an even margin)."""
    h, w = like.shape[-2:]
    top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    return x[..., top:top + h, left:left + w]


class Up(nn.Module):
    """One level of the expansive path: 2x2 up-convolution halving the channels (green arrow),
    crop and concatenate the skip (grey arrow), then two valid 3x3 convs (blue arrows)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.upconv = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        self.convs = DoubleConv(2 * c_out, c_out)

    def forward(self, x, skip):
        up = self.upconv(x)
        return self.convs(torch.cat([centre_crop(skip, up), up], dim=1))


class UNet(nn.Module):
    """Fig. 1: widths 64, 128, 256, 512, 1024 (each level doubles the previous one)."""

    def __init__(self, channels: int = 1, classes: int = 2, base: int = 64):
        super().__init__()
        w = [base * 2 ** k for k in range(5)]  # 64, 128, 256, 512, 1024
        self.down1, self.down2 = DoubleConv(channels, w[0]), DoubleConv(w[0], w[1])
        self.down3, self.down4 = DoubleConv(w[1], w[2]), DoubleConv(w[2], w[3])
        self.pool = nn.MaxPool2d(2, stride=2)  # red arrows (one module, no state: used four times)
        self.bottom = DoubleConv(w[3], w[4])
        self.up4, self.up3, self.up2, self.up1 = Up(w[4], w[3]), Up(w[3], w[2]), Up(w[2], w[1]), Up(w[1], w[0])
        self.head = nn.Conv2d(w[0], classes, 1)  # the teal arrow: 1x1 conv to the classes

    def forward(self, x):
        s1 = self.down1(x)
        s2 = self.down2(self.pool(s1))
        s3 = self.down3(self.pool(s2))
        s4 = self.down4(self.pool(s3))
        x = self.bottom(self.pool(s4))
        x = self.up4(x, s4)
        x = self.up3(x, s3)
        x = self.up2(x, s2)
        x = self.up1(x, s1)
        return self.head(x)


class DCGANGenerator(nn.Sequential):
    """Fig. 1: z (100) projected to 1024x4x4 (a 4x4 transposed conv on z as 100x1x1, as
    pytorch/examples does it), then four fractionally-strided 4x4 convs, stride 2, padding 1,
    each doubling the side: 512x8x8, 256x16x16, 128x32x32, 3x64x64. BN + ReLU after every one
    but the last, which has tanh."""

    def __init__(self, z: int = 100, width: int = 128, channels: int = 3):
        super().__init__()
        widths = [width * 8, width * 4, width * 2, width]  # 1024, 512, 256, 128
        c_in = z
        for k, c_out in enumerate(widths, 1):
            stride, padding = (1, 0) if k == 1 else (2, 1)
            self.add_module(f"tconv{k}", nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False))
            self.add_module(f"bn{k}", nn.BatchNorm2d(c_out))
            self.add_module(f"relu{k}", nn.ReLU(inplace=True))
            c_in = c_out
        self.tconv5 = nn.ConvTranspose2d(c_in, channels, 4, 2, 1, bias=False)
        self.tanh = nn.Tanh()


class DCGANDiscriminator(nn.Sequential):
    """The mirror of the generator: 3x64x64 -> 128x32x32, 256x16x16, 512x8x8, 1024x4x4 by 4x4
    convs, stride 2, padding 1, LeakyReLU 0.2 after each, BN after all but the first; then a
    4x4 conv (valid) to 1x1x1 and a sigmoid."""

    def __init__(self, width: int = 128, channels: int = 3):
        super().__init__()
        widths = [width, width * 2, width * 4, width * 8]  # 128, 256, 512, 1024
        c_in = channels
        for k, c_out in enumerate(widths, 1):
            self.add_module(f"conv{k}", nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False))
            if k > 1:
                self.add_module(f"bn{k}", nn.BatchNorm2d(c_out))
            self.add_module(f"lrelu{k}", nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.conv5 = nn.Conv2d(c_in, 1, 4, 1, 0, bias=False)
        self.sigmoid = nn.Sigmoid()


REFERENCES = {"unet": (UNet, (1, 572, 572)), "dcgan_generator": (DCGANGenerator, (100, 1, 1)),
              "dcgan_discriminator": (DCGANDiscriminator, (3, 64, 64))}


def measure(name: str, input_shape: tuple | None = None, device: str = "meta") -> dict:
    """The reference module's params, buffers (num_batches_tracked counted as one element each,
    as torch stores it), MACs (FlopCounterMode's total // 2, grad enabled), output shape and
    the output shape of each named child (a forward hook), for one sample."""
    from torch.utils.flop_counter import FlopCounterMode
    cls, default = REFERENCES[name]
    shape = tuple(input_shape or default)
    with torch.device(device):
        module = cls()
    shapes: dict = {}

    def hook(name):
        def record(mod, args, out):
            shapes.setdefault(name, tuple(out.shape[1:]))  # the first call of a module used again (U-Net's pool)
        return record

    for child_name, child in module.named_children():
        child.register_forward_hook(hook(child_name))
    counter = FlopCounterMode(display=False)
    with counter:
        out = module(torch.zeros(1, *shape, device=device))
    return {"params": sum(p.numel() for p in module.parameters()),
            "buffers": sum(b.numel() for b in module.buffers()),
            "macs": counter.get_total_flops() // 2, "output": tuple(out.shape[1:]), "stages": shapes}


if __name__ == "__main__":  # python tests/reference_dense.py: the figures tests/test_zoo_dense.py asserts
    for _name in REFERENCES:
        print(_name, measure(_name))
