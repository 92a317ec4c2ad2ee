"""``scaled-mcp serve --upstream URL`` / ``--upstream-command CMD``: the options, their
errors in one line, the environment, and the defaults shared with ``Gateway``.
(Serving through the command line is in ``test_gateway_cluster.py`` and the
conformance run of ``test_gateway_conformance.py``.)"""

from __future__ import annotations

import inspect
import os

import pytest

from scaled_mcp import _cli_upstream
from scaled_mcp._cli_options import parser, with_environment
from scaled_mcp.cli import main
from scaled_mcp.client import Gateway


def one_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("scaled-mcp: ")
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["serve"], "the following arguments are required: TARGET (or --upstream URL"),
        (["serve", "app.py", "--upstream", "http://x/mcp"], "give one of TARGET"),
        (["serve", "--upstream", "http://x/mcp", "--upstream-command", "a"], "give one of"),
        (["serve", "--upstream", "ftp://x/mcp"], "--upstream: not an http(s) URL"),
        (["serve", "--upstream-command", "  "], "--upstream-command: an empty command"),
        (
            ["serve", "--upstream", "http://x/mcp", "--upstream-client-secret", "s"],
            "--upstream-client-secret needs --upstream-client-id",
        ),
    ],
)
def test_bad_upstream_options_are_one_line(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    one_line(capsys, fragment)


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--upstream-header", "no colon", "expected 'Name: value'"),
        ("--upstream-header", "Bad Name: v", "expected 'Name: value'"),
        ("--upstream-sessions", "0", "from 1 to 10000"),
        ("--upstream-idle-timeout", "-1", "seconds from 0 to 86400"),
        ("--upstream-timeout", "soon", "seconds from 0 to 86400"),
    ],
)
def test_bad_values_are_refused(
    option: str, value: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--upstream", "http://x/mcp", option, value])
    assert exited.value.code == 2
    one_line(capsys, option, fragment)


def test_an_unreachable_upstream_is_retried_then_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["serve", "--upstream", "http://127.0.0.1:9/mcp", "--upstream-start-within", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("scaled-mcp: the upstream is unreachable: ")
    assert "127.0.0.1:9" in last


def test_options_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    command_line, serve = parser()
    environ = {
        **os.environ,
        "SCALED_MCP_UPSTREAM": "http://up.example/mcp",
        "SCALED_MCP_UPSTREAM_BEARER": "from-env",
        "SCALED_MCP_UPSTREAM_HEADER": "X-A: 1,X-B: 2",
        "SCALED_MCP_UPSTREAM_SESSIONS": "3",
    }
    args = command_line.parse_args(with_environment(serve, ["serve"], environ))
    assert args.target is None
    assert args.upstream == "http://up.example/mcp"
    assert args.upstream_bearer == "from-env"
    assert args.upstream_header == [("X-A", "1"), ("X-B", "2")]
    assert args.upstream_sessions == 3
    assert _cli_upstream.wants_gateway(args)


def test_the_defaults_are_the_gateways() -> None:
    defaults = {
        name: parameter.default for name, parameter in inspect.signature(Gateway).parameters.items()
    }
    assert defaults["max_sessions"] == _cli_upstream.DEFAULT_MAX_SESSIONS
    assert defaults["idle_timeout"] == _cli_upstream.DEFAULT_IDLE_TIMEOUT
    assert defaults["timeout"] == _cli_upstream._TIMEOUT
    command_line, _ = parser()
    args = command_line.parse_args(["serve", "--upstream", "http://x/mcp"])
    assert args.upstream_start_within == defaults["start_within"]
