"""Property: sizecalc's window geometry is torch's.

Random 1-D/2-D/3-D convolutions and max/avg pools (sizes, kernels, strides, paddings,
dilations, groups, ceil mode) are built both ways: by torch's own modules on tiny CPU tensors,
and by sizecalc from YAML text. Whenever torch accepts a configuration, sizecalc's output
volume under floor (ceil for ceil_mode) is torch's; whenever torch raises, sizecalc reports
an error; under `rounding: exact` sizecalc refuses exactly the configurations whose division
leaves a remainder. Bounded by the `ci` profile (tests/conftest.py); for a long run:
`pytest tests/test_torch_property.py --hypothesis-profile=long`.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import example, given, strategies as st  # noqa: E402

from sizecalc.engine.walk import analyze  # noqa: E402
from sizecalc.core.errors import SpecError  # noqa: E402
from sizecalc.spec import loads  # noqa: E402

MAX_SIZE = {1: 20, 2: 11, 3: 6}


@st.composite
def windows(draw):
    op = draw(st.sampled_from(["conv", "maxpool", "avgpool"]))
    n = draw(st.integers(1, 3))
    per_dim = lambda lo, hi: [draw(st.integers(lo, hi)) for _ in range(n)]  # noqa: E731
    cfg = dict(op=op, n=n, size=per_dim(1, MAX_SIZE[n]), kernel=per_dim(1, 5), stride=per_dim(1, 4),
               padding=per_dim(0, 3), dilation=per_dim(1, 3) if op != "avgpool" else [1] * n)
    if op == "conv":
        groups = draw(st.integers(1, 3))
        # mostly channels that groups divide; now and then not, to see both refuse
        cfg.update(groups=groups, channels=groups * draw(st.integers(1, 2)) + draw(st.sampled_from([0, 0, 0, 1])),
                   filters=groups * draw(st.integers(1, 2)))
        word = draw(st.sampled_from([None] * 6 + ["same", "valid"]))
        if word:  # torch's padding strings: 'same' needs stride 1 in torch and in sizecalc
            cfg["padding"] = word
    else:
        cfg.update(channels=draw(st.integers(1, 2)), ceil=draw(st.booleans()),
                   default_stride=draw(st.booleans()))
        if cfg["default_stride"]:
            cfg["stride"] = list(cfg["kernel"])
        if op == "avgpool":
            cfg["count_include_pad"] = draw(st.booleans())
    return cfg


def torch_shape(cfg) -> tuple | None:
    """Torch's output shape (channels first, no batch), or None if torch refuses."""
    nn = torch.nn
    n = cfg["n"]
    try:
        if cfg["op"] == "conv":
            module = getattr(nn, f"Conv{n}d")(cfg["channels"], cfg["filters"], cfg["kernel"], cfg["stride"],
                                              cfg["padding"], cfg["dilation"], cfg["groups"])
        elif cfg["op"] == "maxpool":
            module = getattr(nn, f"MaxPool{n}d")(cfg["kernel"], None if cfg["default_stride"] else cfg["stride"],
                                                 cfg["padding"], cfg["dilation"], ceil_mode=cfg["ceil"])
        else:
            module = getattr(nn, f"AvgPool{n}d")(cfg["kernel"], None if cfg["default_stride"] else cfg["stride"],
                                                 cfg["padding"], ceil_mode=cfg["ceil"],
                                                 count_include_pad=cfg["count_include_pad"])
        with torch.no_grad():
            return tuple(module(torch.zeros(1, cfg["channels"], *cfg["size"])).shape[1:])
    except (RuntimeError, ValueError):
        return None


def spec_text(cfg, rounding: str) -> str:
    args = {"kernel": cfg["kernel"], "padding": cfg["padding"], "rounding": rounding}
    if cfg["op"] != "avgpool":
        args["dilation"] = cfg["dilation"]
    if cfg["op"] == "conv":
        args.update(filters=cfg["filters"], groups=cfg["groups"])
    if cfg["op"] == "avgpool":
        args["count_include_pad"] = str(cfg["count_include_pad"]).lower()
    if not cfg.get("default_stride"):
        args["stride"] = cfg["stride"]
    body = ", ".join(f"{k}: {v}" for k, v in args.items())
    return f"sizecalc: 1\ninput: {[cfg['channels'], *cfg['size']]}\nlayers:\n  - {{{cfg['op']}: {{{body}}}}}\n"


