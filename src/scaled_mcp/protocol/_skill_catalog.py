"""The skills extension (``io.modelcontextprotocol/skills``), the server's side: a catalog.

A :class:`SkillCatalog` is built from the files of a directory of Agent Skills
(each skill a directory holding a ``SKILL.md``), given as relative paths and
their bytes: the caller reads them, this module decides everything else, with
the same rules the host's side verifies (:mod:`._skills`, :mod:`._frontmatter`):

- which paths may be served at all (:func:`skill_path_problem`): relative,
  ``/``-separated, no empty, ``.`` or ``..`` segment, no hidden (dot) name, no
  backslash or control character;
- what a skill is: "Every skill MUST contain a SKILL.md file at its root", which
  "MUST begin with YAML frontmatter containing at minimum the name and
  description fields"; "The final segment of <skill-path> MUST equal the skill's
  name" and "MUST satisfy the Agent Skills specification's naming rules";
  "Servers SHOULD NOT serve a skill that exceeds either limit" (512 files,
  16 MiB): a catalog refuses such a skill (:class:`SkillError`);
- the resource URIs, ``skill://<skill-path>/<file-path>`` ("Servers SHOULD use
  the skill:// URI scheme"), each segment percent-encoded to RFC 3986
  unreserved characters, so the first one is a valid ``reg-name``;
- the entries of ``skills/list`` and ``skills/get``: the frontmatter "rendered
  verbatim as a JSON object", and ``resources`` "complete": every file under
  the skill's directory (a nested skill's files too), each with the SHA-256
  digest and size of its bytes;
- ``resources/directory/read``: the direct children of every directory level
  (the skill root, its subdirectories, the prefix levels above it), files with
  their ``Resource`` metadata and subdirectories as ``inode/directory``.

Files outside every skill are not part of the catalog. No I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote

import attrs

from ._frontmatter import parse_frontmatter
from ._skills import (
    MAX_SKILL_RESOURCES,
    MAX_SKILL_SIZE,
    SKILL_MANIFEST,
    SkillError,
    skill_digest,
    valid_skill_name,
)
from ._yaml_scalars import FrontmatterError

__all__ = [
    "DIRECTORY_MIME_TYPE",
    "SKILL_MD_MIME_TYPE",
    "SKILL_SCHEME",
    "ServedSkillFile",
    "SkillCatalog",
    "skill_mime_type",
    "skill_path_problem",
]

#: "Servers SHOULD use the skill:// URI scheme".
SKILL_SCHEME: Final = "skill"
#: "A directory resource is a resource whose mimeType is inode/directory".
DIRECTORY_MIME_TYPE: Final = "inode/directory"
#: "For each skill://<skill-path>/SKILL.md resource: mimeType SHOULD be text/markdown".
SKILL_MD_MIME_TYPE: Final = "text/markdown"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MIME_TYPES: Final = {
    "md": "text/markdown",
    "markdown": "text/markdown",
    "txt": "text/plain",
    "py": "text/x-python",
    "sh": "text/x-shellscript",
    "js": "text/javascript",
    "ts": "text/x-typescript",
    "json": "application/json",
    "yaml": "application/yaml",
    "yml": "application/yaml",
    "toml": "application/toml",
    "csv": "text/csv",
    "html": "text/html",
    "xml": "application/xml",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}


def skill_path_problem(path: object) -> str | None:
    """Why ``path`` (relative, ``/``-separated) cannot name a served file or
    directory, or ``None`` if it can. Nothing that could leave the directory
    served (an absolute path, ``..``), nothing hidden (``.git``, ``.env``) and
    nothing a URI or a file system reads two ways (``\\``, control characters)."""
    if not isinstance(path, str) or not path:
        return "an empty path"
    if path.startswith("/"):
        return "an absolute path"
    if "\\" in path:
        return "a backslash in a path"
    if _CONTROL.search(path):
        return "a control character in a path"
    for segment in path.split("/"):
        if segment == "":
            return "an empty path segment"
        if segment in (".", ".."):
            return f"a {segment!r} path segment"
        if segment.startswith("."):
            return "a hidden (dot) name"
    return None


def skill_mime_type(path: str) -> str:
    """The ``mimeType`` of a skill file, by its extension ("Other files in the
    skill use the mimeType appropriate to their content")."""
    name = path.rsplit("/", 1)[-1]
    if name == SKILL_MANIFEST:
        return SKILL_MD_MIME_TYPE
    _, dot, extension = name.rpartition(".")
    if not dot:
        return "application/octet-stream"
    return _MIME_TYPES.get(extension.lower(), "application/octet-stream")


def _uri(segments: Iterable[str]) -> str:
    return f"{SKILL_SCHEME}://" + "/".join(quote(s, safe="-._~") for s in segments)


def _finite(value: object) -> bool:
    """Whether a frontmatter value has a JSON form (no infinite or NaN number)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


@attrs.frozen
class ServedSkillFile:
    """One file the catalog serves as a resource: its URI, its path (under the
    catalog's prefix), its ``Resource`` metadata and its bytes."""

    uri: str
    path: str
    name: str
    mime_type: str
    data: bytes
    description: str | None = None

    @property
    def name_in_directory(self) -> str:
        """The last segment of its path (its ``name`` may differ: a ``SKILL.md``
        is named after its skill)."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def size(self) -> int:
        """The length of its bytes."""
        return len(self.data)

    @property
    def text(self) -> str | None:
        """Its bytes as text if they are UTF-8 (served as ``text``, whose UTF-8
        encoding is these very bytes), else ``None`` (served as a ``blob``)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def resource(self) -> dict[str, Any]:
        """Its ``Resource`` object."""
        out: dict[str, Any] = {"uri": self.uri, "name": self.name, "mimeType": self.mime_type}
        if self.description is not None:
            out["description"] = self.description
        out["size"] = self.size
        return out


class SkillCatalog:
    """The skills found in ``files`` (relative path → bytes), served under
    ``prefix`` (``acme/billing``: further segments before every skill path).

    Every directory holding a ``SKILL.md`` is a skill, its path (prefix
    included) its ``<skill-path>``. ``directories`` are further directories
    known to exist (an empty one is a directory too). Raises
    :class:`SkillError` naming the first path or skill that cannot be served.
    """

    def __init__(
        self, files: Mapping[str, bytes], *, prefix: str = "", directories: Iterable[str] = ()
    ) -> None:
        prefix = prefix.strip("/")
        if prefix:
            problem = skill_path_problem(prefix)
            if problem is not None:
                raise SkillError(f"the prefix {prefix!r} cannot be served: {problem}")
        for path in [*files, *directories]:
            problem = skill_path_problem(path)
            if problem is not None:
                raise SkillError(f"{path!r} cannot be served: {problem}")
        roots = sorted(
            path[: -len(SKILL_MANIFEST) - 1]
            for path in files
            if path.endswith("/" + SKILL_MANIFEST)
        )
        if not roots:
            raise SkillError(
                f"no skill found: no directory holds a {SKILL_MANIFEST} (a {SKILL_MANIFEST} "
                "at the top is not a skill: its directory has no name to serve it under)"
            )

        def full(path: str) -> str:
            return f"{prefix}/{path}" if prefix else path

        def inside(path: str) -> bool:
            return any(path.startswith(root + "/") for root in roots)

        self._files: dict[str, ServedSkillFile] = {}
        for path in sorted(p for p in files if inside(p)):
            self._files[path] = ServedSkillFile(
                uri=_uri(full(path).split("/")),
                path=full(path),
                name=path.rsplit("/", 1)[-1],
                mime_type=skill_mime_type(path),
                data=bytes(files[path]),
            )
        self._entries: dict[str, dict[str, Any]] = {}
        for root in roots:
            entry, description = self._entry(root, full(root))
            path = f"{root}/{SKILL_MANIFEST}"
            # "name SHOULD be set from the name field", "description ... from the
            # description field" of the frontmatter.
            self._files[path] = attrs.evolve(
                self._files[path], name=entry["frontmatter"]["name"], description=description
            )
            self._entries[entry["uri"]] = entry
        # Every directory level: the prefix levels, the skill roots and what lies
        # under them, each (full path) with its direct children by name.
        levels: set[str] = set()

        def add_levels(path: str, *, last: bool) -> None:
            segments = path.split("/")
            for end in range(1, len(segments) + (1 if last else 0)):
                levels.add("/".join(segments[:end]))

        for root in roots:
            add_levels(full(root), last=True)
        for served in self._files.values():
            add_levels(served.path, last=False)
        for directory in directories:
            if directory in roots or inside(directory):
                add_levels(full(directory), last=True)
        clash = levels & {served.path for served in self._files.values()}
        if clash:
            raise SkillError(f"{min(clash)!r} is both a file and a directory")
        children: dict[str, dict[str, dict[str, Any]]] = {level: {} for level in levels}
        for level in levels:
            parent, _, name = level.rpartition("/")
            if parent in children:
                children[parent][name] = {
                    "uri": _uri(level.split("/")),
                    "name": name,
                    "mimeType": DIRECTORY_MIME_TYPE,
                }
        for served in self._files.values():
            children[served.path.rpartition("/")[0]][served.name_in_directory] = served.resource()
        self._directories = {
            _uri(level.split("/")): [kids[name] for name in sorted(kids)]
            for level, kids in children.items()
        }

    # -- building ---------------------------------------------------------------

    def _entry(self, root: str, skill_path: str) -> tuple[dict[str, Any], str]:
        manifest = self._files[f"{root}/{SKILL_MANIFEST}"]
        where = f"the skill at {skill_path!r}"
        text = manifest.text
        if text is None:
            raise SkillError(f"{where}: its {SKILL_MANIFEST} is not UTF-8")
        try:
            frontmatter = parse_frontmatter(text)
        except FrontmatterError as exc:
            raise SkillError(f"{where}: its frontmatter cannot be read: {exc}") from None
        name = frontmatter.get("name")
        description = frontmatter.get("description")
        if name is not None and not isinstance(name, str):
            # YAML reads ``name: 2024`` as a number: the entry would carry one too.
            raise SkillError(f"{where}: its frontmatter name {name!r} is not a string (quote it)")
        if not name:
            raise SkillError(f"{where}: its frontmatter has no name")
        if not isinstance(description, str) or not description:
            raise SkillError(f"{where}: its frontmatter has no description")
        directory = root.rsplit("/", 1)[-1]
        if name != directory:
            raise SkillError(f"{where}: its name {name!r} is not its directory's {directory!r}")
        if not valid_skill_name(name):
            raise SkillError(f"{where}: its name {name!r} breaks the Agent Skills naming rules")
        if not _finite(frontmatter):
            raise SkillError(f"{where}: its frontmatter holds a number JSON cannot carry")
        files = [manifest] + [
            f for path, f in self._files.items() if path.startswith(root + "/") and f != manifest
        ]
        if len(files) > MAX_SKILL_RESOURCES:
            raise SkillError(
                f"{where}: {len(files)} files, over the limit of {MAX_SKILL_RESOURCES}"
            )
        total = sum(f.size for f in files)
        if total > MAX_SKILL_SIZE:
            raise SkillError(f"{where}: {total} bytes, over the limit of {MAX_SKILL_SIZE}")
        entry = {
            "uri": manifest.uri,
            "frontmatter": frontmatter,
            "resources": [
                {"uri": f.uri, "digest": skill_digest(f.data), "size": f.size} for f in files
            ],
        }
        return entry, description

    # -- answers ----------------------------------------------------------------

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every skill's entry (``skills/list``), in the order of their URIs."""
        return [self._entries[uri] for uri in sorted(self._entries)]

    def entry(self, uri: str) -> dict[str, Any] | None:
        """The entry of the skill whose ``SKILL.md`` is at ``uri`` (``skills/get``),
        or ``None`` if no skill is served there."""
        return self._entries.get(uri)

    @property
    def files(self) -> list[ServedSkillFile]:
        """Every file served, in the order of their paths."""
        return [self._files[path] for path in sorted(self._files)]

    def directory(self, uri: str) -> list[dict[str, Any]] | None:
        """The direct children of the directory resource at ``uri``
        (``resources/directory/read``), or ``None`` if ``uri`` is none."""
        return self._directories.get(uri)

    @property
    def directory_uris(self) -> list[str]:
        """Every directory resource's URI."""
        return sorted(self._directories)
