"""The YAML frontmatter of a ``SKILL.md``: finding it and reading it into JSON values.

Agent Skills: "The SKILL.md file must contain YAML frontmatter followed by
Markdown content"; the skills extension (``io.modelcontextprotocol/skills``)
requires a host to "parse its YAML frontmatter and compare it field-by-field
against the entry's ``frontmatter``".

The frontmatter is the text between a first line ``---`` and the next line
``---`` (a leading byte order mark is ignored). It is read with the YAML 1.2
core schema into the values JSON has (``dict``, ``list``, ``str``, ``int``,
``float``, ``bool``, ``None``), the same values a server renders into a skill
entry's ``frontmatter`` object. What a frontmatter holds in practice is
covered: block mappings and sequences, plain, single- and double-quoted
scalars (on several lines too), literal (``|``) and folded (``>``) block
scalars with their chomping and indentation indicators, flow sequences and
mappings, comments. Anchors, aliases, tags and directives are refused
(:class:`FrontmatterError`), as is anything that is not well-formed YAML: a
frontmatter this module cannot read is never taken for one it can.

No I/O; the work is linear in the size of the text, the nesting is bounded
(:data:`MAX_FRONTMATTER_DEPTH`).
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

__all__ = [
    "MAX_FRONTMATTER_DEPTH",
    "FrontmatterError",
    "parse_frontmatter",
    "parse_yaml_mapping",
    "split_frontmatter",
]

#: Collections nested in each other at most, in one frontmatter.
MAX_FRONTMATTER_DEPTH: Final = 32

_OPENING = re.compile(r"---[ \t]*\r?\n")
_CLOSING = re.compile(r"\r?\n---[ \t]*(?:\r?\n|$)")
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_BLOCK_HEADER = re.compile(r"([|>])([-+]?)([1-9]?)([-+]?)$")
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
    """A ``SKILL.md`` without a frontmatter this module can read: no ``---``
    delimited block, YAML that is not well formed, or a YAML feature refused
    here. The message says which, and on which line."""


def split_frontmatter(text: str) -> tuple[str, str]:
    """The frontmatter's YAML text and the Markdown body after it.

    Raises :class:`FrontmatterError` if ``text`` does not begin with a ``---``
    line, or has no closing ``---`` line.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    opening = _OPENING.match(text)
    if opening is None:
        raise FrontmatterError("SKILL.md does not begin with a '---' frontmatter line")
    start = opening.end()
    if text.startswith("---", start) and _CLOSING.match("\n" + text[start:]) is not None:
        # An empty frontmatter: the closing line follows the opening one.
        closing_end = _CLOSING.match("\n" + text[start:])
        assert closing_end is not None
        return "", text[start + closing_end.end() - 1 :]
    closing = _CLOSING.search(text, start)
    if closing is None:
        raise FrontmatterError("SKILL.md has no closing '---' line after its frontmatter")
    return text[start : closing.start()], text[closing.end() :]


def parse_frontmatter(text: str) -> dict[str, Any]:
    """The frontmatter of a ``SKILL.md`` (its whole text) as a JSON object.

    Raises :class:`FrontmatterError` if there is none, if it is not well-formed
    YAML, or if it is not a mapping.
    """
    yaml_text, _body = split_frontmatter(text)
    return parse_yaml_mapping(yaml_text)


def parse_yaml_mapping(yaml_text: str) -> dict[str, Any]:
    """A YAML document that must be a mapping, as a JSON object (see the module
    docstring for what is read). Raises :class:`FrontmatterError`."""
    value = _Parser(yaml_text).document()
    if not isinstance(value, dict):
        raise FrontmatterError("the frontmatter is not a YAML mapping")
    return value


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
        folded = parts[0]
        pending = 0
        last = len(parts) - 1
        for k, part in enumerate(parts[1:], 1):
            if part == "" and k < last:
                pending += 1
                continue
            if quote == '"' and pending == 0 and _odd_backslashes(folded):
                folded = folded[:-1] + part
            else:
                folded += ("\n" * pending if pending else " ") + part
            pending = 0
        body = folded
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


