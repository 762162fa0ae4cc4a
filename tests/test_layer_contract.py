"""The layer contract, checked against torch for every kind in the registry.

For each kind, `CONTRACT` below holds a few small configurations (1-D, 2-D and 3-D inputs
where the kind takes them, odd sizes, groups, dilation, padding modes, floor and ceil
rounding, bias on and off). Each runs at batch 1 in fp32 and at batch 3 in bf16, on the
CPU, as a small spec: a 1x1 convolution `stem` (so that the layer's input needs a gradient,
as inside a network) and then the layers of the configuration, the kind under test last.
sizecalc's static figures (`sizecalc.analyze`) must equal torch's on the module
`sizecalc.to_torch` builds:
- output shape, parameters and buffers of the last layer;
- MACs: torch.utils.flop_counter.FlopCounterMode counts convolutions and matrix products
  (conv, fc, and the locally connected layer's einsum), 2 flops per multiply-accumulate;
  it counts 0 for every other op, and so must sizecalc's conv-fc MACs;
- saved for backward: what autograd packs in a training-mode forward pass, once per
  storage (tests/test_memory_torch.py's `saved_bytes`);
- forward memory: the distinct storages of the input and of every layer's output in that
  pass (`forward_storages`): the kind's `alias` rule (in place, a view) against torch's;
- inference peak: the activation bytes alive at once in an eval-mode, no-grad forward pass
  (test_memory_torch.py's `live_peak_bytes`).
A kind in the registry without an entry here fails `test_every_kind_has_a_contract_entry`:
a new kind lands with its configurations.
"""

from __future__ import annotations

import pytest

import sizecalc
from sizecalc.layers import KINDS, REGISTRY
from sizecalc.core.units import torch_order
from sizecalc.layers.base import LayerKind, Sizing

torch = pytest.importorskip("torch")
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from test_memory_torch import forward_storages, live_peak_bytes, saved_bytes  # noqa: E402
from sizecalc.torch.backend import resolve  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
SETTINGS = ((1, "fp32"), (3, "bf16"))
FP32 = ((1, "fp32"), (3, "fp32"))  # where torch's CPU kernel has no bf16 (avg_pool3d, which LRN uses)
BATCH = ((3, "fp32"), (3, "bf16"))  # batch norm of a vector needs more than one value per channel
ONE = ((1, "fp32"), (1, "bf16"))  # Swin v2's position-bias MLP: MACs once per pass, not per sample

MVIT_STEM = "{conv: 8, kernel: [3, 7, 7], stride: [2, 4, 4], padding: [1, 3, 3], rounding: floor}"

