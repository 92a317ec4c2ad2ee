"""Handler introspection: what the app reads from a handler function, and how
it calls one.

Which parameters receive the :class:`~scaled_mcp.server.Context`, which
keyword arguments a handler takes, whether its return annotation is content
(no output schema), whether it can ever yield to the event loop, and
:func:`invoke`, which runs it (on trio, or in a worker thread).
"""

from __future__ import annotations

import dis
import functools
import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any, Final

import trio

from ..protocol.types import CallToolResult
from ._context import Context
from ._results import CONTENT_TYPES

__all__ = [
    "context_params",
    "invoke",
    "is_context",
    "never_waits",
    "parameter_names",
    "unstructured",
]


def is_context(annotation: Any) -> bool:
    """Whether a parameter annotated ``annotation`` receives the context."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation is Context or (
        isinstance(annotation, type) and issubclass(annotation, Context)
    )


def context_params(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The names of ``fn``'s parameters that receive the context."""
    hints = typing.get_type_hints(fn, include_extras=True)
    return tuple(name for name, hint in hints.items() if name != "return" and is_context(hint))


def unstructured(annotation: Any) -> bool:
    """Return annotations that are content or a whole result: no output schema."""
    if typing.get_origin(annotation) in (list, Sequence, typing.Union, type(int | str)):
        return any(unstructured(arg) for arg in typing.get_args(annotation))
    return annotation in (*CONTENT_TYPES, CallToolResult, str, Any) or annotation is dict


#: Bytecode that suspends a coroutine (``await``, ``async with``, ``async for``).
_SUSPENDING_OPS: Final = frozenset({"YIELD_VALUE", "SEND", "GET_AWAITABLE", "GET_ANEXT"})


def never_waits(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is a coroutine function that can never yield to the event
    loop (its code has no ``await``, ``async with`` or ``async for``): such a
    handler runs to its end in one step, and nothing could cancel it midway."""
    if not inspect.iscoroutinefunction(fn):
        return False
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return False
    return not any(op.opname in _SUSPENDING_OPS for op in dis.get_instructions(code))


_is_coroutine_function: Final = functools.lru_cache(maxsize=1024)(inspect.iscoroutinefunction)


async def invoke(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call a handler: coroutine functions on trio, plain functions in a worker thread."""
    if _is_coroutine_function(fn):
        return await fn(**kwargs)
    return await trio.to_thread.run_sync(functools.partial(fn, **kwargs))


@functools.lru_cache(maxsize=1024)
def parameter_names(fn: Callable[..., Any]) -> frozenset[str] | None:
    """The keyword arguments ``fn`` takes; ``None`` when it takes ``**kwargs``."""
    parameters = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)
