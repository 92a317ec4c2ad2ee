"""Test MCP apps and servers with pytest: the ``scaled_mcp`` pytest plugin.

Installed with the package (a ``pytest11`` entry point), it adds:

- ``mcp_app``: the :class:`~scaled_mcp.MCPServer` under test, named by the
  ``@pytest.mark.mcp_app(APP)`` marker (an app, a ``scaled-mcp serve`` TARGET
  such as ``"examples/everything.py"``, or a function returning a fresh app per
  test: ``pytest.mark.mcp_app.with_args(make_app)``, as pytest takes a lone
  callable for the function to mark) on the test, its class or its module
  (``pytestmark``); or define a fixture of that name.
- ``mcp_client``: a connected in-memory :class:`~scaled_mcp.client.Client` of
  ``mcp_app``, in the test's trio run (trio tests: pytest-trio). The
  ``@pytest.mark.mcp_client(**options)`` marker passes options to the client
  (``mode="stateless"``, ``protocol_version=...``, handlers).
- ``mcp_server_url``: ``mcp_app`` served by a real node (the h11 front) on a free
  127.0.0.1 port in a thread of its own, for the test's duration: its
  ``http://.../mcp`` URL, for any client or for :func:`assert_conformant`.
- :func:`assert_conformant` (``scaled-mcp check`` from a synchronous test) and
  :func:`serve_in_thread` (the node of ``mcp_server_url``, as a context manager).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Final

import pytest
import trio

# The package is imported when a fixture is first used, not when pytest loads the
# plugin: every pytest run of a project that installed scaled-mcp loads it.
if TYPE_CHECKING:
    from .client import Client
    from .harness import Report
    from .runtime import RuntimeConfig
    from .server import MCPServer

__all__ = ["assert_conformant", "mcp_app", "mcp_client", "mcp_server_url", "serve_in_thread"]

#: Seconds a node may take to listen, and to stop.
_START_TIMEOUT: Final = 30.0
_STOP_TIMEOUT: Final = 30.0


def pytest_configure(config: pytest.Config) -> None:
    """Declare the plugin's markers (``--strict-markers`` knows them)."""
    config.addinivalue_line(
        "markers", "mcp_app(app): the MCPServer (or factory, or TARGET) mcp_app gives"
    )
    config.addinivalue_line("markers", "mcp_client(**options): the mcp_client's Client options")


def assert_conformant(url: str | None = None, **options: Any) -> Report:
    """Check the server at ``url`` (``scaled-mcp check``); :class:`AssertionError`
    listing the failing checks, else the report. From a synchronous test (it runs
    its own trio loop): in a trio test, ``await scaled_mcp.harness.check(url)``."""
    from .harness import assert_conformant as check_and_assert

    return check_and_assert(url, **options)


def _app_of(marked: object) -> MCPServer:
    from .cli import TargetError, load_target
    from .server import MCPServer

    if isinstance(marked, str):
        try:
            return load_target(marked)
        except TargetError as exc:
            raise pytest.UsageError(f"mcp_app({marked!r}): {exc}") from None
    if not isinstance(marked, MCPServer) and callable(marked):
        marked = marked()
    if not isinstance(marked, MCPServer):
        raise pytest.UsageError(f"mcp_app needs an MCPServer, got {type(marked).__name__}")
    return marked


@pytest.fixture
def mcp_app(request: pytest.FixtureRequest) -> MCPServer:
    """The app under test, from the ``mcp_app`` marker (see the module)."""
    marker = request.node.get_closest_marker("mcp_app")
    if marker is None or len(marker.args) != 1:
        raise pytest.UsageError(
            "mark the test with @pytest.mark.mcp_app(app) or define an mcp_app fixture"
        )
    return _app_of(marker.args[0])


@pytest.fixture
async def mcp_client(mcp_app: MCPServer, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """A connected in-memory client of ``mcp_app`` (options: the ``mcp_client`` marker)."""
    from .client import Client

    marker = request.node.get_closest_marker("mcp_client")
    options = dict(marker.kwargs) if marker is not None else {}
    async with Client(mcp_app, **options) as client:
        yield client


@contextmanager
def serve_in_thread(
    app: MCPServer, *, host: str = "127.0.0.1", config: RuntimeConfig | None = None
) -> Iterator[str]:
    """Serve ``app`` on the h11 front on a free port of ``host``, in a thread with its
    own trio run, for the duration of the context; its ``http://host:port/mcp``."""
    from .runtime import Runtime, RuntimeConfig, serve_h11

    runtime_config = config or RuntimeConfig(shutdown_grace=1)
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        runtime = Runtime(app, config=runtime_config)
        stop = trio.Event()
        async with runtime.run(), trio.open_nursery() as nursery:
            listeners = await nursery.start(
                functools.partial(serve_h11, runtime, host, 0, shutdown=stop)
            )
            state["port"] = listeners[0].socket.getsockname()[1]
            state["stop"] = stop
            state["token"] = trio.lowlevel.current_trio_token()
            ready.set()
            await stop.wait()
            nursery.cancel_scope.deadline = trio.current_time() + runtime_config.shutdown_grace + 1

    def run() -> None:
        try:
            trio.run(serve)
        except BaseException as exc:  # reported to the test, in its thread
            state["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="scaled-mcp test node", daemon=True)
    thread.start()
    if not ready.wait(_START_TIMEOUT):
        raise RuntimeError(f"the node did not listen within {_START_TIMEOUT:g} s")
    if "port" not in state:
        thread.join(_STOP_TIMEOUT)
        raise RuntimeError(f"the node did not start: {state.get('error')!r}")
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{state['port']}/mcp"
    finally:
        stop: Callable[[], None] = state["stop"].set
        with suppress(trio.RunFinishedError):
            trio.from_thread.run_sync(stop, trio_token=state["token"])
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"the node did not stop within {_STOP_TIMEOUT:g} s")
        if "error" in state:
            raise RuntimeError(f"the node failed: {state['error']!r}") from state["error"]


@pytest.fixture
def mcp_server_url(mcp_app: MCPServer) -> Iterator[str]:
    """``mcp_app`` served by a real node on a free port: its URL (see the module)."""
    with serve_in_thread(mcp_app) as url:
        yield url
