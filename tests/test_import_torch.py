"""`sizecalc import`: a PyTorch module -> a spec, with the round trip as the test of truth.

Small torch modules written here (a LeNet-like chain, a residual net with repeated blocks, a
branchy concat net, a transposed-conv decoder) are imported; the spec sizecalc writes must
give torch's own figures: params and buffers by counting the module's tensors, MACs by
FlopCounterMode // 2 (it counts convolutions and matrix products, 2 flops per
multiply-accumulate), and every layer's output shape by forward hooks on the module. The
spec writer (pure Python) is tested first, without torch. Where torchvision is importable
(not in the test venv: ../shared/tools/torchvision-env.sh), its models are imported and
compared with the built-in specs.
"""

from __future__ import annotations

import os
import textwrap

import pytest
import yaml

import sizecalc
from sizecalc.core.units import torch_order
from sizecalc.spec import loads
from sizecalc.spec.writer import Op, quote, write_spec


# -- the writer, without torch -----------------------------------------------------------
HOSTILE = ["yes", "No", "null", "~", "1e5", "0x1F", "-x", "a: b", "#c", "[x]", "{y}", "&a", "*a", "!!python/object",
           "é", "line\nbreak", "tab\there", "\x00", "\u2028", "'\"", "\ud800", ""]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_string_reads_back_as_itself(text):
    # what YAML reads back must be the string written (a lone surrogate is written as U+FFFD)
    assert yaml.safe_load(f"k: {quote(text)}")["k"] == text.replace("\ud800", "\ufffd")


def test_hostile_names_become_ids_and_quoted_data():
    ops = [Op("a.b; rm -rf /", "conv", {"filters": 4, "kernel": 3, "rounding": "floor"}),
           Op("input", "relu", {}), Op("in", "relu", {}), Op("\n# evil: [", "fc", {"outputs": 2})]
    text = write_spec(ops, [3, 8, 8], name="x\n# sizecalc: 2", notes=("a: b",))
    assert "\n# sizecalc" not in text and "evil" not in text.split("layers:")[0]
    graph = loads(text)
    assert [n.id for n in graph.nodes] == ["a_b_rm_-rf", "input_", "in_", "evil"]
    assert yaml.safe_load(text)["name"] == "x\n# sizecalc: 2"


def test_from_only_where_the_input_is_not_the_layer_above_and_defaults_factored():
    ops = [Op("c1", "conv", {"filters": 8, "kernel": 3, "padding": 1, "rounding": "floor", "bias": False}),
           Op("r1", "relu", {"inplace": True}),
           Op("c2", "conv", {"filters": 8, "kernel": 3, "padding": 1, "rounding": "floor", "bias": False}),
           Op("r2", "relu", {"inplace": True}),
           Op("skip", "conv", {"filters": 8, "kernel": 1, "rounding": "floor", "bias": False}, ("r1",)),
           Op("sum", "add", {}, ("r2", "skip")), Op("cat", "concat", {}, ("sum", "input"))]
    text = write_spec(ops, [8, 16, 16], fold=False)
    assert "  rounding: floor\n  conv: {bias: false}\n  relu: {inplace: true}\n" in text
    assert "- {id: c2, conv: 8, kernel: 3, padding: 1}\n" in text
    assert "- {id: skip, from: r1, conv: 8, kernel: 1}\n" in text
    assert "- {id: sum, add: [r2, skip]}\n" in text and "- {id: cat, concat: [sum, input]}\n" in text
    # 8 + 8 channels; conv 3x3x8x8 = 576 weights each, 1x1x8x8 = 64
    report = sizecalc.analyze(text)
    assert report.output == (16, 16, 16) and report.totals.params == 576 * 2 + 64


# -- the round trip through torch --------------------------------------------------------
torch = pytest.importorskip("torch")
nn = torch.nn
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from sizecalc.torch.fx_import import build, import_model  # noqa: E402


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.Tanh(), nn.MaxPool2d(3, 2, ceil_mode=True))
        self.classifier = nn.Sequential(nn.Linear(16 * 5 * 5, 120), nn.ReLU(True), nn.Dropout(0.2), nn.Linear(120, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-3)
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else None)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += x if self.down is None else self.down(x)
        return self.relu(out)


class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(True),
                                  nn.MaxPool2d(3, 2, 1))
        self.layer1 = nn.Sequential(Block(16, 16, 1), Block(16, 16, 1))
        self.layer2 = nn.Sequential(Block(16, 32, 2), Block(32, 32, 1), Block(32, 32, 1))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.layer2(self.layer1(self.stem(x))).mean([2, 3]))  # global average pool


class Branchy(nn.Module):
    """Inception-like: three branches concatenated on channels, a gate multiplied in."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 1)
        self.b = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 8, 3, padding=1, dilation=1, groups=2))
        self.c = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.Conv2d(3, 8, 5, padding=2))
        self.gate = nn.Conv2d(24, 24, 1)

    def forward(self, x):
        y = torch.cat([self.a(x), self.b(x), self.c(x)], dim=1)
        y = y * torch.sigmoid(self.gate(y))
        return nn.functional.adaptive_avg_pool2d(nn.functional.relu(y), (2, 2))


class Decoder(nn.Module):
    """A crop-free decoder: strided convs down, transposed convs and upsampling back up."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.InstanceNorm2d(16, affine=True), nn.LeakyReLU(0.2),
                                  nn.Conv2d(16, 32, 4, 2, 1), nn.GroupNorm(4, 32), nn.SiLU())
        self.up1 = nn.ConvTranspose2d(32, 16, 4, 2, 1)
        self.up2 = nn.ConvTranspose2d(16, 8, 3, 2, 1, output_padding=1, bias=False)
        self.up3 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.head = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(8, 3, 3), nn.Hardsigmoid())

    def forward(self, x):
        y = self.up2(nn.functional.relu(self.up1(self.down(x)), inplace=True))
        y = nn.functional.interpolate(self.up3(y), scale_factor=0.5, mode="nearest")
        return self.head(y)


