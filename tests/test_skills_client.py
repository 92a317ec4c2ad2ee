"""The skills extension's host side: the SKILL.md frontmatter reader, skill
entries, verification of what is read (size, digest, frontmatter), and the
client's Skills over a server that serves skills."""

import base64
import json
import math
import os
import random
import string
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings, strategies as st

from scaled_mcp.client import Client, ClientError, Mode, SkillError, Skills, SkillVerificationError
from scaled_mcp.protocol.client import (
    MAX_FRONTMATTER_DEPTH,
    FrontmatterError,
    SkillEntry,
    declares_skills,
    frontmatter_differences,
    parse_frontmatter,
    parse_skill_entry,
    parse_skill_get_result,
    parse_skills_page,
    parse_yaml_mapping,
    read_result_bytes,
    skill_digest,
    skill_name_of,
    split_frontmatter,
    valid_skill_name,
    verify_file,
    verify_skill_md,
)
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.server import Context, McpError, MCPServer

from .conformance import HARNESS, HARNESS_DIR, ROOT, install, node

# -- a YAML writer of our own, to check the reader against ------------------------------

_PLAIN_SAFE = string.ascii_letters + string.digits + " _.()/+="
_RESERVED_PLAIN = {"null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE"}


def _plain_ok(text: str) -> bool:
    """Whether ``text`` can be written as a plain scalar and read back as the same string."""
    if not text or text != text.strip() or any(c not in _PLAIN_SAFE for c in text):
        return False
    if text in _RESERVED_PLAIN or text.startswith((".", "+")):
        return False
    try:
        float(text)
    except ValueError:
        return not text[0].isdigit()
    return False


def _scalar(value: Any, style: int) -> str:
    if value is None:
        return ("null", "~", "")[style % 3]
    if isinstance(value, bool):
        return ("true", "True", "TRUE")[style % 3] if value else ("false", "False")[style % 2]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    assert isinstance(value, str)
    if style % 3 == 0 and _plain_ok(value):
        return value
    if style % 3 == 1 and "\n" not in value and all(c.isprintable() for c in value):
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value)  # JSON strings are YAML double-quoted scalars


def _write(value: Any, indent: int, style: int, out: list[str], prefix: str) -> None:
    """Append the lines of ``prefix`` (``key:`` or ``-``) followed by ``value``."""
    pad = " " * indent
    if isinstance(value, dict) and value and style % 4 != 3:
        out.append(f"{pad}{prefix}")
        for k, v in value.items():
            _write(v, indent + 2, style * 7 + len(k), out, f"{json.dumps(k)}:")
        return
    if isinstance(value, list) and value and style % 4 != 3:
        out.append(f"{pad}{prefix}")
        for k, v in enumerate(value):
            _write(v, indent + 2, style * 5 + k, out, "-")
        return
    if isinstance(value, (dict, list)):
        out.append(f"{pad}{prefix} {_flow(value)}")
        return
    if isinstance(value, str) and "\n" in value and style % 2 == 0 and _literal_ok(value):
        chomp = "" if value.endswith("\n") and not value.endswith("\n\n") else "-"
        if chomp == "-" and value.endswith("\n"):
            chomp = "+"
        out.append(f"{pad}{prefix} |{chomp}")
        body = value[:-1] if value.endswith("\n") and chomp == "" else value
        if chomp == "+":
            body = value[:-1]
        for line in body.split("\n"):
            out.append(f"{pad}  {line}" if line else "")
        return
    text = _scalar(value, style)
    out.append(f"{pad}{prefix} {text}".rstrip() if text else f"{pad}{prefix}")


def _literal_ok(value: str) -> bool:
    lines = value.split("\n")
    return (
        bool(lines[0])
        and not lines[0].startswith(" ")
        and all(c.isprintable() for c in value.replace("\n", ""))
        and all(line == line.rstrip(" ") or line.strip() for line in lines)
        and all(line.strip() or line == "" for line in lines)
    )


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return json.dumps(value)


def dump_frontmatter(frontmatter: Mapping[str, Any], style: int, body: str = "") -> str:
    lines: list[str] = []
    for k, (key, value) in enumerate(frontmatter.items()):
        _write(value, 0, style + k, lines, f"{json.dumps(key)}:")
    return "---\n" + "\n".join(lines) + "\n---\n" + body


def json_equal(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"), max_size=20
) | st.sampled_from(
    ["plain words", "it's", 'say "hi"', "a: b", "# not a comment", "x #y", "-1", ""]
)
_multiline = st.lists(st.text(string.ascii_letters + " ", max_size=8), min_size=2, max_size=4).map(
    "\n".join
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | _text
    | _multiline
)
_keys = st.text(string.ascii_letters + string.digits + "-_. ", min_size=1, max_size=10)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)
_frontmatters = st.dictionaries(_keys, _values, min_size=1, max_size=5)


