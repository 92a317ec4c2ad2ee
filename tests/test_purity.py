"""The protocol core imports nothing async and does no I/O of its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import scaled_mcp.protocol

CORE = Path(scaled_mcp.protocol.__file__).parent
#: Every source file of the core, subpackages included: each is checked on its own.
CORE_MODULES = sorted(CORE.rglob("*.py"))
FORBIDDEN_LOADED = ("trio", "anyio", "asyncio", "hypercorn", "h11", "coredis", "wsproto")
FORBIDDEN_IMPORTS = {
    "asyncio", "trio", "anyio", "time", "random", "secrets", "os", "socket", "threading",
    "selectors", "subprocess", "uuid", "datetime", "h11", "hypercorn", "coredis", "wsproto",
    "io", "pathlib", "shutil", "tempfile", "select", "signal", "ssl", "mmap", "_thread",
    "multiprocessing", "concurrent", "socketserver", "sqlite3",
}  # fmt: skip
#: Submodules that do I/O in packages whose other parts are pure (``urllib.parse`` is).
FORBIDDEN_SUBMODULES = {"urllib.request", "http.client", "http.server"}
#: Builtins that read or write a file or the terminal.
FORBIDDEN_CALLS = {"open", "print", "input", "breakpoint"}


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


def test_every_core_module_is_checked() -> None:
    names = {path.relative_to(CORE).as_posix() for path in CORE_MODULES}
    assert len(names) > 5
    # The HTTP/1.1 framing does no I/O: it is part of the core and held to its rules.
    assert {"__init__.py", "_http1.py", "_http_routing.py", "_session.py"} <= names


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda path: path.relative_to(CORE).as_posix())
def test_no_core_module_imports_a_clock_randomness_or_io(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{path.name} calls {node.func.id}()"
            continue
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_IMPORTS, f"{path.name} imports {name}"
            assert not any(
                name == module or name.startswith(module + ".") for module in FORBIDDEN_SUBMODULES
            ), f"{path.name} imports {name}"
