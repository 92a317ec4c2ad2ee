"""What lives where. Dependencies point down only: each layer of the package
imports only the layers below it (DESIGN.md, "Layers"). The runtime drives the
application through the protocol it defines, never by importing the app API;
the core imports nothing of the package outside itself, nor an adapter. The
layers above the core and the adapters use the core's public surface only (its
namespaces or its top level, never a private module or name). And the core owns
the JSON-RPC error codes: no other layer writes one as a number."""

from __future__ import annotations

import ast
import importlib.util
import io
import tokenize
from pathlib import Path
from typing import Final

import pytest

import scaled_mcp
import scaled_mcp.server
from scaled_mcp.runtime import Application, InputNeeded, McpError
from scaled_mcp.server import Context, MCPServer

PACKAGE = Path(scaled_mcp.__file__).parent

#: The package's layers, lowest first: a module may import its own layer and those below.
LAYERS: Final = (
    "protocol",
    "cluster",
    "runtime",
    "server",
    "client",
    "harness",
    "cli",
    "testing",
)
#: Packages outside ``scaled_mcp`` that only the CLI may load (by name, lazily).
ADAPTERS: Final = ("scaled_mcp_hypercorn", "scaled_mcp_redis")


def _module_name(path: Path) -> str:
    root = path.parent  # the folder above the outermost package holding ``path``
    while (root / "__init__.py").exists():
        root = root.parent
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, by absolute name (``from a import b`` counts
    as ``a`` and ``a.b``: ``b`` may be a module), under ``TYPE_CHECKING`` too."""
    found: set[str] = set()
    package = _package_of(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "scaled_mcp" and len(parts) >= 2 and parts[1].startswith("_cli_"):
        return "cli"  # a private part of the command line (``_cli_options.py``)
    if parts[0] != "scaled_mcp" or len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return parts[1]


def _sources(layer: str) -> list[Path]:
    directory = PACKAGE / layer
    if directory.is_dir():
        return sorted(directory.rglob("*.py"))
    return [PACKAGE / f"{layer}.py", *sorted(PACKAGE.glob(f"_{layer}_*.py"))]


def _present(layer: str) -> bool:
    return (PACKAGE / layer / "__init__.py").exists() or (PACKAGE / f"{layer}.py").exists()


def test_every_part_of_the_package_is_a_layer() -> None:
    found = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    found = {"cli" if stem.startswith("_cli_") else stem for stem in found}
    assert found - {"__init__"} <= set(LAYERS)
    assert {"protocol", "cluster", "runtime", "server", "cli"} <= found


def test_relative_imports_are_resolved() -> None:
    assert "scaled_mcp.protocol.jsonrpc" in imported_modules(PACKAGE / "runtime" / "_runtime.py")
    assert "scaled_mcp.runtime._front" in imported_modules(PACKAGE / "runtime" / "__init__.py")
    assert "scaled_mcp.runtime.Runtime" in imported_modules(PACKAGE / "cli.py")


ALL_MODULES = [(layer, path) for layer in LAYERS if _present(layer) for path in _sources(layer)]


@pytest.mark.parametrize(
    ("layer", "path"),
    ALL_MODULES,
    ids=[path.relative_to(PACKAGE).as_posix() for _, path in ALL_MODULES],
)
def test_a_module_imports_only_its_layer_and_those_below(layer: str, path: Path) -> None:
    allowed = LAYERS[: LAYERS.index(layer) + 1]
    for module in imported_modules(path):
        above = _layer_of(module)
        assert above is None or above in allowed, f"{path.name} ({layer}) imports {module}"
        if layer != "cli":
            assert module.split(".")[0] not in ADAPTERS, f"{path.name} imports {module}"


@pytest.mark.parametrize(
    "path", _sources("runtime"), ids=lambda path: path.relative_to(PACKAGE).as_posix()
)
def test_the_runtime_imports_neither_the_app_api_nor_the_cli(path: Path) -> None:
    for module in imported_modules(path):
        assert not module.startswith(("scaled_mcp.server", "scaled_mcp.cli")), (
            f"{path.name} imports {module}"
        )


@pytest.mark.parametrize(
    "path", _sources("protocol"), ids=lambda path: path.relative_to(PACKAGE).as_posix()
)
def test_the_core_imports_nothing_above_it(path: Path) -> None:
    for module in imported_modules(path):
        top = module.split(".")[0]
        assert top not in ADAPTERS, f"{path.name} imports {module}"
        if top == "scaled_mcp":
            assert module == "scaled_mcp.protocol" or module.startswith("scaled_mcp.protocol."), (
                f"{path.name} imports {module}"
            )


def test_the_app_api_is_an_application_the_runtime_serves() -> None:
    # mypy checks the assignment: MCPServer has every method the runtime calls.
    app: Application[Context] = MCPServer("layers")
    # Its context factory is the class itself: no call more per request.
    assert app.new_context is Context
    assert scaled_mcp.McpError is McpError and scaled_mcp.server.InputNeeded is InputNeeded


#: JSON-RPC's reserved error codes: "-32768 to -32000 are reserved for pre-defined errors".
RESERVED_CODES: Final = range(32000, 32769)


def _adapter_sources() -> list[Path]:
    found = []
    for name in ADAPTERS:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        found += sorted(Path(spec.origin).parent.rglob("*.py"))
    return found


OUTSIDE_THE_CORE = [
    *(path for layer in LAYERS[1:] if _present(layer) for path in _sources(layer)),
    *_adapter_sources(),
]


def error_code_literals(source: str) -> list[tuple[int, str]]:
    """Where ``source`` writes a reserved JSON-RPC error code as a number
    (``-32602``): line and text. Comments and strings (docstrings) do not count."""
    found = []
    previous: tokenize.TokenInfo | None = None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            continue
        if (
            token.type == tokenize.NUMBER
            and previous is not None
            and previous.type == tokenize.OP
            and previous.string == "-"
        ):
            try:
                value = int(token.string.replace("_", ""), 0)
            except ValueError:
                value = None
            if value in RESERVED_CODES:
                found.append((token.start[0], f"-{token.string}"))
        previous = token
    return found


def test_error_code_literals_are_found_in_code_only() -> None:
    code = '''"""Answers -32602."""
x = -32602  # not -32601
y = {"code": - 32_600, "text": "-32700"}
z = -32769 + 32602 - 1
'''
    assert error_code_literals(code) == [(2, "-32602"), (3, "-32_600")]


@pytest.mark.parametrize(
    "path", OUTSIDE_THE_CORE, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_no_error_code_is_written_as_a_number_outside_the_core(path: Path) -> None:
    # The codes are the core's ErrorCode members (and its rules, such as
    # resource_not_found_code): one place says which code means what.
    assert error_code_literals(path.read_text()) == [], f"{path}: use ErrorCode"


ABOVE_THE_CORE = [*OUTSIDE_THE_CORE, PACKAGE / "__init__.py"]


@pytest.mark.parametrize("path", ABOVE_THE_CORE, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_layer_imports_a_private_part_of_the_core(path: Path) -> None:
    for module in imported_modules(path):
        if module == "scaled_mcp.protocol" or module.startswith("scaled_mcp.protocol."):
            private = [part for part in module.split(".") if part.startswith("_")]
            assert not private, f"{path} imports {module}: use the core's namespaces"


def test_a_private_import_of_the_core_is_seen(tmp_path: Path) -> None:
    planted = PACKAGE / "runtime" / "_h11.py"
    names = imported_modules(planted)
    assert "scaled_mcp.protocol.http.precheck" in names
    assert not any("._" in name for name in names if name.startswith("scaled_mcp.protocol"))
    probe = tmp_path / "probe.py"
    probe.write_text("from scaled_mcp.protocol._session import ServerSession\n")
    assert "scaled_mcp.protocol._session" in imported_modules(probe)
