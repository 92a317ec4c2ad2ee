"""The skills scenarios (``sep-2640-client-*``) of the conformance harness's client mode.

``examples/conformance_client.py`` calls :func:`run_skills_scenario` with an
open :class:`~scaled_mcp.client.Client`. What each scenario expects of a host:

- ``sep-2640-client-no-prefetch``: list the skills and read none of their
  files ("not on connection, not on listing, and not at approval");
- ``sep-2640-client-verify-digest``, ``-verify-size``, ``-verify-frontmatter``:
  load a skill whose ``SKILL.md`` the server tampered with (another body, extra
  bytes, another frontmatter) and refuse it: no supporting file of it is read.

Loading goes through :class:`~scaled_mcp.client.Skills`: a loaded skill is one
whose ``SKILL.md`` verified, and this host then reads each supporting file the
entry lists (as a model acting on the skill would), each verified in turn.
"""

from __future__ import annotations

import logging
from typing import Any

from scaled_mcp.client import Client, Skills, SkillVerificationError

_log = logging.getLogger("conformance_skills")

#: The scenarios that load every listed skill (and expect each to be refused).
_LOADING = frozenset(
    {
        "sep-2640-client-verify-digest",
        "sep-2640-client-verify-size",
        "sep-2640-client-verify-frontmatter",
    }
)


async def run_skills_scenario(client: Client, scenario: str, context: dict[str, Any]) -> None:
    """Do what a host does in ``scenario``: list the server's skills, and for the
    verification scenarios load each one, using nothing that fails verification."""
    if scenario != "sep-2640-client-no-prefetch" and scenario not in _LOADING:
        raise ValueError(f"unknown skills scenario {scenario!r}")
    skills = Skills(client)
    entries = await skills.list_skills()
    for entry in entries:
        _log.info("skill %s (%s): %s", entry.name, entry.uri, entry.description)
    for invalid in skills.invalid:
        _log.info("skipped an invalid entry %s: %s", invalid.uri, invalid.reason)
    if scenario not in _LOADING:
        return
    for entry in entries:
        try:
            loaded = await skills.load_skill(entry)
        except SkillVerificationError as exc:
            _log.info("refused skill %s (%s): %s", entry.name, exc.reason, exc)
            continue
        _log.info("loaded skill %s", loaded.name)
        for listed in entry.files or ():
            if listed.uri != entry.uri:
                await skills.read_file(loaded, listed.uri)
