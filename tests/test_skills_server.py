"""``app.add_skills(path)``: a directory of Agent Skills served with the skills extension.

Our client's :class:`~scaled_mcp.client.Skills` lists, loads and reads every
skill on both eras, each byte verified; the extension's messages validate
against its schema (``tests/data/ext-skills``, beside the base 2026-07-28
schema); errors are -32602; and nothing outside the directory is ever read,
whatever the names and symbolic links in it (hypothesis).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
from hypothesis import HealthCheck, given, settings, strategies as st

from scaled_mcp import MCPServer
from scaled_mcp.cli import main
from scaled_mcp.client import Client, ClientError, Mode, Skills
from scaled_mcp.protocol.client import SkillError
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.server._skills import read_skill_directory

from .spec import schema

EXAMPLES = Path(__file__).parent.parent / "examples" / "skills"
EXT_SCHEMA = Path(__file__).parent / "data" / "ext-skills" / "schema.json"
SECRET = b"the secret outside the skills directory"


@functools.cache
def _registry() -> referencing.Registry[Any]:
    base = {**schema("2026-07-28"), "$id": "urn:mcp-2026-07-28"}
    ext = json.loads(EXT_SCHEMA.read_text())
    return referencing.Registry().with_resources(
        [
            ("urn:mcp-2026-07-28", referencing.Resource.from_contents(base)),
            ("urn:ext-skills", referencing.Resource.from_contents(ext)),
        ]
    )


def validate(name: str, instance: Any) -> None:
    """Raise unless ``instance`` is a valid ``name`` of the skills extension."""
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"urn:ext-skills#/$defs/{name}"}, registry=_registry()
    )
    validator.validate(instance)


def skills_app(path: Path = EXAMPLES, **options: Any) -> MCPServer:
    app = MCPServer("skills", page_size=1)
    app.add_skills(path, **options)
    return app


@pytest.mark.parametrize("mode", ["stateless", "handshake"])
async def test_our_client_lists_loads_and_verifies_every_skill(mode: Mode) -> None:
    async with Client(skills_app(), mode=mode) as client:
        skills = Skills(client)
        assert skills.declared
        entries = await skills.list_skills()  # one skill a page
        assert [e.uri for e in entries] == [
            "skill://acme/billing/refunds/SKILL.md",
            "skill://pdf-processing/SKILL.md",
        ]
        assert skills.invalid == ()
        for entry in entries:
            loaded = await skills.load_skill(entry.uri)
            on_disk = (EXAMPLES / entry.uri.removeprefix("skill://")).read_text()
            assert loaded.text == on_disk
            for listed in entry.files or ():
                data = await skills.read_file(loaded, listed.uri)
                assert data == (EXAMPLES / listed.uri.removeprefix("skill://")).read_bytes()
        listed_resources = {r.uri: r for r in await client.list_resources()}
        manifest = listed_resources["skill://pdf-processing/SKILL.md"]
        assert manifest.name == "pdf-processing" and manifest.mime_type == "text/markdown"
        assert manifest.description is not None and manifest.description.startswith("Extract")
        assert client.server_capabilities is not None
        assert client.server_capabilities["extensions"] == {
            "io.modelcontextprotocol/skills": {"directoryRead": True}
        }


async def test_the_messages_validate_against_the_extensions_schema() -> None:
    async with Client(skills_app(), mode="stateless") as client:
        assert client.server_capabilities is not None
        validate(
            "SkillsExtensionSettings",
            client.server_capabilities["extensions"]["io.modelcontextprotocol/skills"],
        )
        params: dict[str, Any] = {}
        validate("ListSkillsRequestParams", params)
        first = await client.request("skills/list", params)
        validate("ListSkillsResult", first)
        assert first["ttlMs"] == 300_000 and first["cacheScope"] == "public"
        second = await client.request("skills/list", {"cursor": first["nextCursor"]})
        validate("ListSkillsResult", second)
        assert "nextCursor" not in second
        for page in (first, second):
            uri = page["skills"][0]["uri"]
            validate("GetSkillRequestParams", {"uri": uri})
            got = await client.request("skills/get", {"uri": uri})
            validate("GetSkillResult", got)
            assert got["skill"] == page["skills"][0]
            directory = {"uri": uri.removesuffix("/SKILL.md")}
            validate("ReadResourceDirectoryRequestParams", directory)
            children = await client.request("resources/directory/read", directory)
            validate("ReadResourceDirectoryResult", children)
        # What the schema refuses, it refuses: the validation can fail.
        with pytest.raises(jsonschema.ValidationError):
            validate("ListSkillsResult", {**first, "ttlMs": None})
        broken = {**first["skills"][0], "resources": [{"uri": "x", "digest": "md5:0"}]}
        with pytest.raises(jsonschema.ValidationError):
            validate("Skill", broken)


async def test_handshake_results_carry_no_caching_hints() -> None:
    async with Client(skills_app(), mode="handshake") as client:
        listed = await client.request("skills/list")
        assert "ttlMs" not in listed and "cacheScope" not in listed


@pytest.mark.parametrize("mode", ["stateless", "handshake"])
async def test_errors_are_invalid_params(mode: Mode) -> None:
    async with Client(skills_app(), mode=mode) as client:
        calls: list[tuple[str, dict[str, Any]]] = [
            ("skills/get", {"uri": "skill://nowhere/SKILL.md"}),
            ("skills/get", {"uri": "skill://pdf-processing"}),
            ("skills/get", {"uri": "skill://pdf-processing/../pdf-processing/SKILL.md"}),
            ("skills/get", {}),
            ("skills/list", {"cursor": "not a cursor"}),
            ("resources/directory/read", {"uri": "skill://pdf-processing/SKILL.md"}),
            ("resources/directory/read", {"uri": "skill://pdf-processing/nope"}),
            ("resources/directory/read", {"uri": "skill://pdf-processing/references/.."}),
            ("resources/directory/read", {"uri": 7}),
        ]
        for method, params in calls:
            with pytest.raises(ClientError) as caught:
                await client.request(method, params)
            assert caught.value.code == ErrorCode.INVALID_PARAMS, (method, params)
        with pytest.raises(ClientError):
            await client.read_resource("skill://pdf-processing/../../README.md")


async def test_directory_read_is_answered_only_when_declared() -> None:
    async with Client(skills_app(directory_read=False), mode="stateless") as client:
        assert client.server_capabilities is not None
        assert client.server_capabilities["extensions"] == {"io.modelcontextprotocol/skills": {}}
        with pytest.raises(ClientError) as caught:
            await client.request("resources/directory/read", {"uri": "skill://pdf-processing"})
        assert caught.value.code == ErrorCode.METHOD_NOT_FOUND


def test_a_server_without_skills_declares_no_extension() -> None:
    app = MCPServer("plain")
    assert "extensions" not in app.capabilities and app.extension_methods == frozenset()


def test_two_directories_need_distinct_places(tmp_path: Path) -> None:
    app = MCPServer("two")
    app.add_skills(EXAMPLES)
    with pytest.raises(SkillError, match="served already"):
        app.add_skills(EXAMPLES)
    app.add_skills(EXAMPLES, prefix="copy")
    assert app.resource_entry("skill://copy/pdf-processing/SKILL.md") is not None


def test_the_command_line_reports_a_bad_skills_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text("from scaled_mcp import MCPServer\napp = MCPServer('a')\n")
    (tmp_path / "skills" / "wrong").mkdir(parents=True)
    (tmp_path / "skills" / "wrong" / "SKILL.md").write_text(
        "---\nname: right\ndescription: d\n---\n"
    )
    status = main(
        ["serve", str(tmp_path / "app.py"), "--skills", str(tmp_path / "skills"), "--stdio"]
    )
    assert status == 2
    assert "is not its directory's 'wrong'" in capsys.readouterr().err


# -- nothing outside the directory --------------------------------------------------------

hostile_names = st.one_of(
    st.sampled_from(["..", "...", ".hidden", "a\\b", "~", "%2e%2e", " ", "-", "SKILL.md"]),
    st.text(
        alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=["Cs"]),
        min_size=1,
        max_size=12,
    ),
)
link_targets = st.sampled_from(["outside-file", "outside-dir", "inside-file", "root", "parent"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(hostile_names, st.sampled_from(["file", "dir", "link"]), link_targets)),
)
def test_nothing_outside_the_directory_is_read(
    entries: list[tuple[str, str, str]],
) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary)
        outside = base / "outside"
        outside.mkdir()
        (outside / "secret.md").write_bytes(SECRET)
        root = base / "skills"
        skill = root / "s"
        skill.mkdir(parents=True)
        (skill / "SKILL.md").write_text("---\nname: s\ndescription: d\n---\n")
        targets = {
            "outside-file": outside / "secret.md",
            "outside-dir": outside,
            "inside-file": skill / "SKILL.md",
            "root": root,
            "parent": base,
        }
        for name, kind, target in entries:
            path = skill / name
            try:
                if kind == "file":
                    path.write_bytes(b"inside")
                elif kind == "dir":
                    path.mkdir()
                    (path / "f.txt").write_bytes(b"inside")
                else:
                    path.symlink_to(targets[target])
            except OSError:
                continue  # a name the file system refuses, or one already there
        files, directories = read_skill_directory(root)
        real_root = os.path.realpath(root)
        for relative in [*files, *directories]:
            assert ".." not in relative.split("/") and not relative.startswith("/")
            real = os.path.realpath(root / relative)
            assert real == real_root or real.startswith(real_root + os.sep)
        assert all(SECRET not in data for data in files.values())
        for relative, data in files.items():
            assert data == (root / relative).read_bytes()


def test_a_file_too_large_for_a_skill_is_refused_before_it_is_held(tmp_path: Path) -> None:
    skill = tmp_path / "s"
    skill.mkdir()
    (skill / "SKILL.md").write_text("---\nname: s\ndescription: d\n---\n")
    with open(skill / "big.bin", "wb") as big:
        big.truncate(16 * 1024 * 1024 + 1)
    with pytest.raises(SkillError, match="larger than a skill may be"):
        read_skill_directory(tmp_path)
    with pytest.raises(SkillError, match="more than 1 files"):
        read_skill_directory(EXAMPLES, max_files=1)
    with pytest.raises(SkillError, match="is not a directory"):
        read_skill_directory(skill / "SKILL.md")