# kind -> [(input shape, layers after the stem, the kind's own last[, settings])]
CONTRACT = {
    # token sequences: a C x H x W volume made tokens (batch x N x C in torch), as ViT does
    "tokens": [((4, 3, 5), ["{tokens}"]), ((3, 2, 3, 4), ["{tokens}"]), ((5, 7), ["{to_tokens}"])],
    "class_token": [((4, 3, 5), ["{tokens}", "{class_token}"]), ((6, 2, 2), ["{tokens}", "{cls_token}"])],
    "position_embedding": [((4, 3, 5), ["{tokens}", "{position_embedding: 15}"]),
                           ((6, 2, 2), ["{tokens}", "{class_token}", "{pos_embedding}"])],
    "select_token": [((4, 3, 5), ["{tokens}", "{class_token}", "{select_token: 0}"]),
                     ((6, 2, 2), ["{tokens}", "{select_token: -1}"])],
    "token_mean": [((4, 3, 5), ["{tokens}", "{token_mean}"])],
    # p = 0: torch's CPU flash kernel (q, k, v, output, log-sum-exp); p > 0: the math path on
    # the CPU (probabilities, mask; in fp32 only: the CPU's math path computes half precision in
    # fp32, which sizecalc does not model); bias off; one head; the 12 channels of 3 heads of 4.
    # Odd head counts: with an even one torch's no-grad fast path runs attention as one op whose
    # temporaries the live-storage count cannot see
    "attention": [((12, 2, 3), ["{tokens}", "{attention: 3}"]),
                  ((9, 5), ["{tokens}", "{class_token}", "{attention: 3, attention_dropout: 0.1}"], FP32),
                  ((6, 2, 2), ["{tokens}", "{mha: 1, bias: false}"]),
                  ((9, 3, 3), ["{tokens}", "{class_token}", "{position_embedding: 10}", "{attention: 3}",
                               "{fc: 18}", "{gelu}", "{fc: 9}", "{attention: 1}"])],
    # MaxViT: a map cut into groups of P x P tokens (window: neighbours; grid: spread over the map),
    # odd-shaped maps, attention on 4 and 6 groups (one group at batch 1 keeps v as a view: see
    # layers/maxvit.py), heads of 4 and of 2 channels
    "partition": [((4, 4, 6), ["{partition: 2}"]), ((3, 6, 4), ["{partition: 2, mode: grid}"])],
    "departition": [((4, 4, 4), ["{partition: 2}", "{departition: 2}"]),
                    ((3, 4, 6), ["{partition: 2, mode: grid}", "{departition: 2, mode: grid, size: [4, 6]}"])],
    "relative_attention": [((8, 4, 4), ["{partition: 2}", "{relative_attention: 4, window: 2}"]),
                           ((6, 6, 9), ["{partition: 3, mode: grid}", "{layernorm}",
                                        "{relative_attention: 2, window: 3}"])],
    # MViT: a class token and T x H x W grid tokens; v2's block 1 (q and kv pooled, channels grown,
    # relative position, residual pooling), v1's plain block (kv pooled only, q a view of qkv),
    # no pool at all, one head and the residual without the class token (these two at batch 3 only: at
    # batch 1 with one head torch keeps views of k, v and q where it copies them at any batch > 1)
    "pooling_attention": [
        ((3, 4, 16, 16), [MVIT_STEM, "{tokens}", "{class_token}", "{pooling_attention: 2, dim: 16, kernel_q: 3, "
                          "stride_q: [1, 2, 2], kernel_kv: 3, stride_kv: [1, 2, 2], relative_position: true, "
                          "residual_pool: true}"]),
        ((3, 4, 16, 16), [MVIT_STEM, "{tokens}", "{class_token}", "{multiscale_attention: 2, kernel_kv: 3, "
                          "stride_kv: [1, 2, 2]}"]),
        ((3, 4, 8, 12), [MVIT_STEM, "{tokens}", "{class_token}", "{pooling_attention: 4}"], BATCH),
        ((3, 6, 12, 12), [MVIT_STEM, "{tokens}", "{class_token}", "{pooling_attention: 1, kernel_q: 3, "
                          "kernel_kv: 3, stride_kv: [1, 3, 3], relative_position: true, residual_pool: true, "
                          "residual_with_cls: false}"], BATCH),
        # one position per frame (2x1x1, MViTv2-S's last stage at a small clip): the time-first queries are a view
        ((3, 4, 4, 4), [MVIT_STEM, "{tokens}", "{class_token}", "{pooling_attention: 2, kernel_q: 3, kernel_kv: 3, "
                        "relative_position: true, residual_pool: true}"])],
    "token_pool": [((3, 4, 16, 16), [MVIT_STEM, "{tokens}", "{class_token}", "{token_pool: [1, 2, 2]}"]),
                   ((3, 6, 12, 12), [MVIT_STEM, "{tokens}", "{class_token}", "{pool_skip: 2, kernel: 3}"])],
    "separable_position_embedding": [
        ((3, 4, 16, 16), [MVIT_STEM, "{tokens}", "{class_token}", "{separable_position_embedding}"])],
    "relu": [((3, 7, 9), ["{relu}"]), ((2, 11), ["{relu, inplace: true}"]), ((2, 3, 5, 4), ["{relu}"]),
             # in place on a conv's output, then read by a pool: as torchvision's VGG
             ((3, 6, 6), ["{conv: 4, kernel: 3}", "{relu, inplace: true}"]),
             ((3, 6, 6), ["{conv: 4, kernel: 3}", "{relu, inplace: true}", "{maxpool: 2}", "{relu, inplace: true}"])],
    "relu6": [((3, 7, 9), ["{relu6}"]), ((2, 11), ["{relu6, inplace: true}"]), ((2, 3, 5, 4), ["{relu6}"])],
    "leaky_relu": [((3, 7, 9), ["{leaky_relu: 0.2}"]), ((2, 11), ["{leaky_relu, inplace: true}"]),
                   ((2, 3, 5, 4), ["{leaky_relu}"])],
    "elu": [((3, 7, 9), ["{elu}"]), ((2, 11), ["{elu, alpha: 0.5, inplace: true}"]), ((2, 3, 5, 4), ["{elu}"])],
    "sigmoid": [((3, 7, 9), ["{sigmoid}"]), ((2, 11), ["{sigmoid}"]), ((2, 3, 5, 4), ["{sigmoid}"])],
    "tanh": [((3, 7, 9), ["{tanh}"]), ((2, 11), ["{tanh}"]), ((2, 3, 5, 4), ["{tanh}"])],
    "gelu": [((3, 7, 9), ["{gelu}"]), ((2, 11), ["{gelu}"]), ((2, 3, 5, 4), ["{gelu}"])],
    "silu": [((3, 7, 9), ["{silu}"]), ((2, 11), ["{silu, inplace: true}"]), ((2, 3, 5, 4), ["{silu}"]),
             ((3, 6, 6), ["{bn}", "{silu, inplace: true}"])],  # in place after batch norm: EfficientNet
    "hardswish": [((3, 7, 9), ["{hardswish}"]), ((2, 11), ["{hardswish, inplace: true}"]),
                  ((2, 3, 5, 4), ["{hardswish}"])],
    "hardsigmoid": [((3, 7, 9), ["{hardsigmoid}"]), ((2, 11), ["{hardsigmoid, inplace: true}"]),
                    ((2, 3, 5, 4), ["{hardsigmoid}"])],
    "softmax": [((3, 7, 9), ["{softmax}"]), ((2, 11), ["{softmax}"]), ((2, 3, 5, 4), ["{softmax}"]),
                ((3, 4, 5), ["{flatten}", "{softmax}"])],
    "identity": [((3, 7, 9), ["{identity}"]), ((2, 11), ["{identity}"])],
    "dropout": [((3, 7, 9), ["{dropout: 0.3}"]), ((2, 11), ["{dropout: 0.5, inplace: true}"]),
                ((2, 3, 5, 4), ["{dropout}"])],
    # stochastic depth: the identity at p = 0 and at inference; in training a noise per sample (row) or batch
    "drop_path": [((3, 7, 9), ["{drop_path: 0.2}"]), ((2, 11), ["{stochastic_depth: 0.5, mode: batch}"]),
                  ((2, 3, 5, 4), ["{drop_path}"]), ((4, 5, 5), ["{relu}", "{drop_path: 0.1}"])],
    "layer_scale": [((3, 7, 9), ["{layer_scale}"]), ((2, 11), ["{layerscale: 0.5}"]),
                    ((2, 3, 5, 4), ["{layer_scale, dim: 2}"]), ((3, 2, 2), ["{flatten}", "{layer_scale}"])],
    "split": [((6, 5, 5), ["{split: 3, part: 1}"]), ((4, 7), ["{split: 2}"]), ((4, 2, 3, 3), ["{split: 4, part: 3}"])],
    "shuffle": [((6, 5, 5), ["{shuffle: 3}"]), ((4, 7), ["{shuffle: 2}"]), ((4, 2, 3, 3), ["{shuffle: 4}"]),
                ((6, 3, 4, 5), ["{shuffle: 2}"]), ((3, 5), ["{shuffle: 1}"])],
    # pixel (un)shuffle: images only in torch
    "pixel_shuffle": [((8, 3, 5), ["{pixel_shuffle: 2}"]), ((9, 4, 4), ["{pixel_shuffle: 3}"]),
                      ((4, 3, 3), ["{pixel_shuffle: 1}"])],
    "pixel_unshuffle": [((2, 4, 6), ["{pixel_unshuffle: 2}"]), ((3, 6, 9), ["{pixel_unshuffle: 3}"])],
    # each mode at each rank, uneven sides, a fill value, padding to the limit (reflect W - 1, circular W)
    "pad": [((3, 5, 6), ["{pad: 1}"]), ((2, 7), ["{pad: [[2, 0]], value: 1.5}"]),
            ((2, 3, 4, 5), ["{pad: [1, [0, 2], 1]}"]),
            ((3, 5, 6), ["{pad: [[0, 4], [5, 1]], mode: reflect}"]), ((2, 7), ["{pad: 6, mode: reflect}"]),
            ((2, 3, 4, 5), ["{pad: [2, 1, [0, 3]], mode: reflect}"]),
            ((3, 5, 6), ["{pad: [2, 3], mode: replicate}"]), ((2, 7), ["{ReplicationPad1d: 9}"]),
            ((2, 3, 4, 5), ["{pad: 1, mode: replicate}"]),
            ((3, 5, 6), ["{pad: [5, [6, 0]], mode: circular}"]), ((2, 7), ["{CircularPad1d: [[3, 7]]}"]),
            ((2, 3, 4, 5), ["{pad: [[1, 0], 2, 1], mode: circular}"]), ((3, 5, 6), ["{pad: 0}"])],
    "resize": [((3, 4, 5), ["{upsample: 2}"]), ((2, 5), ["{upsample: 3}"]),
               ((2, 2, 3, 3), ["{upsample: [1, 2, 2]}"]),
               ((3, 5, 7), ["{resize: 1.5, mode: bilinear}"]),
               ((2, 9), ["{resize: 0.5, mode: linear, align_corners: true}"]),
               ((3, 6, 6), ["{resize: {size: [9, 4]}, mode: bicubic}"]),
               ((2, 3, 4, 5), ["{interpolate: 2.25, mode: trilinear, recompute_scale_factor: true}"]),
               ((3, 7, 6), ["{resize: [0.5, 1.5], recompute_scale_factor: false}"]),
               # to the size of the network's input, as LR-ASPP and FCN heads do
               ((3, 8, 8), ["{id: low, maxpool: 2}", "{resize: {like: input}, mode: bilinear}"]),
               # like a layer whose data nothing reads any more: its storage is not kept alive
               ((3, 8, 8), ["{id: big, resize: 2}", "{id: low, maxpool: 4}", "{id: mid, conv: 3, kernel: 1}",
                            "{resize: {like: big}, mode: bilinear, align_corners: false}"])],
    "crop": [((3, 9, 9), ["{crop: 5}"]), ((2, 8), ["{crop: 3}"]), ((2, 4, 5, 6), ["{crop: [2, 3, 3]}"]),
             ((3, 8, 8), ["{id: small, maxpool: 2}", "{id: up, resize: 3}", "{crop: {like: small}}"]),
             # a view of a view: one storage
             ((3, 8, 9), ["{crop: [7, 6]}", "{crop: 4}"])],
    "conv": [
        ((3, 9, 9), ["{conv: 4, kernel: 3}"]),
        ((4, 10), ["{conv: 6, kernel: 3, stride: 2, rounding: floor}"]),
        ((4, 7, 9), ["{conv: 6, kernel: [3, 2], groups: 2, dilation: [2, 1], padding: 1, bias: false}"]),
        ((4, 9, 9), ["{conv: {depthwise: true}, kernel: 3, padding: same}"]),
        ((3, 8, 8), ["{conv: 4, kernel: 4, dilation: 2, padding: same}"]),
        ((3, 8, 7), ["{conv: 4, kernel: [4, 3], padding: same}"]),
        ((2, 6), ["{conv: 3, kernel: 2, padding: same, bias: false}"]),
        ((3, 7, 7), ["{conv: 5, kernel: 3, stride: 2, padding: [[1, 0], [0, 1]], rounding: ceil}"]),
        ((2, 5, 6, 7), ["{conv: 4, kernel: 3, stride: 2, padding: valid, rounding: floor}"]),
        ((2, 5, 6, 7), ["{conv: 4, kernel: 2, stride: 2, padding: [[1, 0], [0, 1], [1, 1]], rounding: ceil}"]),
    ],
    "conv_transpose": [
        ((3, 4, 4), ["{conv_transpose: 4, kernel: 4, stride: 2, padding: 1}"]),  # DCGAN's doubling
        ((4, 5, 6), ["{conv_transpose: 2, kernel: 2, stride: 2, bias: false}"]),  # U-Net's up-convolution
        ((4, 7), ["{conv_transpose: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}"]),
        ((2, 5, 4), ["{conv_transpose: 3, kernel: [3, 2], stride: [1, 2], padding: [2, 0], dilation: [2, 1]}"]),
        ((2, 3, 4, 3), ["{conv_transpose: 2, kernel: 3, stride: 2, padding: 1, output_padding: [1, 0, 1]}"]),
        ((3, 5, 5), ["{conv_transpose: 3, kernel: 3, stride: 1, padding: 1, dilation: 2, output_padding: 1}"]),
    ],
    # pinned (`inputs`, or torch's `in_features`): 3*4*5 = 60, 6*5 = 30, 2*2*3*3 = 36 inputs
    "fc": [((3, 4, 5), ["{fc: 7}"]), ((6, 5), ["{fc: 3, bias: false}"]), ((3, 4, 5), ["{flatten}", "{fc: 5}"]),
           ((2, 2, 3, 3), ["{fc: 4}"]), ((3, 4, 5), ["{fc: 7, inputs: 60}"]), ((6, 5), ["{fc: 3, in_features: 30}"]),
           ((2, 2, 3, 3), ["{flatten}", "{fc: 4, inputs: 36, bias: false}"]),
           # per token on a sequence: nn.Linear on batch x N x C (contiguous, after the class token's
           # cat, as in a transformer block; straight on the tokens view torch copies it first)
           ((4, 3, 5), ["{tokens}", "{class_token}", "{fc: 6}"]),
           ((4, 3, 5), ["{tokens}", "{cls_token}", "{fc: 6, inputs: 4, bias: false}"])],
    "flatten": [((3, 5, 7), ["{flatten}"]), ((2, 3, 4, 5), ["{flatten}"]), ((4, 9), ["{flatten}"])],
    "local": [
        ((3, 16, 16), ["{local: 4, kernel: 3}"]),
        ((3, 9), ["{local: 2, kernel: 3, stride: 2}"]),
        ((2, 7, 7), ["{local: 3, kernel: 2, stride: 2, padding: [[1, 0], [0, 1]], bias: false}"]),
        ((2, 5, 5, 5), ["{local: 2, kernel: 2, stride: 2, rounding: ceil}"]),
    ],
    "add": [((3, 5, 5), ["{id: side, from: stem, relu}", "{add: [stem, side]}"]),
            ((4, 7), ["{id: side, from: stem, tanh}", "{add: [stem, side, stem]}"])],
    "concat": [((3, 5, 5), ["{id: side, from: input, conv: 2, kernel: 1}", "{concat: [stem, side]}"]),
               ((2, 3, 4, 5), ["{id: side, from: stem, sigmoid}", "{concat: [side, stem]}"])],
    "mul": [((3, 5, 5), ["{id: gate, from: stem, global_avgpool}", "{mul: [stem, gate]}"]),
            ((4, 7), ["{id: side, from: stem, sigmoid}", "{mul: [stem, side]}"]),
            ((3, 5, 5), ["{id: gate, from: stem, global_avgpool}", "{id: side, from: stem, tanh}",
                         "{mul: [gate, side, stem, gate]}"])],
    "bn": [((4, 6, 6), ["{bn}"]), ((4, 9), ["{bn, affine: false}"]),
           ((3, 4, 5, 6), ["{bn, track_running_stats: false}"]),
           ((3, 2, 2), ["{flatten}", "{bn}"], BATCH)],
    "instance_norm": [((4, 6, 6), ["{instance_norm}"]), ((3, 9), ["{instance_norm, affine: true}"]),
                      ((3, 4, 5, 6), ["{instance_norm, track_running_stats: true}"]),
                      ((4, 5, 6), ["{InstanceNorm2d: 4, affine: true, track_running_stats: true}"]),
                      ((2, 7), ["{instance_norm, affine: true, track_running_stats: true}"])],
    # Swin: a shifted 14x14 map (4 windows, mask), padding to the window (9x11 -> 12x12), a map smaller
    # than the window (torch pads 3x5 to 7x7 and drops the shift: one window), no shift, biases off
    "window_attention": [((6, 14, 14), ["{window_attention: 3, window: 7, shift: 3}"]),
                         ((6, 9, 11), ["{window_attention: 2, window: 4}"]),
                         ((4, 3, 5), ["{window_attention: 2, window: 7, shift: 3}"], BATCH),
                         ((8, 8, 8), ["{window_attention: 4, window: 4, qkv_bias: false, proj_bias: false}"]),
                         ((32, 8, 8), ["{ShiftedWindowAttention: 2, window: 4, shift: 2}"]),
                         # Swin v2: its bias MLP runs once per pass, whatever the batch (MACs at batch 1)
                         ((6, 16, 16), ["{window_attention: 3, window: 8, shift: 4, v2: true}"], ONE),
                         ((64, 8, 8), ["{window_attention: 2, window: 4, shift: 2, v2: true}"], ONE),
                         ((6, 9, 11), ["{window_attention: 2, window: 4, v2: true, qkv_bias: false}"], ONE),
                         # the video Swin's 3-D windows: a shifted clip padded in H and W (4x9x11 in
                         # [2, 4, 4]: 4x12x12), a clip the window covers in T (torch shrinks the window
                         # to 3 frames, drops the time shift and saves its copy of the index's corner),
                         # one whole-clip window, one number for all three sides (a padded W: at batch 1
                         # a clip padded in T alone keeps its output a view of the padded tensor,
                         # layers/swin.py)
                         ((6, 4, 9, 11), ["{window_attention: 3, window: [2, 4, 4], shift: [1, 2, 2]}"]),
                         ((6, 3, 8, 8), ["{window_attention: 3, window: [8, 4, 4], shift: [4, 2, 2]}"]),
                         ((8, 2, 3, 3), ["{window_attention: 2, window: [8, 7, 7], shift: [4, 3, 3]}"], BATCH),
                         ((6, 4, 6, 5), ["{window_attention: 3, window: 3, proj_bias: false}"])],
    # even and odd sides (padded), Swin v2's order
    "patch_merging": [((6, 4, 6), ["{patch_merging}"]), ((6, 5, 7), ["{patch_merging}"]),
                      ((4, 3, 3), ["{patch_merging, v2: true}"]), ((2, 6, 5), ["{PatchMerging}"]),
                      # a clip: each frame merged, T kept
                      ((6, 3, 4, 6), ["{patch_merging}"]), ((4, 2, 5, 3), ["{patch_merging}"])],
    # tokens (C x N), images (ConvNeXt's LayerNorm2d), 3-D volumes, a vector; affine and bias off; eps
    "layernorm": [((4, 7), ["{layernorm}"]), ((6, 5, 4), ["{layernorm, eps: 1.0e-6}"]),
                  ((4, 3, 4, 5), ["{LayerNorm: 4, bias: false}"]), ((5, 3, 3), ["{ln, elementwise_affine: false}"]),
                  ((3, 2, 2), ["{flatten}", "{layer_norm}"]), ((4, 5, 6), ["{relu}", "{layernorm2d: 4}"]),
                  # a token sequence (batch x N x C in torch): nn.LayerNorm itself, no copy
                  ((8, 3, 3), ["{tokens}", "{class_token}", "{layernorm, eps: 1.0e-6}"])],
    "groupnorm": [((4, 6, 6), ["{groupnorm: 2}"]), ((6, 7), ["{groupnorm: 3}"]), ((4, 3, 4, 5), ["{groupnorm: 4}"])],
    "lrn": [((5, 6, 6), ["{lrn: 3}"], FP32), ((4, 7), ["{lrn: 5}"]), ((6, 3, 4, 5), ["{lrn: 2}"], FP32)],
    "maxpool": [
        ((3, 8, 8), ["{maxpool: 2}"]),
        ((3, 9), ["{maxpool: 3, stride: 2, rounding: ceil}"]),
        ((2, 9, 9), ["{maxpool: 3, stride: 2, padding: 1, dilation: 2, rounding: floor}"]),
        ((3, 6, 7), ["{maxpool: 2, padding: [[0, 1], [1, 0]], rounding: floor}"]),
        ((2, 5, 6, 7), ["{maxpool: 2, rounding: ceil}"]),
    ],
    "avgpool": [
        ((3, 8, 8), ["{avgpool: 2}"]),
        ((3, 9), ["{avgpool: 3, stride: 2, padding: 1, count_include_pad: false, rounding: ceil}"]),
        ((3, 7, 7), ["{avgpool: 3, stride: 1, padding: [[1, 0], [0, 1]], count_include_pad: false}"]),
        ((2, 5, 6, 7), ["{avgpool: 2, rounding: floor}"], FP32),
    ],
    "global_avgpool": [((3, 5, 7), ["{global_avgpool}"]), ((3, 9), ["{global_avgpool}"]),
                       ((2, 3, 4, 5), ["{global_avgpool}"])],
    "global_maxpool": [((3, 5, 7), ["{global_maxpool}"]), ((3, 9), ["{global_maxpool}"]),
                       ((2, 3, 4, 5), ["{global_maxpool}"])],
    "adaptive_avgpool": [((3, 9, 7), ["{adaptive_avgpool: [4, 3]}"]), ((3, 10), ["{adaptive_avgpool: 3}"]),
                         ((2, 4, 5, 6), ["{adaptive_avgpool: 2}"]), ((3, 6, 6), ["{adaptive_avgpool: 1}"])],
    "adaptive_maxpool": [((3, 9, 7), ["{adaptive_maxpool: [4, 3]}"]), ((3, 10), ["{adaptive_maxpool: 3}"]),
                         ((2, 4, 5, 6), ["{adaptive_maxpool: 2}"]), ((3, 6, 6), ["{adaptive_maxpool: 1}"])],
}

