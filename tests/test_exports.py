"""The core's public surface: namespaces that re-export the private modules' names.

Every name a private module makes public (its ``__all__``) is exported by exactly
one namespace (``scaled_mcp.protocol.http``, ``.session``, ...), and a namespace
exports nothing else. The top level keeps the embedding API the README and
``examples/custom_transport.py`` show, and the namespaces.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import scaled_mcp.protocol as core

ROOT = Path(__file__).parent.parent

NAMESPACES = {
    "client",
    "http",
    "http1",
    "jsonrpc",
    "nodes",
    "notifications",
    "oauth",
    "session",
    "sse",
    "stateless",
    "tasks",
    "types",
    "versions",
    "websocket",
}
#: What an embedding needs first: a session, the codec and the errors.
EMBEDDING_API = {
    "ErrorCode",
    "LocalProtocolError",
    "Message",
    "RemoteProtocolError",
    "ReplyReady",
    "RequestReceived",
    "ServerConfig",
    "ServerSession",
    "decode_message",
    "encode_message",
    "error_response_for",
}


def _modules(private: bool) -> dict[str, ModuleType]:
    return {
        info.name: importlib.import_module(f"{core.__name__}.{info.name}")
        for info in pkgutil.iter_modules(core.__path__)
        if info.name.startswith("_") == private
    }


def _documented(name: str, value: object) -> None:
    if callable(value) and getattr(value, "__module__", "").startswith(core.__name__):
        assert value.__doc__, f"{name} has no docstring"


def test_the_namespaces_are_the_public_modules() -> None:
    assert set(_modules(private=False)) == NAMESPACES
    for name, namespace in _modules(private=False).items():
        assert namespace.__doc__, f"{name} has no docstring"
        assert getattr(core, name) is namespace, name


def test_every_private_name_is_exported_by_exactly_one_namespace() -> None:
    namespaces = _modules(private=False)
    for module_name, module in _modules(private=True).items():
        assert module.__doc__, f"{module_name} has no docstring"
        for name in module.__all__:
            exporters = [ns for ns, namespace in namespaces.items() if name in namespace.__all__]
            assert len(exporters) == 1, f"{module_name}.{name} is exported by {exporters}"
            assert getattr(namespaces[exporters[0]], name) is getattr(module, name), name


def test_a_namespace_exports_only_private_modules_names() -> None:
    public = {name: module for module in _modules(private=True).values() for name in module.__all__}
    for ns, namespace in _modules(private=False).items():
        assert len(set(namespace.__all__)) == len(namespace.__all__), f"{ns}: a name twice"
        for name in namespace.__all__:
            assert name in public, f"{ns}.{name} is in no private module's __all__"
            value = getattr(namespace, name)
            assert value is getattr(public[name], name), f"{ns}.{name}"
            _documented(f"{ns}.{name}", value)


def test_the_top_level_is_the_embedding_api_and_the_namespaces() -> None:
    assert set(core.__all__) == EMBEDDING_API | NAMESPACES
    assert len(core.__all__) == len(set(core.__all__))
    for name in EMBEDDING_API:
        homes = [ns for ns in NAMESPACES if name in getattr(core, ns).__all__]
        assert len(homes) == 1, name
        assert getattr(core, name) is getattr(getattr(core, homes[0]), name), name
        _documented(name, getattr(core, name))


def _imported_from_the_top_level(source: str) -> set[str]:
    return {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module == core.__name__
        for alias in node.names
    }


def test_the_embedding_examples_import_only_the_top_level() -> None:
    readme = (ROOT / "README.md").read_text()
    embedding = readme.split("### Embedding it\n\n```python\n", 1)[1].split("```", 1)[0]
    example = (ROOT / "examples" / "custom_transport.py").read_text()
    shown = _imported_from_the_top_level(embedding) | _imported_from_the_top_level(example)
    assert shown, "the examples import from the top level"
    assert shown <= EMBEDDING_API, shown - EMBEDDING_API
