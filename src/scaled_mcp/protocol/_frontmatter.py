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

import re
from typing import Any

from ._yaml_scalars import (
    _REFUSED_START,
    MAX_FRONTMATTER_DEPTH,
    FrontmatterError,
    _FlowReader,
    _fold,
    _fold_quoted,
    _key_text,
    _NeedMore,
    _plain_start_problem,
    _plain_value,
    _strip_comment,
)

__all__ = [
    "parse_frontmatter",
    "parse_yaml_mapping",
    "split_frontmatter",
]

_OPENING = re.compile(r"---[ \t]*\r?\n")
_CLOSING = re.compile(r"\r?\n---[ \t]*(?:\r?\n|$)")
_BLOCK_HEADER = re.compile(r"([|>])([-+]?)([1-9]?)([-+]?)$")


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
    # From the opening line's own line break: the closing line may follow it at once.
    closing = _CLOSING.search(text, start - 1)
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
    docstring for what is read). ``yaml_text`` is as :func:`split_frontmatter`
    returns it: the line break before the closing ``---`` ends its last line.
    Raises :class:`FrontmatterError`."""
    value = _Parser(yaml_text).document()
    if not isinstance(value, dict):
        raise FrontmatterError("the frontmatter is not a YAML mapping")
    return value


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
        value = self._block(self._indent(line), 0, -1)
        self._skip_blank()
        if self.i < len(self.lines):
            raise self._error("unexpected content after the document")
        return value

    def _block(self, indent: int, depth: int, parent: int) -> Any:
        """The node starting on the current (non-blank) line at ``indent``, in
        a collection at ``parent`` (its indentation; -1 at the top)."""
        if depth > MAX_FRONTMATTER_DEPTH:
            raise self._error("collections nested too deeply")
        line = self.lines[self.i]
        self._check_line(line)
        content = line[indent:]
        if content == "-" or content.startswith(("- ", "-\t")):
            return self._sequence(indent, depth)
        if self._key_split(content) is not None:
            return self._mapping(indent, depth)
        # A lone scalar (or flow collection) as the whole node: it may go on
        # over lines less indented than its first, as long as they are deeper
        # than its parent.
        return self._inline_value(content, parent, depth)

    # -- block collections ----------------------------------------------------

    def _key_split(self, content: str) -> tuple[str, str] | None:
        """``(key, rest)`` if ``content`` is a ``key: value`` line, else ``None``."""
        if not content or content[0] in "[{#" or content.startswith("? "):
            return None
        if content[0] in "\"'":
            end = self._quote_end(content, 1, content[0])
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
                problem = _plain_start_problem(key_text) if key_text else "an empty key"
                if problem is not None:
                    raise self._error(problem)
                return _key_text(_plain_value(key_text)), content[colon + 1 :]
            pos = colon + 1

    @staticmethod
    def _quote_end(text: str, start: int, quote: str) -> int | None:
        """The index in ``text`` of the quote closing a ``quote`` scalar, from
        ``start`` on (``None``: it goes on past this line)."""
        i = start
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
                return self._block(child, depth + 1, indent)
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
                taken.append("\t" if "\t" in line else "")
                j += 1
                continue
            if self._indent(line) <= indent:
                break
            taken.append(line)
            last = j
            j += 1
        self.i = last + 1
        while taken and taken[-1] in ("", "\t"):
            taken.pop()
        if "\t" in taken:
            # A blank line holding a tab inside a scalar: not read as YAML's
            # empty line by every parser; refused rather than guessed.
            raise self._error("a tab on a blank line inside a multi-line scalar")
        return taken

    def _plain(self, text: str, indent: int) -> Any:
        first_line = _strip_comment(text)
        problem = _plain_start_problem(first_line)
        if problem is not None:
            raise self._error(problem)
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
        return _plain_value(_fold(parts))

    def _check_plain(self, text: str, line: int | None = None) -> None:
        if ": " in text or text.endswith(":") or ":\t" in text:
            raise self._error("a ': ' inside a plain scalar (quote the value)", line)

    def _quoted_multiline(self, text: str, indent: int) -> str:
        quote = text[0]
        start = self.i
        lines = [text]
        line, pos = text, 1
        while True:
            # Each line is scanned once: a long scalar costs its length, no more.
            end = self._quote_end(line, pos, quote)
            if end is not None:
                break
            self.i += 1
            if self.i >= len(self.lines) or (
                # Its lines go on deeper than its parent, as any multi-line scalar's.
                self.lines[self.i].strip(" \t") and self._indent(self.lines[self.i]) <= indent
            ):
                raise self._error("an unterminated quoted scalar", start)
            line, pos = self.lines[self.i].strip(" \t"), 0
            lines.append(line)
        rest = line[end + 1 :]
        if rest.strip(" \t") and not (rest[0] in " \t" and rest.lstrip(" \t").startswith("#")):
            # Only a comment may follow, after white space.
            raise self._error("content after a quoted scalar")
        self.i += 1
        lines[-1] = line[:end]
        return _fold_quoted("\n".join(lines)[1:], quote, start + 1)

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
        out: list[str] = []
        previous: str | None = None
        empties = 0
        for line in body:
            if line == "":
                empties += 1
                continue
            if previous is None:
                out.append("\n" * empties)
            elif line.startswith((" ", "\t")) or previous.startswith((" ", "\t")):
                out.append("\n" + "\n" * empties)
            else:
                out.append("\n" * empties if empties else " ")
            out.append(line)
            previous = line
            empties = 0
        return "".join(out)

    # -- flow collections -----------------------------------------------------

    def _flow(self, text: str, indent: int, depth: int) -> Any:
        start = self.i
        # A flow collection may go on over the following lines, each deeper
        # than its parent: all of them are read at once.
        end = self.i + 1
        while end < len(self.lines) and (
            not self.lines[end].strip(" \t") or self._indent(self.lines[end]) > indent
        ):
            end += 1
        source = "\n".join([text, *(line.strip(" \t") for line in self.lines[start + 1 : end])])
        reader = _FlowReader(source, start + 1)
        try:
            value = reader.value(depth)
            reader.finish()
        except _NeedMore:
            raise self._error("an unterminated flow collection", start) from None
        self.i = end
        return value