@settings(max_examples=300)
@given(_frontmatters, st.integers(0, 1000), st.text(max_size=30))
def test_a_written_frontmatter_reads_back_as_written(
    frontmatter: dict[str, Any], style: int, body: str
) -> None:
    text = dump_frontmatter(frontmatter, style, body)
    assert json_equal(parse_frontmatter(text), frontmatter), text
    assert split_frontmatter(text)[1] == body


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        ("a: 1\nb: 1.5\nc: 0x1f\nd: 0o17\ne: -3\nf: 1e3", {"a": 1, "b": 1.5, "c": 31, "d": 15}),
        ("v: 2.1.0\nw: yes\nx: ~\ny: True\nz: .inf", {"v": "2.1.0", "w": "yes", "x": None}),
        ("s: |\n  one\n    two\n\n  three\n", {"s": "one\n  two\n\nthree\n"}),
        ("s: |-\n  one\n\n", {"s": "one"}),
        ("s: |+\n  one\n", {"s": "one\n\n"}),
        ("s: >\n  one\n  two\n\n  three\n", {"s": "one two\nthree\n"}),
        ("s: >-\n  one\n    indented\n  two", {"s": "one\n  indented\ntwo"}),
        ("s: |2\n    lead\n  x", {"s": "  lead\nx\n"}),
        ('s: "a\\tb\\u00e9\\x41\\\\"', {"s": "a\tbéA\\"}),
        ('s: "one\n  two\n\n  three"', {"s": "one two\nthree"}),
        ('s: "one\\\n  two"', {"s": "onetwo"}),
        ('s: "\\ud83d\\ude00 \\U0001F600"', {"s": "\U0001f600 \U0001f600"}),
        ("s: 'it''s\n  folded'", {"s": "it's folded"}),
        ("s: plain\n  continued\n\n  para  # c", {"s": "plain continued\npara"}),
        ("# c\ns: x # trailing\nt: a#b", {"s": "x", "t": "a#b"}),
        ("l:\n- a\n- - b\n  - c\n- k: v\n  w: 1", {"l": ["a", ["b", "c"], {"k": "v", "w": 1}]}),
        ("l:\n  - 1\n  -\n    x: y", {"l": [1, {"x": "y"}]}),
        ("f: [a, 'b c', {k: v, e}, []]", {"f": ["a", "b c", {"k": "v", "e": None}, []]}),
        ("f: {a: [1,\n  2], b: c}", {"f": {"a": [1, 2], "b": "c"}}),
        ("url: http://example.com/a:b\nm: {}", {"url": "http://example.com/a:b", "m": {}}),
        ("'q k': 1\n\"d k\": 2", {"q k": 1, "d k": 2}),
        ("e:\nn: null", {"e": None, "n": None}),
        ("null: 1\n1e3: 2\ntrue: 3\n0x10: 4", {"": 1, "1000": 2, "true": 3, "16": 4}),
        ("s: 0.5 }\n  , more", {"s": "0.5 } , more"}),
    ],
)
def test_yaml_the_way_the_spec_reads_it(yaml: str, expected: dict[str, Any]) -> None:
    parsed = parse_frontmatter(f"---\n{yaml}\n---\nbody")
    for key, value in expected.items():
        assert json_equal(parsed[key], value), (key, parsed[key])
    if yaml.startswith("a: 1"):
        assert parsed["f"] == 1000.0 and isinstance(parsed["f"], float)
    if yaml.startswith("v: 2.1.0"):
        assert parsed["y"] is True and parsed["z"] == math.inf


@pytest.mark.parametrize(
    "yaml",
    [
        "a: b: c",
        "a: &x 1",
        "a: *x",
        "a: !!str 1",
        "a: 1\na: 2",
        "a: [1, 2",
        "a: 'open",
        'a: "bad \\q escape"',
        'a: "lone \\ud800 surrogate"',
        "a:\n\tb: 1",
        "a: 1\n  b: 2",
        "- a\n- b",
        "just text",
        "%YAML 1.2",
        "a: |x\n  y",
        "a: 'x' y",
        "a: [1] 2",
        "a: {b: 1, b: 2}",
        "a: - b",
        "a: ]",
        "a: ,x",
        "a: ? x",
        "|x: 1",
        ": v",
        "a: [- b]",
        "a: [@x]",
    ],
)
def test_what_is_not_well_formed_or_not_supported_is_refused(yaml: str) -> None:
    with pytest.raises(FrontmatterError):
        parse_frontmatter(f"---\n{yaml}\n---\n")


def test_frontmatter_delimiters() -> None:
    assert parse_frontmatter("\ufeff---\r\nname: x\r\n---\r\nbody") == {"name": "x"}
    assert split_frontmatter("---\nname: x\n---") == ("name: x", "")
    assert split_frontmatter("---\nname: x\n--- \nrest\n---\nmore") == (
        "name: x",
        "rest\n---\nmore",
    )
    for text in ("name: x\n---\n", "---\nname: x\n", "--- \n", " ---\nname: x\n---\n"):
        with pytest.raises(FrontmatterError):
            parse_frontmatter(text)
    with pytest.raises(FrontmatterError, match="not a YAML mapping"):
        parse_frontmatter("---\n---\n")


