"""The redirect step for a person at a desktop: :class:`BrowserRedirect`.

It opens the authorization URL in the user's browser and waits, on a loopback
port (RFC 8252 §7.3), for the authorization server to send the browser back to
the redirect URI; the query of that request is the authorization response.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import h11
import trio

__all__ = ["BrowserRedirect"]

_PAGE: Final = (
    b"<!doctype html><title>Authorized</title>"
    b"<p>The application has its answer: you can close this window.</p>"
)
_MAX_REQUEST: Final = 16_384


class BrowserRedirect:
    """A ``redirect_handler`` for :class:`~scaled_mcp.client.OAuth` that uses the browser.

    Pass ``redirect_uri=handler.redirect_uri`` to ``OAuth`` along with it. The
    wait for the user is bounded by ``OAuth``'s ``redirect_timeout``; each
    connection to the loopback port by ``connection_timeout`` seconds.
    ``open_browser`` opens a URL (the standard library's :func:`webbrowser.open`).
    """

    def __init__(
        self,
        port: int = 3000,
        path: str = "/callback",
        *,
        host: str = "127.0.0.1",
        open_browser: Callable[[str], object] = webbrowser.open,
        connection_timeout: float = 10.0,
    ) -> None:
        self.port = port
        self.path = path
        self.host = host
        self._open_browser = open_browser
        self._connection_timeout = connection_timeout

    @property
    def redirect_uri(self) -> str:
        """The loopback redirect URI to register and send."""
        return f"http://localhost:{self.port}{self.path}"

    async def __call__(self, authorization_url: str) -> dict[str, str]:
        """Open ``authorization_url``; return the query the browser comes back with."""
        listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        try:
            await trio.to_thread.run_sync(self._open_browser, authorization_url)
            listener = listeners[0]
            while True:
                stream = await listener.accept()
                async with stream:
                    with trio.move_on_after(self._connection_timeout):
                        params = await self._answer(stream)
                        if params is not None:
                            return params
        finally:
            for listener in listeners:
                await listener.aclose()

    async def _answer(self, stream: trio.abc.Stream) -> dict[str, str] | None:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_REQUEST)
        while True:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError:
                return None
            if event is h11.NEED_DATA:
                data = await stream.receive_some(_MAX_REQUEST)
                if not data:
                    return None
                connection.receive_data(bytes(data))
                continue
            if not isinstance(event, h11.Request):
                return None
            target = urlsplit(event.target.decode("ascii", "replace"))
            params = dict(parse_qsl(target.query, keep_blank_values=True))
            found = target.path == self.path and ("code" in params or "error" in params)
            body = _PAGE if found else b"not found"
            response = h11.Response(
                status_code=200 if found else 404,
                headers=[
                    ("content-type", "text/html; charset=utf-8"),
                    ("content-length", str(len(body))),
                    ("connection", "close"),
                ],
            )
            await stream.send_all(
                (connection.send(response) or b"")
                + (connection.send(h11.Data(data=body)) or b"")
                + (connection.send(h11.EndOfMessage()) or b"")
            )
            return params if found else None
