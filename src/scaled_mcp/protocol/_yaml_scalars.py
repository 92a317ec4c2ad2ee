"""The frontmatter's YAML, in pieces: its scalars (the YAML 1.2 core schema's
plain values, quoted scalars and their escapes, line folding), its flow
collections (``[a, b]``, ``{k: v}``), and :class:`FrontmatterError`.

:mod:`._frontmatter` reads the block structure and calls these for what is on
a line. No I/O.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

__all__ = ["MAX_FRONTMATTER_DEPTH", "FrontmatterError"]

#: Collections nested in each other at most, in one frontmatter.
MAX_FRONTMATTER_DEPTH: Final = 32

_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_REFUSED_START: Final = frozenset("&*!%@`")
_ESCAPES: Final = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX_ESCAPES: Final = {"x": 2, "u": 4, "U": 8}


class FrontmatterError(ValueError):
    """A ``SKILL.md`` without a frontmatter that can be read: no ``---``
    delimited block, YAML that is not well formed, or a YAML feature the reader
    refuses. The message says which, and on which line."""


# -- scalars ------------------------------------------------------------------


def _plain_value(text: str) -> Any:
    """A plain scalar's value under the YAML 1.2 core schema."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _OCT.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


def _strip_comment(text: str) -> str:
    """``text`` without a trailing comment (`` #`` outside quotes), right-stripped."""
    if text.startswith("#"):
        return ""
    cut = text.find(" #")
    tab = text.find("\t#")
    if tab >= 0 and (cut < 0 or tab < cut):
        cut = tab
    return (text if cut < 0 else text[:cut]).rstrip()


def _fold(lines: list[str]) -> str:
    """Multi-line flow scalar folding: a line break is a space, each empty line a newline."""
    out: list[str] = []
    pending_breaks = 0
    for i, line in enumerate(lines):
        if line == "":
            pending_breaks += 1
            continue
        if i > 0 and out:
            out.append("\n" * pending_breaks if pending_breaks else " ")
        pending_breaks = 0
        out.append(line)
    if pending_breaks and out:
        out.append("\n" * pending_breaks)
    return "".join(out)


