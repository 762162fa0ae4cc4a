"""Swin's window attention and patch merging (layers/swin.py): hand computations, torch's
padding and dropped shift, the receptive field's definition, and one located line for each
mistake. The figures against torch (shape, params, buffers, MACs, saved, peak) are in
tests/test_layer_contract.py; the networks in tests/test_zoo_swin.py."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.cli import main
from sizecalc.core.errors import SpecError


def rows(text: str, **options):
    return {row.id: row for row in sizecalc.analyze(text, **options).rows}


def spec(shape, *layers) -> str:
    return f"input: {list(shape)}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


def error(text: str):
    with pytest.raises(SpecError) as err:
        sizecalc.analyze(text)
    (finding,) = err.value.findings
    return finding


# --- Swin-T's first block, by hand ---------------------------------------------------------------

def test_swin_t_stage_1_attention_params_by_hand():
    """C = 96, 3 heads, M = 7 (Swin-T's stage 1):
        qkv    96*288 + 288 = 27,936
        proj   96*96 + 96   =  9,312
        table  (2*7 - 1)^2 * 3 = 13^2 * 3 = 507
        total  27,936 + 9,312 + 507 = 37,755;  buffer: relative_position_index 49^2 = 2,401
    The block adds two LayerNorms (2*96 each) and the MLP 96 -> 384 -> 96:
    (96 + 1)*384 + (384 + 1)*96 = 37,248 + 36,960: 37,755 + 384 + 74,208 = 112,347."""
    r = rows(spec((96, 56, 56), "{id: attn, window_attention: 3, window: 7}"))["attn"]
    assert (r.weights, r.biases, r.buffers) == (96 * 288 + 96 * 96 + 507, 288 + 96, 2_401)
    assert r.params == 37_755
    assert (2 * 7 - 1) ** 2 * 3 == 507
    block = sizecalc.analyze("swin_t")
    assert sum(row.params for row in block.rows if row.id.startswith("stage1.block.0.")) == 112_347


def test_swin_t_stage_1_attention_macs_by_hand():
    """56x56 in 7x7 windows: 8*8 = 64 windows of N = 49 tokens, C = 96:
    per window qkv 3*49*96^2 = 1,354,752, scores 49^2*96 = 230,496, weighted sum 230,496,
    proj 49*96^2 = 451,584: 2,267,328; times 64 = 145,108,992 (whatever the heads)."""
    for heads in (3, 6, 12):
        r = rows(spec((96, 56, 56), f"{{id: attn, window_attention: {heads}, shift: 3}}"))["attn"]
        assert r.macs == 64 * (3 * 49 * 96 ** 2 + 2 * 49 ** 2 * 96 + 49 * 96 ** 2) == 145_108_992


def test_saved_for_backward_by_hand():
    """14x14x6, window 7, shift 3, 3 heads (4 windows): the windowed tokens, the scaled queries,
    keys and values copied for the batched matmuls, the projection's input, 5*14*14*6 = 5,880,
    and the probabilities 4*3*49^2 = 28,812: 34,692 elements, fp32 = 138,768 bytes at batch 1
    (torch's saved_tensors_hooks on torchvision's ShiftedWindowAttention: 138,768)."""
    r = rows(spec((6, 14, 14), "{id: attn, window_attention: 3, window: 7, shift: 3}"))["attn"]
    assert r.saved_bytes == (5 * 14 * 14 * 6 + 4 * 3 * 49 ** 2) * 4 == 138_768


def test_swin_v2_t_stage_1_attention_by_hand():
    """Swin v2 (C = 96, 3 heads, M = 8): no bias table; a logit scale per head (3) and the
    position-bias MLP Linear(2, 512) + Linear(512, 3, bias=False): 2*512 + 512 + 512*3 = 3,072;
    with qkv 27,936 and proj 9,312: 40,323 params. Buffers: relative_position_index 64^2 =
    4,096 and the coordinates (2*8 - 1)^2 * 2 = 450: 4,546 (12 blocks: 54,552, torchvision's).
    MACs at 64x64: 64 windows*(4*64*96^2 + 2*64^2*96) = 201,326,592, and the MLP on 15^2 = 225
    positions, 225*(2*512 + 512*3) = 576,000: 201,902,592."""
    r = rows(spec((96, 64, 64), "{id: attn, window_attention: 3, window: 8, shift: 4, v2: true}"))["attn"]
    assert (r.params, r.buffers, r.macs) == (40_323, 4_546, 201_902_592)
    assert sizecalc.analyze("swin_v2_t").totals.buffers == 12 * 4_546 == 54_552


# --- padding and shift, as torch -------------------------------------------------------------------

def test_the_map_is_padded_to_a_multiple_of_the_window():
    """9x11 in windows of 4: padded to 12x12 (pad_b = (4 - 9 % 4) % 4 = 3, pad_r = 1), 9 windows
    of 16 tokens: MACs 9*(4*16*6^2 + 2*16^2*6) = 9*(2,304 + 3,072) = 48,384; the output is 9x11."""
    r = rows(spec((6, 9, 11), "{id: attn, window_attention: 2, window: 4, shift: 2}"))["attn"]
    assert r.output == (6, 9, 11)
    assert r.macs == 48_384
    assert any("padded to 12x12" in line for line in r.explain)


def test_torch_drops_the_shift_where_the_window_covers_the_map():
    """Swin-T's stage 4 at 224: a 7x7 map is one 7x7 window; torchvision sets the shift to 0
    (`if window_size[0] >= pad_H: shift_size[0] = 0`): sizecalc says so, and the figures are a
    single window's, 4*49*768^2 + 2*49^2*768 = 119,293,440 MACs."""
    report = sizecalc.analyze("swin_t")
    notes = [f for f in report.findings if f.rule == "window-covers-map"]
    assert {f.layer for f in notes} == {"stage4.block.1.attn"}
    assert report.row("stage4.block.1.attn").macs == 119_293_440
    # a 3x5 map is padded up to the window (7x7): one window, the shift dropped on both sides
    r = rows(spec((4, 3, 5), "{id: attn, window_attention: 2, window: 7, shift: 3}"))["attn"]
    assert r.macs == 4 * 49 * 16 + 2 * 49 ** 2 * 4


def test_receptive_field_is_the_window_either_side():
    """The definition (README): a position reads at most M - 1 positions to either side, 2M - 1
    in all; after Swin-T's 4x4 stride-4 patch embedding (4 pixels, jump 4) a 7x7 window gives
    4 + (13 - 1)*4 = 52 pixels, and the next (shifted) block 52 + (13 - 1)*4 = 100."""
    report = sizecalc.analyze("swin_t")
    for block, size in ((0, 52), (1, 100)):
        field = report.row(f"stage1.block.{block}.attn").receptive_field
        assert field.size == (size, size) and field.jump == (4, 4) and not field.whole
    assert report.row("stage4.block.0.attn").receptive_field.whole


# --- patch merging ----------------------------------------------------------------------------------

def test_patch_merging_by_hand():
    """Swin-T's first merge, 56x56x96 -> 28x28x192: Linear(384, 192, bias=False) 73,728 and
    LayerNorm(384) 768: 74,496 params; MACs 28*28*384*192 = 57,802,752. Swin v2's order norms
    the 192 outputs: 73,728 + 384 = 74,112."""
    r = rows(spec((96, 56, 56), "{id: m, patch_merging}"))["m"]
    assert (r.output, r.params, r.macs) == ((192, 28, 28), 74_496, 57_802_752)
    assert rows(spec((96, 56, 56), "{id: m, patch_merging, v2: true}"))["m"].params == 74_112


def test_patch_merging_pads_odd_sides():
    """torch's F.pad(x, (0, 0, 0, W % 2, 0, H % 2)): 5x7 -> 6x8 -> 3x4."""
    assert rows(spec((6, 5, 7), "{id: m, patch_merging}"))["m"].output == (12, 3, 4)


# --- clips: the video Swin's 3-D windows -------------------------------------------------------------

def test_swin3d_t_stage_1_attention_by_hand():
    """C = 96, 3 heads, window [8, 7, 7] on Swin3D-T's 8x56x56 clip: the bias table
    (2*8-1)(2*7-1)(2*7-1) = 15*13*13 = 2,535 rows of 3 heads, 7,605; with qkv 27,936 and proj
    9,312: 44,853 params; the index buffer 392^2 = 153,664 (torchvision's
    ShiftedWindowAttention3d: relative_position_bias_table 2535 x 3, relative_position_index
    392 x 392). 1*8*8 = 64 windows of N = 392: 64*(4*392*96^2 + 2*392^2*96) = 2,813,067,264 MACs."""
    r = rows(spec((96, 8, 56, 56), "{id: attn, window_attention: 3, window: [8, 7, 7]}"))["attn"]
    assert (r.params, r.buffers) == (96 * 288 + 288 + 96 * 96 + 96 + 2_535 * 3, 392 ** 2) == (44_853, 153_664)
    assert r.macs == 64 * (4 * 392 * 96 ** 2 + 2 * 392 ** 2 * 96) == 2_813_067_264
    assert r.output == (96, 8, 56, 56)


def test_a_clip_side_the_window_covers_shrinks_it():
    """torchvision's `_get_window_and_shift_size`: a side S <= M takes the window S and no shift.
    4x9x11 in [8, 4, 4] shifted [4, 2, 2]: T 4 <= 8, so the window is 4x4x4 (N = 64) and the
    shift 0x2x2; H and W padded to 12x12: 1*3*3 = 9 windows, MACs 9*(4*64*6^2 + 2*64^2*6) =
    525,312. The table stays the stated window's: 15*7*7*2 = 1,470 (+ qkv and proj 4*36 + 24),
    the buffer (8*4*4)^2 = 16,384."""
    report = sizecalc.analyze(spec((6, 4, 9, 11), "{id: attn, window_attention: 2, window: [8, 4, 4], "
                                   "shift: [4, 2, 2]}"))
    r = report.row("attn")
    assert r.macs == 9 * (4 * 64 * 36 + 2 * 64 ** 2 * 6) == 525_312
    assert (r.params, r.buffers) == (4 * 36 + 24 + 1_470, 16_384)
    assert any("padded to 4x12x12; 9 windows of 4x4x4 = 64 tokens, shift 0x2x2" in line for line in r.explain)
    (note,) = [f for f in report.findings if f.rule == "window-covers-map"]
    assert "in T: torch shrinks the window to 4x4x4" in note.message
    # where the window is exactly a side (8 frames in 8), nothing shrinks but the shift is dropped
    r = rows(spec((6, 8, 8, 8), "{id: attn, window_attention: 2, window: [8, 4, 4], shift: [4, 2, 2]}"))["attn"]
    assert any("4 windows of 8x4x4 = 128 tokens, shift 0x2x2" in line for line in r.explain)


def test_receptive_field_of_a_clip_window():
    """The definition per side, with the window torch keeps: after Swin3D-T's 2x4x4 stride-2x4x4
    patch embedding, an 8x7x7 window sees 2 + (15 - 1)*2 = 30 frames and 4 + (13 - 1)*4 = 52
    pixels; the next block 58 frames and 100 pixels."""
    report = sizecalc.analyze("swin3d_t")
    for block, size in ((0, (30, 52, 52)), (1, (58, 100, 100))):
        field = report.row(f"stage1.block.{block}.attn").receptive_field
        assert field.size == size and field.jump == (2, 4, 4)


def test_patch_merging_on_a_clip_merges_each_frame():
    """Swin3D-T's first merge, 96x8x56x56 -> 192x8x28x28: the same 74,496 params as the 2-D
    merge; MACs 8*28*28*384*192 = 462,422,016 (T kept; odd H, W padded: 8x5x7 -> 8x3x4)."""
    r = rows(spec((96, 8, 56, 56), "{id: m, patch_merging}"))["m"]
    assert (r.output, r.params, r.macs) == ((192, 8, 28, 28), 74_496, 462_422_016)
    assert rows(spec((6, 8, 5, 7), "{id: m, patch_merging}"))["m"].output == (12, 8, 3, 4)


# --- mistakes: one located line each ------------------------------------------------------------------

@pytest.mark.parametrize("shape, args, fix, fixed", [
    ((96, 8, 14, 14), "window: [7, 7]", "window: [7, 7, 7]", "window: [7, 7, 7]"),
    ((96, 14, 14), "window: [8, 7, 7]", "window: [7, 7]", "window: [7, 7]"),
    ((96, 8, 14, 14), "window: [8, 7, 7], shift: [3, 3]", "shift: [3, 3, 3]", "window: [8, 7, 7], shift: [3, 3, 3]"),
])
def test_a_window_of_the_wrong_rank(shape, args, fix, fixed):
    f = error(spec(shape, f"{{id: attn, window_attention: 3, {args}}}"))
    assert f.rule == "window-rank" and f.fix == fix and f.loc.line == 3
    assert "sides, but the input" in f.message
    assert rows(spec(shape, f"{{id: attn, window_attention: 3, {fixed}}}"))["attn"].params  # the fix works


def test_the_cli_says_a_wrong_rank_on_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("sizecalc: 1\ninput: [96, 8, 14, 14]\nlayers:\n  - {window_attention: 3, window: [7, 7]}\n")
    result = CliRunner().invoke(main, ["table", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if "error" in line]
    assert "bad.yaml:4:" in line and "fix: window: [7, 7, 7]" in line


def test_a_2d_window_is_square_and_a_clip_has_no_v2():
    f = error(spec((96, 14, 14), "{id: attn, window_attention: 3, window: [7, 5]}"))
    assert f.rule == "window-square" and f.fix == "window: 7"
    f = error(spec((96, 8, 14, 14), "{id: attn, window_attention: 3, window: [8, 7, 7], v2: true}"))
    assert f.rule == "v2-rank" and f.fix == "v2: false"
    f = error(spec((96, 8, 14, 14), "{id: attn, window_attention: 3, window: [8, 7, 7], shift: [4, 7, 3]}"))
    assert f.rule == "window-shift" and f.fix == "shift: [4, 3, 3]"


def test_heads_that_do_not_divide_the_channels():
    f = error(spec((96, 14, 14), "{id: attn, window_attention: 5}"))
    assert f.rule == "heads" and "5 heads do not divide the 96 channels (96 = 19*5 + 1)" in f.message
    assert f.fix == "heads: 4" and f.loc.line == 3
    assert rows(spec((96, 14, 14), "{id: attn, window_attention: 4}"))["attn"].params  # the fix works


def test_a_shift_of_a_whole_window():
    f = error(spec((96, 14, 14), "{id: attn, window_attention: 3, window: 7, shift: 7}"))
    assert f.rule == "window-shift" and f.fix == "shift: 3"


@pytest.mark.parametrize("layer", ["{window_attention: 2}", "{patch_merging}"])
def test_a_vector_is_refused(layer):
    f = error(spec((8, 4, 4), "{flatten}", layer))
    assert f.rule == "rank" and "C x H x W map or a C x T x H x W clip" in f.message


def test_the_cli_says_it_on_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("sizecalc: 1\ninput: [96, 14, 14]\nlayers:\n  - {window_attention: 5}\n")
    result = CliRunner().invoke(main, ["table", str(path)])
    assert result.exit_code == 1 and "bad.yaml:4:" in result.output and "fix: heads: 4" in result.output
    assert "Traceback" not in result.output