def stochastic_depth(x, p: float, mode: str, training: bool = True):
    """torchvision.ops.stochastic_depth's signature (torch.fx keeps it whole, as torchvision
    wraps it); the identity at inference."""
    return x


torch.fx.wrap("stochastic_depth")


class LayerNorm2d(nn.LayerNorm):
    """torchvision's ConvNeXt LayerNorm2d: permute, F.layer_norm over the channels, permute back."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtLike(nn.Module):
    """ConvNeXt's block: Linear layers on a channels-last permute, a layer scale parameter,
    stochastic depth; a patchify stem with LayerNorm2d."""

    def __init__(self, dim=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 4, 4), LayerNorm2d(dim, eps=1e-6))
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fc1, self.act, self.fc2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.stem(x)
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y)))).permute(0, 3, 1, 2)
        x = stochastic_depth(self.layer_scale * y, 0.1, "row", self.training) + x
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Conv3dKept(nn.Conv3d):
    """A subclass that keeps nn.Conv3d's forward (torchvision's Conv3DSimple)."""


class ShuffleLike(nn.Module):
    """ShuffleNetV2's unit in 3-D: x.chunk(2, dim=1), a branch, cat, then the channel shuffle
    written as view / transpose / contiguous / view; a conv subclass that keeps nn.Conv3d's
    forward in front (torchvision's Conv3DSimple)."""

    def __init__(self):
        super().__init__()
        self.conv3d = Conv3dKept(3, 8, (1, 3, 3), padding=(0, 1, 1))
        self.branch = nn.Sequential(nn.Conv3d(4, 4, 1, bias=False), nn.BatchNorm3d(4), nn.ReLU(inplace=True))

    def forward(self, x):
        x1, x2 = self.conv3d(x).chunk(2, dim=1)
        out = torch.cat((x1, self.branch(x2)), dim=1)
        n, c, t, h, w = out.size()
        out = out.view(n, 2, c // 2, t, h, w)
        out = torch.transpose(out, 1, 2).contiguous()
        return out.view(n, c, t, h, w)


class EncoderBlock(nn.Module):
    """torchvision's ViT EncoderBlock: pre-norm nn.MultiheadAttention, then an MLP."""

    def __init__(self, dim, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class TinyViT(nn.Module):
    """torchvision's VisionTransformer in small: conv_proj, reshape + permute to tokens, class
    token (expand + cat), position embedding (add), pre-norm blocks with nn.MultiheadAttention
    named as torchvision names them (layers.encoder_layer_0, ...), x[:, 0] to the head."""

    def __init__(self, dim=32, heads=4, image=32, patch=8, depth=3):
        super().__init__()
        from collections import OrderedDict
        n = (image // patch) ** 2 + 1
        self.conv_proj = nn.Conv2d(3, dim, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, n, dim))
        self.layers = nn.Sequential(OrderedDict((f"encoder_layer_{i}", EncoderBlock(dim, heads))
                                                for i in range(depth)))
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.heads = nn.Linear(dim, 10)

    def forward(self, x):
        n = x.shape[0]
        x = self.conv_proj(x)
        x = x.reshape(n, x.shape[1], x.shape[2] * x.shape[3]).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1) + self.pos_embedding
        return self.heads(self.ln(self.layers(x))[:, 0])


def shifted_window_attention(x, qkv_weight, proj_weight, relative_position_bias, window_size, num_heads,
                             shift_size, attention_dropout=0.0, dropout=0.0, qkv_bias=None, proj_bias=None,
                             logit_scale=None, training=True):
    """torchvision's shifted_window_attention in short, with its signature and matrix products
    (the shift mask, which has none, left out): pad to whole windows, roll, windows of M x M
    tokens, qkv, scores (v2: cosine, scaled), + bias, softmax, weighted sum, proj, back."""
    b, h, w, c = x.shape
    m = window_size[0]
    x = nn.functional.pad(x, (0, 0, 0, (m - w % m) % m, 0, (m - h % m) % m))
    ph, pw = x.shape[1:3]
    shift = [0 if m >= side else s for side, s in zip((ph, pw), shift_size)]
    x = torch.roll(x, (-shift[0], -shift[1]), (1, 2))
    x = x.view(b, ph // m, m, pw // m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, m * m, c)
    qkv = nn.functional.linear(x, qkv_weight, qkv_bias)
    q, k, v = qkv.reshape(x.size(0), m * m, 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
    if logit_scale is not None:
        attn = nn.functional.normalize(q, dim=-1) @ nn.functional.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(logit_scale, max=4.6).exp()
    else:
        attn = (q * (c // num_heads) ** -0.5) @ k.transpose(-2, -1)
    attn = (attn + relative_position_bias).softmax(-1)
    x = nn.functional.linear((attn @ v).transpose(1, 2).reshape(-1, m * m, c), proj_weight, proj_bias)
    x = x.view(b, ph // m, pw // m, m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
    return torch.roll(x, (shift[0], shift[1]), (1, 2))[:, :h, :w, :].contiguous()


def _get_relative_position_bias(table, index, window_size):
    n = window_size[0] * window_size[1]
    return table[index].view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)


def _patch_merging_pad(x):
    h, w = x.shape[-3:-1]
    x = nn.functional.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    return torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)


for _name in ("shifted_window_attention", "_get_relative_position_bias", "_patch_merging_pad"):
    torch.fx.wrap(_name)  # as torchvision wraps them: torch.fx keeps each call whole


class WindowAttention(nn.Module):
    """torchvision's ShiftedWindowAttention (v2: ShiftedWindowAttentionV2, its position-bias MLP
    2 -> 512 -> heads on a buffer of coordinates, and a logit scale per head)."""

    def __init__(self, dim, window, shift, heads, v2=False):
        super().__init__()
        self.window, self.shift, self.heads, self.v2 = [window] * 2, [shift] * 2, heads, v2
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        side = 2 * window - 1
        if v2:
            self.logit_scale = nn.Parameter(torch.zeros(heads, 1, 1))
            self.cpb_mlp = nn.Sequential(nn.Linear(2, 512), nn.ReLU(inplace=True), nn.Linear(512, heads, bias=False))
            self.register_buffer("relative_coords_table", torch.zeros(1, side, side, 2))
        else:
            self.relative_position_bias_table = nn.Parameter(torch.zeros(side * side, heads))
        self.register_buffer("relative_position_index", torch.zeros(window ** 4, dtype=torch.long))

    def forward(self, x):
        if self.v2:
            table = self.cpb_mlp(self.relative_coords_table).view(-1, self.heads)
            bias = 16 * torch.sigmoid(_get_relative_position_bias(table, self.relative_position_index, self.window))
        else:
            bias = _get_relative_position_bias(self.relative_position_bias_table, self.relative_position_index,
                                               self.window)
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, bias, self.window, self.heads,
                                        shift_size=self.shift, qkv_bias=self.qkv.bias, proj_bias=self.proj.bias,
                                        logit_scale=self.logit_scale if self.v2 else None, training=self.training)


class SwinBlock(nn.Module):
    """SwinTransformerBlock (pre-norm); v2: SwinTransformerBlockV2 (the norms after)."""

    def __init__(self, dim, heads, window, shift, v2=False):
        super().__init__()
        self.v2 = v2
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, shift, heads, v2)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        if self.v2:
            x = x + stochastic_depth(self.norm1(self.attn(x)), 0.1, "row", self.training)
            return x + stochastic_depth(self.norm2(self.mlp(x)), 0.1, "row", self.training)
        x = x + stochastic_depth(self.attn(self.norm1(x)), 0.1, "row", self.training)
        return x + stochastic_depth(self.mlp(self.norm2(x)), 0.1, "row", self.training)


class PatchMerging(nn.Module):
    """torchvision's PatchMerging: 2x2 -> 4C, LayerNorm(4C), Linear 4C -> 2C; v2 (PatchMergingV2):
    the Linear, then LayerNorm(2C)."""

    def __init__(self, dim, v2=False):
        super().__init__()
        self.v2 = v2
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim if v2 else 4 * dim)

    def forward(self, x):
        x = _patch_merging_pad(x)
        return self.norm(self.reduction(x)) if self.v2 else self.reduction(self.norm(x))


class TinySwin(nn.Module):
    """Swin in small, torchvision's way: patchify, channels last; two v1 blocks (the second
    shifted) on 10x10 (padded to windows of 4), patch merging of an odd side (10 -> 5 -> 3),
    two v2 blocks, v2 patch merging; back to channels first for the head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, 4)
        self.stem_norm = nn.LayerNorm(16)
        self.stage1 = nn.Sequential(SwinBlock(16, 2, 4, 0), SwinBlock(16, 2, 4, 2))
        self.merge1 = PatchMerging(16)
        self.stage2 = nn.Sequential(SwinBlock(32, 4, 2, 0, v2=True), SwinBlock(32, 4, 2, 1, v2=True))
        self.merge2 = PatchMerging(32, v2=True)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem_norm(self.stem(x).permute(0, 2, 3, 1))
        x = self.merge2(self.stage2(self.merge1(self.stage1(x)))).permute(0, 3, 1, 2)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class WindowPartition(nn.Module):
    """torchvision's MaxViT modules, as torchvision writes them (the tracer keeps them whole by
    class name; sizecalc maps them where the shapes, and the attention's tensors, are its own)."""

    def forward(self, x, p: int):
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (h // p) * (w // p), p * p, c)


class WindowDepartition(nn.Module):
    def forward(self, x, p: int, h_partitions: int, w_partitions: int):
        b, g, pp, c = x.shape
        x = x.reshape(b, h_partitions, w_partitions, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(b, c, h_partitions * p, w_partitions * p)


class SwapAxes(nn.Module):
    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return torch.swapaxes(x, self.a, self.b)


class RelativePositionalMultiHeadAttention(nn.Module):
    def __init__(self, feat_dim, head_dim, max_seq_len):
        super().__init__()
        self.n_heads, self.head_dim, self.max_seq_len = feat_dim // head_dim, head_dim, max_seq_len
        side = int(max_seq_len ** 0.5)
        self.to_qkv, self.merge = nn.Linear(feat_dim, 3 * feat_dim), nn.Linear(feat_dim, feat_dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * side - 1) ** 2, self.n_heads))
        self.register_buffer("relative_position_index", torch.zeros(max_seq_len, max_seq_len, dtype=torch.long))

    def forward(self, x):
        b, g, p, d = x.shape
        q, k, v = (t.reshape(b, g, p, self.n_heads, self.head_dim).permute(0, 1, 3, 2, 4)
                   for t in torch.chunk(self.to_qkv(x), 3, dim=-1))
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(p, p, -1)
        scores = torch.einsum("bghid,bghjd->bghij", q, k * d ** -0.5) + bias.permute(2, 0, 1).unsqueeze(0)
        out = torch.einsum("bghij,bghjd->bghid", scores.softmax(-1), v)
        return self.merge(out.permute(0, 1, 3, 2, 4).reshape(b, g, p, d))


class PartitionAttention(nn.Module):
    """torchvision's PartitionAttentionLayer: partition (grid: into p = H/P groups, then swap
    the axes), pre-norm relative attention and MLP on the groups, departition."""

    def __init__(self, dim, head_dim, partition, grid_size, mode):
        super().__init__()
        n = grid_size // partition
        self.p, self.g = (partition, n) if mode == "window" else (n, partition)
        self.gh = grid_size // self.p
        self.partition_op, self.departition_op = WindowPartition(), WindowDepartition()
        self.partition_swap = SwapAxes(-2, -3) if mode == "grid" else nn.Identity()
        self.departition_swap = SwapAxes(-2, -3) if mode == "grid" else nn.Identity()
        self.attn_layer = nn.Sequential(nn.LayerNorm(dim), RelativePositionalMultiHeadAttention(
            dim, head_dim, partition ** 2))
        self.mlp_layer = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = self.partition_swap(self.partition_op(x, self.p))
        x = x + stochastic_depth(self.attn_layer(x), 0.1, "row", self.training)
        x = x + stochastic_depth(self.mlp_layer(x), 0.1, "row", self.training)
        return self.departition_op(self.departition_swap(x), self.p, self.gh, self.gh)


class TinyMaxViT(nn.Module):
    """MaxViT's layer in small: block (window) attention then grid attention on an 8x8 map."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2, 1)
        self.window_attention = PartitionAttention(16, 8, 4, 8, "window")
        self.grid_attention = PartitionAttention(16, 8, 4, 8, "grid")
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.grid_attention(self.window_attention(self.stem(x)))
        return self.head(x.mean([2, 3]))


def _unsqueeze(x, target_dim: int, expand_dim: int):
    """torchvision's MViT helpers (torch.fx keeps _unsqueeze whole, as torchvision wraps it)."""
    tensor_dim = x.dim()
    if tensor_dim == target_dim - 1:
        x = x.unsqueeze(expand_dim)
    return x, tensor_dim


torch.fx.wrap("_unsqueeze")


class Pool(nn.Module):
    """torchvision's MViT Pool, kept whole by the tracer (by class name), as MultiscaleAttention
    and PositionalEncoding: pool the grid tokens (a conv or max pool), the class token passed by."""

    def __init__(self, pool, norm):
        super().__init__()
        self.pool, self.norm_act, self.norm_before_pool = pool, nn.Sequential(norm) if norm else None, False

    def forward(self, x, thw):
        x, dim = _unsqueeze(x, 4, 1)
        cls, x = torch.tensor_split(x, indices=(1,), dim=2)
        b, n, c = x.transpose(2, 3).shape[:3]
        x = self.pool(x.transpose(2, 3).reshape((b * n, c) + tuple(thw)))
        t, h, w = x.shape[2:]
        x = torch.cat((cls, x.reshape(b, n, c, -1).transpose(2, 3)), dim=2)
        x = self.norm_act(x) if self.norm_act is not None else x
        return (x.squeeze(1) if dim == 3 else x), (t, h, w)


def _rel_pos(attn, q, q_thw, k_thw, rel_h, rel_w, rel_t):
    """torchvision's _add_rel_pos (tables of the right size: no interpolation)."""
    (qt, qh, qw), (kt, kh, kw) = q_thw, k_thw
    b, heads, _, d = q.shape

    def dist(qs, ks):
        return (torch.arange(qs)[:, None] * max(ks / qs, 1.0)
                - (torch.arange(ks)[None, :] + (1.0 - ks)) * max(qs / ks, 1.0)).long()
    rh, rw, rt = rel_h[dist(qh, kh)], rel_w[dist(qw, kw)], rel_t[dist(qt, kt)]
    r_q = q[:, :, 1:].reshape(b, heads, qt, qh, qw, d)
    rel_h_q = torch.einsum("bythwc,hkc->bythwk", r_q, rh)
    rel_w_q = torch.einsum("bythwc,wkc->bythwk", r_q, rw)
    r_q = r_q.permute(2, 0, 1, 3, 4, 5).reshape(qt, b * heads * qh * qw, d)
    rel_q_t = torch.matmul(r_q, rt.transpose(1, 2)).transpose(0, 1)
    rel_q_t = rel_q_t.view(b, heads, qh, qw, qt, kt).permute(0, 1, 4, 2, 3, 5)
    rel = (rel_h_q[:, :, :, :, :, None, :, None] + rel_w_q[:, :, :, :, :, None, None, :]
           + rel_q_t[:, :, :, :, :, :, None, None]).reshape(b, heads, qt * qh * qw, kt * kh * kw)
    attn[:, :, 1:, 1:] += rel
    return attn


class MultiscaleAttention(nn.Module):
    """torchvision's MultiscaleAttention: qkv, q / k / v pooled (depthwise Conv3d + LayerNorm),
    v2's relative position and residual pooling, the projection."""

    def __init__(self, grid, dim, out, heads, kernel_q, kernel_kv, stride_q, stride_kv, v2):
        super().__init__()
        self.output_dim, self.num_heads, self.head_dim = out, heads, out // heads
        self.residual_pool, self.residual_with_cls_embed = v2, not v2
        self.qkv, self.project = nn.Linear(dim, 3 * out), nn.Sequential(nn.Linear(out, out))

        def pool(kernel, stride):
            if kernel == [1, 1, 1] and stride == [1, 1, 1]:
                return None
            return Pool(nn.Conv3d(self.head_dim, self.head_dim, kernel, stride, [k // 2 for k in kernel],
                                  groups=self.head_dim, bias=False), nn.LayerNorm(self.head_dim, eps=1e-6))
        self.pool_q, self.pool_k, self.pool_v = pool(kernel_q, stride_q), pool(kernel_kv, stride_kv), \
            pool(kernel_kv, stride_kv)
        self.rel_pos_h = self.rel_pos_w = self.rel_pos_t = None
        if v2:
            side = 2 * max(grid[1] // stride_q[1], grid[1] // stride_kv[1]) - 1
            self.rel_pos_h, self.rel_pos_w = (nn.Parameter(torch.zeros(side, self.head_dim)) for _ in range(2))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * grid[0] - 1, self.head_dim))

    def forward(self, x, thw):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).transpose(1, 3).unbind(dim=2)
        k, k_thw = self.pool_k(k, thw) if self.pool_k is not None else (k, thw)
        v = self.pool_v(v, thw)[0] if self.pool_v is not None else v
        q, thw = self.pool_q(q, thw) if self.pool_q is not None else (q, thw)
        attn = torch.matmul(q / self.head_dim ** 0.5, k.transpose(2, 3))
        if self.rel_pos_h is not None:
            attn = _rel_pos(attn, q, thw, k_thw, self.rel_pos_h, self.rel_pos_w, self.rel_pos_t)
        x = torch.matmul(attn.softmax(dim=-1), v)
        if self.residual_pool:
            x[:, :, 1:, :] += q[:, :, 1:, :]
        return self.project(x.transpose(1, 2).reshape(b, -1, self.output_dim)), thw


class PositionalEncoding(nn.Module):
    def __init__(self, dim, grid, v2):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(dim))
        self.spatial_pos = None if v2 else nn.Parameter(torch.zeros(grid[1] * grid[2], dim))
        self.temporal_pos = None if v2 else nn.Parameter(torch.zeros(grid[0], dim))
        self.class_pos = None if v2 else nn.Parameter(torch.zeros(dim))
        self.grid = grid

    def forward(self, x):
        x = torch.cat((self.class_token.expand(x.size(0), -1).unsqueeze(1), x), dim=1)
        if self.spatial_pos is not None:
            pos = torch.repeat_interleave(self.temporal_pos, self.spatial_pos.shape[0], dim=0)
            pos = pos + self.spatial_pos.unsqueeze(0).expand(self.grid[0], -1, -1).reshape(-1, x.shape[-1])
            x = x + torch.cat((self.class_pos.unsqueeze(0), pos), dim=0).unsqueeze(0)
        return x


