"""Skills over MCP on the client: list a server's skills, load one when it is
needed, read its files, every byte verified before it is returned.

The skills extension (``io.modelcontextprotocol/skills``) serves Agent Skills
as resources. :class:`Skills` is the host's side over one connected client:

- :meth:`Skills.list_skills` pages through ``skills/list`` and keeps the entries; it
  reads no file ("Hosts MUST NOT retrieve a skill's files ahead of need,
  whether on connection, on listing, or at approval");
- :meth:`Skills.load_skill` reads the skill's ``SKILL.md`` ("fetched when the skill
  is loaded"), verifies its size, digest and frontmatter against the entry and
  returns a :class:`~scaled_mcp.protocol.client.LoadedSkill`, or raises
  :class:`~scaled_mcp.protocol.client.SkillVerificationError`: unverified
  content is never returned;
- :meth:`Skills.read_file` reads one supporting file of a loaded skill ("a
  supporting file when it is read"), only one its entry lists, and verifies it.

One :class:`Skills` holds the entries of one server: "the identity of an
MCP-served skill is ... the pair of the host's identity for the originating
server and the skill's uri", and names resolve within it (an ambiguous name is
an error, never a guess).

The decisions (what an entry is, what verifies) are the core's
(:mod:`scaled_mcp.protocol.client`); this module only asks the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

import trio

from ..protocol.client import (
    MAX_SKILL_RESOURCES,
    MAX_SKILL_SIZE,
    SKILLS_EXTENSION,
    InvalidSkillEntry,
    LoadedSkill,
    SkillEntry,
    SkillError,
    SkillVerificationError,
    declares_skills,
    parse_skill_get_result,
    parse_skills_page,
    read_result_bytes,
    skill_name_of,
    verify_file,
    verify_skill_md,
)

__all__ = [
    "MAX_SKILL_LIST_PAGES",
    "SkillError",
    "SkillVerificationError",
    "Skills",
    "SkillsPeer",
]

#: Pages of ``skills/list`` read at most by one :meth:`Skills.list_skills`.
MAX_SKILL_LIST_PAGES: Final = 1000


class SkillsPeer(Protocol):
    """What :class:`Skills` needs of a client: the server's capabilities and a
    raw request (the result object as received; a JSON-RPC error raises)."""

    @property
    def server_capabilities(self) -> Mapping[str, Any] | None:
        """The capabilities the server declared."""
        ...

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request and return its result object."""
        ...


