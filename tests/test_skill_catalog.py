"""The core's skill catalog: what a server serves of a directory of Agent Skills.

Every entry it builds is one the host's side of the core accepts and verifies
(one owner for each rule: the same frontmatter reader, naming rule, digest and
limits), its directory listings reach exactly the files of each skill, and no
path it accepts can leave the directory.
"""

from __future__ import annotations

import posixpath
from typing import Any

import pytest
from hypothesis import given, strategies as st

from scaled_mcp.protocol.client import (
    MAX_SKILL_RESOURCES,
    MAX_SKILL_SIZE,
    SkillError,
    parse_frontmatter,
    parse_skill_entry,
    verify_file,
    verify_skill_md,
)
from scaled_mcp.protocol.types import (
    DIRECTORY_MIME_TYPE,
    SkillCatalog,
    skill_mime_type,
    skill_path_problem,
)


def skill_md(name: str, description: str = "Does a thing.", extra: str = "") -> bytes:
    return f'---\nname: "{name}"\ndescription: {description}\n{extra}---\n\n# {name}\n'.encode()


FILES = {
    "pdf-processing/SKILL.md": skill_md("pdf-processing", extra="metadata:\n  version: '2'\n"),
    "pdf-processing/references/FORMS.md": b"# Forms\n",
    "pdf-processing/scripts/extract.sh": b"#!/bin/sh\n",
    "acme/billing/refunds/SKILL.md": skill_md("refunds"),
    "acme/billing/refunds/examples/email.md": b"Hello\n",
    "README.md": b"not part of any skill\n",
}


def test_entries_are_what_the_host_side_accepts_and_verifies() -> None:
    catalog = SkillCatalog(FILES)
    uris = [e["uri"] for e in catalog.entries]
    assert uris == ["skill://acme/billing/refunds/SKILL.md", "skill://pdf-processing/SKILL.md"]
    by_uri = {f.uri: f for f in catalog.files}
    assert "skill://README.md" not in by_uri  # outside every skill: not served
    for wire in catalog.entries:
        entry = parse_skill_entry(wire)
        assert entry.files is not None
        loaded = verify_skill_md(entry, by_uri[entry.uri].data)
        assert loaded.frontmatter == parse_frontmatter(by_uri[entry.uri].data.decode())
        for listed in entry.files:
            verify_file(entry, listed.uri, by_uri[listed.uri].data)
    pdf = catalog.entry("skill://pdf-processing/SKILL.md")
    assert pdf is not None and pdf["frontmatter"]["metadata"] == {"version": "2"}
    assert catalog.entry("skill://pdf-processing/references/FORMS.md") is None
    manifest = by_uri["skill://pdf-processing/SKILL.md"]
    assert manifest.resource() == {
        "uri": "skill://pdf-processing/SKILL.md",
        "name": "pdf-processing",
        "mimeType": "text/markdown",
        "description": "Does a thing.",
        "size": len(FILES["pdf-processing/SKILL.md"]),
    }


def test_directories_from_the_prefix_levels_down() -> None:
    catalog = SkillCatalog(FILES, prefix="team", directories=["pdf-processing/empty"])
    assert catalog.directory("skill://team") == [
        {"uri": "skill://team/acme", "name": "acme", "mimeType": DIRECTORY_MIME_TYPE},
        {
            "uri": "skill://team/pdf-processing",
            "name": "pdf-processing",
            "mimeType": DIRECTORY_MIME_TYPE,
        },
    ]
    root = catalog.directory("skill://team/pdf-processing")
    assert root is not None
    assert [(c["name"], c["mimeType"]) for c in root] == [
        ("pdf-processing", "text/markdown"),  # SKILL.md, named after its skill
        ("empty", DIRECTORY_MIME_TYPE),
        ("references", DIRECTORY_MIME_TYPE),
        ("scripts", DIRECTORY_MIME_TYPE),
    ]
    assert catalog.directory("skill://team/pdf-processing/empty") == []
    for not_a_directory in (
        "skill://team/pdf-processing/SKILL.md",
        "skill://team/pdf-processing/",
        "skill://pdf-processing",
        "skill://team/../team",
    ):
        assert catalog.directory(not_a_directory) is None


def test_uris_are_percent_encoded() -> None:
    catalog = SkillCatalog({"s/SKILL.md": skill_md("s"), "s/a b#?%.md": b"x", "s/été/x.txt": b"y"})
    assert {f.uri for f in catalog.files} == {
        "skill://s/SKILL.md",
        "skill://s/a%20b%23%3F%25.md",
        "skill://s/%C3%A9t%C3%A9/x.txt",
    }