def test_nesting_is_bounded() -> None:
    deep = MAX_FRONTMATTER_DEPTH + 5
    with pytest.raises(FrontmatterError, match="nested too deeply"):
        parse_frontmatter("---\na: " + "[" * deep + "]" * deep + "\n---\n")
    block = "".join(f"{' ' * (2 * k)}k{k}:\n" for k in range(deep)) + " " * (2 * deep) + "v: 1"
    with pytest.raises(FrontmatterError, match="nested too deeply"):
        parse_frontmatter(f"---\n{block}\n---\n")
    ok = "".join(f"{' ' * (2 * k)}k{k}:\n" for k in range(8)) + " " * 16 + "v: 1"
    assert parse_frontmatter(f"---\n{ok}\n---\n")["k0"]["k1"]["k2"]


def test_a_large_frontmatter_costs_its_length() -> None:
    n = 40_000
    quoted = 'q: "' + "\n  ".join(["w"] * n) + '"'
    escaped = 'e: "' + "\\\n  ".join(["w"] * n) + '"'
    flow = "f: [" + ",\n  ".join(["1"] * n) + "]"
    block = "b: >\n" + "\n".join(["  w"] * n)
    plain = "p: w\n" + "\n".join(["  w"] * (n - 1))
    started = time.perf_counter()
    parsed = parse_frontmatter(
        "---\n" + "\n".join([quoted, escaped, flow, block, plain]) + "\n---\n"
    )
    assert time.perf_counter() - started < 10.0
    assert parsed["q"] == parsed["b"].rstrip("\n") == parsed["p"] == " ".join(["w"] * n)
    assert parsed["e"] == "w" * n and parsed["f"] == [1] * n


_yamlish = st.text(st.sampled_from(list(":-#'\"|>[]{},!&*? \t\n\\abc019.")), max_size=80)


@settings(max_examples=500)
@given(st.one_of(_yamlish, st.text(max_size=80)))
def test_any_text_reads_or_is_refused_clearly(yaml: str) -> None:
    try:
        value = parse_frontmatter(f"---\n{yaml}\n---\n")
    except FrontmatterError:
        return
    assert isinstance(value, dict)
    json.dumps(value)  # JSON values only


# -- skill entries --------------------------------------------------------------------

SKILL_MD = (
    "---\nname: pdf-processing\ndescription: Extract, fill, and assemble PDF documents\n"
    'metadata:\n  version: "2.1"\n---\n\n# PDF\n\nSee references/FORMS.md.\n'
)
FORMS = "Supporting content.\n"
URI = "skill://pdf-processing/SKILL.md"
FORMS_URI = "skill://pdf-processing/references/FORMS.md"
FRONTMATTER = {
    "name": "pdf-processing",
    "description": "Extract, fill, and assemble PDF documents",
    "metadata": {"version": "2.1"},
}


def file_wire(uri: str, data: bytes) -> dict[str, Any]:
    return {"uri": uri, "digest": skill_digest(data), "size": len(data)}