class Skills:
    """The skills of the server behind ``client``.

    ``allow_dynamic`` loads skills whose entry publishes no digests
    (``"resources": "dynamic"``: "offers no content integrity"; declined by
    default). ``max_resources`` and ``max_size`` are the per-skill limits a
    skill is checked against before any of its files is read (at least the
    extension's: 512 files, 16 MiB). ``timeout`` bounds each request, in seconds.
    """

    def __init__(
        self,
        client: SkillsPeer,
        *,
        allow_dynamic: bool = False,
        max_resources: int = MAX_SKILL_RESOURCES,
        max_size: int = MAX_SKILL_SIZE,
        timeout: float = 30.0,
    ) -> None:
        if max_resources < MAX_SKILL_RESOURCES or max_size < MAX_SKILL_SIZE:
            # Limits: "Hosts MUST support skills up to and including these limits".
            raise ValueError("the limits may only be raised above the extension's")
        self._client = client
        self.allow_dynamic = allow_dynamic
        self.max_resources = max_resources
        self.max_size = max_size
        self.timeout = timeout
        self._entries: dict[str, SkillEntry] = {}
        self._invalid: tuple[InvalidSkillEntry, ...] = ()
        self._dynamic_read: dict[str, int] = {}

    @property
    def declared(self) -> bool:
        """Whether the server declares the skills extension."""
        return declares_skills(self._client.server_capabilities)

    @property
    def entries(self) -> tuple[SkillEntry, ...]:
        """The entries held: from the last :meth:`list_skills`, and :meth:`get_skill`."""
        return tuple(self._entries.values())

    @property
    def invalid(self) -> tuple[InvalidSkillEntry, ...]:
        """The entries of the last listing that cannot be loaded, and why."""
        return self._invalid

    async def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if not self.declared:
            # "Clients issue skills/list and skills/get only after observing the
            # server's declaration."
            raise SkillError(f"the server does not declare the {SKILLS_EXTENSION} extension")
        with trio.fail_after(self.timeout):
            return await self._client.request(method, params)

    async def list_skills(self) -> list[SkillEntry]:
        """Every skill the server lists (all pages), its entry held for later
        loads. Nothing else is read. Invalid entries are left out (see
        :attr:`invalid`)."""
        entries: dict[str, SkillEntry] = {}
        invalid: list[InvalidSkillEntry] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_SKILL_LIST_PAGES):
            params: dict[str, Any] = {} if cursor is None else {"cursor": cursor}
            page = parse_skills_page(await self._request("skills/list", params))
            for entry in page.skills:
                entries[entry.uri] = entry
            invalid.extend(page.invalid)
            cursor = page.next_cursor
            if cursor is None:
                break
            if cursor in seen:
                raise SkillError("skills/list returned a cursor it returned before")
            seen.add(cursor)
        else:
            raise SkillError(f"skills/list goes on past {MAX_SKILL_LIST_PAGES} pages")
        self._entries = entries
        self._invalid = tuple(invalid)
        self._dynamic_read.clear()
        return list(entries.values())

    async def get_skill(self, uri: str) -> SkillEntry:
        """The current entry of the skill whose ``SKILL.md`` is at ``uri``
        (``skills/get``: a skill need not be listed to be served), held from now on."""
        entry = parse_skill_get_result(await self._request("skills/get", {"uri": uri}), uri)
        self._entries[uri] = entry
        self._dynamic_read.pop(uri, None)
        return entry

    def find_skill(self, skill: str) -> SkillEntry | None:
        """The held entry of ``skill``, a ``SKILL.md`` URI or a name. A name two
        held skills share is ambiguous ("hosts MUST NOT assume name
        uniqueness"): :class:`SkillError`, naming their URIs."""
        if skill in self._entries:
            return self._entries[skill]
        named = [e for e in self._entries.values() if e.name == skill]
        if len(named) > 1:
            uris = ", ".join(e.uri for e in named)
            raise SkillError(f"{len(named)} skills are named {skill!r} ({uris}): load one by URI")
        return named[0] if named else None

    async def load_skill(self, skill: str | SkillEntry) -> LoadedSkill:
        """Load ``skill`` (an entry, a ``SKILL.md`` URI or a name): read its
        ``SKILL.md`` and verify it against the entry; its supporting files are
        read later, each when it is needed (:meth:`read_file`).

        A skill not held yet is looked up: by URI with ``skills/get``, by name
        in a fresh listing. Raises :class:`SkillError` (unknown, invalid, over
        the limits, dynamic and not allowed) or
        :class:`~scaled_mcp.protocol.client.SkillVerificationError` (the
        content is not the entry's: it is not returned).
        """
        entry = await self._entry(skill)
        if entry.dynamic and not self.allow_dynamic:
            raise SkillError(
                f"skill {entry.uri} publishes no digests (resources: dynamic), and "
                "dynamic skills are not allowed"
            )
        entry.check_limits(self.max_resources, self.max_size)
        data = await self._read(entry, entry.uri)
        return verify_skill_md(entry, data)

    async def _entry(self, skill: str | SkillEntry) -> SkillEntry:
        if isinstance(skill, SkillEntry):
            return skill
        entry = self.find_skill(skill)
        if entry is not None:
            return entry
        if skill_name_of(skill) is not None:
            return await self.get_skill(skill)
        await self.list_skills()
        entry = self.find_skill(skill)
        if entry is None:
            raise SkillError(f"the server lists no skill named {skill!r}")
        return entry

    async def _read(self, entry: SkillEntry, uri: str) -> bytes:
        if entry.files is not None:
            entry.file(uri)  # an unlisted file is refused before it is read
        with trio.fail_after(self.timeout):
            result = await self._client.request("resources/read", {"uri": uri})
        data = read_result_bytes(result, uri)
        if entry.files is None:
            # Limits: a host loading a dynamic skill "applies the total-size limit
            # to what it actually retrieves".
            total = self._dynamic_read.get(entry.uri, 0) + len(data)
            if total > self.max_size:
                raise SkillError(f"skill {entry.uri} read past {self.max_size} bytes")
            self._dynamic_read[entry.uri] = total
        return verify_file(entry, uri, data)

    async def read_file(self, skill: LoadedSkill, path: str) -> bytes:
        """The verified bytes of one file of a loaded skill: ``path`` relative to
        the skill's root (``references/FORMS.md``) or its full URI. Only a file
        the held entry lists is read; raises
        :class:`~scaled_mcp.protocol.client.SkillVerificationError` otherwise or
        when the content is not the entry's."""
        return await self._read(skill.entry, skill.entry.resolve(path))

    async def read_text(self, skill: LoadedSkill, path: str) -> str:
        """:meth:`read_file` decoded as UTF-8 (:class:`SkillError` if it is not)."""
        data = await self.read_file(skill, path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise SkillError(f"{skill.entry.resolve(path)} is not UTF-8 text") from None
