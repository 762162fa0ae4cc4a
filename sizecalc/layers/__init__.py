"""Layer families: one module each, all registered in `base.REGISTRY` on import."""

from . import activation, channel, conv, fc, local, merge, norm, pool  # noqa: F401  (registers)
from .base import ALIASES, REGISTRY, Field, LayerKind, Sizing, lookup  # noqa: F401