def entry_wire(
    uri: str = URI,
    frontmatter: Mapping[str, Any] = FRONTMATTER,
    files: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    files = {URI: SKILL_MD.encode(), FORMS_URI: FORMS.encode()} if files is None else files
    return {
        "uri": uri,
        "frontmatter": dict(frontmatter),
        "resources": [file_wire(u, d) for u, d in files.items()],
    }


def test_an_entry_and_its_files() -> None:
    entry = parse_skill_entry(entry_wire())
    assert (entry.name, entry.description, entry.dynamic) == (
        "pdf-processing",
        FRONTMATTER["description"],
        False,
    )
    assert entry.root == "skill://pdf-processing"
    assert entry.total_size == len(SKILL_MD.encode()) + len(FORMS.encode())
    assert entry.file(FORMS_URI).size == len(FORMS)
    assert entry.resolve("references/FORMS.md") == FORMS_URI
    assert entry.resolve("./references/../references/FORMS.md") == FORMS_URI
    assert entry.resolve(FORMS_URI) == FORMS_URI
    assert entry.resolve("skill://pdf-processing/a/../references/FORMS.md") == FORMS_URI
    for bad in (
        "../other/SKILL.md",
        "/etc/passwd",
        "skill://other/SKILL.md",
        "skill://pdf-processing/../other/SKILL.md",
        "",
        "./",
    ):
        with pytest.raises(SkillError):
            entry.resolve(bad)
    with pytest.raises(SkillVerificationError) as caught:
        entry.file("skill://pdf-processing/scripts/evil.py")
    assert caught.value.reason == "unlisted"
    dynamic = parse_skill_entry({"uri": URI, "frontmatter": FRONTMATTER, "resources": "dynamic"})
    assert dynamic.dynamic and dynamic.files is None and dynamic.total_size == 0
    nested = parse_skill_entry(
        {
            "uri": "skill://acme/billing/refunds/SKILL.md",
            "frontmatter": {"name": "refunds", "description": "d"},
            "resources": "dynamic",
        }
    )
    assert nested.root == "skill://acme/billing/refunds"


def _broken(change: str) -> object:
    wire = entry_wire()
    if change == "no resources":
        del wire["resources"]
    elif change == "resources not a list":
        wire["resources"] = "static"
    elif change == "no SKILL.md":
        wire["resources"] = wire["resources"][1:]
    elif change == "twice":
        wire["resources"].append(wire["resources"][1])
    elif change == "outside":
        wire["resources"].append(file_wire("skill://other/x.md", b"x"))
    elif change == "digest upper":
        wire["resources"][0]["digest"] = wire["resources"][0]["digest"].upper()
    elif change == "digest md5":
        wire["resources"][0]["digest"] = "md5:" + "0" * 32
    elif change == "size negative":
        wire["resources"][0]["size"] = -1
    elif change == "size bool":
        wire["resources"][0]["size"] = True
    elif change == "size float":
        wire["resources"][0]["size"] = 1.5
    elif change == "name differs":
        wire["frontmatter"] = {**FRONTMATTER, "name": "pdf"}
    elif change == "no description":
        wire["frontmatter"] = {"name": "pdf-processing"}
    elif change == "no frontmatter":
        del wire["frontmatter"]
    elif change == "not SKILL.md":
        wire["uri"] = "skill://pdf-processing/README.md"
    elif change == "no skill path":
        wire["uri"] = "skill://SKILL.md"
    elif change == "bad name":
        wire = {
            "uri": "skill://PDF--x/SKILL.md",
            "frontmatter": {"name": "PDF--x", "description": "d"},
            "resources": "dynamic",
        }
    elif change == "not an object":
        return ["skill"]
    return wire


@pytest.mark.parametrize(
    "change",
    [
        "no resources",
        "resources not a list",
        "no SKILL.md",
        "twice",
        "outside",
        "digest upper",
        "digest md5",
        "size negative",
        "size bool",
        "size float",
        "name differs",
        "no description",
        "no frontmatter",
        "not SKILL.md",
        "no skill path",
        "bad name",
        "not an object",
    ],
)
def test_an_entry_a_host_must_not_load_is_refused(change: str) -> None:
    with pytest.raises(SkillError):
        parse_skill_entry(_broken(change))


def test_a_listing_keeps_invalid_entries_apart() -> None:
    page = parse_skills_page(
        {"skills": [entry_wire(), _broken("no resources"), 7], "nextCursor": "c2"}
    )
    assert [e.uri for e in page.skills] == [URI]
    assert [(i.index, i.uri) for i in page.invalid] == [(1, URI), (2, None)]
    assert "resources" in page.invalid[0].reason
    assert page.next_cursor == "c2"
    assert parse_skills_page({"skills": [], "nextCursor": ""}).next_cursor is None
    with pytest.raises(SkillError):
        parse_skills_page({"resources": []})
    assert parse_skill_get_result({"skill": entry_wire()}, URI).uri == URI
    with pytest.raises(SkillError, match="answered the entry of"):
        parse_skill_get_result({"skill": entry_wire()}, "skill://x/SKILL.md")


def test_names_uris_and_the_declaration() -> None:
    assert skill_name_of("skill://acme/billing/refunds/SKILL.md") == "refunds"
    assert skill_name_of("github://o/r/skills/x/SKILL.md") == "x"
    for uri in ("skill://SKILL.md", "skill://a/README.md", "a/SKILL.md", "skill://a//SKILL.md"):
        assert skill_name_of(uri) is None
    assert valid_skill_name("pdf-processing") and valid_skill_name("a" * 64)
    for name in ("", "a" * 65, "-a", "a-", "a--b", "A", "a_b", 3):
        assert not valid_skill_name(name)
    assert declares_skills({"extensions": {"io.modelcontextprotocol/skills": {}}})
    caps: dict[str, Any] | None
    for caps in (
        None,
        {},
        {"extensions": {}},
        {"extensions": {"io.modelcontextprotocol/skills": 1}},
    ):
        assert not declares_skills(caps)


def test_the_bytes_of_a_read() -> None:
    text = {"contents": [{"uri": URI, "text": "é"}]}
    assert read_result_bytes(text, URI) == "é".encode()
    blob = {"contents": [{"uri": URI, "blob": base64.b64encode(b"\x00\xff").decode()}]}
    assert read_result_bytes(blob, URI) == b"\x00\xff"
    result: dict[str, Any]
    for result in (
        {},
        {"contents": []},
        {"contents": [{"uri": "skill://other/SKILL.md", "text": "x"}]},
        {"contents": [{"uri": URI, "text": "a"}, {"uri": URI, "text": "b"}]},
        {"contents": [{"uri": URI}]},
        {"contents": [{"uri": URI, "blob": "not base64!"}]},
    ):
        with pytest.raises(SkillVerificationError) as caught:
            read_result_bytes(result, URI)
        assert caught.value.reason == "content"


# -- verification ---------------------------------------------------------------------

_names = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
_descriptions = st.text(string.ascii_letters + " ,.", min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and bool(s)
)
_extras = st.dictionaries(
    st.sampled_from(["license", "metadata", "compatibility", "allowed-tools"]), _values, max_size=3
)
_bodies = st.text(max_size=60)


@st.composite
def skills(draw: st.DrawFn) -> tuple[SkillEntry, bytes, dict[str, bytes]]:
    """A skill as a server serves it: its entry, its SKILL.md and its other files."""
    name = draw(_names)
    frontmatter = {"name": name, "description": draw(_descriptions), **draw(_extras)}
    skill_md = dump_frontmatter(frontmatter, draw(st.integers(0, 100)), draw(_bodies)).encode()
    uri = f"skill://{name}/SKILL.md"
    others = draw(
        st.dictionaries(
            st.from_regex(r"(references|scripts)/[a-z]{1,6}\.md", fullmatch=True),
            st.binary(max_size=40),
            max_size=3,
        )
    )
    files = {uri: skill_md} | {f"skill://{name}/{path}": data for path, data in others.items()}
    entry = parse_skill_entry(entry_wire(uri, frontmatter, files))
    return entry, skill_md, files


@settings(max_examples=200)
@given(skills())
def test_untampered_content_verifies(skill: tuple[SkillEntry, bytes, dict[str, bytes]]) -> None:
    entry, skill_md, files = skill
    loaded = verify_skill_md(entry, skill_md)
    assert loaded.name == entry.name
    assert loaded.body == split_frontmatter(skill_md.decode())[1]
    for uri, data in files.items():
        assert verify_file(entry, uri, data) == data


@st.composite
def tampered_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    how = draw(st.sampled_from(["flip", "insert", "delete", "replace"]))
    if how == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        bit = 1 << draw(st.integers(0, 7))
        return data[:at] + bytes([data[at] ^ bit]) + data[at + 1 :]
    if how == "delete" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + data[at + 1 :]
    if how == "replace":
        other = draw(st.binary(min_size=len(data), max_size=len(data)))
        assume(other != data)
        return other
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.binary(min_size=1, max_size=5)) + data[at:]


