"""Light records: the subset of `dataclasses` that sizecalc uses, without its start-up cost.

`dataclasses` imports `inspect` (about 7 ms), and each dataclass costs a little more to
create; on the static path, where `sizecalc table` must start about as fast as importing
its dependencies, that is a fifth of the budget. `dataclass` here builds `__init__`,
`__repr__` and `__eq__` from the class annotations (fields of base classes first), with
defaults and `field(default_factory=...)` (a class that writes its own `__init__` keeps it);
`frozen=True` makes records hashable by value and refuses assignment to their fields after
`__init__`, as `dataclasses` does. `replace` copies a record with some fields changed.
"""

from __future__ import annotations

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record."""


class _Spec:
    __slots__ = ("default", "factory", "repr", "compare")

    def __init__(self, default=_MISSING, factory=_MISSING, repr=True, compare=True):
        self.default, self.factory, self.repr, self.compare = default, factory, repr, compare


def field(*, default=_MISSING, default_factory=_MISSING, repr: bool = True, compare: bool = True):
    return _Spec(default, default_factory, repr, compare)


def dataclass(cls=None, /, *, frozen: bool = False):
    if cls is None:
        return lambda c: _build(c, frozen)
    return _build(cls, frozen)


def _specs(cls) -> dict[str, _Spec]:
    """The fields of `cls` from its annotations (base classes first), class attributes reset
    to their defaults."""
    specs: dict[str, _Spec] = {}
    for klass in reversed(cls.__mro__[:-1]):
        for name in klass.__dict__.get("__annotations__", {}):
            value = klass.__dict__.get(name, _MISSING)
            specs[name] = value if isinstance(value, _Spec) else _Spec(value)
    for name, spec in specs.items():
        if isinstance(cls.__dict__.get(name), _Spec):
            if spec.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
    return specs


def _init(cls, specs: dict[str, _Spec], frozen: bool):
    """The generated __init__; a frozen record's assigns around its refusing __setattr__."""
    scope = {"_MISSING": _MISSING, "_set": object.__setattr__}
    assign = "_set(self, {0!r}, {1})" if frozen else "self.{0} = {1}"
    params, body = [], []
    for name, spec in specs.items():
        value = name
        if spec.factory is not _MISSING:
            scope[f"_f_{name}"] = spec.factory
            params.append(f"{name}=_MISSING")
            value = f"_f_{name}() if {name} is _MISSING else {name}"
        elif spec.default is not _MISSING:
            scope[f"_d_{name}"] = spec.default
            params.append(f"{name}=_d_{name}")
        else:
            params.append(name)
        body.append(assign.format(name, value))
    if "__post_init__" in dir(cls):
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n    " + "\n    ".join(body or ["pass"])
    exec(source, scope)  # noqa: S102 - our own generated code, built from annotations only
    return scope["__init__"]


def _build(cls, frozen: bool):
    specs = _specs(cls)
    names = list(specs)
    if "__init__" not in cls.__dict__:
        cls.__init__ = _init(cls, specs, frozen)
    shown = tuple(n for n in names if specs[n].repr)
    compared = tuple(n for n in names if specs[n].compare)
    cls.__record_fields__ = tuple(names)

    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in compared)

    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = __eq__
        cls.__hash__ = (lambda self: hash(tuple(getattr(self, n) for n in compared))) if frozen else None
    if frozen:
        cls.__setattr__ = _refuse
        cls.__delattr__ = _refuse
    return cls


def _refuse(self, name, *value):
    raise FrozenInstanceError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")


def replace(obj, **changes):
    """A copy of record `obj` with some fields changed."""
    return obj.__class__(**{n: changes.get(n, getattr(obj, n)) for n in obj.__record_fields__})
