"""Serving a directory of Agent Skills: ``app.add_skills(path)``.

The skills extension (``io.modelcontextprotocol/skills``) serves each file of a
skill as a resource (``skill://<skill-path>/<file-path>``, read with
``resources/read``), lists the skills with ``skills/list``, describes one with
``skills/get`` and, with ``directoryRead``, lists a directory with
``resources/directory/read``. What the catalog holds and every rule of it is
the core's (:class:`~scaled_mcp.protocol.types.SkillCatalog`); this module
reads the directory and answers the methods.

Nothing outside the directory is ever served: the directory is read once, when
:meth:`SkillServing.add_skills` is called, and its files are served from that
snapshot (so what is read always matches the digests the entries publish, and
nothing on disk is opened while serving). While reading, a symbolic link is
followed only if where it leads is inside the directory, a directory reached a
second time (a link loop) is not entered again, names the core refuses (hidden
ones, ``..``) are skipped, and the number and size of what is read are bounded.

Through ``parent.mount(child, prefix)``, the child's skills are the parent's
too, under their own URIs, as the child's resources are: a skill's name must
be its directory's (the extension's naming rules), so a mount prefix cannot be
put in it; a child that wants its skills apart serves them under
``add_skills(path, prefix="weather")`` (``skill://weather/<skill-path>/...``).
The parent's own skill wins over a mounted one of the same URI, and the first
mount over later ones. ``skills/list``, ``skills/get`` and
``resources/directory/read`` are handed to the child's own ``handle`` (its
middleware and visibility rules apply), the parent's rules around them.

Visibility: a skill is a :class:`~scaled_mcp.server.Component` of kind
``"skill"`` named by its ``SKILL.md`` URI (its ``wire`` is the skill's entry);
one a caller cannot see is missing from ``skills/list`` and unknown to
``skills/get``. Its files stay resources, decided by the rules on resources.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

from ..protocol.client import MAX_SKILL_SIZE, SKILLS_EXTENSION, SkillError
from ..protocol.jsonrpc import ErrorCode
from ..protocol.stateless import CacheHint
from ..protocol.types import ServedSkillFile, SkillCatalog, skill_path_problem
from ..protocol.versions import Era
from ..runtime import McpError
from ._context import Context
from ._dispatch import Dispatcher
from ._mount import MAX_MOUNTED_PAGES
from ._registry import Registry
from ._visibility import Component

__all__ = [
    "MAX_SKILL_DIRECTORY_BYTES",
    "MAX_SKILL_DIRECTORY_FILES",
    "SkillServing",
    "read_skill_directory",
]

_log = logging.getLogger("scaled_mcp.server.skills")

#: Files read at most from one skills directory (more: :class:`SkillError`).
MAX_SKILL_DIRECTORY_FILES: Final = 8192
#: Bytes read at most from one skills directory (more: :class:`SkillError`).
MAX_SKILL_DIRECTORY_BYTES: Final = 256 * 1024 * 1024
#: The longest URI an error message repeats.
_SHOWN: Final = 200
_NO_TAGS: Final[frozenset[str]] = frozenset()


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_skill_directory(
    path: str | os.PathLike[str],
    *,
    max_files: int = MAX_SKILL_DIRECTORY_FILES,
    max_bytes: int = MAX_SKILL_DIRECTORY_BYTES,
) -> tuple[dict[str, bytes], list[str]]:
    """The files (relative ``/``-separated path → bytes) and directories under
    ``path``, read once; only what lies inside it. Raises :class:`SkillError`
    when ``path`` is not a directory, a file is larger than a skill may be, or
    the directory holds more than ``max_files`` files or ``max_bytes`` bytes."""
    root = os.path.realpath(path)
    if not os.path.isdir(root):
        raise SkillError(f"{os.fspath(path)!r} is not a directory")
    files: dict[str, bytes] = {}
    directories: list[str] = []
    entered = {root}
    total = 0
    pending: list[tuple[str, str]] = [("", root)]
    while pending:
        relative, real = pending.pop()
        with os.scandir(real) as listing:
            names = sorted(entry.name for entry in listing)
        for name in names:
            child = f"{relative}/{name}" if relative else name
            problem = skill_path_problem(child)
            if problem is not None:
                _log.debug("skills: %r skipped (%s)", child, problem)
                continue
            target = os.path.realpath(os.path.join(real, name))
            if not _inside(root, target):
                _log.warning("skills: %r skipped: it leads outside %s", child, root)
                continue
            try:
                info = os.stat(target)
            except OSError:
                continue  # a dangling link
            if stat.S_ISDIR(info.st_mode):
                if target in entered:
                    continue
                entered.add(target)
                directories.append(child)
                pending.append((child, target))
            elif stat.S_ISREG(info.st_mode):
                data = _read_file(target, child)
                total += len(data)
                if len(files) >= max_files or total > max_bytes:
                    raise SkillError(
                        f"{os.fspath(path)!r} holds more than {max_files} files "
                        f"or {max_bytes} bytes"
                    )
                files[child] = data
    return files, directories


def _read_file(target: str, child: str) -> bytes:
    # O_NOFOLLOW: the path was resolved; a link put there since is not followed.
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise SkillError(f"{child!r} is not a regular file")
        data = file.read(MAX_SKILL_SIZE + 1)
    if len(data) > MAX_SKILL_SIZE:
        raise SkillError(f"{child!r} is larger than a skill may be ({MAX_SKILL_SIZE} bytes)")
    return data


def _reader(served: ServedSkillFile) -> Callable[[], Awaitable[str | bytes]]:
    text = served.text
    value: str | bytes = text if text is not None else served.data

    async def read() -> str | bytes:
        return value

    return read


class SkillServing(Registry, Dispatcher):
    """The skills extension on an :class:`~scaled_mcp.server.MCPServer`."""

    _skill_catalogs: tuple[SkillCatalog, ...] = ()
    _skill_directory_read: bool = False
    _skill_cache: CacheHint = CacheHint(ttl_ms=300_000, scope="public")

    def add_skills(
        self,
        path: str | os.PathLike[str],
        *,
        prefix: str = "",
        directory_read: bool = True,
        ttl_ms: int = 300_000,
        cache_scope: Literal["public", "private"] = "public",
    ) -> SkillCatalog:
        """Serve the Agent Skills in the directory ``path`` (each directory under
        it holding a ``SKILL.md`` is a skill, at ``skill://<prefix>/<its path>``),
        and declare the skills extension; ``directory_read`` also answers
        ``resources/directory/read``. ``ttl_ms`` and ``cache_scope`` are the
        caching hints of ``skills/list`` and ``skills/get`` on 2026-07-28 (the
        last call's, when skills are added from several directories).

        The directory is read now, once: add skills before the server is
        served (the capabilities a node declares are read when it starts).
        Raises :class:`~scaled_mcp.protocol.client.SkillError` (a ``ValueError``)
        naming what cannot be served.
        """
        files, directories = read_skill_directory(path)
        catalog = SkillCatalog(files, prefix=prefix, directories=directories)
        taken = {d for c in self._skill_catalogs for d in c.directory_uris}
        clash = taken & set(catalog.directory_uris)
        clash |= {f.uri for f in catalog.files if self.resource_entry(f.uri) is not None}
        if clash:
            raise SkillError(f"{min(clash)} is served already: give these skills a prefix")
        for served in catalog.files:
            self.add_resource(
                _reader(served),
                served.uri,
                name=served.name,
                description=served.description,
                mime_type=served.mime_type,
                size=served.size,
            )
        self._skill_catalogs = (*self._skill_catalogs, catalog)
        self._skill_directory_read = self._skill_directory_read or directory_read
        self._skill_cache = CacheHint(ttl_ms=ttl_ms, scope=cache_scope)
        self.serve_mounted_skills()
        return catalog

    # -- through mounts ----------------------------------------------------------

    def serves_skills(self) -> bool:
        """Whether this server, or a server mounted in it, serves skills."""
        return bool(self._skill_catalogs) or any(m.server.serves_skills() for m in self._mounts)

    def reads_skill_directories(self) -> bool:
        """Whether ``resources/directory/read`` is answered here or in a mount."""
        return self._skill_directory_read or any(
            m.server.reads_skill_directories() for m in self._mounts
        )

    def skill_cache_hint(self) -> CacheHint:
        """The caching hints of this server's ``skills/list`` on 2026-07-28: its
        own, as short and as private as any mounted server's."""
        hints = [self._skill_cache] if self._skill_catalogs else []
        hints += [m.server.skill_cache_hint() for m in self._mounts if m.server.serves_skills()]
        if not hints:
            return self._skill_cache
        private = any(h.scope == "private" for h in hints)
        return CacheHint(min(h.ttl_ms for h in hints), "private" if private else "public")

    def knows_skill(self, uri: str) -> bool:
        """Whether a skill is served at ``uri`` here or in a mount (whoever may see it)."""
        return any(c.entry(uri) is not None for c in self._skill_catalogs) or any(
            m.server.knows_skill(uri) for m in self._mounts
        )

    def knows_skill_directory(self, uri: str) -> bool:
        """Whether ``uri`` is a directory resource of skills here or in a mount."""
        return any(c.directory(uri) is not None for c in self._skill_catalogs) or any(
            m.server.knows_skill_directory(uri) for m in self._mounts
        )

    def serve_mounted_skills(self) -> None:
        """Answer the extension's methods if skills are served here or in a
        server mounted here (called by ``add_skills`` and ``mount``)."""
        if not self.serves_skills():
            return
        self._handlers["skills/list"] = self._list_skills
        self._handlers["skills/get"] = self._get_skill
        if self.reads_skill_directories():
            self._handlers["resources/directory/read"] = self._read_directory

    def _skill_visible(self, ctx: Context, entry: dict[str, Any]) -> bool:
        visible = self._visible
        return visible is None or visible(
            ctx, Component("skill", str(entry["uri"]), _NO_TAGS, entry)
        )

    @property
    def capabilities(self) -> dict[str, Any]:
        """The ``ServerCapabilities``; with skills (here or mounted), the
        extension under ``extensions`` ("settings sit directly under the
        identifier"; "An empty object indicates support for the extension with
        no optional features")."""
        caps = super().capabilities
        if self.serves_skills():
            settings = {"directoryRead": True} if self.reads_skill_directories() else {}
            caps.setdefault("extensions", {})[SKILLS_EXTENSION] = settings
        return caps

    @property
    def extension_methods(self) -> frozenset[str]:
        """The extension methods this server answers (the runtime passes them on):
        the skills extension's, with those of the others served (tasks)."""
        methods = {"skills/list", "skills/get", "resources/directory/read"}
        return frozenset(m for m in methods if m in self._handlers) | super().extension_methods

    def _cacheable(self, result: dict[str, Any], ctx: Context) -> dict[str, Any]:
        # The caching hints are the 2026-07-28 revision's ("CacheableResult").
        if ctx.era is Era.STATELESS:
            result.update(self.skill_cache_hint().to_json())
        return result

    async def _list_skills(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        own = sorted(
            (e for c in self._skill_catalogs for e in c.entries), key=lambda e: str(e["uri"])
        )
        entries = [e for e in own if self._skill_visible(ctx, e)]
        seen = {str(e["uri"]) for e in own}
        for mount in self._mounts:
            if not mount.server.serves_skills():
                continue
            inner = mount.context(ctx)
            page_params: dict[str, Any] = {}
            for _ in range(MAX_MOUNTED_PAGES):
                page = await mount.server.handle("skills/list", page_params, inner)
                for entry in page.get("skills", ()):
                    uri = str(entry.get("uri"))
                    if uri not in seen:
                        seen.add(uri)
                        if self._skill_visible(ctx, entry):
                            entries.append(entry)
                cursor = page.get("nextCursor")
                if cursor is None:
                    break
                page_params = {"cursor": cursor}
        # "An entry is atomic": a page holds whole entries.
        return self._cacheable(self._page(entries, params, "skills"), ctx)

    async def _get_skill(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise McpError(ErrorCode.INVALID_PARAMS, 'Invalid params: skills/get needs a "uri"')
        entry = next((e for c in self._skill_catalogs if (e := c.entry(uri)) is not None), None)
        if entry is None:
            mount = next((m for m in self._mounts if m.server.knows_skill(uri)), None)
            if mount is not None:
                got = await mount.server.handle("skills/get", params, mount.context(ctx))
                entry = got.get("skill")
        if isinstance(entry, dict) and self._skill_visible(ctx, entry):
            return self._cacheable({"skill": entry}, ctx)
        # "If the URI does not identify a skill the server serves, the server
        # MUST return error -32602 (Invalid params)."
        raise McpError(ErrorCode.INVALID_PARAMS, f"No skill is served at {uri[:_SHOWN]}")

    async def _read_directory(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise McpError(
                ErrorCode.INVALID_PARAMS, 'Invalid params: resources/directory/read needs a "uri"'
            )
        for catalog in self._skill_catalogs:
            children = catalog.directory(uri)
            if children is not None:
                return self._page(children, params, "resources")
        for mount in self._mounts:
            if mount.server.knows_skill_directory(uri):
                return await mount.server.handle(
                    "resources/directory/read", params, mount.context(ctx)
                )
        # "If the URI does not exist, or exists but is not a directory resource,
        # the server MUST return error -32602 (Invalid params)."
        raise McpError(ErrorCode.INVALID_PARAMS, f"{uri[:_SHOWN]} is not a directory resource")