class _Parser:
    """A recursive descent over the lines of one YAML document (block style),
    with a character-level reader for flow collections and quoted scalars."""

    def __init__(self, text: str) -> None:
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.i = 0

    # -- lines ----------------------------------------------------------------

    def _error(self, message: str, line: int | None = None) -> FrontmatterError:
        return FrontmatterError(f"line {(self.i if line is None else line) + 1}: {message}")

    @staticmethod
    def _indent(line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    def _blank(self, line: str) -> bool:
        stripped = line.strip(" \t")
        return stripped == "" or stripped.startswith("#")

    def _skip_blank(self) -> None:
        while self.i < len(self.lines) and self._blank(self.lines[self.i]):
            self.i += 1

    def _check_line(self, line: str) -> None:
        head = line[: self._indent(line) + 1]
        if "\t" in head:
            raise self._error("a tab in indentation")

    def document(self) -> Any:
        self._skip_blank()
        if self.i >= len(self.lines):
            return None
        line = self.lines[self.i]
        if line.startswith("%"):
            raise self._error("YAML directives are not supported")
        value = self._block(self._indent(line), 0)
        self._skip_blank()
        if self.i < len(self.lines):
            raise self._error("unexpected content after the document")
        return value

    def _block(self, indent: int, depth: int) -> Any:
        """The node starting on the current (non-blank) line at ``indent``."""
        if depth > MAX_FRONTMATTER_DEPTH:
            raise self._error("collections nested too deeply")
        line = self.lines[self.i]
        self._check_line(line)
        content = line[indent:]
        if content == "-" or content.startswith(("- ", "-\t")):
            return self._sequence(indent, depth)
        if self._key_split(content) is not None:
            return self._mapping(indent, depth)
        # A lone scalar (or flow collection) as the whole node.
        return self._inline_value(content, indent - 1, depth)

    # -- block collections ----------------------------------------------------

    def _key_split(self, content: str) -> tuple[str, str] | None:
        """``(key, rest)`` if ``content`` is a ``key: value`` line, else ``None``."""
        if not content or content[0] in "[{#" or content.startswith("? "):
            return None
        if content[0] in "\"'":
            end = self._quote_end(content, 0)
            if end is None:
                return None
            after = content[end + 1 :]
            stripped = after.lstrip(" \t")
            if stripped == ":" or stripped.startswith((": ", ":\t")):
                key = _fold_quoted(content[1:end], content[0], self.i + 1)
                return key, stripped[1:]
            return None
        pos = 0
        while True:
            colon = content.find(":", pos)
            if colon < 0:
                return None
            if colon + 1 == len(content) or content[colon + 1] in " \t":
                key_text = content[:colon].rstrip(" \t")
                if " #" in key_text or "\t#" in key_text:
                    return None
                if key_text and key_text[0] in _REFUSED_START:
                    raise self._error("anchors, aliases and tags are not supported")
                return key_text, content[colon + 1 :]
            pos = colon + 1

    def _quote_end(self, text: str, start: int) -> int | None:
        """The index of the quote closing the one at ``start`` on this line."""
        quote = text[start]
        i = start + 1
        while i < len(text):
            ch = text[i]
            if quote == '"' and ch == "\\":
                i += 2
                continue
            if ch == quote:
                if quote == "'" and i + 1 < len(text) and text[i + 1] == "'":
                    i += 2
                    continue
                return i
            i += 1
        return None

    def _mapping(self, indent: int, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            self._skip_blank()
            if self.i >= len(self.lines):
                break
            line = self.lines[self.i]
            self._check_line(line)
            line_indent = self._indent(line)
            if line_indent < indent:
                break
            if line_indent > indent:
                raise self._error("bad indentation of a mapping entry")
            split = self._key_split(line[indent:])
            if split is None:
                raise self._error("expected a 'key: value' mapping entry")
            key, rest = split
            if key in result:
                raise self._error(f"duplicate key {key!r}")
            result[key] = self._entry_value(rest, indent, depth, in_sequence=False)
        return result

    def _sequence(self, indent: int, depth: int) -> list[Any]:
        result: list[Any] = []
        while True:
            self._skip_blank()
            if self.i >= len(self.lines):
                break
            line = self.lines[self.i]
            self._check_line(line)
            line_indent = self._indent(line)
            if line_indent < indent:
                break
            content = line[indent:]
            if line_indent > indent or not (content == "-" or content.startswith(("- ", "-\t"))):
                if line_indent == indent:
                    break
                raise self._error("bad indentation of a sequence entry")
            rest = content[1:]
            inner = rest.lstrip(" ")
            if inner and not inner.startswith("#") and self._key_split(inner) is not None:
                # A compact mapping in a sequence entry: "- key: value".
                offset = indent + 1 + (len(rest) - len(inner))
                self.lines[self.i] = " " * offset + inner
                result.append(self._mapping(offset, depth + 1))
            elif inner.startswith("- ") or inner == "-":
                offset = indent + 1 + (len(rest) - len(inner))
                self.lines[self.i] = " " * offset + inner
                result.append(self._sequence(offset, depth + 1))
            else:
                result.append(self._entry_value(rest, indent, depth, in_sequence=True))
        return result

    def _entry_value(self, rest: str, indent: int, depth: int, *, in_sequence: bool) -> Any:
        """The value after ``key:`` or ``-`` on the current line; moves past it."""
        text = rest.strip(" \t")
        if text == "" or text.startswith("#"):
            self.i += 1
            self._skip_blank()
            if self.i >= len(self.lines):
                return None
            line = self.lines[self.i]
            self._check_line(line)
            child = self._indent(line)
            content = line[child:]
            is_dash = content == "-" or content.startswith("- ")
            if child > indent or (child == indent and is_dash and not in_sequence):
                return self._block(child, depth + 1)
            return None
        return self._inline_value(text, indent, depth)

    # -- values on a line -----------------------------------------------------

    def _inline_value(self, text: str, indent: int, depth: int) -> Any:
        """A value beginning on the current line (text stripped); ``indent`` is
        the parent's indentation: continuation lines must be deeper."""
        first = text[0]
        if first in _REFUSED_START:
            raise self._error("anchors, aliases, tags and reserved indicators are not supported")
        if first in "|>":
            return self._block_scalar(text, indent)
        if first in "[{":
            return self._flow(text, indent, depth)
        if first in "\"'":
            return self._quoted_multiline(text, indent)
        return self._plain(text, indent)

    def _continuation(self, indent: int) -> list[str]:
        """The following lines deeper than ``indent`` (or blank), for a
        multi-line scalar; moves past them (not past trailing blank lines)."""
        taken: list[str] = []
        j = self.i + 1
        last = self.i
        while j < len(self.lines):
            line = self.lines[j]
            if line.strip(" \t") == "":
                taken.append("")
                j += 1
                continue
            if self._indent(line) <= indent:
                break
            taken.append(line)
            last = j
            j += 1
        self.i = last + 1
        while taken and taken[-1] == "":
            taken.pop()
        return taken

    def _plain(self, text: str, indent: int) -> Any:
        first_line = _strip_comment(text)
        if first_line.startswith("- ") or first_line == "-":
            raise self._error("a sequence entry where a scalar was expected")
        self._check_plain(first_line)
        start = self.i
        commented = first_line != text.rstrip()
        more = [] if commented else self._continuation(indent)
        if commented:
            self.i += 1
        if not more:
            return _plain_value(first_line)
        parts = [first_line]
        for offset, line in enumerate(more):
            stripped = line.strip(" \t")
            cleaned = _strip_comment(stripped) if stripped else ""
            if cleaned != stripped:
                # A comment ends the scalar: nothing of it may follow.
                if any(rest.strip(" \t") for rest in more[offset + 1 :]):
                    raise self._error("a comment inside a multi-line scalar", start + 1 + offset)
                if cleaned:
                    self._check_plain(cleaned, start + 1 + offset)
                    parts.append(cleaned)
                break
            self._check_plain(cleaned, start + 1 + offset)
            parts.append(cleaned)
        while parts and parts[-1] == "":
            parts.pop()
        return _fold(parts)

    def _check_plain(self, text: str, line: int | None = None) -> None:
        if ": " in text or text.endswith(":") or ":\t" in text:
            raise self._error("a ': ' inside a plain scalar (quote the value)", line)

    def _quoted_multiline(self, text: str, indent: int) -> str:
        quote = text[0]
        start = self.i
        joined = text
        lines = [text]
        while True:
            end = self._quote_end(joined, 0)
            if end is not None:
                break
            self.i += 1
            if self.i >= len(self.lines):
                raise self._error("an unterminated quoted scalar", start)
            lines.append(self.lines[self.i].strip(" \t"))
            joined = "\n".join(lines)
        trailing = _strip_comment(joined[end + 1 :])
        if trailing.strip(" \t"):
            raise self._error("content after a quoted scalar")
        self.i += 1
        return _fold_quoted(joined[1:end], quote, start + 1)

    def _block_scalar(self, text: str, indent: int) -> str:
        header = _strip_comment(text)
        match = _BLOCK_HEADER.match(header)
        if match is None:
            raise self._error(f"a bad block scalar header {header!r}")
        style, chomp_a, explicit, chomp_b = match.groups()
        if chomp_a and chomp_b:
            raise self._error("two chomping indicators")
        chomp = chomp_a or chomp_b
        lines: list[str] = []
        j = self.i + 1
        content_indent = indent + int(explicit) if explicit else None
        while j < len(self.lines):
            line = self.lines[j]
            if line.strip(" ") == "":
                lines.append(line)
                j += 1
                continue
            line_indent = self._indent(line)
            if content_indent is None:
                if line_indent <= max(indent, 0) and indent >= 0:
                    break
                content_indent = line_indent
            if line_indent < content_indent:
                if line_indent > indent:
                    raise self._error("bad indentation in a block scalar", j)
                break
            lines.append(line)
            j += 1
        self.i = j
        if content_indent is None:
            content_indent = indent + 1
        body = [line[content_indent:] if len(line) >= content_indent else "" for line in lines]
        # Trailing empty lines matter only to chomping.
        trailing = 0
        while body and body[-1].strip(" ") == "":
            body.pop()
            trailing += 1
        if style == "|":
            value = "\n".join(body)
        else:
            value = self._fold_block(body)
        if not body:
            return "\n" * trailing if chomp == "+" else ""
        if chomp == "-":
            return value
        if chomp == "+":
            return value + "\n" + "\n" * trailing
        return value + "\n"

    @staticmethod
    def _fold_block(body: list[str]) -> str:
        """Folded block scalar: lines joined by spaces, except around empty and
        more-indented lines, whose breaks are kept."""
        out = ""
        previous: str | None = None
        empties = 0
        for line in body:
            if line == "":
                empties += 1
                continue
            if previous is None:
                out = "\n" * empties + line
            elif line.startswith((" ", "\t")) or previous.startswith((" ", "\t")):
                out += "\n" + "\n" * empties + line
            elif empties:
                out += "\n" * empties + line
            else:
                out += " " + line
            previous = line
            empties = 0
        return out

    # -- flow collections -----------------------------------------------------

    def _flow(self, text: str, indent: int, depth: int) -> Any:
        start = self.i
        source = text
        while True:
            reader = _FlowReader(source, start + 1)
            try:
                value = reader.value(depth)
                reader.finish()
            except _NeedMore:
                self.i += 1
                if self.i >= len(self.lines):
                    raise self._error("an unterminated flow collection", start) from None
                nxt = self.lines[self.i]
                if nxt.strip(" \t") and self._indent(nxt) <= indent:
                    raise self._error("an unterminated flow collection", start) from None
                source = source + "\n" + nxt.strip(" \t")
                continue
            self.i += 1
            return value


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
        return _plain_value(cleaned)


def _key_text(key: Any) -> str:
    """A scalar mapping key as the string JSON uses for it."""
    if isinstance(key, str):
        return key
    if key is None:
        return ""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)
