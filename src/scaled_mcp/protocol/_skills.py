"""The skills extension (``io.modelcontextprotocol/skills``), the host's side.

A server that declares the extension serves Agent Skills as resources
(``skill://<skill-path>/<file-path>``), lists them with ``skills/list`` and
describes one with ``skills/get``. Each :class:`SkillEntry` carries the
skill's ``SKILL.md`` frontmatter and a manifest of its files with the SHA-256
digest and size of each (:class:`SkillFile`), or ``"dynamic"``.

This module holds the decisions, no I/O: reading listings and entries
(:func:`parse_skills_page`, :func:`parse_skill_entry`), the bytes of a
``resources/read`` result (:func:`read_result_bytes`), and verification:

- "When a host retrieves a file listed in a skill's ``resources``, it MUST
  verify the content against that entry's ``digest`` and ``size``" and "MUST
  NOT use the unverified content" (:func:`verify_file`);
- "While acting on a skill, a host MUST resolve reads of the skill's files
  only to URIs listed in the held entry's ``resources``" (:meth:`SkillEntry.file`);
- "After fetching a ``SKILL.md`` for which the host holds an entry, hosts MUST
  parse its YAML frontmatter and compare it field-by-field against the entry's
  ``frontmatter``"; "any discrepancy ... the skill MUST NOT be loaded"
  (:func:`verify_skill_md`).

What this module does not decide is when to read: "Hosts MUST NOT retrieve a
skill's files ahead of need, whether on connection, on listing, or at
approval. A ``SKILL.md`` is fetched when the skill is loaded, and a supporting
file when it is read." That is the caller's order of calls.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._frontmatter import parse_yaml_mapping, split_frontmatter
from ._yaml_scalars import FrontmatterError

__all__ = [
    "MAX_SKILL_RESOURCES",
    "MAX_SKILL_SIZE",
    "SKILLS_EXTENSION",
    "SKILL_MANIFEST",
    "InvalidSkillEntry",
    "LoadedSkill",
    "SkillEntry",
    "SkillError",
    "SkillFile",
    "SkillVerificationError",
    "SkillsPage",
    "declares_skills",
    "frontmatter_differences",
    "parse_skill_entry",
    "parse_skill_get_result",
    "parse_skills_page",
    "read_result_bytes",
    "skill_digest",
    "skill_name_of",
    "valid_skill_name",
    "verify_file",
    "verify_skill_md",
]

#: The extension's identifier, under ``capabilities.extensions``.
SKILLS_EXTENSION: Final = "io.modelcontextprotocol/skills"
#: The file every skill has at its root.
SKILL_MANIFEST: Final = "SKILL.md"
#: Limits: "Resources per skill: 512 entries".
MAX_SKILL_RESOURCES: Final = 512
#: Limits: "Total file size per skill: 16 MiB (16,777,216 bytes)".
MAX_SKILL_SIZE: Final = 16 * 1024 * 1024

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Agent Skills naming rules: "1-64 characters", "lowercase alphanumeric
# characters and hyphens", "must not start or end with -", "must not contain
# consecutive hyphens".
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DYNAMIC: Final = "dynamic"


class SkillError(ValueError):
    """A skill that cannot be loaded: an invalid entry or listing, a skill over
    the limits, a dynamic skill the caller did not accept, or content that is
    not there. :class:`SkillVerificationError` is the verification failures."""


class SkillVerificationError(SkillError):
    """Retrieved content that is not what the held entry describes (its
    ``reason``: ``"size"``, ``"digest"``, ``"frontmatter"``, ``"unlisted"``
    or ``"content"``). The content must not be used."""

    def __init__(self, uri: str, reason: str, message: str) -> None:
        super().__init__(f"{uri}: {message}")
        self.uri = uri
        self.reason = reason


@attrs.frozen
class SkillFile:
    """One file of a skill's manifest: its resource URI, the ``sha256:{hex}``
    digest of its raw bytes and their length."""

    uri: str
    digest: str
    size: int


@attrs.frozen
class SkillEntry:
    """The entry of one skill (``skills/list`` or ``skills/get``): the URI of
    its ``SKILL.md``, its frontmatter verbatim (a JSON object holding at least
    ``name`` and ``description``) and its files, or ``None`` for a skill whose
    ``resources`` is ``"dynamic"`` (no digests: no integrity)."""

    uri: str
    frontmatter: Mapping[str, Any]
    files: tuple[SkillFile, ...] | None

    @property
    def name(self) -> str:
        """The skill's name (the frontmatter's, equal to the URI's last segment)."""
        return str(self.frontmatter["name"])

    @property
    def description(self) -> str:
        """The frontmatter's ``description``."""
        return str(self.frontmatter["description"])

    @property
    def dynamic(self) -> bool:
        """Whether the server publishes no digests for this skill."""
        return self.files is None

    @property
    def root(self) -> str:
        """The skill's root directory: the ``SKILL.md`` URI without ``/SKILL.md``."""
        return self.uri[: -len(SKILL_MANIFEST) - 1]

    @property
    def total_size(self) -> int:
        """The sum of the listed files' sizes (0 for a dynamic skill)."""
        return sum(f.size for f in self.files or ())

    def file(self, uri: str) -> SkillFile:
        """The manifest's entry for ``uri``; a read of a file the manifest does
        not list is a verification failure (:class:`SkillVerificationError`)."""
        for listed in self.files or ():
            if listed.uri == uri:
                return listed
        raise SkillVerificationError(
            uri, "unlisted", f"not a file of skill {self.uri} (not in its resources)"
        )

    def resolve(self, path: str) -> str:
        """The URI of a file named relative to the skill's root (``references/FORMS.md``),
        or a URI under the root as is. Raises :class:`SkillError` for a path that
        leaves the root."""
        if path.startswith(self.root + "/"):
            path = path[len(self.root) + 1 :]
        elif "://" in path or path.startswith("/"):
            raise SkillError(f"{path!r} is not a file of skill {self.uri}")
        segments: list[str] = []
        for segment in path.split("/"):
            if segment in ("", "."):
                continue
            if segment == "..":
                if not segments:
                    raise SkillError(f"{path!r} leaves the root of skill {self.uri}")
                segments.pop()
                continue
            segments.append(segment)
        if not segments:
            raise SkillError(f"{path!r} names no file of skill {self.uri}")
        return self.root + "/" + "/".join(segments)

    def check_limits(
        self, max_resources: int = MAX_SKILL_RESOURCES, max_size: int = MAX_SKILL_SIZE
    ) -> None:
        """Raise :class:`SkillError` if the skill is over the limits ("a host that
        declines a skill on this basis SHOULD tell the user why")."""
        files = self.files or ()
        if len(files) > max_resources:
            raise SkillError(
                f"skill {self.uri} has {len(files)} files, over the limit of {max_resources}"
            )
        if self.total_size > max_size:
            raise SkillError(
                f"skill {self.uri} holds {self.total_size} bytes, over the limit of {max_size}"
            )


