"""``scaled-mcp check URL``: check any MCP server against the specification.

Prints a table grouped by area (PASS / FAIL / WARN / SKIP with the reason, and
the spec sentence a failure breaks), a live progress line on a terminal
(stderr), and exits 0 when nothing fails (1 when something does, 2 for a bad
command line). ``--json`` prints the report as JSON instead; ``--junit FILE``
writes JUnit XML too.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

import httpx2
import trio

from .harness import (
    ExpectedFailures,
    ProbeOptions,
    ProgressLine,
    Report,
    check,
    format_table,
    to_json,
    to_junit,
)
from .protocol.versions import SUPPORTED_VERSIONS

__all__ = ["add_command", "run"]


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"a header is NAME: VALUE, not {text!r}")
    return name.strip(), value.strip()


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 3600: {text!r}")
    return value


def add_command(commands: Any) -> None:
    """Add ``check`` to the command line's subparsers."""
    parser = commands.add_parser(
        "check",
        help="check an MCP server against the specification",
        allow_abbrev=False,
        description="Probe an MCP server in every revision it claims and check it against "
        "the specification. Exit status 0 when nothing fails.",
    )
    parser.add_argument("url", nargs="?", help="the streamable HTTP endpoint (http(s)://...)")
    parser.add_argument(
        "--sse-url", default=None, help="the 2024-11-05 HTTP+SSE endpoint (its GET URL)"
    )
    parser.add_argument(
        "--command", default=None, help='a stdio server to run: "CMD ARGS" (shell words)'
    )
    parser.add_argument(
        "--revision",
        action="append",
        choices=SUPPORTED_VERSIONS,
        default=None,
        help="a revision to probe (repeatable; default: every revision the server claims)",
    )
    parser.add_argument(
        "--header",
        action="append",
        type=_header,
        default=None,
        metavar="'NAME: VALUE'",
        help="an HTTP header sent with every request (repeatable)",
    )
    parser.add_argument("--bearer", default=None, metavar="TOKEN", help="Authorization: Bearer")
    parser.add_argument(
        "--oauth",
        action="store_true",
        help="authorize with OAuth: the client-credentials grant with --client-id and "
        "--client-secret, else the browser flow (redirect to http://localhost:3000/callback)",
    )
    parser.add_argument("--client-id", default=None, help="OAuth client id")
    parser.add_argument("--client-secret", default=None, help="OAuth client secret")
    parser.add_argument(
        "--timeout", type=_positive, default=10.0, help="seconds each wait may take (10)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="the seed of generated tool arguments (0)"
    )
    parser.add_argument(
        "--call-tools",
        action="store_true",
        help="call every tool (with generated valid and invalid arguments): tools have effects",
    )
    parser.add_argument(
        "--expected-failures",
        default=None,
        metavar="FILE",
        help="check ids known to fail, one a line, each optionally @REVISION",
    )
    parser.add_argument(
        "--select",
        action="append",
        default=None,
        metavar="PREFIX",
        help="run only the checks whose id starts with PREFIX (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--junit", default=None, metavar="FILE", help="write JUnit XML to FILE")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="list passing and skipped checks too"
    )
    parser.set_defaults(run=run)


def _auth(args: argparse.Namespace) -> httpx2.Auth | None:
    if not args.oauth:
        return None
    from .client import BrowserRedirect, ClientCredentials, OAuth

    if args.client_id is not None and args.client_secret is not None:
        return OAuth(
            client_id=args.client_id,
            client_secret=args.client_secret,
            grant=ClientCredentials(),
        )
    browser = BrowserRedirect()
    return OAuth(
        redirect_handler=browser, redirect_uri=browser.redirect_uri, client_id=args.client_id
    )


def run(args: argparse.Namespace) -> int:
    """Run ``scaled-mcp check``; the exit status."""
    if args.url is None and args.sse_url is None and args.command is None:
        print("scaled-mcp: check needs a URL, --sse-url or --command", file=sys.stderr)
        return 2
    for url in (args.url, args.sse_url):
        if url is not None and not url.startswith(("http://", "https://")):
            print(f"scaled-mcp: not an http(s) URL: {url}", file=sys.stderr)
            return 2
    try:
        expected = (
            ExpectedFailures.load(args.expected_failures)
            if args.expected_failures
            else ExpectedFailures()
        )
    except (OSError, ValueError) as exc:
        print(f"scaled-mcp: --expected-failures: {exc}", file=sys.stderr)
        return 2
    options = ProbeOptions(
        headers=dict(args.header or ()),
        bearer=args.bearer,
        auth=_auth(args),
        timeout=args.timeout,
        seed=args.seed,
        call_tools=args.call_tools,
    )
    progress = ProgressLine(sys.stderr, enabled=sys.stderr.isatty() and not args.json)

    async def main() -> Report:
        return await check(
            args.url,
            sse_url=args.sse_url,
            command=shlex.split(args.command) if args.command else None,
            revisions=args.revision or (),
            select=args.select or (),
            options=options,
            expected_failures=expected,
            on_result=progress,
        )

    try:
        report = trio.run(main)
    finally:
        progress.close()
    if args.junit:
        with open(args.junit, "w", encoding="utf-8") as out:
            out.write(to_junit(report))
    print(to_json(report) if args.json else format_table(report, verbose=args.verbose))
    return report.exit_status