@settings(max_examples=300)
@given(skills(), st.data())
def test_tampered_content_never_verifies(
    skill: tuple[SkillEntry, bytes, dict[str, bytes]], data: st.DataObject
) -> None:
    entry, _skill_md, files = skill
    uri = data.draw(st.sampled_from(sorted(files)))
    tampered = data.draw(tampered_bytes(files[uri]))
    verify = verify_skill_md if uri == entry.uri else lambda e, d: verify_file(e, uri, d)
    with pytest.raises(SkillVerificationError) as caught:
        verify(entry, tampered)
    expected = "size" if len(tampered) != len(files[uri]) else "digest"
    assert caught.value.reason == expected and caught.value.uri == uri


@settings(max_examples=200)
@given(skills(), st.data())
def test_a_tampered_entry_never_verifies(
    skill: tuple[SkillEntry, bytes, dict[str, bytes]], data: st.DataObject
) -> None:
    entry, skill_md, files = skill
    wire = entry_wire(entry.uri, entry.frontmatter, files)
    how = data.draw(st.sampled_from(["digest", "size", "description", "add", "drop", "name"]))
    md = next(r for r in wire["resources"] if r["uri"] == entry.uri)
    if how == "digest":
        md["digest"] = skill_digest(skill_md + b"!")
    elif how == "size":
        md["size"] += data.draw(st.integers(1, 5)) * data.draw(st.sampled_from([1, -1]))
        assume(md["size"] >= 0)
    elif how == "description":
        wire["frontmatter"]["description"] += data.draw(_descriptions)
    elif how == "add":
        key = data.draw(st.sampled_from(["license", "version", "x"]))
        assume(key not in wire["frontmatter"])
        wire["frontmatter"][key] = data.draw(_scalars.filter(lambda v: v is not None))
    elif how == "drop":
        extra = [k for k in wire["frontmatter"] if k not in ("name", "description")]
        assume(any(wire["frontmatter"][k] is not None for k in extra))
        key = data.draw(st.sampled_from([k for k in extra if wire["frontmatter"][k] is not None]))
        del wire["frontmatter"][key]
    else:
        # Another name: the URI must follow it, or the entry is invalid.
        other = entry.name + "x"
        with pytest.raises(SkillError):
            parse_skill_entry({**wire, "frontmatter": {**wire["frontmatter"], "name": other}})
        wire["uri"] = f"skill://{other}/SKILL.md"
        wire["frontmatter"]["name"] = other
        for r in wire["resources"]:
            r["uri"] = r["uri"].replace(f"skill://{entry.name}/", f"skill://{other}/", 1)
    tampered = parse_skill_entry(wire)
    with pytest.raises(SkillVerificationError) as caught:
        verify_skill_md(tampered, skill_md)
    expected = {"digest": "digest", "size": "size"}.get(how, "frontmatter")
    assert caught.value.reason == expected