@attrs.frozen
class InvalidSkillEntry:
    """An entry of a listing that cannot be used ("hosts MUST NOT load it"):
    its position, its ``uri`` if it had a string one, and why."""

    index: int
    uri: str | None
    reason: str


@attrs.frozen
class SkillsPage:
    """One page of ``skills/list``: its valid entries, the invalid ones, and
    the cursor of the next page."""

    skills: tuple[SkillEntry, ...]
    invalid: tuple[InvalidSkillEntry, ...]
    next_cursor: str | None


@attrs.frozen
class LoadedSkill:
    """A skill whose ``SKILL.md`` was verified against its entry: its whole
    text, the Markdown body after the frontmatter, and the entry it was
    verified against (held while acting on the skill: its supporting files
    are read and verified against it)."""

    entry: SkillEntry
    text: str
    body: str

    @property
    def name(self) -> str:
        """The skill's name."""
        return self.entry.name

    @property
    def frontmatter(self) -> Mapping[str, Any]:
        """The frontmatter (the file's, equal to the entry's)."""
        return self.entry.frontmatter


def declares_skills(server_capabilities: Mapping[str, Any] | None) -> bool:
    """Whether a server's capabilities declare the skills extension ("clients
    issue ``skills/list`` and ``skills/get`` only after observing the server's
    declaration")."""
    if not server_capabilities:
        return False
    extensions = server_capabilities.get("extensions")
    return isinstance(extensions, Mapping) and isinstance(extensions.get(SKILLS_EXTENSION), Mapping)


