"""Which built-in networks the torch-heavy tests (build, run, export, measure memory) take
by default: the networks that were built in before the families, and the smallest member
of each new family. Every other variant (EfficientNet-B1 to B7, RegNet up to Y-128GF, ...)
is marked `slow` and runs with `pytest --slow` (tests/conftest.py): building and running
them on the CPU would take the default run past its time. The static figures of every
variant are still checked by default (tests/test_zoo*.py)."""

from __future__ import annotations

import pytest

from sizecalc.spec import zoo

DEFAULT = {
    "alexnet", "alexnet-2012", "alexnet-cs231n", "cifar-simple", "densenet121", "efficientnet_b0", "googlenet",
    "inception_v3", "lenet5", "mobilenet_v2", "mobilenet_v3_large", "resnet18", "resnet34", "resnet50",
    "resnet101", "resnet152", "resnext50_32x4d", "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1",
    "vgg11", "vgg16", "vgg16_bn", "vgg19", "wide_resnet50_2", "zfnet",
    # the smallest member of each family added with them
    "mnasnet0_5", "mobilenet_v3_small", "regnet_x_400mf", "regnet_y_400mf", "shufflenet_v2_x0_5",
    "dcgan_generator", "dcgan_discriminator",  # 64x64: built and run in about a second
}


def every_network() -> list:
    """zoo.names() as pytest parameters, the ones outside DEFAULT marked slow."""
    return [name if name in DEFAULT else pytest.param(name, marks=pytest.mark.slow) for name in zoo.names()]
