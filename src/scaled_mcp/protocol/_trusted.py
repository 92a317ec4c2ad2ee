"""The trusted fast path: frozen, slotted attrs instances built from values already checked.

The core's parsers check every field of what they build (a request decoded
from the wire, a ``_meta`` envelope, an SSE event), so building it through the
class's own ``__init__`` would check it twice. The fast path fills the slots
through their descriptors instead (frozen classes refuse a plain ``setattr``),
in straight-line code generated once per class: one descriptor call per field,
no loop and no keyword dict, the cheapest way CPython has to fill one.

- :func:`trusted_constructor` makes a function that builds a ``cls`` from all
  its fields (in field order, by position or by name), for classes whose own
  constructor checks what users give it: the parser calls the function, users
  call the class;
- :func:`trusted_init` gives a class that has nothing to check a keyword-only
  ``__init__`` of that kind, which replaces attrs' own (about twice as fast).

Either way nothing a class checks runs: a validator, a converter or an
``__attrs_post_init__`` check added to such a class would be skipped. Each
class gets :data:`TRUSTED_MARK`, naming which of the two it got, so that a
test finds them all and checks that each skips only what its builder checks
itself.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs

__all__: list[str] = []

#: The class attribute that says a class is built on the trusted fast path:
#: ``"constructor"`` (:func:`trusted_constructor`) or ``"init"`` (:func:`trusted_init`).
TRUSTED_MARK: Final = "__trusted_fast_path__"

T = TypeVar("T")


def _generate(cls: type[Any], *, init: bool) -> Callable[..., Any]:
    """Compile the slot-filling code of ``cls``: a constructor, or an ``__init__``."""
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_NOTHING": attrs.NOTHING}
    parameters: list[str] = []
    body: list[str] = [] if init else ["    self = _new(_cls)"]
    for field in fields:
        name = field.name
        if name == "self" or name.startswith("_"):
            raise TypeError(f"{cls.__name__}.{name}: the trusted fast path needs public names")
        setter = f"_set_{name}"
        namespace[setter] = cls.__dict__[name].__set__
        value = name
        if init and isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            namespace[f"_factory_{name}"] = field.default.factory
            parameters.append(f"{name}=_NOTHING")
            value = f"_factory_{name}() if {name} is _NOTHING else {name}"
        elif init and field.default is not attrs.NOTHING:
            namespace[f"_default_{name}"] = field.default
            parameters.append(f"{name}=_default_{name}")
        else:
            parameters.append(name)
        body.append(f"    {setter}(self, {value})")
    if init:
        signature = f"__init__(self, *, {', '.join(parameters)})"
        function_name = "__init__"
    else:
        body.append("    return self")
        signature = f"build({', '.join(parameters)})"
        function_name = "build"
    source = f"def {signature}:\n" + "\n".join(body) + "\n"
    exec(compile(source, f"<trusted {cls.__qualname__}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[function_name]
    function.__qualname__ = f"{cls.__qualname__}.{function_name}"
    return function


def _check_shape(cls: type[Any]) -> None:
    if not attrs.has(cls) or not all(
        type(cls.__dict__.get(field.name)) is types.MemberDescriptorType
        for field in attrs.fields(cls)
    ):
        raise TypeError(f"{cls.__name__} is not a slotted attrs class")


def trusted_constructor(cls: type[T]) -> Callable[..., T]:
    """A function that builds a ``cls`` from every field, checking nothing.

    It takes the fields in their order (or by name) and none has a default:
    the caller has checked each value, and passes them all.
    """
    _check_shape(cls)
    build = _generate(cls, init=False)
    setattr(cls, TRUSTED_MARK, "constructor")
    return build


def trusted_init(cls: type[T]) -> type[T]:
    """Give ``cls`` a keyword-only ``__init__`` that fills its slots, checking nothing.

    It does what attrs' own ``__init__`` does for a class without validators,
    converters or ``__attrs_post_init__``, defaults and factories included.
    """
    _check_shape(cls)
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    if not all(field.kw_only for field in fields):
        raise TypeError(f"{cls.__name__}: trusted_init keeps keyword-only classes keyword-only")
    # This __init__ is the class's only constructor: a check it skipped would never run.
    if any(field.validator or field.converter for field in fields) or hasattr(
        cls, "__attrs_post_init__"
    ):
        raise TypeError(f"{cls.__name__} checks its fields: trusted_init would skip that")
    setattr(cls, "__init__", _generate(cls, init=True))  # noqa: B010
    setattr(cls, TRUSTED_MARK, "init")
    return cls
