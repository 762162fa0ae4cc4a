"""The built-in zoo: one YAML spec per network. Installed as the `sizecalc.zoo` package.

Classifier input, the rule every spec here follows: where the network as published has a
fixed classifier input (no adaptive or global pool before its first fc), that fc pins its
input size (`inputs:`, torch's in_features), so any other input size is an error with both
sizes, not a network with other params: the lecture's AlexNet (alexnet-cs231n, 6x6x256 =
9,216) and VGG tables (vgg16, vgg19: 7x7x512 = 25,088), the paper's AlexNet (alexnet-2012),
ZFNet (6x6x512 = 18,432), LeNet-5 (F6 on C5's 1x1x120) and the lecture's CIFAR example
(cifar-simple, 16x16x12 = 3,072). torchvision's networks (alexnet, vgg11, vgg16_bn, the
ResNets, ...) pool adaptively or globally before the classifier, so every large enough input
fits, and they pin nothing.
"""
