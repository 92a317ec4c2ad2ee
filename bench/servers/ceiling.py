"""The ceilings: a bare server that answers every request with the same JSON body.

``python bench/servers/ceiling.py PORT h11|hypercorn``: no MCP at all. ``h11`` is a
trio + h11 loop (the library the direct front falls back to); ``hypercorn`` is a bare
ASGI app under hypercorn's trio worker (what the hypercorn front runs in). They tell
how fast a server *could* be on these fronts on this machine: the load generator's
share and the framework's own cost, with nothing of ours in between.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import h11
import trio

BODY = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}'
HEADERS = [
    (b"content-type", b"application/json"),
    (b"mcp-session-id", b"ceiling"),
    (b"content-length", b"%d" % len(BODY)),
]


async def h11_connection(stream: trio.SocketStream) -> None:
    with contextlib.suppress(trio.BrokenResourceError):
        await _serve(stream)


async def _serve(stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
            continue
        if type(event) is h11.EndOfMessage:
            data = conn.send(h11.Response(status_code=200, headers=HEADERS, reason=b"OK"))
            data += conn.send(h11.Data(data=BODY)) + conn.send(h11.EndOfMessage())
            await stream.send_all(data)
            conn.start_next_cycle()
        elif type(event) is h11.ConnectionClosed or event is h11.PAUSED:
            return


async def serve_h11(port: int) -> None:
    await trio.serve_tcp(h11_connection, port, host="127.0.0.1")


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    port, front = int(sys.argv[1]), sys.argv[2]
    if front == "h11":
        trio.run(serve_h11, port)
        return
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    trio.run(serve, asgi_app, config)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
