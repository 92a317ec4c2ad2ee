"""A stdio server run as a child process, for the probe's raw sessions over stdio."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import trio

from ._answer import MAX_BODY, HttpAnswer, decode_json, ids_in
from ._model import Failed

__all__ = ["StdioPipe"]


class StdioPipe:
    """A stdio server run as a child: JSON-RPC messages one a line each way."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._buffer = bytearray()

    @classmethod
    async def start(cls, command: Sequence[str]) -> StdioPipe:
        """Run ``command`` (its stderr discarded)."""
        process = await trio.lowlevel.open_process(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return cls(process)

    async def exchange(
        self, body: object, *, seconds: float, record: Callable[[Any], None]
    ) -> HttpAnswer:
        """Write ``body`` as one line; read lines until every request of it is answered,
        the child ends its output, or ``seconds`` pass (``status`` is 0: no HTTP); ``record``
        gets each message read."""
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        pending = {b"null"} if isinstance(body, bytes) else ids_in(body)
        messages: list[Any] = []
        undecodable = 0
        ended = False
        try:
            await self._stdin.send_all(data + b"\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            ended = True
        with trio.move_on_after(seconds):
            while pending and not ended:
                line_end = self._buffer.find(b"\n")
                if line_end < 0:
                    if len(self._buffer) > MAX_BODY:
                        raise Failed(f"a line longer than {MAX_BODY} bytes")
                    chunk = await self._stdout.receive_some(65536)
                    ended = not chunk
                    self._buffer += chunk
                    continue
                line = bytes(self._buffer[:line_end]).strip()
                del self._buffer[: line_end + 1]
                if not line:
                    continue
                decoded, bad = decode_json(line)
                messages += decoded
                undecodable += bad
                for message in decoded:
                    record(message)
                    if isinstance(message, dict) and "method" not in message:
                        key = orjson.dumps(message.get("id"))
                        # A null id answers what could not be read: nothing else will come.
                        pending = set() if message.get("id") is None else pending - {key}
        return HttpAnswer(
            status=0, headers={}, messages=tuple(messages), undecodable=undecodable, ended=ended
        )

    async def aclose(self) -> None:
        """Close the child's stdin, give it a moment to exit, then kill it."""
        with trio.CancelScope(shield=True):
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await self._stdin.aclose()
            with trio.move_on_after(2):
                await self._process.wait()
            if self._process.returncode is None:
                self._process.kill()
                await self._process.wait()
