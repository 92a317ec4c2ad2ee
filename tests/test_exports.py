"""The core's public surface: every private module's ``__all__``, re-exported by name."""

from __future__ import annotations

import importlib
import pkgutil

import scaled_mcp.protocol as core


def test_every_public_name_is_exported_once_and_documented() -> None:
    seen: dict[str, str] = {}
    for info in pkgutil.iter_modules(core.__path__):
        module = importlib.import_module(f"{core.__name__}.{info.name}")
        assert info.name.startswith("_"), f"{info.name}: core modules are private"
        assert module.__doc__, f"{info.name} has no docstring"
        for name in module.__all__:
            assert name not in seen, f"{name} is public in {seen.get(name)} and {info.name}"
            seen[name] = info.name
            assert getattr(core, name) is getattr(module, name), name
    assert sorted(core.__all__) == sorted(seen)
    for name in core.__all__:
        value = getattr(core, name)
        if callable(value) and getattr(value, "__module__", "").startswith(core.__name__):
            assert value.__doc__, f"{name} has no docstring"