def _odd_backslashes(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _fold_quoted(body: str, quote: str, line_no: int) -> str:
    """A quoted scalar's value from the text between its quotes, which may span
    lines: each line is trimmed where it meets a break, a break is a space and
    each empty line a newline; in double quotes an escaped break (a line ending
    in ``\\``) joins the lines with nothing, and escapes are then resolved."""
    parts = body.split("\n")
    if len(parts) > 1:
        parts = (
            [parts[0].rstrip(" \t")]
            + [p.strip(" \t") for p in parts[1:-1]]
            + [parts[-1].lstrip(" \t")]
        )
        pieces = [parts[0]]
        pending = 0
        last = len(parts) - 1
        for k, part in enumerate(parts[1:], 1):
            if part == "" and k < last:
                pending += 1
                continue
            if quote == '"' and pending == 0 and _odd_backslashes(pieces[-1]):
                pieces[-1] = pieces[-1][:-1]  # an escaped line break
            else:
                pieces.append("\n" * pending if pending else " ")
            pieces.append(part)
            pending = 0
        body = "".join(pieces)
    if quote == "'":
        return body.replace("''", "'")
    return _unescape_double(body, line_no)


def _unescape_double(body: str, line_no: int) -> str:
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            raise FrontmatterError(f"line {line_no}: a double-quoted scalar ends in '\\'")
        code = body[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in _HEX_ESCAPES:
            width = _HEX_ESCAPES[code]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise FrontmatterError(f"line {line_no}: a bad '\\{code}' escape")
            point = int(digits, 16)
            i += 2 + width
            if 0xD800 <= point < 0xDC00 and body.startswith("\\u", i):
                # A UTF-16 surrogate pair written as two escapes (as JSON writes them).
                low_digits = body[i + 2 : i + 6]
                if len(low_digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in low_digits):
                    low = int(low_digits, 16)
                    if 0xDC00 <= low < 0xE000:
                        point = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
            if point > 0x10FFFF or 0xD800 <= point < 0xE000:
                raise FrontmatterError(f"line {line_no}: '\\{code}{digits}' is not a character")
            out.append(chr(point))
        else:
            raise FrontmatterError(f"line {line_no}: unknown escape '\\{code}'")
    return "".join(out)


class _NeedMore(Exception):
    """A flow collection goes on past the text read so far."""


class _FlowReader:
    """Flow collections (``[a, b]``, ``{k: v}``) over one (joined) text."""

    def __init__(self, text: str, line: int) -> None:
        self.text = text
        self.pos = 0
        self.line = line

    def _error(self, message: str) -> FrontmatterError:
        return FrontmatterError(f"line {self.line}: {message}")

    def _skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\n":
                self.pos += 1
            elif ch == "#" and (self.pos == 0 or text[self.pos - 1] in " \t\n"):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break

    def _peek(self) -> str:
        self._skip()
        if self.pos >= len(self.text):
            raise _NeedMore
        return self.text[self.pos]

    def finish(self) -> None:
        self._skip()
        if self.pos < len(self.text):
            raise self._error("content after a flow collection")

    def value(self, depth: int) -> Any:
        if depth > MAX_FRONTMATTER_DEPTH:
            raise self._error("collections nested too deeply")
        ch = self._peek()
        if ch == "[":
            return self._sequence(depth)
        if ch == "{":
            return self._mapping(depth)
        if ch in "\"'":
            return self._quoted()
        if ch in _REFUSED_START:
            raise self._error("anchors, aliases and tags are not supported")
        return self._plain()

    def _sequence(self, depth: int) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while True:
            if self._peek() == "]":
                self.pos += 1
                return items
            items.append(self.value(depth + 1))
            ch = self._peek()
            if ch == ",":
                self.pos += 1
            elif ch != "]":
                raise self._error("expected ',' or ']' in a flow sequence")

    def _mapping(self, depth: int) -> dict[str, Any]:
        self.pos += 1
        result: dict[str, Any] = {}
        while True:
            if self._peek() == "}":
                self.pos += 1
                return result
            key = self.value(depth + 1)
            if isinstance(key, (dict, list)):
                raise self._error("a collection as a mapping key")
            key_text = _key_text(key)
            if key_text in result:
                raise self._error(f"duplicate key {key_text!r}")
            ch = self._peek()
            if ch == ":":
                self.pos += 1
                if self._peek() in ",}":
                    result[key_text] = None
                else:
                    result[key_text] = self.value(depth + 1)
            else:
                result[key_text] = None
            ch = self._peek()
            if ch == ",":
                self.pos += 1
            elif ch != "}":
                raise self._error("expected ',' or '}' in a flow mapping")

    def _quoted(self) -> str:
        text = self.text
        quote = text[self.pos]
        i = self.pos + 1
        while i < len(text):
            ch = text[i]
            if quote == '"' and ch == "\\":
                i += 2
                continue
            if ch == quote:
                if quote == "'" and i + 1 < len(text) and text[i + 1] == "'":
                    i += 2
                    continue
                break
            i += 1
        else:
            raise _NeedMore
        body = text[self.pos + 1 : i]
        self.pos = i + 1
        return _fold_quoted(body, quote, self.line)

    def _plain(self) -> Any:
        text = self.text
        start = self.pos
        i = start
        while i < len(text):
            ch = text[i]
            if ch in ",[]{}":
                break
            if ch == ":" and (i + 1 == len(text) or text[i + 1] in " \t\n,[]{}"):
                break
            if ch == "#" and i > start and text[i - 1] in " \t\n":
                break
            i += 1
        raw = text[start:i]
        self.pos = i
        words = [part.strip(" \t") for part in raw.split("\n")]
        cleaned = " ".join(w for w in words if w)
        if not cleaned:
            raise self._error("an empty flow entry")
        problem = _plain_start_problem(cleaned)
        if problem is not None:
            raise self._error(problem)
        return _plain_value(cleaned)


def _key_text(key: Any) -> str:
    """A scalar mapping key as the string a JSON object uses for it (as
    JavaScript writes a number: ``1e3`` is ``"1000"``)."""
    if isinstance(key, str):
        return key
    if key is None:
        return ""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float):
        if math.isnan(key):
            return "NaN"
        if math.isinf(key):
            return "Infinity" if key > 0 else "-Infinity"
        if key.is_integer() and abs(key) < 1e21:
            return str(int(key))
    return str(key)


def _plain_start_problem(text: str) -> str | None:
    """Why a plain scalar cannot begin as ``text`` does, or ``None``."""
    first = text[:1]
    if first in _REFUSED_START:
        return "anchors, aliases, tags and reserved indicators are not supported"
    if first and first in ",[]{}|>#'\"":
        return f"a plain scalar cannot begin with {first!r}"
    if first in ("-", "?", ":") and (len(text) == 1 or text[1] in " \t\n"):
        return f"a plain scalar cannot begin with {first!r} and a space"
    return None