def skill_digest(data: bytes) -> str:
    """The ``sha256:{hex}`` digest of ``data``, as a manifest writes it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def valid_skill_name(name: object) -> bool:
    """Whether ``name`` follows the Agent Skills naming rules."""
    return isinstance(name, str) and len(name) <= 64 and _NAME.fullmatch(name) is not None


def skill_name_of(uri: str) -> str | None:
    """The skill name a ``SKILL.md`` URI ends with (``skill://a/b/refunds/SKILL.md``
    → ``refunds``), or ``None`` if ``uri`` names no ``SKILL.md`` under a skill path."""
    scheme, sep, rest = uri.partition("://")
    if not sep or not scheme:
        return None
    segments = rest.split("/")
    if len(segments) < 2 or segments[-1] != SKILL_MANIFEST or not segments[-2]:
        return None
    return segments[-2]


def _file(value: object, where: str) -> SkillFile:
    if not isinstance(value, Mapping):
        raise SkillError(f"{where} is not an object")
    uri = value.get("uri")
    digest = value.get("digest")
    size = value.get("size")
    if not isinstance(uri, str) or not uri:
        raise SkillError(f"{where} has no string uri")
    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        raise SkillError(f"{where} ({uri}) has no sha256:{{64 lowercase hex}} digest")
    if type(size) is not int or size < 0:
        raise SkillError(f"{where} ({uri}) has no non-negative integer size")
    return SkillFile(uri=uri, digest=digest, size=size)


def parse_skill_entry(value: object) -> SkillEntry:
    """A skill entry from its wire form; raises :class:`SkillError` for an
    entry a host must not load (no ``SKILL.md`` URI whose last path segment is
    the frontmatter's ``name``, no ``description``, ``resources`` neither an
    array nor ``"dynamic"``, a manifest that is incomplete, repeats a file or
    lists one outside the skill)."""
    if not isinstance(value, Mapping):
        raise SkillError("the skill entry is not an object")
    uri = value.get("uri")
    if not isinstance(uri, str):
        raise SkillError("the skill entry has no string uri")
    name_in_uri = skill_name_of(uri)
    if name_in_uri is None:
        raise SkillError(f"{uri} is not the URI of a SKILL.md under a skill path")
    frontmatter = value.get("frontmatter")
    if not isinstance(frontmatter, Mapping):
        raise SkillError(f"the entry of {uri} has no frontmatter object")
    name = frontmatter.get("name")
    description = frontmatter.get("description")
    if not isinstance(name, str) or not name:
        raise SkillError(f"the entry of {uri} has no frontmatter name")
    if not isinstance(description, str) or not description:
        raise SkillError(f"the entry of {uri} has no frontmatter description")
    if name != name_in_uri:
        # "The final <skill-path> segment of the entry's uri MUST equal frontmatter.name."
        raise SkillError(f"the entry of {uri} names the skill {name!r}, not {name_in_uri!r}")
    if not valid_skill_name(name):
        raise SkillError(f"the skill name {name!r} of {uri} breaks the Agent Skills naming rules")
    resources = value.get("resources")
    if resources == _DYNAMIC:
        return SkillEntry(uri=uri, frontmatter=dict(frontmatter), files=None)
    if not isinstance(resources, list):
        # "An entry with no resources at all, or with any value other than an
        # array or "dynamic", is invalid, and hosts MUST NOT load it."
        raise SkillError(f"the entry of {uri} has resources neither an array nor 'dynamic'")
    root = uri[: -len(SKILL_MANIFEST)]
    files: list[SkillFile] = []
    seen: set[str] = set()
    for k, item in enumerate(resources):
        listed = _file(item, f"resources[{k}] of {uri}")
        if listed.uri in seen:
            raise SkillError(f"the entry of {uri} lists {listed.uri} twice")
        if not listed.uri.startswith(root):
            raise SkillError(f"the entry of {uri} lists {listed.uri}, outside the skill")
        seen.add(listed.uri)
        files.append(listed)
    if uri not in seen:
        # "It lists every file of the skill ... including an entry whose uri
        # equals the skill's top-level uri."
        raise SkillError(f"the entry of {uri} does not list its SKILL.md")
    return SkillEntry(uri=uri, frontmatter=dict(frontmatter), files=tuple(files))


def parse_skills_page(result: Mapping[str, Any]) -> SkillsPage:
    """One ``skills/list`` result: the usable entries, those a host must not
    load (kept apart, with the reason), and ``nextCursor``. Raises
    :class:`SkillError` if the result has no ``skills`` array."""
    skills = result.get("skills")
    if not isinstance(skills, list):
        raise SkillError("the skills/list result has no skills array")
    valid: list[SkillEntry] = []
    invalid: list[InvalidSkillEntry] = []
    for k, item in enumerate(skills):
        try:
            valid.append(parse_skill_entry(item))
        except SkillError as exc:
            uri = item.get("uri") if isinstance(item, Mapping) else None
            invalid.append(InvalidSkillEntry(k, uri if isinstance(uri, str) else None, str(exc)))
    cursor = result.get("nextCursor")
    return SkillsPage(
        skills=tuple(valid),
        invalid=tuple(invalid),
        next_cursor=cursor if isinstance(cursor, str) and cursor else None,
    )


def parse_skill_get_result(result: Mapping[str, Any], uri: str) -> SkillEntry:
    """The entry of a ``skills/get`` result for ``uri``; raises :class:`SkillError`
    if it is invalid or describes another skill."""
    entry = parse_skill_entry(result.get("skill"))
    if entry.uri != uri:
        raise SkillError(f"skills/get for {uri} answered the entry of {entry.uri}")
    return entry


def read_result_bytes(result: Mapping[str, Any], uri: str) -> bytes:
    """The raw bytes of ``uri`` in a ``resources/read`` result: its text
    content UTF-8 encoded, or its blob base64-decoded. Raises
    :class:`SkillVerificationError` (``"content"``) if the result holds no
    single readable content for ``uri``."""
    contents = result.get("contents")
    if not isinstance(contents, list):
        raise SkillVerificationError(uri, "content", "the resources/read result has no contents")
    found = [c for c in contents if isinstance(c, Mapping) and c.get("uri") == uri]
    if len(found) != 1:
        raise SkillVerificationError(
            uri, "content", f"the resources/read result holds {len(found)} contents for it"
        )
    content = found[0]
    text = content.get("text")
    if isinstance(text, str):
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise SkillVerificationError(uri, "content", "its text is not valid Unicode") from None
    blob = content.get("blob")
    if isinstance(blob, str):
        try:
            return base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            raise SkillVerificationError(uri, "content", "its blob is not base64") from None
    raise SkillVerificationError(uri, "content", "its content has neither text nor blob")


def verify_file(entry: SkillEntry, uri: str, data: bytes) -> bytes:
    """``data``, the bytes read for ``uri``, once verified against ``entry``: the
    file must be listed, of the listed size ("a read whose byte length differs
    from the entry's size is a verification failure equivalent to a digest
    mismatch") and of the listed digest. A dynamic skill's files are not
    verifiable and pass as they are. Raises :class:`SkillVerificationError`."""
    if entry.files is None:
        return data
    listed = entry.file(uri)
    if len(data) != listed.size:
        raise SkillVerificationError(
            uri, "size", f"read {len(data)} bytes, the entry lists {listed.size}"
        )
    digest = skill_digest(data)
    if digest != listed.digest:
        raise SkillVerificationError(
            uri, "digest", f"the content's digest is {digest}, the entry lists {listed.digest}"
        )
    return data


def _json_equal(a: object, b: object) -> bool:
    """Equality of JSON values: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and math.isnan(a):
            return False
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    if a is None or b is None:
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return False


def frontmatter_differences(in_file: Mapping[str, Any], in_entry: Mapping[str, Any]) -> list[str]:
    """The fields in which a ``SKILL.md``'s frontmatter and its entry's differ
    (a field absent on one side is compared as ``null``), sorted."""
    keys = set(in_file) | set(in_entry)
    return sorted(k for k in keys if not _json_equal(in_file.get(k), in_entry.get(k)))


def verify_skill_md(entry: SkillEntry, data: bytes) -> LoadedSkill:
    """The skill loaded from ``data``, the bytes read for its ``SKILL.md``,
    once verified: size and digest against the manifest, then the frontmatter
    parsed and compared field by field with the entry's. Raises
    :class:`SkillVerificationError`: the skill must not be loaded."""
    verify_file(entry, entry.uri, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SkillVerificationError(entry.uri, "content", "SKILL.md is not UTF-8") from None
    try:
        yaml_text, body = split_frontmatter(text)
        in_file = parse_yaml_mapping(yaml_text)
    except FrontmatterError as exc:
        raise SkillVerificationError(
            entry.uri, "frontmatter", f"its frontmatter cannot be read: {exc}"
        ) from None
    differences = frontmatter_differences(in_file, entry.frontmatter)
    if differences:
        raise SkillVerificationError(
            entry.uri,
            "frontmatter",
            "its frontmatter differs from the entry's in " + ", ".join(map(repr, differences)),
        )
    return LoadedSkill(entry=entry, text=text, body=body)
