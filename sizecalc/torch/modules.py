"""The few nn.Module classes that torch itself does not have, for the torch backend.

A spec layer becomes a stock torch module wherever one exists (nn.Conv2d, nn.MaxPool2d,
...); what is left lives here: the graph that runs the nodes, the merges, channel split and
shuffle, the locally connected layer and pools with uneven padding. This module imports
torch when it is imported, so only code that already needs torch may import it (the
backend and export, which find these classes by name from a fixed list); it must never be
imported by the static path.
`sizecalc export --torch` copies these classes' source into the file it writes, so they may
use nothing but torch.
"""

from __future__ import annotations

import math
import warnings

with warnings.catch_warnings():  # torch warns at import when NumPy is missing; sizecalc never needs it
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)
    import torch
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


class GraphModule(nn.Module):
    """Runs its nodes in order; node i takes the outputs of `inputs[i]` (-1 = the network input)."""

    def __init__(self, nodes: dict, inputs: list):
        super().__init__()
        self.nodes = nn.ModuleDict(nodes)
        self.inputs = [list(i) for i in inputs]
        last_use = {}
        for i, ins in enumerate(self.inputs):
            for j in ins:
                last_use[j] = i
        # drop each output after its last consumer, so that inference holds only live tensors
        self.free = [[j for j in set(ins) if j >= 0 and last_use[j] == i] for i, ins in enumerate(self.inputs)]

    def forward(self, x):
        outs = {-1: x}
        y = x
        for i, (node, ins) in enumerate(zip(self.nodes.values(), self.inputs)):
            y = node(*[outs[j] for j in ins])
            outs[i] = y
            for j in self.free[i]:
                del outs[j]
        return y


