"""Which built-in networks the torch-heavy tests (build, run, export, measure memory) take
by default: one member for each kind of block, so that every kind is built and run (plain,
bottleneck, grouped, dense, inception, depthwise, squeeze-excitation, shuffle, transposed).
Every other network (the 2012 and lecture AlexNets, ZFNet, VGG-BN, SqueezeNet, MNASNet, ResNet-34
to -152, EfficientNet-B1 to B7, RegNet up to Y-128GF, the transformers, ...) is marked `slow` and
runs with `pytest --slow` (tests/conftest.py): building and running them all on the CPU would
take the default run past its 3 minutes. The static figures of every network are still checked
by default (tests/test_zoo*.py), and the torchvision ones are built on meta against
torchvision's published parameter counts (tests/test_torch_backend.py)."""

from __future__ import annotations

import pytest

from sizecalc.spec import zoo

DEFAULT = {
    # plain (LeNet, the lecture's CIFAR net, AlexNet, VGG), bottleneck (ResNet-18/50, grouped in
    # ResNeXt), dense (DenseNet), inception (GoogLeNet, Inception v3), depthwise and
    # squeeze-excitation (MobileNet v2, v3-Small, EfficientNet-B0, RegNetY), shuffle (ShuffleNet)
    "alexnet", "cifar-simple", "densenet121", "efficientnet_b0", "googlenet", "inception_v3", "lenet5",
    "mobilenet_v2", "resnet18", "resnet50", "resnext50_32x4d", "vgg16",
    "mobilenet_v3_small", "regnet_y_400mf", "shufflenet_v2_x0_5",
    "dcgan_generator",  # transposed convs at 64x64: built and run in about a second
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
