"""The protocol core imports nothing async and does no I/O of its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import scaled_mcp.protocol

CORE = Path(scaled_mcp.protocol.__file__).parent
FORBIDDEN_LOADED = ("trio", "anyio", "asyncio", "hypercorn", "h11", "coredis", "wsproto")
FORBIDDEN_IMPORTS = {
    "asyncio", "trio", "anyio", "time", "random", "secrets", "os", "socket", "threading",
    "selectors", "subprocess", "uuid", "datetime", "h11", "hypercorn", "coredis", "wsproto",
}  # fmt: skip


def test_importing_the_core_loads_no_async_or_io_library() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import scaled_mcp.protocol as core\n"
        "for info in pkgutil.walk_packages(core.__path__, core.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        f"print(sorted(m for m in {FORBIDDEN_LOADED!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_no_core_module_imports_a_clock_randomness_or_io() -> None:
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_IMPORTS, f"{path.name} imports {name}"