class Add(nn.Module):
    """Element-wise sum of equal volumes (residual connection)."""

    def forward(self, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y


class Concat(nn.Module):
    """Stack along the channels (Inception, DenseNet)."""

    def forward(self, *xs):
        return torch.cat(xs, dim=1)


class Mul(nn.Module):
    """Element-wise product, broadcasting a C x 1 x 1 gate (squeeze-and-excitation)."""

    def forward(self, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = y * x
        return y


class Split(nn.Module):
    """One of `parts` equal slices of the channels (ShuffleNetV2's channel split)."""

    def __init__(self, parts: int, part: int):
        super().__init__()
        self.parts, self.part = parts, part

    def forward(self, x):
        return torch.chunk(x, self.parts, dim=1)[self.part]

    def extra_repr(self):
        return f"parts={self.parts}, part={self.part}"


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel_shuffle: (g, C/g) channel blocks transposed to (C/g, g)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, *rest = x.shape
        x = x.view(n, self.groups, c // self.groups, *rest)
        return torch.transpose(x, 1, 2).contiguous().view(n, c, *rest)

    def extra_repr(self):
        return f"groups={self.groups}"


class Crop(nn.Module):
    """A centred crop (U-Net's skip connections): `size[d]` units from `start[d]` of each spatial
    dimension, by narrow(): a view of the input, as slicing is."""

    def __init__(self, start: tuple, size: tuple):
        super().__init__()
        self.start, self.size = tuple(start), tuple(size)

    def forward(self, x):
        for d, (s, n) in enumerate(zip(self.start, self.size)):
            x = x.narrow(2 + d, s, n)
        return x

    def extra_repr(self):
        return f"start={self.start}, size={self.size}"


class PaddedPool(nn.Module):
    """A pool with uneven padding: pads explicitly (max: -inf, avg: 0), then pools unpadded.

    `pads` is in F.pad order (last dimension first, low then high). With
    count_include_pad false, each average is divided by the real elements it covers.
    """

    def __init__(self, pool: nn.Module, pads: tuple, count_include_pad: bool = True):
        super().__init__()
        self.pool, self.pads, self.count_include_pad = pool, tuple(pads), count_include_pad
        self.is_max = "Max" in type(pool).__name__

    def forward(self, x):
        if self.is_max or self.count_include_pad:
            return self.pool(F.pad(x, self.pads, value=float("-inf") if self.is_max else 0.0))
        # the divisor first (1 x 1 x out: how many real elements each window covers), so
        # that only it, not the padded ones, is alive beside the padded input
        real = self.pool(F.pad(torch.ones_like(x[:1, :1]), self.pads, value=0.0))
        return self.pool(F.pad(x, self.pads, value=0.0)) / real

    def extra_repr(self):
        return f"pads={self.pads}, count_include_pad={self.count_include_pad}"


class LocallyConnected(nn.Module):
    """A convolution without weight sharing (the lecture's unshared CONV layer).

    Each of the P output positions has its own K filters of C*F*...*F weights (weight
    P x K x C*F^n) and each output element its own bias (K x out...). `pads` is in F.pad
    order. Works for 1-D, 2-D and 3-D inputs.
    """

    def __init__(self, in_channels: int, filters: int, kernel: tuple, stride: tuple, pads: tuple,
                 out_size: tuple, bias: bool = True):
        super().__init__()
        self.in_channels, self.filters = in_channels, filters
        self.kernel, self.stride, self.pads, self.out_size = tuple(kernel), tuple(stride), tuple(pads), tuple(out_size)
        positions, taps = 1, in_channels
        for o in self.out_size:
            positions *= o
        for k in self.kernel:
            taps *= k
        self.weight = nn.Parameter(torch.empty(positions, filters, taps))
        self.bias = nn.Parameter(torch.empty(filters, *self.out_size)) if bias else None
        bound = taps ** -0.5
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        n = len(self.kernel)
        x = F.pad(x, self.pads)
        for d in range(n):
            x = x.unfold(2 + d, self.kernel[d], self.stride[d])
        # (N, C, out..., k...) -> (N, P, C*k...)
        batch = x.shape[0]
        order = [0, *range(2, 2 + n), 1, *range(2 + n, 2 + 2 * n)]
        patches = x.permute(order).reshape(batch, self.weight.shape[0], self.weight.shape[2])
        y = torch.einsum("npj,pkj->nkp", patches, self.weight).reshape(batch, self.filters, *self.out_size)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"{self.in_channels}, {self.filters}, kernel={self.kernel}, stride={self.stride}, "
                f"pads={self.pads}, out_size={self.out_size}, bias={self.bias is not None}")


def _window_partition(x, m: int, n_h: int, n_w: int):
    """B x pH x pW x C -> B*windows x m*m x C (torchvision's view, permute, reshape)."""
    b, c = x.shape[0], x.shape[-1]
    x = x.view(b, n_h, m, n_w, m, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b * n_h * n_w, m * m, c)


def _shift_mask(x, m: int, shift: list, pad_h: int, pad_w: int):
    """The -100 / 0 mask that keeps a shifted window's regions apart: windows x m*m x m*m."""
    mask = x.new_zeros((pad_h, pad_w))
    count = 0
    for h in ((0, -m), (-m, -shift[0]), (-shift[0], None)):
        for w in ((0, -m), (-m, -shift[1]), (-shift[1], None)):
            mask[h[0]:h[1], w[0]:w[1]] = count
            count += 1
    mask = mask.view(pad_h // m, m, pad_w // m, m).permute(0, 2, 1, 3).reshape(-1, m * m)
    mask = mask.unsqueeze(1) - mask.unsqueeze(2)
    return mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))


class WindowAttention(nn.Module):
    """Swin's shifted window attention on an N x C x H x W map, as torchvision's
    ShiftedWindowAttention computes it (channels last, math path): pad to a multiple of the
    window, roll by the shift (none where the window covers the padded map), attention in
    each m x m window with a relative position bias per head, the mask between regions that
    the roll brought together, roll back, unpad. Permutes to channels last and back (views).
    `v2` is ShiftedWindowAttentionV2: scaled cosine attention (a logit scale per head) and a
    bias from a continuous position-bias MLP (2 -> 512 -> heads) over log-spaced coordinates."""

    def __init__(self, dim: int, window: int, shift: int, heads: int, qkv_bias: bool = True, proj_bias: bool = True,
                 v2: bool = False):
        super().__init__()
        self.window, self.shift, self.heads, self.v2 = window, shift, heads, v2
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        if v2:
            self._continuous_bias(window, heads)
        else:
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous() + (window - 1)
        rel[:, :, 0] *= 2 * window - 1
        self.register_buffer("relative_position_index", rel.sum(-1).flatten())

    def _continuous_bias(self, window: int, heads: int) -> None:
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(512, heads, bias=False))
        span = torch.arange(-(window - 1), window, dtype=torch.float32)
        table = torch.stack(torch.meshgrid([span, span], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
        table = table / (window - 1) * 8
        self.register_buffer("relative_coords_table", torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0)
        if self.qkv.bias is not None:
            length = self.qkv.bias.numel() // 3
            self.qkv.bias[length:2 * length].data.zero_()

    def _bias(self):
        n = self.window * self.window
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.heads) if self.v2 \
            else self.relative_position_bias_table
        bias = table[self.relative_position_index].view(n, n, -1)
        bias = bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        return 16 * torch.sigmoid(bias) if self.v2 else bias

    def _scores(self, q, k, c: int):
        if not self.v2:
            return (q * (c // self.heads) ** -0.5).matmul(k.transpose(-2, -1))
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        return attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        m, n = self.window, self.window * self.window
        bias = self._bias()
        b, h, w, c = x.shape
        x = F.pad(x, (0, 0, 0, (m - w % m) % m, 0, (m - h % m) % m))
        _, pad_h, pad_w, _ = x.shape
        shift = [0 if m >= pad_h else self.shift, 0 if m >= pad_w else self.shift]
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        windows = (pad_h // m) * (pad_w // m)
        x = _window_partition(x, m, pad_h // m, pad_w // m)
        qkv_bias = self.qkv.bias
        if self.v2 and qkv_bias is not None:
            qkv_bias = qkv_bias.clone()
            qkv_bias[c:2 * c].zero_()
        qkv = F.linear(x, self.qkv.weight, qkv_bias)
        qkv = qkv.reshape(x.size(0), n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = self._scores(q, k, c) + bias
        if sum(shift) > 0:
            mask = _shift_mask(x, m, shift, pad_h, pad_w)
            attn = attn.view(b, windows, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = F.dropout(F.softmax(attn, dim=-1), p=0.0, training=self.training)
        x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), n, c)
        x = F.dropout(F.linear(x, self.proj.weight, self.proj.bias), p=0.0, training=self.training)
        x = x.view(b, pad_h // m, pad_w // m, m, m, c).permute(0, 1, 3, 2, 4, 5).reshape(b, pad_h, pad_w, c)
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
        return x[:, :h, :w, :].contiguous().permute(0, 3, 1, 2)


class WindowAttention3d(nn.Module):
    """The video Swin's shifted window attention on an N x C x T x H x W clip, as torchvision's
    ShiftedWindowAttention3d computes it (channels last, math path): where a side is at most
    the window's, the window shrinks to it and that side is not shifted
    (`_get_window_and_shift_size`); pad the other sides to multiples of the window, roll by the
    shift, attention in each Mt x Mh x Mw window with a relative position bias per head (the
    table is the stated window's, (2Mt-1)(2Mh-1)(2Mw-1) x heads, read through the top-left
    corner of its index where the window shrank), the mask between the regions the roll brought
    together, roll back, unpad. Permutes to channels last and back (views)."""

    def __init__(self, dim: int, window: list, shift: list, heads: int, qkv_bias: bool = True,
                 proj_bias: bool = True):
        super().__init__()
        self.window, self.shift, self.heads = list(window), list(shift), heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        wt, wh, ww = self.window
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wt - 1) * (2 * wh - 1) * (2 * ww - 1),
                                                                     heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(*(torch.arange(m) for m in self.window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        for i, m in enumerate(self.window):
            rel[:, :, i] += m - 1
        rel[:, :, 0] *= (2 * wh - 1) * (2 * ww - 1)
        rel[:, :, 1] *= 2 * ww - 1
        self.register_buffer("relative_position_index", rel.sum(-1))

    def forward(self, x):
        x = x.permute(0, 2, 3, 4, 1)
        b, t, h, w, c = x.shape
        window, shift = list(self.window), list(self.shift)
        for i, size in enumerate((t, h, w)):
            if size <= window[i]:
                window[i], shift[i] = size, 0
        n = window[0] * window[1] * window[2]
        bias = self.relative_position_bias_table[self.relative_position_index[:n, :n].flatten()]
        bias = bias.view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
        pads = [(m - size % m) % m for size, m in zip((t, h, w), window)]
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        _, tp, hp, wp, _ = x.shape
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(-shift[0], -shift[1], -shift[2]), dims=(1, 2, 3))
        grid = (tp // window[0], hp // window[1], wp // window[2])
        windows = grid[0] * grid[1] * grid[2]
        x = x.view(b, grid[0], window[0], grid[1], window[1], grid[2], window[2], c)
        x = x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(b * windows, n, c)
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias)
        qkv = qkv.reshape(x.size(0), n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * (c // self.heads) ** -0.5).matmul(k.transpose(-2, -1)) + bias
        if sum(shift) > 0:
            mask = _shift_mask_3d(x, (tp, hp, wp), window, shift)
            attn = attn.view(b, windows, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = F.dropout(F.softmax(attn, dim=-1), p=0.0, training=self.training)
        x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), n, c)
        x = F.dropout(F.linear(x, self.proj.weight, self.proj.bias), p=0.0, training=self.training)
        x = x.view(b, *grid, *window, c).permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, tp, hp, wp, c)
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(shift[0], shift[1], shift[2]), dims=(1, 2, 3))
        return x[:, :t, :h, :w, :].contiguous().permute(0, 4, 1, 2, 3)


def _shift_mask_3d(x, padded: tuple, window: list, shift: list):
    """torchvision's `_compute_attention_mask_3d`: -100 between the regions a shifted window
    holds, 0 within one: windows x N x N."""
    mask = x.new_zeros(*padded)
    count = 0
    slices = [((0, -m), (-m, -s), (-s, None)) for m, s in zip(window, shift)]
    for d in slices[0]:
        for h in slices[1]:
            for w in slices[2]:
                mask[d[0]:d[1], h[0]:h[1], w[0]:w[1]] = count
                count += 1
    grid = [p // m for p, m in zip(padded, window)]
    mask = mask.view(grid[0], window[0], grid[1], window[1], grid[2], window[2])
    mask = mask.permute(0, 2, 4, 1, 3, 5).reshape(grid[0] * grid[1] * grid[2], window[0] * window[1] * window[2])
    mask = mask.unsqueeze(1) - mask.unsqueeze(2)
    return mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))


class PatchMerging(nn.Module):
    """Swin's patch merging on an N x C x H x W map, or on each frame of an N x C x T x H x W
    clip, as torchvision's PatchMerging (channels last): pad H and W to even, the four pixels of
    each 2 x 2 block side by side (4C), LayerNorm(4C), a bias-free Linear 4C -> 2C; `v2`
    (PatchMergingV2) reduces, then norms (2C)."""

    def __init__(self, dim: int, v2: bool = False):
        super().__init__()
        self.v2 = v2
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim if v2 else 4 * dim)

    def forward(self, x):
        rank = x.dim()
        x = x.permute(0, *range(2, rank), 1)
        h, w = x.shape[-3:-1]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)
        if self.v2:
            x = self.reduction(x)
            x = self.norm(x)
        else:
            x = self.norm(x)
            x = self.reduction(x)
        return x.permute(0, rank - 1, *range(1, rank - 1))
class ToTokens(nn.Module):
    """C x H x W -> a token sequence, batch x N x C (torchvision's ViT: reshape, then permute: a view)."""

    def forward(self, x):
        return x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)


class ClassToken(nn.Module):
    """A learned token put in front of the sequence (torchvision's ViT `class_token`, 1 x 1 x C)."""

    def __init__(self, channels: int):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, channels))

    def forward(self, x):
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class PositionEmbedding(nn.Module):
    """A learned table of N x C added to the sequence (torchvision's ViT `pos_embedding`)."""

    def __init__(self, tokens: int, channels: int):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, tokens, channels).normal_(std=0.02))

    def forward(self, x):
        return x + self.pos_embedding