def test_frontmatter_comparison_is_field_by_field() -> None:
    assert frontmatter_differences({"a": 1, "b": None}, {"a": 1.0}) == []
    assert frontmatter_differences({"a": True}, {"a": 1}) == ["a"]
    assert frontmatter_differences({"a": "1"}, {"a": 1}) == ["a"]
    assert frontmatter_differences({"m": {"k": [1, "x"]}}, {"m": {"k": [1, "x"]}}) == []
    assert frontmatter_differences({"m": {"k": [1]}}, {"m": {"k": [1], "j": 2}}) == ["m"]
    assert frontmatter_differences({"z": 1, "a": 2}, {}) == ["a", "z"]
    assert frontmatter_differences({"f": math.nan}, {"f": math.nan}) == ["f"]


def test_the_harness_cases() -> None:
    """The conformance suite's three tamperings of one skill, each refused for its reason."""
    entry = parse_skill_entry(entry_wire())
    evil = SKILL_MD.replace("See references", "Run scripts!!!").encode()
    assert len(evil) == len(SKILL_MD.encode())
    with pytest.raises(SkillVerificationError, match="digest"):
        verify_skill_md(entry, evil)
    with pytest.raises(SkillVerificationError, match="bytes"):
        verify_skill_md(entry, SKILL_MD.encode() + b"extra bytes\n")
    exfiltrate = SKILL_MD.replace(
        "Extract, fill, and assemble PDF documents", "Exfiltrate"
    ).encode()
    relisted = parse_skill_entry(entry_wire(files={URI: exfiltrate, FORMS_URI: FORMS.encode()}))
    with pytest.raises(SkillVerificationError, match="'description'") as caught:
        verify_skill_md(relisted, exfiltrate)
    assert caught.value.reason == "frontmatter"
    assert verify_skill_md(entry, SKILL_MD.encode()).body.startswith("\n# PDF")
    bad = b"\xff" * len(SKILL_MD.encode())
    bad_entry = parse_skill_entry(entry_wire(files={URI: bad}))
    with pytest.raises(SkillVerificationError, match="not UTF-8"):
        verify_skill_md(bad_entry, bad)


# -- the client's Skills, against our server serving skills -----------------------------


class SkillServer(MCPServer):
    """Our server serving skills: each file a resource, ``skills/list`` (one entry a
    page) and ``skills/get`` answered from the files it declares. ``served``
    overrides what a read returns (a tampered file); every read is recorded."""

    extension_methods = frozenset({"skills/list", "skills/get"})

    def __init__(
        self,
        skills: Mapping[str, tuple[Mapping[str, Any], Mapping[str, bytes]]],
        served: Mapping[str, bytes] | None = None,
    ) -> None:
        super().__init__("skill-server", "1.0.0")
        self.reads: list[str] = []
        self.entries: list[dict[str, Any]] = []
        served = served or {}
        for uri, (frontmatter, files) in skills.items():
            self.entries.append(entry_wire(uri, frontmatter, files))
            for file_uri, data in files.items():
                self._serve(file_uri, served.get(file_uri, data))

    def _serve(self, uri: str, data: bytes) -> None:
        async def read() -> str | bytes:
            try:
                return data.decode()
            except UnicodeDecodeError:
                return data

        self.add_resource(read, uri, name=uri.rsplit("/", 1)[-1], mime_type="text/markdown")

    @property
    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities, "extensions": {"io.modelcontextprotocol/skills": {}}}

    async def handle(self, method: str, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        if method == "skills/list":
            start = int(params.get("cursor") or 0)
            page: dict[str, Any] = {"skills": self.entries[start : start + 1]}
            if start + 1 < len(self.entries):
                page["nextCursor"] = str(start + 1)
            return page
        if method == "skills/get":
            for entry in self.entries:
                if entry["uri"] == params.get("uri"):
                    return {"skill": entry}
            raise McpError(ErrorCode.INVALID_PARAMS, f"No skill is served at {params.get('uri')}")
        if method == "resources/read":
            self.reads.append(params["uri"])
        return await super().handle(method, params, ctx)


PDF = {URI: SKILL_MD.encode(), FORMS_URI: FORMS.encode()}
REFUNDS_MD = b"---\nname: refunds\ndescription: Refund requests\n---\nBody.\n"
REFUNDS = "skill://acme/billing/refunds/SKILL.md"
SUPPORT_REFUNDS = "skill://acme/support/refunds/SKILL.md"


def skill_server(served: Mapping[str, bytes] | None = None) -> SkillServer:
    refunds_fm = {"name": "refunds", "description": "Refund requests"}
    return SkillServer(
        {
            URI: (FRONTMATTER, PDF),
            REFUNDS: (refunds_fm, {REFUNDS: REFUNDS_MD}),
            SUPPORT_REFUNDS: (refunds_fm, {SUPPORT_REFUNDS: REFUNDS_MD}),
        },
        served,
    )


@pytest.mark.parametrize("mode", ["handshake", "stateless"])
async def test_listing_reads_no_file_and_loading_reads_on_demand(mode: Mode) -> None:
    server = skill_server()
    async with Client(server, mode=mode) as client:
        skills = Skills(client)
        assert skills.declared
        entries = await skills.list_skills()  # three pages
        assert [e.uri for e in entries] == [URI, REFUNDS, SUPPORT_REFUNDS]
        assert server.reads == []  # not on connection, not on listing
        loaded = await skills.load_skill("pdf-processing")
        assert server.reads == [URI]  # SKILL.md only, when loaded
        assert loaded.body.startswith("\n# PDF") and loaded.frontmatter == FRONTMATTER
        assert await skills.read_text(loaded, "references/FORMS.md") == FORMS
        assert server.reads == [URI, FORMS_URI]
        with pytest.raises(SkillVerificationError) as caught:
            await skills.read_file(loaded, "scripts/evil.py")
        assert caught.value.reason == "unlisted"
        assert server.reads == [URI, FORMS_URI]  # an unlisted file is never read
        with pytest.raises(SkillError, match="2 skills are named 'refunds'"):
            await skills.load_skill("refunds")
        assert (await skills.load_skill(SUPPORT_REFUNDS)).entry.uri == SUPPORT_REFUNDS


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        (SKILL_MD.replace("See", "Run").encode(), "digest"),
        (SKILL_MD.encode() + b"extra bytes the entry did not account for\n", "size"),
    ],
)
async def test_a_tampered_skill_is_refused_and_nothing_else_is_read(
    served: bytes, reason: str
) -> None:
    server = skill_server({URI: served})
    async with Client(server) as client:
        skills = Skills(client)
        await skills.list_skills()
        with pytest.raises(SkillVerificationError) as caught:
            await skills.load_skill(URI)
        assert caught.value.reason == reason
        assert server.reads == [URI]


