"""The memory model on networks small enough to add up by hand: every byte count below is
summed in the comment next to it (elements x bytes per element), following PyTorch's
documented behaviour (what autograd saves, dropout as identity in eval mode, in-place ops
and views sharing storage), never copied from sizecalc's output.
"""

from __future__ import annotations

import pytest

import sizecalc
from sizecalc.engine.memory import MemoryModel, largest_batch, parse_bytes

# conv 3->8 (3x3, pad 1) on 3x8x8, relu, 2x2 max pool, fc 10, and its 1,514 params summed by hand
from test_memory import PARAMS, SMALL  # noqa: E402
SAVED_ELEMS = 3 * 64 + 8 * 64 + 8 * 16  # conv input, relu output, fc input; + pool indices (int64)
INDEX_BYTES = 8 * 16 * 8


def peak(size: int) -> int:
    """Eval, per sample: input + conv output + relu output alive at once (1216 elements), or
    at the pool: input + relu output + pool output (832) and its 128 int64 indices."""
    return max((192 + 512 + 512) * size, (192 + 512 + 128) * size + 128 * 8)


@pytest.mark.parametrize("batch", [1, 3])
def test_inference_peak_grows_with_the_batch(batch):
    report = sizecalc.analyze(SMALL, batch=batch)
    assert report.memory.inference_peak_bytes == peak(4) * batch + PARAMS * 4


@pytest.mark.parametrize("dtype,size", [("fp32", 4), ("fp16", 2), ("bf16", 2), ("fp64", 8)])
def test_parameter_bytes_follow_the_dtype(dtype, size):
    report = sizecalc.analyze(SMALL, batch=2, dtype=dtype, optimizer="adam")
    m = report.memory
    assert (m.params_bytes, m.gradient_bytes, m.optimizer_bytes, m.buffers_bytes) == (
        PARAMS * size, PARAMS * size, 2 * PARAMS * size, 0)
    saved = 2 * (SAVED_ELEMS * size + INDEX_BYTES)
    assert m.saved_bytes == saved
    assert m.forward_bytes == 2 * (192 + 512 + 512 + 128 + 10) * size
    assert m.training_bytes == 4 * PARAMS * size + saved
    assert m.inference_peak_bytes == 2 * peak(size) + PARAMS * size
    assert (m.optimizer, m.amp) == ("adam", False)


def test_amp_inference_holds_fp32_weights_and_half_activations():
    # half-precision activations: the peak moves to the pool, where the int64 indices weigh most
    assert peak(2) == 832 * 2 + 1024 > 1216 * 2
    m = sizecalc.analyze(SMALL, batch=2, amp=True).memory
    assert m.inference_peak_bytes == 2 * peak(2) + PARAMS * 4
    assert m.forward_bytes == 2 * (192 + 512 + 512 + 128 + 10) * 2
    assert m.amp is True


def test_amp_keeps_fp32_weights_whatever_the_dtype():
    m = sizecalc.analyze(SMALL, dtype="bf16", amp=True).memory
    assert (m.params_bytes, m.gradient_bytes) == (PARAMS * 4, PARAMS * 4)


def test_inference_holds_the_buffers():
    # eval: input (48) + conv output (32) + bn output (32) = 112 elements; conv 6 weights,
    # bn 2 + 2 affine; buffers: running mean and var (2 each) + the step counter
    text = "input: [3, 4, 4]\nlayers:\n  - {conv: 2, kernel: 1, bias: false}\n  - bn\n"
    assert sizecalc.analyze(text).memory.inference_peak_bytes == 112 * 4 + 10 * 4 + 5 * 4


def test_totals_default_to_sgd_without_amp():
    # a model without layers: 192 input elements, 10 parameters, batch 1, fp32
    t = MemoryModel((3, 8, 8)).totals(192, 10, 0, 1, 4)
    assert (t.optimizer, t.amp, t.optimizer_bytes, t.params_bytes) == ("sgd", False, 0, 40)
    assert (t.training_bytes, t.inference_peak_bytes) == (80, 192 * 4 + 40)


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="optimizer must be one of sgd, momentum, adam, adamw"):
        sizecalc.analyze(SMALL, optimizer="lbfgs")


def test_max_pool_indices_count_at_inference():
    # eval: the input (64) and the pool output (16) are alive, and CPU max pooling fills
    # 16 int64 indices even without autograd: 64*4 + 16*4 + 16*8 = 448 bytes
    text = "input: [1, 8, 8]\nlayers:\n  - {maxpool: 2}\n"
    assert sizecalc.analyze(text).memory.inference_peak_bytes == 64 * 4 + 16 * 4 + 16 * 8
    assert sizecalc.analyze(text, batch=2).memory.inference_peak_bytes == 2 * (64 * 4 + 16 * 4 + 16 * 8)


