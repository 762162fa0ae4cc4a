"""The built-in zoo against published figures: torchvision's parameter counts and its
"GFLOPS" column (multiply-accumulates), at 224x224 (inception_v3 at 299x299)."""

from __future__ import annotations

import re

import pytest

import sizecalc
from sizecalc.spec import zoo

# torchvision's model documentation: (params, GMACs)
TORCHVISION = {
    "alexnet": (61_100_840, 0.714),
    "vgg11": (132_863_336, 7.609),
    "vgg16": (138_357_544, 15.470),
    "vgg16_bn": (138_365_992, 15.470),
    "vgg19": (143_667_240, 19.632),
    "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801),
    "resnet152": (60_192_808, 11.514),
    "googlenet": (6_624_904, 1.498),
    "inception_v3": (23_834_568, 5.713),
    "mobilenet_v2": (3_504_872, 0.301),
    "mobilenet_v3_large": (5_483_032, 0.217),
    "densenet121": (7_978_856, 2.834),
    "squeezenet1_0": (1_248_424, 0.819),
    "squeezenet1_1": (1_235_496, 0.349),
    "resnext50_32x4d": (25_028_904, 4.230),
    "wide_resnet50_2": (68_883_240, 11.398),
    "efficientnet_b0": (5_288_548, 0.386),
    "shufflenet_v2_x1_0": (2_278_604, 0.145),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_matches_torchvision(name):
    params, gmacs = TORCHVISION[name]
    report = sizecalc.analyze(name)
    assert report.totals.params == params
    assert round(report.totals.macs / 1e9, 3) == gmacs
    expected_side = 299 if name == "inception_v3" else 224
    assert report.input_shape == (3, expected_side, expected_side)
    assert report.output == (1000,)


def test_alexnet_2012_is_about_sixty_million():
    report = sizecalc.analyze("alexnet-2012")
    assert report.input_shape == (3, 227, 227)
    assert 58_000_000 <= report.totals.params <= 62_000_000
    assert report.row("conv2").weights == 256 * 5 * 5 * 48  # groups=2: each filter sees 96/2 channels


@pytest.mark.parametrize("name", zoo.names())
def test_every_builtin_spec_names_its_source_and_schema(name):
    text = zoo.find(name).read_text()
    first = text.splitlines()[0]
    assert first == "# yaml-language-server: $schema=sizecalc.schema.json"
    assert text.splitlines()[1].startswith("# ") and len(text.splitlines()[1]) > 10


@pytest.mark.parametrize("name", zoo.names())
def test_every_builtin_spec_is_clean(name):
    report = sizecalc.analyze(name)
    assert not [f for f in report.findings if f.severity != "info"]


def test_rounding_is_stated_where_used():
    for name in zoo.names():
        text = zoo.find(name).read_text()
        if "rounding: floor" in text or "rounding: ceil" in text:
            assert re.search(r"= \d+\.\d+", text), f"{name} uses rounding without showing the arithmetic"
