"""The trio runtime: drives the core; the direct h11 front; stdio."""

from ._front import ClientGone, Responder
from ._h11 import H11Config, serve_h11
from ._runtime import Runtime, RuntimeConfig
from ._stdio import serve_stdio

__all__ = [
    "ClientGone",
    "H11Config",
    "Responder",
    "Runtime",
    "RuntimeConfig",
    "serve_h11",
    "serve_stdio",
]