def test_global_max_pool_indices_count_at_inference():
    # 2x4x4 input (32) -> 2 outputs and 2 int64 indices
    text = "input: [2, 4, 4]\nlayers:\n  - global_maxpool\n"
    assert sizecalc.analyze(text).memory.inference_peak_bytes == 32 * 4 + 2 * 4 + 2 * 8


def test_dropout_passes_its_input_through_at_inference():
    # eval: conv output (4x4x16 = 256) + input (64); dropout is the identity, flatten a view,
    # so the fc adds only its 10 outputs: 330 elements (a copying dropout would make it 576)
    text = """
input: [4, 4, 4]
layers:
  - {conv: 16, kernel: 1}
  - dropout
  - flatten
  - {fc: 10}
"""
    params = (4 + 1) * 16 + (256 + 1) * 10
    assert sizecalc.analyze(text).memory.inference_peak_bytes == 330 * 4 + params * 4


def test_dropout_keeps_its_noise_in_the_activation_dtype_on_cpu_and_a_byte_mask_on_cuda():
    text = "input: [2, 4, 4]\nlayers:\n  - {conv: 2, kernel: 1}\n  - dropout\n"
    # conv keeps its input (32), dropout its noise (32 elements): fp32 on the CPU, 1 byte on CUDA
    assert sizecalc.analyze(text, batch=3).memory.saved_bytes == 3 * (32 * 4 + 32 * 4)
    assert sizecalc.analyze(text, batch=3, device="cuda").memory.saved_bytes == 3 * (32 * 4 + 32 * 1)


def test_lrn_keeps_its_input_and_two_intermediates():
    # conv keeps the input (3*16); LRN (size 3) keeps its input (4*16), the squared input padded
    # by 2 channels ((4 + 2)*16) and two 4x4x4 intermediates (2*4*16): 48 + 64 + 96 + 128 elements
    text = "input: [3, 4, 4]\nlayers:\n  - {conv: 4, kernel: 1}\n  - {lrn: 3}\n"
    assert sizecalc.analyze(text, batch=2).memory.saved_bytes == 2 * (48 + 64 + 96 + 128) * 4


def test_group_norm_statistics_are_in_the_activation_dtype_per_sample():
    # conv keeps 3*16, group norm its input 4*16 and mean + rstd per group (2 x 2) per sample, in
    # the activation dtype as torch's CPU native_group_norm returns them (saved_tensors_hooks)
    text = "input: [3, 4, 4]\nlayers:\n  - {conv: 4, kernel: 1}\n  - {groupnorm: 2}\n"
    assert sizecalc.analyze(text, batch=3, dtype="bf16").memory.saved_bytes == 3 * ((48 + 64) * 2 + 4 * 2)


def test_a_view_shares_the_storage_it_saves():
    # relu keeps its output (2x4x4 = 32); the fc keeps its input, a flattened view of that same
    # output: counted once. conv keeps the network input (48): (48 + 32) x 4 bytes
    text = "input: [3, 4, 4]\nlayers:\n  - {conv: 2, kernel: 1}\n  - relu\n  - flatten\n  - {fc: 5}\n"
    assert sizecalc.analyze(text).memory.saved_bytes == (48 + 32) * 4


def test_in_place_relu_allocates_nothing_at_inference():
    # eval: input 192 + conv output 512 (relu writes into it), then + pool output 128 and
    # its 128 int64 indices: 832 x 4 + 1024 bytes at the pool
    inplace = SMALL.replace("  - relu\n", "  - {relu: {inplace: true}}\n")
    assert sizecalc.analyze(inplace).memory.inference_peak_bytes == 832 * 4 + 128 * 8 + PARAMS * 4


def test_a_layer_without_parameters_on_the_input_saves_nothing():
    # no gradient flows into the input: the max pool keeps nothing; the conv keeps its input (3*16)
    text = "input: [3, 8, 8]\nlayers:\n  - {maxpool: 2}\n  - {conv: 2, kernel: 1}\n"
    report = sizecalc.analyze(text)
    assert [r.saved_bytes for r in report.rows] == [0, 3 * 16 * 4]


def test_multiply_keeps_both_inputs():
    # mul keeps both of its inputs (a: 2x16, b: 2x16); conv a and conv b keep the same network
    # input (3*16), counted once: (48 + 32 + 32) x 4
    text = """
input: [3, 4, 4]
layers:
  - {id: a, conv: 2, kernel: 1}
  - {id: b, from: input, conv: 2, kernel: 1}
  - {mul: [a, b]}
"""
    assert sizecalc.analyze(text).memory.saved_bytes == (48 + 32 + 32) * 4


def test_an_unused_output_is_freed_at_inference():
    # eval: a (8x4x4 = 128) is never read, so it is freed as soon as it is made; then b (32):
    # the peak is input 16 + a 128 = 144 elements
    text = "input: [1, 4, 4]\nlayers:\n  - {id: a, conv: 8, kernel: 1}\n  - {from: input, conv: 2, kernel: 1}\n"
    params = 2 * 8 + 2 * 2
    assert sizecalc.analyze(text).memory.inference_peak_bytes == 144 * 4 + params * 4