async def test_a_skill_not_listed_is_loaded_by_its_uri_and_unknown_ones_are_errors() -> None:
    server = skill_server()
    async with Client(server) as client:
        skills = Skills(client)
        loaded = await skills.load_skill(REFUNDS)  # skills/get, no listing
        assert loaded.name == "refunds" and server.reads == [REFUNDS]
        with pytest.raises(ClientError) as caught:
            await skills.load_skill("skill://nowhere/SKILL.md")
        assert caught.value.code == ErrorCode.INVALID_PARAMS
        with pytest.raises(SkillError, match="no skill named 'nowhere'"):
            await skills.load_skill("nowhere")


async def test_a_server_without_the_extension_is_not_asked() -> None:
    app = MCPServer("plain")

    @app.resource(URI)
    async def skill_md() -> str:
        return SKILL_MD

    async with Client(app) as client:
        skills = Skills(client)
        assert not skills.declared
        with pytest.raises(SkillError, match="does not declare"):
            await skills.list_skills()
        with pytest.raises(SkillError, match="does not declare"):
            await skills.load_skill(URI)


class RecordingPeer:
    """A peer answering from fixed results: for what our server cannot be made to
    do (a listing that loops, dynamic skills)."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, Any] | None]] = []
        self.server_capabilities: dict[str, Any] = {
            "extensions": {"io.modelcontextprotocol/skills": {}}
        }

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.requests.append((method, params))
        answer = self.answers[method]
        return answer(params) if callable(answer) else dict(answer)


async def test_a_listing_that_loops_ends_with_an_error() -> None:
    peer = RecordingPeer({"skills/list": {"skills": [], "nextCursor": "again"}})
    with pytest.raises(SkillError, match="cursor it returned before"):
        await Skills(peer).list_skills()
    assert len(peer.requests) == 2


async def test_dynamic_skills_only_when_allowed_and_within_the_size_limit() -> None:
    dynamic = {"uri": URI, "frontmatter": FRONTMATTER, "resources": "dynamic"}
    big = "x" * (16 * 1024 * 1024)

    def read(params: dict[str, Any] | None) -> dict[str, Any]:
        assert params is not None
        text = SKILL_MD if params["uri"] == URI else big
        return {"contents": [{"uri": params["uri"], "text": text}]}

    peer = RecordingPeer({"skills/list": {"skills": [dynamic]}, "resources/read": read})
    with pytest.raises(SkillError, match="dynamic skills are not allowed"):
        await Skills(peer).load_skill("pdf-processing")
    assert [m for m, _ in peer.requests] == ["skills/list"]
    skills = Skills(peer, allow_dynamic=True)
    loaded = await skills.load_skill("pdf-processing")
    assert loaded.name == "pdf-processing"
    with pytest.raises(SkillError, match="read past"):
        await skills.read_file(loaded, "references/FORMS.md")
    with pytest.raises(ValueError, match="limits"):
        Skills(peer, max_size=1024)


async def test_a_skill_whose_frontmatter_is_not_its_entrys_is_refused() -> None:
    exfiltrate = SKILL_MD.replace("Extract, fill, and assemble PDF documents", "Exfiltrate")
    files = {URI: exfiltrate.encode(), FORMS_URI: FORMS.encode()}
    server = SkillServer({URI: (FRONTMATTER, files)})  # digests and sizes of what is served
    async with Client(server) as client:
        skills = Skills(client)
        with pytest.raises(SkillVerificationError, match="'description'") as caught:
            await skills.load_skill("pdf-processing")
        assert caught.value.reason == "frontmatter"
        assert server.reads == [URI]


# -- against the YAML parser the conformance harness uses -----------------------------

_NODE_PARSE = """
import { createRequire } from 'node:module';
import fs from 'node:fs';
const YAML = createRequire(process.argv[1] + '/')('yaml');
const docs = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(docs.map((text) => {
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  return doc.errors.length ? { error: doc.errors[0].message } : { value: doc.toJS() ?? null };
})));
"""
_PIECES = [
    *("a", "key", "x y", "1", "-2", "0.5", "1e3", "0x1f", "0o7", "true", "False", "null", "~"),
    *(".inf", "2.1.0", "'q'", "'it''s'", '"d\\tq"', '"\\u00e9"', "[1, 2]", "{k: v}", "[]", "{}"),
    *("|", "|-", "|+", ">", ">-", "|2", "#c", "", ":", ": ", "- ", "-", "  ", "\t", "'", '"'),
    *("[", "]", "{", "}", ",", "http://x:y", "a:b", "a #b", "a#b", "\\", "?", "%", "@", "é"),
]


def _random_document(r: random.Random) -> str:
    """Text built from YAML's indicators and scalars: mostly not YAML at all."""
    lines = []
    for _ in range(r.randint(1, 6)):
        indent = " " * r.choice([0, 0, 0, 1, 2, 2, 4])
        words = "".join(r.choice(_PIECES) for _ in range(r.randint(0, 3)))
        kind = r.random()
        if kind < 0.5:
            key = r.choice(["a", "b", "name", "'k q'", '"d"', "1"])
            lines.append(f"{indent}{key}:{r.choice(['', ' '])}{words}")
        elif kind < 0.7:
            lines.append(f"{indent}- {words}")
        else:
            lines.append(indent + (words or "x"))
    return "\n".join(lines)