CASES = [pytest.param(kind, shape, layers, batch, dtype, id=f"{kind}-{i}-{batch}-{dtype}")
         for kind, configs in CONTRACT.items() for i, (shape, layers, *settings) in enumerate(configs)
         for batch, dtype in (settings[0] if settings else SETTINGS)]


def spec_text(shape, layers) -> str:
    lines = ["sizecalc: 1", "name: contract", f"input: {list(shape)}", "layers:",
             f"  - {{id: stem, conv: {shape[0]}, kernel: 1, bias: false}}"]
    return "\n".join(lines + [f"  - {layer}" for layer in layers]) + "\n"


def torch_figures(module, shape, batch: int, dtype: str) -> dict:
    """What torch does with the module: shapes and counts, MACs, saved bytes, inference peak."""
    module = module.to(DTYPES[dtype])
    last = list(module.nodes.values())[-1]
    x = torch.randn(batch, *shape, dtype=DTYPES[dtype])
    module.train()
    saved = saved_bytes(module, x)
    forward = forward_storages(module, x)
    module.eval()
    with torch.no_grad():
        out = module(x)
    # attention on the math path, where FlopCounterMode sees its matrix products (the fused
    # kernels are not counted), with autograd on (the no-grad fast path is not counted either)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as flops:
        module(x)
    return {"output": tuple(out.shape), "params": sum(p.numel() for p in last.parameters()),
            "buffers": sum(b.numel() for b in last.buffers()), "macs": flops.get_total_flops() // 2,
            "saved": saved, "forward": forward, "inference_peak": live_peak_bytes(module, x)}