@pytest.mark.parametrize(
    ("files", "why"),
    [
        ({"README.md": b"x"}, "no skill found"),
        ({"SKILL.md": skill_md("top")}, "no skill found"),
        ({"a/SKILL.md": skill_md("b")}, "is not its directory's"),
        ({"Bad--Name/SKILL.md": skill_md("Bad--Name")}, "naming rules"),
        ({"a/SKILL.md": b"# no frontmatter\n"}, "cannot be read"),
        ({"a/SKILL.md": b"---\nname: a\n---\n"}, "no description"),
        ({"0/SKILL.md": b"---\nname: 0\ndescription: d\n---\n"}, "not a string"),
        ({"a/SKILL.md": b"---\ndescription: d\n---\n"}, "has no name"),
        ({"a/SKILL.md": b"---\nname: a\ndescription: [1]\n---\n"}, "no description"),
        ({"a/SKILL.md": b"---\nname: a\ndescription: d\nx: .inf\n---\n"}, "JSON cannot"),
        ({"a/SKILL.md": b"\xff\xfe"}, "not UTF-8"),
        ({"a/SKILL.md": skill_md("a"), "a/x": b"", "a/x/y": b""}, "both a file and"),
        ({"a/SKILL.md": skill_md("a"), "a/../b": b""}, "'..' path segment"),
        ({"a/SKILL.md": skill_md("a"), "a/.env": b""}, "hidden"),
        ({"a/SKILL.md": skill_md("a"), "/etc/passwd": b""}, "absolute"),
    ],
)
def test_what_cannot_be_served_is_refused(files: dict[str, bytes], why: str) -> None:
    with pytest.raises(SkillError, match=why):
        SkillCatalog(files)


def test_skills_over_the_limits_are_refused() -> None:
    many = {f"a/f{n}": b"" for n in range(MAX_SKILL_RESOURCES)}
    with pytest.raises(SkillError, match="over the limit of 512"):
        SkillCatalog({"a/SKILL.md": skill_md("a"), **many})
    assert len(SkillCatalog({"a/SKILL.md": skill_md("a"), **dict(list(many.items())[:-1])}).files)
    big = {"a/SKILL.md": skill_md("a"), "a/big": b"\0" * (MAX_SKILL_SIZE - len(skill_md("a")))}
    assert SkillCatalog(big).entries
    with pytest.raises(SkillError, match="bytes, over the limit"):
        SkillCatalog({**big, "a/one-more": b"!"})


def test_mime_types() -> None:
    assert skill_mime_type("a/SKILL.md") == "text/markdown"
    assert skill_mime_type("a/x.PY") == "text/x-python"
    assert skill_mime_type("a/Makefile") == "application/octet-stream"
    assert skill_mime_type("a/x.unknown") == "application/octet-stream"


# -- properties ---------------------------------------------------------------------------

hostile_segment = st.one_of(
    st.sampled_from(["..", ".", "", "...", ".git", "..\\..", "%2e%2e", "a\x00b", "\n", "~"]),
    st.text(max_size=6),
)


@given(st.lists(hostile_segment, min_size=1, max_size=5), st.booleans())
def test_no_accepted_path_leaves_the_directory(segments: list[str], absolute: bool) -> None:
    path = ("/" if absolute else "") + "/".join(segments)
    if skill_path_problem(path) is None:
        # Accepted: already normal, relative, and never climbing out.
        assert posixpath.normpath(path) == path
        assert not path.startswith("/") and ".." not in path.split("/")
        assert "\\" not in path and "\x00" not in path
        assert not any(segment.startswith(".") for segment in path.split("/"))


names = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
descriptions = st.from_regex(r"[A-Za-z][A-Za-z0-9 ,]{0,19}", fullmatch=True)
file_names = st.from_regex(r"[A-Za-z0-9_ #%?é-]{1,10}(\.[a-z]{1,4})?", fullmatch=True)


@st.composite
def skill_trees(draw: st.DrawFn) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name in draw(st.lists(names, min_size=1, max_size=3, unique=True)):
        prefix = "/".join(draw(st.lists(st.sampled_from(["acme", "x", "team"]), max_size=2)))
        root = f"{prefix}/{name}" if prefix else name
        if any(root.startswith(p + "/") or p.startswith(root + "/") for p in files):
            continue
        files[f"{root}/SKILL.md"] = skill_md(name, draw(descriptions))
        for _ in range(draw(st.integers(0, 4))):
            sub = draw(st.lists(file_names.filter(lambda s: "." not in s), max_size=2))
            path = "/".join([root, *sub, draw(file_names)])
            clash = any(p.startswith(path + "/") or path.startswith(p + "/") for p in files)
            if path not in files and not clash:
                files[path] = draw(st.binary(max_size=40))
    return files


@given(skill_trees())
def test_every_entry_verifies_and_the_directories_reach_exactly_its_files(
    files: dict[str, bytes],
) -> None:
    catalog = SkillCatalog(files)
    by_uri = {f.uri: f for f in catalog.files}
    for wire in catalog.entries:
        entry = parse_skill_entry(wire)
        assert entry.files is not None
        verify_skill_md(entry, by_uri[entry.uri].data)
        for listed in entry.files:
            verify_file(entry, listed.uri, by_uri[listed.uri].data)
        # Descending from the skill's root with directory reads finds its files.
        found: set[str] = set()
        pending = [entry.root]
        while pending:
            children: list[dict[str, Any]] | None = catalog.directory(pending.pop())
            assert children is not None
            for child in children:
                if child["mimeType"] == DIRECTORY_MIME_TYPE:
                    pending.append(child["uri"])
                else:
                    found.add(child["uri"])
        assert found == {listed.uri for listed in entry.files}
