"""U-Net as published (specs/unet.yaml) and DCGAN's generator and discriminator
(specs/dcgan.yaml), exact against the torch modules written from the papers in
tests/reference_dense.py.

How the figures were obtained (not from sizecalc's output):
- by hand, from the papers' figures: every parameter count (the sums are written out below,
  level by level, so a person can add them up) and the MACs of DCGAN and U-Net;
- MEASURED: tests/reference_dense.py's modules with torch 2.13 (CPU build) on the meta device,
  `python tests/reference_dense.py`: params, buffers (num_batches_tracked counted as one
  element each, as torch stores it), MACs as FlopCounterMode's total // 2 (grad enabled), the
  output, and the output of each child module (a forward hook). They agree with the hand sums;
  test_reference_modules_give_the_figures measures them again whenever torch is installed.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import sizecalc
from sizecalc.spec import zoo
from sizecalc.tools.inputs import sweep

# U-Net's params by level (Fig. 1), a conv's being C_in * C_out * 3 * 3 + C_out (bias) and an
# up-conv's C_in * C_out * 2 * 2 + C_out:
#   down1   1*64*9 + 64 = 640;            64*64*9 + 64 = 36,928                  ->     37,568
#   down2   64*128*9 + 128 = 73,856;      128*128*9 + 128 = 147,584              ->    221,440
#   down3   128*256*9 + 256 = 295,168;    256*256*9 + 256 = 590,080              ->    885,248
#   down4   256*512*9 + 512 = 1,180,160;  512*512*9 + 512 = 2,359,808            ->  3,539,968
#   bottom  512*1024*9 + 1024 = 4,719,616; 1024*1024*9 + 1024 = 9,438,208        -> 14,157,824
#   up4     up-conv 1024*512*4 + 512 = 2,097,664; 1024*512*9 + 512 = 4,719,104; 2,359,808 -> 9,176,576
#   up3     up-conv 512*256*4 + 256 = 524,544;    512*256*9 + 256 = 1,179,904;  590,080   -> 2,294,528
#   up2     up-conv 256*128*4 + 128 = 131,200;    256*128*9 + 128 = 295,040;    147,584   ->   573,824
#   up1     up-conv 128*64*4 + 64 = 32,832;       128*64*9 + 64 = 73,792;       36,928    ->   143,552
#   head    64*2 + 2 = 130
#   total   37,568 + 221,440 + 885,248 + 3,539,968 + 14,157,824 + 9,176,576 + 2,294,528
#           + 573,824 + 143,552 + 130 = 31,030,658 (the figure)
UNET_PARAMS = {"down1": 37_568, "down2": 221_440, "down3": 885_248, "down4": 3_539_968, "bottom": 14_157_824,
               "up4": 9_176_576, "up3": 2_294_528, "up2": 573_824, "up1": 143_552, "head": 130}
# U-Net's MACs by level: a conv's H_out * W_out * C_in * C_out * 9, an up-conv's per *input*
# position H_in * W_in * C_in * C_out * 4, the 1x1 head's 388*388*64*2:
#   down1  570^2*1*64*9 + 568^2*64*64*9 = 12,080,353,536
#   down2  282^2*64*128*9 + 280^2*128*128*9 = 17,423,695,872
#   down3  138^2*128*256*9 + 136^2*256*256*9 = 16,525,688,832
#   down4  66^2*256*512*9 + 64^2*512*512*9 = 14,802,223,104
#   bottom 30^2*512*1024*9 + 28^2*1024*1024*9 = 11,645,485,056
#   up4    28^2*1024*512*4 + 54^2*1024*512*9 + 52^2*512*512*9 = 21,783,117,824
#   up3    52^2*512*256*4 + 102^2*512*256*9 + 100^2*256*256*9 = 19,588,972,544
#   up2    100^2*256*128*4 + 198^2*256*128*9 + 196^2*128*128*9 = 18,537,119,744
#   up1    196^2*128*64*4 + 390^2*128*64*9 + 388^2*64*64*9 = 18,022,498,304
#   head   388^2*64*2 = 19,269,632
#   total  150,428,424,448 (= FlopCounterMode's 300,856,848,896 // 2 on the reference module)
UNET_MACS = {"down1": 12_080_353_536, "down2": 17_423_695_872, "down3": 16_525_688_832, "down4": 14_802_223_104,
             "bottom": 11_645_485_056, "up4": 21_783_117_824, "up3": 19_588_972_544, "up2": 18_537_119_744,
             "up1": 18_022_498_304, "head": 19_269_632}

# DCGAN generator (no biases): 100*1024*16 = 1,638,400; 1024*512*16 = 8,388,608;
# 512*256*16 = 2,097,152; 256*128*16 = 524,288; 128*3*16 = 6,144; batch norm 2*(1024 + 512 +
# 256 + 128) = 3,840: 12,658,432. Buffers: running mean and var 3,840 + 4 num_batches_tracked.
# MACs per input position: 1*1*1,638,400 + 4*4*8,388,608 + 8*8*2,097,152 + 16*16*524,288
# + 32*32*6,144 = 1,638,400 + 3 * 134,217,728 + 6,291,456 = 410,583,040.
# DCGAN discriminator (no biases): 3*128*16 = 6,144; 128*256*16 = 524,288; 256*512*16 =
# 2,097,152; 512*1024*16 = 8,388,608; 1024*1*16 = 16,384; batch norm 2*(256 + 512 + 1024) =
# 3,584: 11,036,160. Buffers 3,584 + 3. MACs per output position: 32*32*6,144 + 16*16*524,288
# + 8*8*2,097,152 + 4*4*8,388,608 + 1*16,384 = 6,291,456 + 3 * 134,217,728 + 16,384 = 408,961,024.
FIGURES = {  # name: (input, params, buffers, MACs, output)
    "unet": ((1, 572, 572), 31_030_658, 0, 150_428_424_448, (2, 388, 388)),
    "dcgan_generator": ((100, 1, 1), 12_658_432, 3_844, 410_583_040, (3, 64, 64)),
    "dcgan_discriminator": ((3, 64, 64), 11_036_160, 3_587, 408_961_024, (1, 1, 1)),
}
# measured (the reference modules' children, a forward hook; U-Net's pool is one module used
# four times, and the hook keeps its first call): output shape by the spec's id
STAGES = {
    "unet": {"down1": (64, 568, 568), "pool1": (64, 284, 284), "down2": (128, 280, 280), "down3": (256, 136, 136),
             "down4": (512, 64, 64), "bottom": (1024, 28, 28), "up4": (512, 52, 52), "up3": (256, 100, 100),
             "up2": (128, 196, 196), "up1": (64, 388, 388), "head": (2, 388, 388)},
    "dcgan_generator": {"tconv1": (1024, 4, 4), "bn1": (1024, 4, 4), "tconv2": (512, 8, 8), "tconv3": (256, 16, 16),
                        "tconv4": (128, 32, 32), "tconv5": (3, 64, 64), "tanh": (3, 64, 64)},
    "dcgan_discriminator": {"conv1": (128, 32, 32), "conv2": (256, 16, 16), "conv3": (512, 8, 8),
                            "conv4": (1024, 4, 4), "conv5": (1, 1, 1), "sigmoid": (1, 1, 1)},
}
PREFIX = {"unet": "", "dcgan_generator": "G.", "dcgan_discriminator": "D."}  # the family's block ids


def stage_output(report, stage: str) -> tuple:
    """A layer's output, or a block's: that of its last layer (as `table --depth 1` shows it)."""
    return [r.output for r in report.rows if r.id == stage or r.id.startswith(stage + ".")][-1]


def by_level(report, field: str) -> dict:
    """U-Net's params or MACs summed over each top-level id's rows (down1 is its two convs)."""
    sums: dict = {}
    for r in report.rows:
        top = r.id.split(".")[0]
        if top in UNET_PARAMS:
            sums[top] = sums.get(top, 0) + getattr(r, field)
    return sums


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_params_buffers_macs_and_shapes_are_the_reference_modules(name):
    shape, params, buffers, macs, output = FIGURES[name]
    report = sizecalc.analyze(name)
    assert report.input_shape == shape
    assert (report.totals.params, report.totals.buffers, report.totals.macs) == (params, buffers, macs)
    assert report.output == output
    stages = {stage: stage_output(report, PREFIX[name] + stage) for stage in STAGES[name]}
    assert stages == STAGES[name]


def test_unet_params_and_macs_add_up_level_by_level():
    report = sizecalc.analyze("unet")
    assert by_level(report, "params") == UNET_PARAMS
    assert by_level(report, "macs") == UNET_MACS
    assert sum(UNET_PARAMS.values()) == 31_030_658 and sum(UNET_MACS.values()) == 150_428_424_448


def test_unet_crops_each_skip_to_its_up_convolution():
    # Fig. 1's grey arrows: 64 -> 56, 136 -> 104, 280 -> 200, 568 -> 392, each the up-conv's
    # side (W - 1)*2 - 2*0 + (2 - 1) + 1 = 2W: 28 -> 56, 52 -> 104, 100 -> 200, 196 -> 392
    report = sizecalc.analyze("unet")
    crops = {f"up{k}": report.row(f"up{k}.crop").output for k in (4, 3, 2, 1)}
    assert crops == {"up4": (512, 56, 56), "up3": (256, 104, 104), "up2": (128, 200, 200), "up1": (64, 392, 392)}
    assert report.row("up4.concat").output == (1024, 56, 56)  # 512 cropped + 512 up-convolved


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_each_name_is_a_builtin(name):
    path, variant = zoo.locate(name)
    assert path.name == ("unet.yaml" if name == "unet" else "dcgan.yaml")
    assert variant == (None if name == "unet" else name)


# -- which U-Net tiles fit -------------------------------------------------------------------
def paper_rule(n: int) -> bool:
    """Worked by hand from Fig. 1: the side after down1 is N - 4, pooled (N - 4)/2; down2
    leaves (N - 12)/2, pooled (N - 12)/4; down3 (N - 28)/4 -> (N - 28)/8; down4 (N - 60)/8 ->
    (N - 60)/16 = m, the side entering the bottom level. Every pool is on an even side exactly
    when m is whole: N = 16m + 60. Then the sides are: bottom m - 4, up4 2m - 8 -> 2m - 12,
    up3 4m - 24 -> 4m - 28, up2 8m - 56 -> 8m - 60, up1 16m - 120 -> 16m - 124 (and every skip
    is larger than what it is cropped to: 2m, 4m + 8, 8m + 24, 16m + 56). All of them are >= 1
    from m = 8 on (m = 7 leaves up3 with 4*7 - 28 = 0): N = 16m + 60, m >= 8."""
    return (n - 60) % 16 == 0 and (n - 60) // 16 >= 8


def test_unet_fits_the_tiles_of_the_papers_rule():
    sizes = list(range(100, 701))
    result = sweep("unet", sizes)
    assert result.fitting == [n for n in sizes if paper_rule(n)]
    assert result.fitting[:3] == [188, 204, 220] and 572 in result.fitting and 556 in result.fitting
    assert all(n % 16 == 12 for n in result.fitting)


def test_unet_tiles_that_break_name_the_first_layer():
    probes = {p.input_shape[1]: p for p in sweep("unet", [571, 574, 578, 172]).probes}
    # 571 - 4 = 567: (567 - 2 + 2*0)/2 + 1 = 283.5
    assert probes[571].layer == "pool1" and "283.5" in probes[571].message
    # 574 - 4 = 570 -> 285, 285 - 4 = 281: (281 - 2)/2 + 1 = 140.5
    assert probes[574].layer == "pool2" and "140.5" in probes[574].message
    # 578 -> 574 -> 287 -> 283: no; 578 - 4 = 574 -> 287 - 4 = 283 -> (283 - 2)/2 + 1 = 141.5
    assert probes[578].layer == "pool2" and "141.5" in probes[578].message
    # 172 = 16*7 + 60: every pool is even, but up3 is left with 4*7 - 28 = 0 after its convs
    assert probes[172].layer == "up3.convs.conv2"


def test_unet_output_is_the_input_less_184():
    # N - 184 on every tile of the rule (572 -> 388, 188 -> 4)
    for n in (188, 252, 572, 636):
        assert sizecalc.analyze("unet", input_shape=(1, n, n)).output == (2, n - 184, n - 184)


# -- against torch ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_reference_modules_give_the_figures(name):
    pytest.importorskip("torch")
    from reference_dense import measure
    shape, params, buffers, macs, output = FIGURES[name]
    measured = measure(name)
    assert (measured["params"], measured["buffers"], measured["macs"], measured["output"]) == \
        (params, buffers, macs, output)
    renamed = {"pool": "pool1"}  # the reference's one pool module, first call
    assert {renamed.get(k, k): v for k, v in measured["stages"].items() if renamed.get(k, k) in STAGES[name]} \
        == STAGES[name]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_check_on_the_meta_device_passes(name):
    pytest.importorskip("torch")
    from sizecalc.cli import main
    result = CliRunner().invoke(main, ["check", name, "--device", "meta"])
    assert result.exit_code == 0, result.output[-2000:]


@pytest.mark.parametrize("name, args", [("dcgan_generator", []), ("dcgan_discriminator", []),
                                        ("unet", ["--input", "1x188x188"])])
def test_check_on_the_cpu_passes_saved_bytes_included(name, args):
    # batch 2: training mode, where check compares saved-for-backward with autograd's
    pytest.importorskip("torch")
    from sizecalc.cli import main
    result = CliRunner().invoke(main, ["check", name, "--device", "cpu", "--batch", "2", *args])
    assert result.exit_code == 0, result.output[-2000:]
    assert "saved for backward: predicted" in result.output


@pytest.mark.slow
def test_check_unet_on_the_cpu_at_572():
    pytest.importorskip("torch")
    from sizecalc.cli import main
    result = CliRunner().invoke(main, ["check", "unet", "--device", "cpu", "--batch", "2"])
    assert result.exit_code == 0, result.output[-2000:]


@pytest.mark.parametrize("name, shape", [("unet", (1, 188, 188)), ("dcgan_generator", None),
                                         ("dcgan_discriminator", None)])
def test_saved_for_backward_matches_the_reference_module(name, shape):
    # the reference module (not sizecalc's own torch build) in training mode: what autograd
    # keeps (saved_tensors_hooks), each storage once, parameters and buffers excluded
    torch = pytest.importorskip("torch")
    from reference_dense import REFERENCES
    cls, default = REFERENCES[name]
    shape = shape or default
    module = cls().train()
    from test_memory_torch import saved_bytes  # every byte autograd packs, parameters and buffers excluded
    measured_bytes = saved_bytes(module, torch.randn(2, *shape))
    assert sizecalc.analyze(name, batch=2, input_shape=shape).memory.saved_bytes == measured_bytes


def test_inputs_unet_without_a_range_lists_the_tiles_and_groups_the_breaks():
    from sizecalc.cli import main
    result = CliRunner().invoke(main, ["inputs", "unet"])
    assert result.exit_code == 0
    # the default sweep: 1 to twice the spec's 572; the rule's tiles 188 + 16k up to 1,132
    tiles = [n for n in range(1, 1145) if paper_rule(n)]
    assert len(tiles) == 60 and tiles[-1] == 1132  # (1132 - 188)/16 = 59
    assert f"(60 of 1144 fit)\nfits: {', '.join(map(str, tiles))} (every 16th: N = 188 + 16k)" in result.output
    # 1,084 sizes break: one line per layer, with how many and the smallest one's arithmetic;
    # half of all sides are odd (572 of 1,144), less 1 and 3, which down1's convs refuse first
    # (3 - 2 = 1 < 3); from 5 on, N - 4 is odd at pool1: (5 - 4 - 2 + 2*0)/2 + 1 = 0.5
    assert "  pool1 (570 sizes): 5, 7, 9, 11," in result.output
    assert "    e.g. 5x5: kernel 2 is larger than the padded input 1 + 0 = 1: (1 - 2 + 2*0)/2 + 1 = 0.5" \
        in result.output
