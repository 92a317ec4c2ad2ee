"""Log lines that say where they come from: the node, the session and the request.

The runtime marks the request a handler serves (:func:`serving_request`, a context
variable: each trio task sees its own); :class:`LogFields`, a logging filter, copies
the node id and those ids onto every record as ``node``, ``session`` and
``request``; :class:`JsonLogFormatter` writes a record as one JSON object per line
(``--log-format json``), :data:`TEXT_FORMAT` as one plain line.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Final

import orjson

from ..protocol.jsonrpc import RequestId

__all__ = ["TEXT_FORMAT", "JsonLogFormatter", "LogFields", "serving_request"]

#: ``(session id or None, request id)`` of the request the current task serves.
serving_request: ContextVar[tuple[str | None, RequestId] | None] = ContextVar(
    "scaled_mcp_serving_request", default=None
)

#: The plain format: level, logger, message, then the ids that are known.
TEXT_FORMAT: Final = "%(levelname)s %(name)s: %(message)s%(ids)s"


class LogFields(logging.Filter):
    """Adds ``node``, ``session`` and ``request`` (``None`` when unknown) to each record,
    and ``ids``, the same as `` [node=… session=… request=…]`` for plain lines."""

    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def filter(self, record: logging.LogRecord) -> bool:
        serving = serving_request.get()
        session, request = serving if serving is not None else (None, None)
        record.node = self.node_id
        record.session = session
        record.request = request
        ids = f" [node={self.node_id}"
        if session is not None:
            ids += f" session={session}"
        if request is not None:
            ids += f" request={request}"
        record.ids = ids + "]"
        return True


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (seconds since the epoch), ``level``,
    ``logger``, ``message``, ``node``, ``session``, ``request`` and, for an
    exception, ``exception`` (its traceback as text)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "node": getattr(record, "node", None),
            "session": getattr(record, "session", None),
            "request": getattr(record, "request", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(line, default=str).decode()
        except TypeError:  # an integer id beyond 64 bits: written as its digits
            line["request"] = str(line["request"])
            return orjson.dumps(line, default=str).decode()