class SelectToken(nn.Module):
    """One token of the sequence as a vector (index 0: the class token), a view."""

    def __init__(self, index: int = 0):
        super().__init__()
        self.index = index

    def forward(self, x):
        return x[:, self.index]

    def extra_repr(self):
        return f"index={self.index}"


class TokenMean(nn.Module):
    """The average over the tokens."""

    def forward(self, x):
        return x.mean(dim=1)


class SelfAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention on one sequence, batch first, as torchvision's ViT calls it:
    query, key and value the same tensor, and no attention weights returned."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=True)

    def forward(self, x):
        return super().forward(x, x, x, need_weights=False)[0]


class ChannelLayerNorm(nn.LayerNorm):
    """nn.LayerNorm over the channels at each position of an N x C x ... volume, for any rank:
    permute channels last (a view), F.layer_norm, permute back (a view), as torchvision's
    ConvNeXt LayerNorm2d does; an N x C vector is nn.LayerNorm's own case.

    F.layer_norm copies a non-contiguous input to a contiguous one inside its kernel, where
    tools that follow torch's ops (a TorchDispatchMode) cannot see it. Without autograd this
    module makes that copy itself, before the call: the same bytes for the same time, seen.
    With autograd it does not, so that autograd saves the permuted view (the input's own
    storage), as LayerNorm2d's does, and not a copy."""

    def forward(self, x):
        if x.dim() == 2:
            return super().forward(x)
        x = x.movedim(1, -1)
        if not torch.is_grad_enabled():
            x = x.contiguous()
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.movedim(-1, 1)