class MViTBlock(nn.Module):
    """torchvision's MultiscaleBlock (v2: the projection after the attention, on norm1)."""

    def __init__(self, grid, dim, out, heads, stride_q, stride_kv, v2):
        super().__init__()
        kernel_q = [3, 3, 3] if v2 or stride_q != [1, 1, 1] else [1, 1, 1]
        attn_dim = out if v2 else dim
        self.v2 = v2
        self.pool_skip = Pool(nn.MaxPool3d([s + 1 if s > 1 else s for s in stride_q], stride_q,
                                           [(s + 1 if s > 1 else s) // 2 for s in stride_q]), None) \
            if stride_q != [1, 1, 1] else None
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(attn_dim, eps=1e-6)
        self.attn = MultiscaleAttention(grid, dim, attn_dim, heads, kernel_q, [3, 3, 3], stride_q, stride_kv, v2)
        self.mlp = nn.Sequential(nn.Linear(attn_dim, 4 * attn_dim), nn.GELU(), nn.Linear(4 * attn_dim, out))
        self.project = nn.Linear(dim, out) if dim != out else None

    def forward(self, x, thw):
        x_norm1 = self.norm1(x)
        x_attn, thw_new = self.attn(x_norm1, thw)
        x = self.project(x_norm1) if self.project is not None and self.v2 else x
        x = (self.pool_skip(x, thw)[0] if self.pool_skip is not None else x) + x_attn
        x_norm2 = self.norm2(x)
        x_proj = self.project(x_norm2) if self.project is not None and not self.v2 else x
        return x_proj + self.mlp(x_norm2), thw_new


class TinyMViT(nn.Module):
    """MViT in small on a 3x4x16x16 clip: patches 2x4x4 -> a 2x4x4 grid, class token (v1: the
    separable position embedding), a block pooling k and v, a block pooling q (and the
    shortcut) that grows the channels, the class token to the head."""

    def __init__(self, v2=True):
        super().__init__()
        self.conv_proj = nn.Conv3d(3, 16, (3, 7, 7), (2, 4, 4), (1, 3, 3))
        self.pos_encoding = PositionalEncoding(16, (2, 4, 4), v2)
        self.blocks = nn.ModuleList([MViTBlock([2, 4, 4], 16, 16 if v2 else 32, 2, [1, 1, 1], [1, 2, 2], v2),
                                     MViTBlock([2, 4, 4], 16 if v2 else 32, 32, 2, [1, 2, 2], [1, 1, 1], v2)])
        self.norm, self.head = nn.LayerNorm(32, eps=1e-6), nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv_proj(_unsqueeze(x, 5, 2)[0])
        x = self.pos_encoding(x.flatten(2).transpose(1, 2))
        thw = (2, 4, 4)
        for block in self.blocks:
            x, thw = block(x, thw)
        return self.head(self.norm(x)[:, 0])


def _get_window_and_shift_size(shift_size, size_dhw, window_size):
    """torchvision's video Swin: where a side is at most its window, the window shrinks to it
    and the side is not shifted. It assigns into its list arguments, which torch.fx holds
    immutable while it traces: the tracer keeps ShiftedWindowAttention3d whole (by class name)."""
    for i in range(3):
        if size_dhw[i] <= window_size[i]:
            window_size[i], shift_size[i] = size_dhw[i], 0
    return window_size, shift_size


def _compute_pad_size_3d(size_dhw, patch_size):
    return tuple((patch_size[i] - size_dhw[i] % patch_size[i]) % patch_size[i] for i in range(3))


torch.fx.wrap("_compute_pad_size_3d")  # as torchvision does: the pad's sides are computed nodes


class ShiftedWindowAttention3d(nn.Module):
    """torchvision's ShiftedWindowAttention3d in short, with its attributes and matrix products
    (the shift mask, which has none, left out): window and shift kept by torch's rule, the bias
    table of the stated window read through the index's top-left corner, pad, roll, windows of
    Mt x Mh x Mw tokens, qkv, scores + bias, softmax, weighted sum, proj, back."""

    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True):
        super().__init__()
        self.window_size, self.shift_size, self.num_heads = window_size, shift_size, num_heads
        self.attention_dropout = self.dropout = 0.0
        self.qkv, self.proj = nn.Linear(dim, dim * 3, bias=qkv_bias), nn.Linear(dim, dim, bias=proj_bias)
        wt, wh, ww = window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wt - 1) * (2 * wh - 1) * (2 * ww - 1),
                                                                     num_heads))
        self.register_buffer("relative_position_index", torch.zeros(wt * wh * ww, wt * wh * ww, dtype=torch.long))

    def forward(self, x):
        b, t, h, w, c = x.shape
        window, shift = _get_window_and_shift_size(self.shift_size.copy(), [t, h, w], self.window_size.copy())
        n = window[0] * window[1] * window[2]
        bias = self.relative_position_bias_table[self.relative_position_index[:n, :n].flatten()]
        bias = bias.view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
        pad = _compute_pad_size_3d((t, h, w), window)
        x = nn.functional.pad(x, (0, 0, 0, pad[2], 0, pad[1], 0, pad[0]))
        tp, hp, wp = x.shape[1:4]
        x = torch.roll(x, (-shift[0], -shift[1], -shift[2]), (1, 2, 3))
        g = (tp // window[0], hp // window[1], wp // window[2])
        x = x.view(b, g[0], window[0], g[1], window[1], g[2], window[2], c)
        x = x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, n, c)
        q, k, v = self.qkv(x).reshape(x.size(0), n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = ((q * (c // self.num_heads) ** -0.5) @ k.transpose(-2, -1) + bias).softmax(-1)
        x = self.proj((attn @ v).transpose(1, 2).reshape(-1, n, c))
        x = x.view(b, *g, *window, c).permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, tp, hp, wp, c)
        return torch.roll(x, tuple(shift), (1, 2, 3))[:, :t, :h, :w, :].contiguous()


class Swin3dBlock(nn.Module):
    """SwinTransformerBlock with attn_layer=ShiftedWindowAttention3d, on a T x H x W x C clip."""

    def __init__(self, dim, heads, window, shift):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention3d(dim, window, shift, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + stochastic_depth(self.attn(self.norm1(x)), 0.1, "row", self.training)
        return x + stochastic_depth(self.mlp(self.norm2(x)), 0.1, "row", self.training)


class TinySwin3d(nn.Module):
    """The video Swin in small, torchvision's way: PatchEmbed3d (the clip padded to whole
    patches by computed sides: 3 frames -> 4, 18 -> 20), channels last; on the 2x5x5 clip two
    blocks whose window [2, 3, 3] covers T (kept 2, T never shifted; H and W padded to 6, the
    second shifted [1, 1, 1]); the 2-D PatchMerging on each frame (5 -> 3, odd); a block whose
    window [4, 3, 3] covers the whole 2x3x3 clip (shrunk to it, no shift)."""

    def __init__(self):
        super().__init__()
        self.proj, self.patch_norm = nn.Conv3d(3, 16, (2, 4, 4), (2, 4, 4)), nn.LayerNorm(16)
        self.stage1 = nn.Sequential(Swin3dBlock(16, 2, [2, 3, 3], [0, 0, 0]), Swin3dBlock(16, 2, [2, 3, 3], [1, 1, 1]))
        self.merge = PatchMerging(16)
        self.stage2 = Swin3dBlock(32, 4, [4, 3, 3], [2, 1, 1])
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        pad = _compute_pad_size_3d(x.shape[2:], (2, 4, 4))
        x = self.proj(nn.functional.pad(x, (0, pad[2], 0, pad[1], 0, pad[0])))
        x = self.stage2(self.merge(self.stage1(self.patch_norm(x.permute(0, 2, 3, 4, 1)))))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool3d(x.permute(0, 4, 1, 2, 3), 1), 1))


NETS = {"lenet": (LeNet, (1, 28, 28)), "resnet_like": (ResNetLike, (3, 64, 64)),
        "branchy": (Branchy, (3, 17, 17)), "decoder": (Decoder, (3, 32, 32)),
        "convnext_like": (ConvNeXtLike, (3, 32, 32)), "shuffle_like": (ShuffleLike, (3, 2, 8, 8)),
        "tiny_vit": (TinyViT, (3, 32, 32)), "tiny_swin": (TinySwin, (3, 40, 40)),
        "tiny_maxvit": (TinyMaxViT, (3, 16, 16)), "tiny_mvit_v2": (TinyMViT, (3, 4, 16, 16)),
        "tiny_mvit_v1": (lambda: TinyMViT(v2=False), (3, 4, 16, 16)), "tiny_swin3d": (TinySwin3d, (3, 3, 18, 18)),
        "tiny_swin3d_unpadded": (TinySwin3d, (3, 4, 16, 16))}


def torch_figures(model, shape):
    """params, buffers, MACs (FlopCounterMode // 2) and each module's output shape (hooks)."""
    shapes = {}

    def keep(name):
        def hook(module, inputs, output):  # returns None: the output stays as it is
            output = output[0] if isinstance(output, tuple) else output  # attention: (output, weights)
            shapes.setdefault(name, tuple(output.shape[1:]))
        return hook
    hooks = [m.register_forward_hook(keep(name)) for name, m in model.named_modules() if name]
    # the math kernel of scaled dot-product attention: its matrix products are counted (the CPU's
    # fused kernel is not, by FlopCounterMode in torch 2.13)
    with FlopCounterMode(display=False) as flops, sdpa_kernel(SDPBackend.MATH):
        model(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()),
            flops.get_total_flops() // 2, shapes)


@pytest.mark.parametrize("name", NETS)
def test_round_trip_gives_torchs_figures(name):
    cls, shape = NETS[name]
    torch.manual_seed(0)
    model = cls().eval()
    params, buffers, macs, module_shapes = torch_figures(model, shape)
    ops, traced = import_model(model, shape)
    for fold in (False, True):  # one line per layer, and repeated submodules as blocks
        _same_figures(write_spec(ops, shape, name=name, fold=fold), ops, traced, params, buffers, macs,
                      module_shapes)


def _same_figures(text, ops, traced, params, buffers, macs, module_shapes):
    report = sizecalc.analyze(text)
    assert report.totals.params == params, text
    assert report.totals.buffers == buffers
    assert report.totals.macs == macs
    # layers come out in the order traced, one row per op; a module called once has its shape
    assert len(report.rows) == len(ops)
    called = [op.id for op in ops]
    for op, row, shape_traced in zip(ops, report.rows, traced):
        assert shape_traced is None or row.output == shape_traced, (op.id, row.id)
        if op.id in module_shapes and called.count(op.id) == 1:
            # as torch holds it (tokens N x C), a channels-last permute of it (ConvNeXt's Linear), or
            # tokens in groups (MaxViT: groups x P^2 x C)
            held = module_shapes[op.id]
            assert torch_order(row.output) == held or sorted(row.output) == sorted(held) or \
                (len(held) == 3 and (held[0] * held[1], held[2]) == torch_order(row.output)), (op.id, row.id)


def test_lenet_spec_reads_as_a_person_writes_it():
    ops, _ = import_model(LeNet().eval(), (1, 28, 28))
    text = write_spec(ops, (1, 28, 28), name="LeNet", fold=False)
    assert "- {id: features_0, conv: 6, kernel: 5, padding: 2}\n" in text
    assert "- {id: features_5, maxpool: 3, stride: 2, rounding: ceil}\n" in text  # ceil_mode
    assert "- {id: classifier_2, dropout: 0.2}\n" in text and "from:" not in text


def test_residual_blocks_fold_into_a_repeated_block():
    ops, _ = import_model(ResNetLike().eval(), (3, 64, 64))
    text = write_spec(ops, (3, 64, 64), name="r")
    assert "repeat: 3" in text and "first:" in text and "blocks:" in text
    assert "repeat: 2" in text


def test_children_named_with_a_stem_and_a_number_fold_into_a_block_of_that_name():
    # ViT's encoder_layer_0, encoder_layer_1, ...: one block, named after them, used 3 times
    ops, _ = import_model(TinyViT().eval(), (3, 32, 32))
    text = write_spec(ops, (3, 32, 32), name="v")
    assert "blocks:\n  encoder_layer:\n" in text and "- {id: layers, use: encoder_layer, repeat: 3}\n" in text
    assert text.count("attention: 4") == 1


class Sorts(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.sort(self.conv(x) * 2.0, dim=1).values


def test_an_op_sizecalc_lacks_is_listed_by_name_and_path():
    with pytest.raises(sizecalc.SpecError) as err:
        import_model(Sorts().eval(), (3, 8, 8))
    lines = [f.message for f in err.value.findings]
    assert any("operator.mul" in line for line in lines)  # a tensor times a number
    assert any("sort" in line for line in lines)


class Permuted(nn.Module):
    """What sizecalc has no kind for must be listed, never read as another layout: a LayerNorm
    over the width of a map, a pool on a channels-last permute, a parameter added to a map."""

    def __init__(self):
        super().__init__()
        self.norm_w = nn.LayerNorm(8)
        self.pool = nn.MaxPool2d(2)
        self.offset = nn.Parameter(torch.zeros(1, 3, 8, 8))

    def forward(self, x):
        x = self.norm_w(x) + self.offset
        return self.pool(x.permute(0, 2, 3, 1))


def test_ops_on_a_permuted_map_or_a_parameter_are_listed():
    with pytest.raises(sizecalc.SpecError) as err:
        import_model(Permuted().eval(), (3, 8, 8))
    lines = [f.message for f in err.value.findings]
    assert any("LayerNorm at norm_w" in line for line in lines)
    assert any("MaxPool2d at pool" in line for line in lines)
    assert any("tensor attribute (offset)" in line for line in lines)


class OddSwin(nn.Module):
    """Swin's patterns sizecalc must not take for its layers: a bias table of another window's
    size (not the parameters of window_attention), a patch merging pad with no merge after it,
    a parameter-only computation that no layer takes in."""

    def __init__(self):
        super().__init__()
        self.attn = WindowAttention(8, 2, 0, 2)
        self.attn.relative_position_bias_table = nn.Parameter(torch.zeros(4, 2))  # 3 x 3 expected
        self.scale = nn.Parameter(torch.ones(8))

    def forward(self, x):
        x = self.attn(x.permute(0, 2, 3, 1))
        return _patch_merging_pad(x) * torch.sigmoid(self.scale).sum()


def test_swin_patterns_that_differ_are_listed():
    with pytest.raises(sizecalc.SpecError) as err:
        import_model(OddSwin().eval(), (8, 4, 4))
    lines = [f.message for f in err.value.findings]
    assert any("shifted_window_attention at attn" in line for line in lines), lines
    assert any("_patch_merging_pad" in line for line in lines), lines
    assert any("sum at (top level) (computed from parameters)" in line for line in lines), lines


class OddMaxViT(nn.Module):
    """MaxViT's module names on what they are not: a SwapAxes on a plain map, an attention
    whose bias table is another window's (not relative_attention's parameters)."""

    def __init__(self):
        super().__init__()
        self.swap = SwapAxes(-1, -2)
        self.partition = WindowPartition()
        self.attn = RelativePositionalMultiHeadAttention(8, 4, 4)
        self.attn.relative_position_bias_table = nn.Parameter(torch.zeros(16, 2))  # 3 x 3 x 2 expected

    def forward(self, x):
        return self.attn(self.partition(self.swap(x), 2))


def test_maxvit_modules_that_differ_are_listed():
    with pytest.raises(sizecalc.SpecError) as err:
        import_model(OddMaxViT().eval(), (8, 4, 4))
    lines = [f.message for f in err.value.findings]
    assert any("SwapAxes at swap" in line for line in lines), lines
    assert any("RelativePositionalMultiHeadAttention at attn" in line for line in lines), lines


def test_mvit_modules_that_differ_are_listed():
    # a parameter sizecalc's pooling attention lacks; a shortcut pooled by averaging, not max
    model = TinyMViT().eval()
    model.blocks[0].attn.extra = nn.Parameter(torch.zeros(3))
    model.blocks[1].pool_skip.pool = nn.AvgPool3d([1, 3, 3], [1, 2, 2], [0, 1, 1])
    with pytest.raises(sizecalc.SpecError) as err:
        import_model(model, (3, 4, 16, 16))
    lines = [f.message for f in err.value.findings]
    assert any("MultiscaleAttention at blocks.0.attn" in line for line in lines), lines
    assert any("Pool at blocks.1.pool_skip" in line for line in lines), lines


def test_video_swin_attention_that_differs_is_listed():
    # ShiftedWindowAttention3d by name on what sizecalc's window_attention is not: a bias table
    # of another window's size, a parameter more
    model = TinySwin3d().eval()
    model.stage1[0].attn.relative_position_bias_table = nn.Parameter(torch.zeros(3 * 3 * 3, 2))  # 3x5x5 expected
    model.stage2.attn.extra = nn.Parameter(torch.zeros(3))
    with pytest.raises(sizecalc.SpecError) as err:
        import_model(model, (3, 3, 18, 18))
    lines = [f.message for f in err.value.findings]
    assert any("ShiftedWindowAttention3d at stage1.0.attn" in line for line in lines), lines
    assert any("ShiftedWindowAttention3d at stage2.attn" in line for line in lines), lines
    assert len(lines) == 2, lines  # the layers after them are not listed for them


def _cli(*args):
    """The command in this process (torch is imported already: a child would spend seconds
    importing it again): exit code as returncode, stdout and stderr apart."""
    from click.testing import CliRunner

    from sizecalc.cli import main

    done = CliRunner().invoke(main, list(args), prog_name="sizecalc")
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception  # a traceback a user would have seen
    done.returncode = done.exit_code
    return done


def test_cli_import_from_a_file(tmp_path):
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        import torch.nn as nn
        def build():
            return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 7 * 7, 5))
        def bad():
            return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Softmin(dim=1))
    """))
    out = tmp_path / "spec.yaml"
    done = _cli("import", f"{tmp_path / 'net.py'}:build", "--input", "3x15x15", "-o", str(out))
    assert done.returncode == 0, done.stderr
    # (15 - 3)/2 + 1 = 7; conv 3*3*3*8 + 8 = 224, fc 392*5 + 5 = 1,965
    assert sizecalc.analyze(str(out)).totals.params == 224 + 1965
    done = _cli("import", f"{tmp_path / 'net.py'}:bad", "--input", "3x15x15")
    assert done.returncode == 1 and "Softmin at 1" in done.stderr and "Traceback" not in done.stderr
    done = _cli("import", f"{tmp_path / 'net.py'}:nothing")
    assert done.returncode == 2 and "no callable 'nothing'" in done.stderr
    assert "RUNS YOUR CODE" in _cli("import", "--help").stdout


# -- torchvision, where it is importable (not in CI) ---------------------------------------
# Every built-in network that torchvision builds imports exactly (torch 2.13, torchvision 0.28):
# params, buffers, MACs and the output equal the built-in spec's, at the spec's input size.
# Each factory is called with weights=None; a segmentation
# model with weights_backbone=None too (nothing downloaded), and vit_h_14 with image_size=518,
# the size of the built-in spec.
VIDEO, SEGMENTATION = (3, 16, 112, 112), (3, 520, 520)
ZOO = {
    **dict.fromkeys((
        "alexnet", "googlenet", "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_large",
        "mobilenet_v3_small", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
        *(f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")),
        *(f"resnet{d}" for d in (18, 34, 50, 101, 152)),
        "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
        *(f"densenet{d}" for d in (121, 161, 169, 201)), "efficientnet_b0",
        *(f"regnet_{xy}_{size}" for xy in "xy" for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf",
                                                              "32gf")),
        *(f"shufflenet_v2_x{s}" for s in ("0_5", "1_0", "1_5", "2_0")),
        *(f"convnext_{s}" for s in ("tiny", "small", "base", "large")),
        "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "swin_t", "swin_s", "swin_b", "maxvit_t")),
    **dict.fromkeys(("mvit_v1_b", "mvit_v2_s", "swin3d_t", "swin3d_s", "swin3d_b"), (3, 16, 224, 224)),
    "efficientnet_b1": (3, 240, 240), "efficientnet_b2": (3, 288, 288), "efficientnet_b3": (3, 300, 300),
    "efficientnet_b4": (3, 380, 380), "efficientnet_b5": (3, 456, 456), "efficientnet_b6": (3, 528, 528),
    "efficientnet_b7": (3, 600, 600), "efficientnet_v2_s": (3, 384, 384), "efficientnet_v2_m": (3, 480, 480),
    "efficientnet_v2_l": (3, 480, 480), "regnet_y_128gf": (3, 384, 384), "inception_v3": (3, 299, 299),
    "vit_h_14": (3, 518, 518), **dict.fromkeys(("swin_v2_t", "swin_v2_s", "swin_v2_b"), (3, 256, 256)),
    "r3d_18": VIDEO, "mc3_18": VIDEO, "r2plus1d_18": VIDEO, "s3d": (3, 16, 224, 224),
    **dict.fromkeys(("fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101",
                     "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"), SEGMENTATION),
}
# one of each family by default (about a minute on two cores); SIZECALC_ZOO=all runs every one
QUICK = ["alexnet", "vgg16", "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "densenet121",
         "squeezenet1_1", "googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_small", "mnasnet1_0",
         "efficientnet_b0", "efficientnet_v2_s", "regnet_y_400mf", "shufflenet_v2_x1_0", "convnext_tiny",
         "vit_b_32", "swin_t", "swin_v2_t", "maxvit_t", "mvit_v2_s", "swin3d_t", "r3d_18", "r2plus1d_18",
         "lraspp_mobilenet_v3_large"]


def _factory(name: str):
    import functools
    import importlib
    for where in ("torchvision.models", "torchvision.models.video", "torchvision.models.segmentation"):
        factory = getattr(importlib.import_module(where), name, None)
        if factory is not None:
            break
    kwargs = {"weights": None}
    if "segmentation" in factory.__module__:
        kwargs["weights_backbone"] = None
    if name == "vit_h_14":
        kwargs["image_size"] = 518
    return functools.partial(factory, **kwargs)


@pytest.mark.parametrize("name", list(ZOO) if os.environ.get("SIZECALC_ZOO") == "all" else QUICK)
def test_torchvision_import_matches_the_built_in_spec(name):
    pytest.importorskip("torchvision.models")
    built_in = sizecalc.analyze(name)
    shape = ZOO[name] or (3, 224, 224)
    assert tuple(built_in.input_shape) == shape
    model, _ = build(_factory(name))  # on the meta device where the factory can run there
    ops, _ = import_model(model, shape)
    imported = sizecalc.analyze(write_spec(ops, shape, name=name))
    assert (imported.totals.params, imported.totals.buffers, imported.totals.macs, imported.output) == \
        (built_in.totals.params, built_in.totals.buffers, built_in.totals.macs, built_in.output)
