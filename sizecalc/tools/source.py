"""Where the commands read a network from: a spec (path, built-in name, `-`) or an ONNX file,
imported in memory (tools/onnx_import.py), picked by the `.onnx` suffix. Only an ONNX file
imports `onnx`; a spec never does."""

from __future__ import annotations


def load(spec: str, input_shape: tuple | None = None, variant: str | None = None):
    """The Graph of `spec`, as spec.load makes it, or of the ONNX file `spec` names."""
    from .onnx_import import is_onnx
    if is_onnx(spec) and variant is None:
        from .onnx_import import load_onnx
        return load_onnx(spec, input_shape)
    from ..spec import load as load_spec
    return load_spec(spec, input_shape, variant)