def sizecalc_shape(cfg, rounding: str) -> tuple | None:
    """sizecalc's output volume, or None if it reports an error."""
    try:
        report = analyze(loads(spec_text(cfg, rounding)))
    except SpecError:
        return None
    return None if report.errors() else tuple(report.rows[0].output)


def total_padding(cfg) -> list[int]:
    """P_lo + P_hi per dimension; 'same' pads D*(F - 1) in all."""
    if cfg["padding"] == "same":
        return [d * (k - 1) for k, d in zip(cfg["kernel"], cfg["dilation"])]
    if cfg["padding"] == "valid":
        return [0] * cfg["n"]
    return [2 * p for p in cfg["padding"]]


def divides(cfg) -> bool:
    """(W + 2P - D*(F - 1) - 1) is a multiple of S in every dimension."""
    return all((w + p - d * (k - 1) - 1) % s == 0 for w, k, s, p, d in
               zip(cfg["size"], cfg["kernel"], cfg["stride"], total_padding(cfg), cfg["dilation"]))


def kernel_exceeds_input(cfg) -> bool:
    return any(d * (k - 1) + 1 > w + p for w, k, p, d in
               zip(cfg["size"], cfg["kernel"], total_padding(cfg), cfg["dilation"]))


# hand-picked corners: torch's ceil_mode rule (the last window must start inside the input or
# the left padding) and its pool padding limit (at most half the kernel, dilation or not)
CORNERS = [
    dict(op="maxpool", n=1, size=[5], kernel=[2], stride=[2], padding=[1], dilation=[1], channels=1, ceil=True,
         default_stride=False),  # (5 - 2 + 2)/2 + 1 = 3.5 -> 4, last window starts at 6 - 1 = 5 < 5 + 1
    dict(op="maxpool", n=1, size=[6], kernel=[2], stride=[2], padding=[1], dilation=[1], channels=1, ceil=True,
         default_stride=False),  # exact: (6 - 2 + 2)/2 + 1 = 4
    dict(op="avgpool", n=2, size=[4, 4], kernel=[3, 3], stride=[2, 2], padding=[1, 1], dilation=[1, 1],
         channels=1, ceil=True, default_stride=False, count_include_pad=True),
    dict(op="maxpool", n=2, size=[7, 7], kernel=[3, 3], stride=[2, 2], padding=[2, 2], dilation=[1, 1],
         channels=1, ceil=False, default_stride=False),  # padding 2 > 3 // 2: torch refuses
    dict(op="maxpool", n=1, size=[9], kernel=[3], stride=[1], padding=[2], dilation=[2], channels=1, ceil=False,
         default_stride=False),  # dilated window 5, but 2 > 3 // 2: torch refuses
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@given(windows())
@example(CORNERS[0])
@example(CORNERS[1])
@example(CORNERS[2])
@example(CORNERS[3])
@example(CORNERS[4])
def test_geometry_is_torchs(cfg):
    rounding = "ceil" if cfg.get("ceil") else "floor"
    theirs = torch_shape(cfg)
    ours = sizecalc_shape(cfg, rounding)
    if theirs is None:
        assert ours is None, f"torch refuses but sizecalc gives {ours}:\n{spec_text(cfg, rounding)}"
    elif ours is None and rounding == "ceil" and kernel_exceeds_input(cfg):
        # torch's ceil_mode lets a window longer than the padded input hang off its end;
        # sizecalc refuses a kernel larger than the padded input under every rounding (DESIGN)
        pass
    else:
        assert ours == theirs, f"torch gives {theirs}, sizecalc {ours}:\n{spec_text(cfg, rounding)}"

    exact = sizecalc_shape(cfg, "exact")
    floor = sizecalc_shape(cfg, "floor")
    if floor is None:
        assert exact is None
    elif divides(cfg):
        assert exact == floor
    else:
        assert exact is None, f"exact accepts a remainder:\n{spec_text(cfg, 'exact')}"
