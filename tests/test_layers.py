"""The layers above the core use its public surface only.

The runtime, the app API, the cluster layer, the CLI and the adapters import the
core from its namespaces (``scaled_mcp.protocol.http``, ...) or its top level:
never a private module (``scaled_mcp.protocol._session``) nor a private name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scaled_mcp

CORE = "scaled_mcp.protocol"
PACKAGE = Path(scaled_mcp.__file__).parent
ADAPTERS = Path(__file__).parent.parent / "adapters"


def _dotted(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: Every module of the layers above the core, with its dotted name.
LAYER_MODULES = {
    **{
        _dotted(path, PACKAGE.parent): path
        for layer in ("runtime", "server", "cluster")
        for path in sorted((PACKAGE / layer).rglob("*.py"))
    },
    "scaled_mcp.cli": PACKAGE / "cli.py",
    "scaled_mcp": PACKAGE / "__init__.py",
    **{_dotted(path, ADAPTERS): path for path in sorted(ADAPTERS.rglob("*.py"))},
}


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The dotted name ``node`` imports from, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _core_imports(module: str, path: Path) -> list[str]:
    """Every name ``module`` imports from the core, as ``module.name`` (or a module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith(CORE)]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, path, node)
            if source == CORE or source.startswith(CORE + "."):
                found += [f"{source}.{alias.name}" for alias in node.names]
    return found


def test_every_layer_is_checked() -> None:
    assert {
        "scaled_mcp.runtime._runtime",
        "scaled_mcp.server._app",
        "scaled_mcp.cluster._ports",
        "scaled_mcp.cli",
        "scaled_mcp_hypercorn",
        "scaled_mcp_redis",
    } <= set(LAYER_MODULES)
    assert any(_core_imports(module, path) for module, path in LAYER_MODULES.items())


def test_relative_imports_resolve() -> None:
    node = ast.parse("from ..protocol.http import decide").body[0]
    assert isinstance(node, ast.ImportFrom)
    runtime = PACKAGE / "runtime" / "_h11.py"
    assert _absolute("scaled_mcp.runtime._h11", runtime, node) == "scaled_mcp.protocol.http"
    node = ast.parse("from .protocol import http").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _absolute("scaled_mcp", PACKAGE / "__init__.py", node) == "scaled_mcp.protocol"


@pytest.mark.parametrize("module", sorted(LAYER_MODULES))
def test_no_layer_imports_a_private_part_of_the_core(module: str) -> None:
    for name in _core_imports(module, LAYER_MODULES[module]):
        private = [part for part in name.split(".") if part.startswith("_")]
        assert not private, f"{module} imports {name}: use the core's namespaces"