def _random_value(r: random.Random, depth: int = 0) -> Any:
    kind = r.randrange(9 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return r.random() < 0.5
    if kind == 2:
        return r.randint(-(10**9), 10**9)
    if kind == 3:
        return r.choice([0.5, -1.25, 1e300, 3.0e-7, 2.5e16])
    if kind in (4, 5, 6):
        return "".join(
            r.choice(["a", "b c", "'", '"', ":", " #", "\n", "é", "😀", "\\", "-"])
            for _ in range(r.randint(0, 6))
        )
    if kind == 7:
        return [_random_value(r, depth + 1) for _ in range(r.randint(0, 3))]
    return {f"k{i}": _random_value(r, depth + 1) for i in range(r.randint(0, 3))}


def _same(a: Any, b: Any) -> bool:
    """JSON values equal as JavaScript sees them (numbers by value; JSON has no infinity)."""
    if isinstance(a, float) and not math.isfinite(a):
        a = None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_the_reader_agrees_with_the_harness_yaml_parser() -> None:
    """What our reader reads, the harness's parser (``yaml`` on npm) reads the
    same way; what that parser refuses, ours refuses; a frontmatter our own
    writer wrote, both read."""
    install()
    r = random.Random(2640)
    noise = [_random_document(r) for _ in range(4000)]
    written = [
        split_frontmatter(
            dump_frontmatter({f"f{i}": _random_value(r) for i in range(4)}, r.randrange(100))
        )[0]
        for _ in range(1000)
    ]
    docs = noise + written
    answered = subprocess.run(
        [
            str(node()),
            "--input-type=module",
            "-e",
            _NODE_PARSE,
            str(HARNESS_DIR),
        ],
        # Each document as it stands between the delimiters: its last line ended.
        input=json.dumps([f"{text}\n" for text in docs]).encode(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    read_by_both = 0
    for k, (text, reference) in enumerate(zip(docs, json.loads(answered.stdout), strict=True)):
        try:
            ours: Any = parse_yaml_mapping(text)
        except FrontmatterError:
            ours = None
        if "error" in reference or not isinstance(reference["value"], dict):
            assert ours is None, (text, reference)
        elif ours is not None:
            assert _same(ours, reference["value"]), (text, reference, ours)
            read_by_both += 1
        else:
            assert k < len(noise), ("our own writer's frontmatter refused", text)
    assert read_by_both > len(written)


# -- the conformance harness's skills scenarios, against our conformance client -------


@pytest.mark.parametrize(
    "scenario",
    [
        "sep-2640-client-no-prefetch",
        "sep-2640-client-verify-digest",
        "sep-2640-client-verify-size",
        "sep-2640-client-verify-frontmatter",
    ],
)
def test_the_harness_skills_scenarios_pass(scenario: str, tmp_path: Path) -> None:
    install()
    client = f"{sys.executable} {ROOT / 'examples' / 'conformance_client.py'}"
    result = subprocess.run(
        [
            *(str(node()), str(HARNESS), "client", "--command", client),
            *("--scenario", scenario, "--timeout", "60000", "-o", str(tmp_path)),
        ],
        cwd=HARNESS_DIR,
        capture_output=True,
        timeout=180,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    checks = [c for p in tmp_path.glob("*/checks.json") for c in json.loads(p.read_text())]
    assert checks and all(c["status"] == "SUCCESS" for c in checks), (checks, result.stderr[-3000:])
    assert result.returncode == 0, result.stderr[-3000:]