def test_a_model_without_layers_holds_its_input():
    assert MemoryModel((3, 4, 4)).inference_peak_bytes(2) == 48 * 2


# --- the largest batch that fits ---------------------------------------------------------

def test_largest_batch_at_the_edges_of_the_budget():
    report = sizecalc.analyze(SMALL)
    # sgd, fp32: weights + gradients 1514 x 8 bytes, plus the saved bytes of each sample
    fixed, per_sample = PARAMS * 8, SAVED_ELEMS * 4 + INDEX_BYTES

    def training(batch):
        return fixed + per_sample * batch

    training_at = report.memory.training_at
    assert largest_batch(training_at, training(5)) == 5
    assert largest_batch(training_at, training(5) - 1) == 4
    assert largest_batch(training_at, training(1)) == 1
    assert largest_batch(training_at, training(1) - 1) == 0
    assert largest_batch(training_at, training(100), limit=7) == 7


@pytest.mark.parametrize("optimizer,amp", [("sgd", False), ("adam", True)])
def test_the_report_states_training_memory_as_a_line_in_the_batch(optimizer, amp):
    # sgd, fp32: weights + gradients (1514 x 8 bytes) whatever the batch; each sample adds its
    # saved activations (832 elements x 4 bytes) and the pool's 128 int64 indices
    m = sizecalc.analyze(SMALL, batch=3).memory
    assert (m.training_fixed_bytes, m.training_per_sample_bytes) == (PARAMS * 8, SAVED_ELEMS * 4 + INDEX_BYTES)
    # the line gives, at any batch, what analysing at that batch gives
    line = sizecalc.analyze(SMALL, batch=3, optimizer=optimizer, amp=amp).memory
    for batch in (1, 2, 7, 1000):
        at = sizecalc.analyze(SMALL, batch=batch, optimizer=optimizer, amp=amp).memory.training_bytes
        assert line.training_at(batch) == at


def plain(value) -> bool:
    """Numbers, text, containers of them, and records whose every field is plain."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(plain(k) and plain(v) for k, v in value.items())
    fields = getattr(type(value), "__record_fields__", None)
    return fields is not None and set(vars(value)) <= set(fields) and all(plain(getattr(value, f)) for f in fields)


def test_the_report_is_plain_records():
    # what the engine computed is in the fields; no model object rides along to compute more
    report = sizecalc.analyze(SMALL)
    assert plain(report)


def test_largest_batch_when_memory_jumps():
    # 110, 120, 130, then 190 from batch 4: the straight line through 1 and 2 would say 6
    def curve(b):
        return 100 + 10 * b + (50 if b > 3 else 0)
    assert largest_batch(curve, 165) == 3
    assert largest_batch(curve, 190) == 4


def test_largest_batch_when_memory_flattens():
    # 120, 140, then 5 more per sample: the straight line through 1 and 2 would say 3
    def curve(b):
        return 100 + 20 * b if b <= 2 else 140 + 5 * (b - 2)
    assert largest_batch(curve, 160) == 6
    assert largest_batch(curve, 159) == 5


def test_largest_batch_without_per_sample_memory_is_the_limit():
    # a pool on the input has no parameters and saves nothing: training takes 0 bytes at any batch
    report = sizecalc.analyze("input: [1, 4, 4]\nlayers:\n  - {maxpool: 2}\n")
    assert largest_batch(report.memory.training_at, 0, limit=9) == 9


# --- sizes as people type them -----------------------------------------------------------

def test_parse_bytes_reads_units_case_and_spaces():
    assert parse_bytes(" 16 gib ") == 16 * 1024 ** 3
    assert parse_bytes("1.5k") == 1500
    assert parse_bytes("2 TiB") == 2 * 1024 ** 4
    assert parse_bytes("1000000") == 10 ** 6
    assert parse_bytes("1 000 000") == 10 ** 6
    assert parse_bytes("1e18") == 10 ** 18  # the largest accepted


@pytest.mark.parametrize("text,message", [
    ("GiB", "'GiB' is not a size such as 16GiB, 24GB or 512MiB"),
    ("12 furlongs", "'12 furlongs' is not a size such as 16GiB, 24GB or 512MiB"),
    ("1.2.3GB", "'1.2.3GB' is not a size such as 16GiB, 24GB or 512MiB"),
    ("0", "'0' must be a positive size of at most 1 EB (10^18 bytes)"),
    ("-1", "'-1' must be a positive size of at most 1 EB (10^18 bytes)"),
    ("2e18", "'2e18' must be a positive size of at most 1 EB (10^18 bytes)"),
])
def test_parse_bytes_refuses_with_the_text(text, message):
    with pytest.raises(ValueError) as err:
        parse_bytes(text)
    assert str(err.value) == message