def static_figures(report, batch: int) -> dict:
    row, memory = report.rows[-1], report.memory
    return {"output": (batch, *torch_order(row.output)), "params": row.params, "buffers": row.buffers,
            "macs": report.totals.macs * batch, "saved": memory.saved_bytes, "forward": memory.forward_bytes,
            "inference_peak": memory.inference_peak_bytes - memory.params_bytes - memory.buffers_bytes}


def test_every_kind_has_a_contract_entry():
    assert sorted(REGISTRY) == sorted(CONTRACT), "a layer kind needs configurations in CONTRACT"
    assert list(KINDS) == list(REGISTRY)


@pytest.mark.parametrize("kind, shape, layers, batch, dtype", CASES)
def test_kind_matches_torch(kind, shape, layers, batch, dtype):
    text = spec_text(shape, layers)
    report = sizecalc.analyze(text, batch=batch, dtype=dtype)
    assert not report.errors(), report.errors()
    assert report.rows[-1].op == kind
    torch.manual_seed(0)
    module = sizecalc.to_torch(text)
    assert static_figures(report, batch) == torch_figures(module, shape, batch, dtype)


def test_a_kind_that_leaves_its_contract_unstated_is_refused():
    with pytest.raises(TypeError, match="does not state its saved, alias, workspace, torch"):
        LayerKind("new", "new", lambda layer, ins: Sizing(ins[0]))


@pytest.mark.parametrize("name", ["Module", "__class__", "load", "functional", "os"])
def test_torch_descriptions_name_only_listed_classes(name):
    with pytest.raises(ValueError, match="not a torch module sizecalc builds"):
        resolve(name)


def test_locally_connected_saves_its_patch_matrix():
    """Issue #12's example: 3x16x16, {local: 4, kernel: 3, padding: 1} then a ReLU, batch 2.
    The local layer keeps its patch matrix, 16*16 positions x 3*3*3 taps = 6,912 elements
    per sample; the ReLU keeps its 4x16x16 = 1,024-element output: 2*(6,912 + 1,024)*4 bytes."""
    text = "sizecalc: 1\nname: local\ninput: [3, 16, 16]\nlayers:\n  - {local: 4, kernel: 3, padding: 1}\n  - {relu}\n"
    assert sizecalc.analyze(text, batch=2).memory.saved_bytes == 63_488
    module = sizecalc.to_torch(text).train()
    assert saved_bytes(module, torch.randn(2, 3, 16, 16)) == 63_488
