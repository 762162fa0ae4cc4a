"""Small torch modules that tests/test_import_onnx.py exports to ONNX at test time (no files
downloaded or stored): each uses ops the ONNX import maps, as torch.onnx.export writes them."""

from __future__ import annotations

import torch
from torch import nn


def randomized(module: nn.Module) -> nn.Module:
    """Random batch-norm statistics and affine terms: the convs they fold into then get biases
    that differ (an exporter stores equal tensors once)."""
    gen = torch.Generator().manual_seed(0)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            for t in (m.running_mean, m.running_var, m.weight.data, m.bias.data):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
    return module


class Block(nn.Module):
    """A ResNet basic block with a projected shortcut (conv + bn, stride 2): Add, two paths."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=2, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + self.downsample(x))


class TinyResNet(nn.Module):
    """Stem (7x7/2 conv, bn, relu, 3x3/2 max pool), one block, global average pool, fc."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = Block(8, 16)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer1(self.maxpool(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Mixed(nn.Module):
    """The other ops: transposed conv, resize, reflection pad, concat, chunk (Split), mul,
    ceil-mode average pool, dilated grouped conv, the activations, layer norm and softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act6 = nn.ReLU6()
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.resize = nn.Upsample(scale_factor=2, mode="nearest")
        self.pad = nn.ReflectionPad2d(1)
        self.dil = nn.Conv2d(8, 8, 3, dilation=2, groups=2)
        self.dil2 = nn.Conv2d(8, 8, 3, dilation=2, groups=2)
        self.hs = nn.Hardswish()
        self.hsig = nn.Hardsigmoid()
        self.pool = nn.AvgPool2d(3, stride=2, ceil_mode=True)
        self.leaky = nn.LeakyReLU(0.2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16, 12)
        self.norm = nn.LayerNorm(12)
        self.tanh = nn.Tanh()
        self.head = nn.Linear(12, 5, bias=False)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.act6(self.conv(x))                       # 8 x 8 x 8
        up = self.resize(x)                               # 16 x 16
        x = torch.cat([self.up(x), up], 1)                # 16 channels
        a, b = torch.chunk(x, 2, 1)
        x = self.hs(self.dil(self.pad(a))) * self.hsig(self.dil2(self.pad(b)))
        x = self.leaky(self.pool(torch.cat([x, torch.sigmoid(x)], 1)))
        return self.softmax(self.head(self.tanh(self.norm(self.fc(self.flat(self.gap(x)))))))


class TinyConvNeXt(nn.Module):
    """ConvNeXt's block as torchvision writes it: depthwise conv, permute to channels last,
    LayerNorm, Linear, GELU, Linear, permute back, layer scale (a C x 1 x 1 parameter), residual."""

    def __init__(self, c: int = 8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 4, stride=4)
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.fc1 = nn.Linear(c, 4 * c)
        self.gelu = nn.GELU()
        self.fc2 = nn.Linear(4 * c, c)
        self.layer_scale = nn.Parameter(torch.rand(c, 1, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c, 5)

    def forward(self, x):
        x = self.stem(x)
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        y = self.fc2(self.gelu(self.fc1(y))).permute(0, 3, 1, 2)
        return self.head(torch.flatten(self.pool(self.layer_scale * y + x), 1))


class HandAttention(nn.Module):
    """Self-attention written out: q, k, v projections, scores q.k^T / sqrt(d), softmax, the
    weighted sum of v, the output projection (ViT as timm writes it, without fused qkv)."""

    def __init__(self, c: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.proj = (nn.Linear(c, c) for _ in range(4))

    def forward(self, x):
        b, n, c = x.shape
        d = c // self.heads
        q, k, v = (f(x).reshape(b, n, self.heads, d).transpose(1, 2) for f in (self.q, self.k, self.v))
        a = torch.softmax(q @ k.transpose(-2, -1) / d ** 0.5, dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, c))


class TinyViT(nn.Module):
    """ViT as torchvision writes it: patch conv, reshape and permute to tokens, a class token
    (expand + cat), a position embedding (add), pre-norm blocks with nn.MultiheadAttention
    (`mha`) or HandAttention (`hand`), an MLP with GELU, the class token to the head."""

    def __init__(self, attention: str = "mha", c: int = 12, heads: int = 3, image: int = 16, patch: int = 4):
        super().__init__()
        n = (image // patch) ** 2 + 1
        self.conv_proj = nn.Conv2d(3, c, patch, stride=patch)
        self.class_token = nn.Parameter(torch.rand(1, 1, c))
        self.pos_embedding = nn.Parameter(torch.rand(1, n, c))
        self.ln_1 = nn.LayerNorm(c, eps=1e-6)
        self.mha = attention == "mha"
        self.attn = nn.MultiheadAttention(c, heads, batch_first=True) if self.mha else HandAttention(c, heads)
        self.ln_2 = nn.LayerNorm(c, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))
        self.ln = nn.LayerNorm(c, eps=1e-6)
        self.head = nn.Linear(c, 5)

    def forward(self, x):
        x = self.conv_proj(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        y = self.ln_1(x)
        x = x + (self.attn(y, y, y, need_weights=False)[0] if self.mha else self.attn(y))
        x = x + self.mlp(self.ln_2(x))
        return self.head(self.ln(x)[:, 0])


class Strided(nn.Module):
    """What torchvision's convnets export and a first reading got wrong: a stride-2 conv whose
    windows do not tile (8 -> floor(7/2) + 1 = 4: ONNX floors), a 3x3 max pool at stride 1
    (ONNX's default stride is 1, sizecalc's the kernel), a concat of one tensor (DenseNet) and a
    mean over H and W without keepdims (MNASNet) before the fc."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.cat([self.pool(self.conv(x))], 1)
        return self.fc(x.mean([2, 3]))


def channel_shuffle(x, groups: int):
    """torchvision's (shufflenetv2.py): view as groups x C/groups, swap, flatten back."""
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    return torch.transpose(x, 1, 2).contiguous().view(b, -1, h, w)


class TinyShuffle(nn.Module):
    """ShuffleNetV2's stride-1 unit: the channels halved (torch.chunk, which the TorchScript
    exporter writes as two Slices whose bounds are arithmetic on the input's shape; `split`:
    x.split(4, 1), a Split of stored sizes), a branch on one half, concat, channel shuffle
    (Reshape, Transpose, Reshape)."""

    def __init__(self, how: str = "chunk"):
        super().__init__()
        self.how = how
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.branch = nn.Conv2d(4, 4, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x1, x2 = x.chunk(2, dim=1) if self.how == "chunk" else x.split(4, dim=1)
        x = channel_shuffle(torch.cat([x1, torch.relu(self.branch(x2))], 1), 2)
        return self.fc(x.mean([2, 3]))


class TinySegmentation(nn.Module):
    """A segmentation head as torchvision writes it: F.interpolate to the size of another
    tensor (an ASPP pooling branch back to its input's size) and, last, to the input's size,
    both read with .shape[-2:] (Shape nodes in the file, or numbers where the size is fixed)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.project = nn.Conv2d(4, 4, 1)
        self.classifier = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        feat = torch.relu(self.conv(x))
        pooled = nn.functional.interpolate(self.project(self.pool(feat)), size=feat.shape[-2:], mode="bilinear",
                                           align_corners=False)
        out = self.classifier(torch.cat([feat, pooled], 1))
        return nn.functional.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