class LayerScale(nn.Module):
    """A learned scale per channel times the input (torchvision's ConvNeXt:
    `self.layer_scale * x`): a C x 1 x ... x 1 parameter, one 1 per spatial dimension."""

    def __init__(self, channels: int, rank: int, init: float = 1e-6):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.full((channels, *[1] * rank), float(init)))

    def forward(self, x):
        return self.layer_scale * x


class DropPath(nn.Module):
    """Stochastic depth, as torchvision.ops.StochasticDepth: in training, multiply by a noise
    of one Bernoulli(1 - p) draw per sample (row) or per batch (batch), divided by 1 - p;
    the identity at inference and at p = 0."""

    def __init__(self, p: float, mode: str = "row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode}"


class WindowPartition(nn.Module):
    """MaxViT's partition (torchvision's WindowPartition, and SwapAxes for the grid) as one
    copy: batch x C x H x W -> batch x N x C, the groups of P x P tokens one after another
    (torchvision's batch x G x P^2 x C, flattened: a view of it)."""

    def __init__(self, p: int, mode: str = "window"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        b, c, h, w = x.shape
        p = self.p
        if self.mode == "window":  # windows (H/P, W/P), tokens (P, P)
            x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        else:  # groups (H/P, W/P) offsets, tokens (P, P) spread H/P apart
            x = x.reshape(b, c, p, h // p, p, w // p).permute(0, 3, 5, 2, 4, 1)
        return x.reshape(b, h * w, c)

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode}"


class WindowDepartition(nn.Module):
    """The inverse of WindowPartition: batch x N x C -> batch x C x H x W, one copy."""

    def __init__(self, p: int, mode: str, size: tuple):
        super().__init__()
        self.p, self.mode, self.size = p, mode, tuple(size)

    def forward(self, x):
        b, _, c = x.shape
        (h, w), p = self.size, self.p
        if self.mode == "window":
            x = x.reshape(b, h // p, w // p, p, p, c).permute(0, 5, 1, 3, 2, 4)
        else:
            x = x.reshape(b, h // p, w // p, p, p, c).permute(0, 5, 3, 1, 4, 2)
        return x.reshape(b, c, h, w)

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode}, size={self.size}"


class RelativeAttention(nn.Module):
    """torchvision's RelativePositionalMultiHeadAttention (MaxViT) on batch x N x C, viewed as
    batch x G x P^2 x C: the same parameters, buffer and operations (explicit einsums)."""

    def __init__(self, feat_dim: int, head_dim: int, p: int):
        super().__init__()
        self.n_heads, self.head_dim, self.p = feat_dim // head_dim, head_dim, p
        self.to_qkv = nn.Linear(feat_dim, 3 * feat_dim)
        self.scale_factor = feat_dim ** -0.5
        self.merge = nn.Linear(feat_dim, feat_dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.empty(((2 * p - 1) ** 2, self.n_heads)).normal_(std=0.02))
        coords = torch.flatten(torch.stack(torch.meshgrid([torch.arange(p), torch.arange(p)], indexing="ij")), 1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += p - 1
        rel[:, :, 1] += p - 1
        rel[:, :, 0] *= 2 * p - 1
        self.register_buffer("relative_position_index", rel.sum(-1))

    def forward(self, x):
        b, n, d = x.shape
        t = self.p * self.p
        g, h, dh = n // t, self.n_heads, self.head_dim
        q, k, v = torch.chunk(self.to_qkv(x.view(b, g, t, d)), 3, dim=-1)
        q = q.reshape(b, g, t, h, dh).permute(0, 1, 3, 2, 4)
        k = k.reshape(b, g, t, h, dh).permute(0, 1, 3, 2, 4)
        v = v.reshape(b, g, t, h, dh).permute(0, 1, 3, 2, 4)
        k = k * self.scale_factor
        dot_prod = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(t, t, -1)
        pos_bias = bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        dot_prod = torch.softmax(dot_prod + pos_bias, dim=-1)
        out = torch.einsum("B G H I J, B G H J D -> B G H I D", dot_prod, v)
        out = out.permute(0, 1, 3, 2, 4).reshape(b, g, t, d)
        return self.merge(out).view(b, n, d)

    def extra_repr(self):
        return f"heads={self.n_heads}, head_dim={self.head_dim}, p={self.p}"
class TokenPool(nn.Module):
    """A pool over the grid of a token sequence, the class token (token 0) passed by
    (torchvision's MViT `pool_skip`: MaxPool3d inside a Pool)."""

    def __init__(self, grid: tuple, kernel: tuple, stride: tuple, padding: tuple):
        super().__init__()
        self.grid = tuple(grid)
        self.pool = getattr(nn, f"MaxPool{len(self.grid)}d")(tuple(kernel), stride=tuple(stride),
                                                             padding=tuple(padding))

    def forward(self, x):
        class_token, x = torch.tensor_split(x, indices=(1,), dim=1)
        batch, _, channels = x.shape
        x = self.pool(x.transpose(1, 2).reshape((batch, channels) + self.grid).contiguous())
        return torch.cat((class_token, x.reshape(batch, channels, -1).transpose(1, 2)), dim=1)


class SeparablePositionEmbedding(nn.Module):
    """MViT v1's position embedding (torchvision's PositionalEncoding, less its class token): a
    table per spatial position (H*W x C), one per time step (T x C) and one for the class token
    (C), their sums added to the sequence."""

    def __init__(self, channels: int, grid: tuple):
        super().__init__()
        self.temporal_size, spatial = grid[0], 1
        for size in grid[1:]:
            spatial *= size
        self.spatial_pos = nn.Parameter(torch.zeros(spatial, channels))
        self.temporal_pos = nn.Parameter(torch.zeros(self.temporal_size, channels))
        self.class_pos = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        hw_size, embed_size = self.spatial_pos.shape
        pos_embedding = torch.repeat_interleave(self.temporal_pos, hw_size, dim=0)
        pos_embedding.add_(self.spatial_pos.unsqueeze(0).expand(self.temporal_size, -1, -1).reshape(-1, embed_size))
        pos_embedding = torch.cat((self.class_pos.unsqueeze(0), pos_embedding), dim=0).unsqueeze(0)
        return x.add_(pos_embedding)


class PoolingAttention(nn.Module):
    """MViT's pooling attention (torchvision's MultiscaleAttention) on a sequence whose first
    token is the class token and whose others lie on `grid`: qkv projection, q, k and v each
    pooled per head by a depthwise conv and a LayerNorm, scaled dot-product attention written
    out (matmul, softmax, matmul, as torchvision writes it), v2's relative position and
    residual pooling, the output projection."""

    def __init__(self, channels: int, dim: int, heads: int, grid: tuple, kernel_q: tuple, stride_q: tuple,
                 kernel_kv: tuple, stride_kv: tuple, rel_pos: bool = False, residual_pool: bool = False,
                 residual_with_cls: bool = True, eps: float = 1e-6):
        super().__init__()
        self.heads, self.head_dim, self.dim, self.grid = heads, dim // heads, dim, tuple(grid)
        self.scaler = 1.0 / float(self.head_dim) ** 0.5
        self.residual_pool, self.residual_with_cls = residual_pool, residual_with_cls
        self.qkv = nn.Linear(channels, 3 * dim)
        self.project = nn.Linear(dim, dim)
        self.pool_q = self._pool(kernel_q, stride_q, eps)
        self.pool_k = self._pool(kernel_kv, stride_kv, eps)
        self.pool_v = self._pool(kernel_kv, stride_kv, eps)
        self.rel_pos_h = self.rel_pos_w = self.rel_pos_t = None
        if rel_pos:
            size = max(self.grid[1:])
            spatial = 2 * max(size // stride_q[1], size // stride_kv[1]) - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(spatial, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(spatial, self.head_dim))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * self.grid[0] - 1, self.head_dim))

    @staticmethod
    def _grid_pool(pool, norm, x, grid):
        """torchvision's MViT Pool: split off the class token, lay the rest (batch x heads x N x C)
        on its grid, pool, flatten back, put the class token in front again, then the norm."""
        class_token, x = torch.tensor_split(x, indices=(1,), dim=2)
        x = x.transpose(2, 3)
        batch, heads, channels = x.shape[:3]
        x = x.reshape((batch * heads, channels) + tuple(grid)).contiguous()
        x = pool(x)
        out_grid = tuple(x.shape[2:])
        x = x.reshape(batch, heads, channels, -1).transpose(2, 3)
        x = torch.cat((class_token, x), dim=2)
        return (x if norm is None else norm(x)), out_grid

    @staticmethod
    def _table(table, length: int):
        if table.shape[0] == length:
            return table
        return F.interpolate(table.permute(1, 0).unsqueeze(0), size=length, mode="linear").squeeze(0).permute(1, 0)

    @staticmethod
    def _distance(q: int, k: int):
        q_ratio, k_ratio = max(k / q, 1.0), max(q / k, 1.0)
        return (torch.arange(q)[:, None] * q_ratio - (torch.arange(k)[None, :] + (1.0 - k)) * k_ratio).long()

    @staticmethod
    def _add_rel_pos(attn, q, q_thw, k_thw, rel_pos_h, rel_pos_w, rel_pos_t):
        """torchvision's MViT v2 decomposed relative position (its `_add_rel_pos`)."""
        (q_t, q_h, q_w), (k_t, k_h, k_w) = q_thw, k_thw
        rh = PoolingAttention._table(rel_pos_h, 2 * max(q_h, k_h) - 1)[PoolingAttention._distance(q_h, k_h)]
        rw = PoolingAttention._table(rel_pos_w, 2 * max(q_w, k_w) - 1)[PoolingAttention._distance(q_w, k_w)]
        rt = PoolingAttention._table(rel_pos_t, 2 * max(q_t, k_t) - 1)[PoolingAttention._distance(q_t, k_t)]
        batch, heads, _, dim = q.shape
        r_q = q[:, :, 1:].reshape(batch, heads, q_t, q_h, q_w, dim)
        rel_h_q = torch.einsum("bythwc,hkc->bythwk", r_q, rh)
        rel_w_q = torch.einsum("bythwc,wkc->bythwk", r_q, rw)
        r_q = r_q.permute(2, 0, 1, 3, 4, 5).reshape(q_t, batch * heads * q_h * q_w, dim)
        rel_q_t = torch.matmul(r_q, rt.transpose(1, 2)).transpose(0, 1)
        rel_q_t = rel_q_t.view(batch, heads, q_h, q_w, q_t, k_t).permute(0, 1, 4, 2, 3, 5)
        rel_pos = (rel_h_q[:, :, :, :, :, None, :, None] + rel_w_q[:, :, :, :, :, None, None, :]
                   + rel_q_t[:, :, :, :, :, :, None, None]).reshape(batch, heads, q_t * q_h * q_w, k_t * k_h * k_w)
        attn[:, :, 1:, 1:] += rel_pos
        return attn

    def _pool(self, kernel, stride, eps):
        if all(k == 1 for k in kernel) and all(s == 1 for s in stride):
            return None
        conv = getattr(nn, f"Conv{len(self.grid)}d")(
            self.head_dim, self.head_dim, tuple(kernel), stride=tuple(stride), padding=tuple(k // 2 for k in kernel),
            groups=self.head_dim, bias=False)
        return nn.ModuleDict({"pool": conv, "norm": nn.LayerNorm(self.head_dim, eps=eps)})

    def _pooled(self, pool, x):
        if pool is None:
            return x, self.grid
        return self._grid_pool(pool["pool"], pool["norm"], x, self.grid)

    def forward(self, x):
        batch, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(batch, n, 3, self.heads, self.head_dim).transpose(1, 3).unbind(dim=2)
        k, k_grid = self._pooled(self.pool_k, k)
        v = self._pooled(self.pool_v, v)[0]
        q, q_grid = self._pooled(self.pool_q, q)
        attn = torch.matmul(self.scaler * q, k.transpose(2, 3))
        if self.rel_pos_h is not None:
            attn = self._add_rel_pos(attn, q, q_grid, k_grid, self.rel_pos_h, self.rel_pos_w, self.rel_pos_t)
        attn = attn.softmax(dim=-1)
        x = torch.matmul(attn, v)
        if self.residual_pool:
            if self.residual_with_cls:
                x.add_(q)
            else:
                x[:, :, 1:, :] += q[:, :, 1:, :]
        x = x.transpose(1, 2).reshape(batch, -1, self.dim)
        return self.project(x)
