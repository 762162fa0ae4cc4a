"""Which built-in networks the torch-heavy tests (build, run, export, measure memory) take
by default: one or two members of each family, chosen so that every kind of block is built
and run (plain, bottleneck, grouped, dense, inception, squeeze-excitation, shuffle, LRN), and
the 64x64 DCGAN pair. Every other variant (ResNet-34, -101 and -152, VGG-11 and -19, ZFNet,
MobileNetV3-Large, EfficientNet-B1 to B7, RegNet up to Y-128GF, ...) is marked `slow` and runs
with `pytest --slow` (tests/conftest.py): building and running them all on the CPU would take
the default run past its 3 minutes. The static figures of every variant are still checked by default
(tests/test_zoo*.py)."""

from __future__ import annotations

import pytest

from sizecalc.spec import zoo

DEFAULT = {
    # the classic networks: plain (LeNet, AlexNet and its two papers' variants with LRN and
    # groups, VGG with and without batch norm), bottleneck (ResNet-18/50, ResNeXt),
    # dense, inception (GoogLeNet, Inception v3), fire (SqueezeNet), depthwise (MobileNet v2/v3)
    "alexnet", "alexnet-2012", "alexnet-cs231n", "cifar-simple", "densenet121", "efficientnet_b0", "googlenet",
    "inception_v3", "lenet5", "mobilenet_v2", "resnet18", "resnet50", "resnext50_32x4d", "squeezenet1_0",
    "vgg16", "vgg16_bn",
    # the smallest member of each family added with them
    "mnasnet0_5", "mobilenet_v3_small", "regnet_y_400mf", "shufflenet_v2_x0_5",
    "dcgan_generator", "dcgan_discriminator",  # 64x64: built and run in about a second
}


def every_network(gaps: dict | None = None) -> list:
    """zoo.names() as pytest parameters, the ones outside DEFAULT marked slow; `gaps` names
    networks where a figure is known to differ from torch's (a strict xfail with the reason)."""
    gaps = gaps or {}
    params = []
    for name in zoo.names():
        marks = [] if name in DEFAULT else [pytest.mark.slow]
        if name in gaps:
            marks.append(pytest.mark.xfail(reason=gaps[name], strict=True))
        params.append(pytest.param(name, marks=marks) if marks else name)
    return params
