"""Options from the environment (``SCALED_MCP_<OPTION>``, the command line wins) and TLS
on the hypercorn front, with certificates made here."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx2
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from scaled_mcp._cli_options import parser, with_environment

from .helpers import initialize_request
from .test_cli_broker import HEADERS, node

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = str(ROOT / "examples" / "everything.py")
KEY = "k1:" + "s" * 40


def parse(argv: list[str], environ: dict[str, str]) -> dict[str, object]:
    command_line, serve = parser()
    return vars(command_line.parse_args(with_environment(serve, argv, environ)))


def test_every_option_comes_from_the_environment() -> None:
    environ = {
        "SCALED_MCP_BIND": "0.0.0.0:9000",
        "SCALED_MCP_HTTP": "h11",
        "SCALED_MCP_NODE_ID": "east",
        "SCALED_MCP_BROKER": "redis://r:6379/0",
        "SCALED_MCP_STATE_KEYS": f"{KEY},k0:{'t' * 40}",
        "SCALED_MCP_ALLOW_HOST": "a.example, b.example",
        "SCALED_MCP_ALLOW_ORIGIN": "https://a.example",
        "SCALED_MCP_RESPONSE": "sse",
        "SCALED_MCP_WORKERS": "3",
        "SCALED_MCP_MAX_SESSIONS": "500",
        "SCALED_MCP_CERTFILE": "c.pem",
        "SCALED_MCP_KEYFILE": "k.pem",
        "SCALED_MCP_CA_CERTS": "ca.pem",
        "SCALED_MCP_LOG_LEVEL": "INFO",
        "SCALED_MCP_LISTEN_FD": "7",  # internal to --workers: never from the environment
    }
    args = parse(["serve", "app.py"], environ)
    assert args["bind"] == ("0.0.0.0", 9000)
    assert args["http"] == "h11"
    assert args["node_id"] == "east"
    assert args["broker"] == "redis://r:6379/0"
    assert args["state_key"] == [KEY, f"k0:{'t' * 40}"]
    assert args["allow_host"] == ["a.example", "b.example"]
    assert args["allow_origin"] == ["https://a.example"]
    assert args["response"] == "sse"
    assert args["workers"] == 3
    assert args["max_sessions"] == 500
    assert (args["certfile"], args["keyfile"], args["ca_certs"]) == ("c.pem", "k.pem", "ca.pem")
    assert args["log_level"] == "info"
    assert args["listen_fd"] is None
    assert parse(["serve", "app.py"], {"SCALED_MCP_STDIO": "1"})["stdio"] is True
    assert parse(["serve", "app.py"], {"SCALED_MCP_STDIO": "0"})["stdio"] is False


def test_the_command_line_wins() -> None:
    environ = {
        "SCALED_MCP_MAX_SESSIONS": "500",
        "SCALED_MCP_ALLOW_HOST": "env.example",
        "SCALED_MCP_BIND": "0.0.0.0:9000",
    }
    args = parse(["serve", "app.py", "--max-sessions=7", "--allow-host", "cli.example"], environ)
    assert args["max_sessions"] == 7
    assert args["allow_host"] == ["cli.example"]  # replaced, not added to
    assert args["bind"] == ("0.0.0.0", 9000)


@pytest.mark.parametrize(
    ("value", "parsed"), [("10", (10.0, 0)), ("2.5:20", (2.5, 20)), ("0.1:0", (0.1, 0))]
)
def test_a_rate_limit_is_a_rate_and_a_burst(value: str, parsed: tuple[float, int]) -> None:
    assert parse(["serve", "app.py", "--rate-limit", value], {})["rate_limit"] == parsed
    assert parse(["serve", "app.py"], {"SCALED_MCP_RATE_LIMIT": value})["rate_limit"] == parsed


def run_cli(*args: str, **environ: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "scaled_mcp.cli", *args],
        capture_output=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={**os.environ, **environ},
    )


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("SCALED_MCP_MAX_SESSIONS", "-1", b"--max-sessions: expected an integer"),
        ("SCALED_MCP_STDIO", "maybe", b"--stdio: expected 1 or 0"),
        ("SCALED_MCP_HTTP", "gopher", b"--http: invalid choice"),
        ("SCALED_MCP_RATE_LIMIT", "0", b"--rate-limit: expected RATE or RATE:BURST"),
        ("SCALED_MCP_RATE_LIMIT", "5:-1", b"--rate-limit: expected RATE or RATE:BURST"),
    ],
)
def test_a_bad_value_from_the_environment_names_its_variable(
    variable: str, value: str, fragment: bytes
) -> None:
    result = run_cli("serve", EVERYTHING, **{variable: value})
    assert result.returncode == 2
    assert fragment in result.stderr
    assert f"(from ${variable})".encode() in result.stderr
    assert result.stderr.count(b"\n") == 1


def test_a_bad_state_key_from_the_environment_is_not_echoed() -> None:
    secret = "short-environment-secret"
    result = run_cli("serve", EVERYTHING, SCALED_MCP_STATE_KEYS=f"k1:{secret}")
    assert result.returncode == 2
    assert b"bad state key 'k1'" in result.stderr
    assert secret.encode() not in result.stderr


# -- TLS ------------------------------------------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(
    folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed here."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("test CA", ca_key, None)
    _write(folder, "ca", ca, ca_key)
    for name, server in (("server", True), ("client", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        _write(folder, name, _certificate(name, key, (ca.subject, ca_key), server=server), key)
    return folder


def _initialize(url: str, verify: ssl.SSLContext) -> httpx2.Response:
    return httpx2.post(
        url,
        content=orjson.dumps(initialize_request("2025-06-18", request_id=5)),
        headers=HEADERS,
        verify=verify,
        timeout=30,
    )


def test_tls_on_the_hypercorn_front(pki: Path) -> None:
    tls = ("--certfile", str(pki / "server.pem"), "--keyfile", str(pki / "server.key"))
    with node("--http", "hypercorn", *tls) as server:
        line = server.wait_for("serving on")
        url = f"https://127.0.0.1:{server.port}/mcp"
        assert url in line
        answered = _initialize(url, ssl.create_default_context(cafile=str(pki / "ca.pem")))
        assert answered.status_code == 200, answered.text
        assert answered.json()["id"] == 5
        with pytest.raises(httpx2.ConnectError):  # our CA is not in the system's store
            _initialize(url, ssl.create_default_context())


def test_mutual_tls_from_the_environment(pki: Path) -> None:
    environ = {
        "SCALED_MCP_CERTFILE": str(pki / "server.pem"),
        "SCALED_MCP_KEYFILE": str(pki / "server.key"),
        "SCALED_MCP_CA_CERTS": str(pki / "ca.pem"),
    }
    with node("--http", "hypercorn", env=environ) as server:
        server.wait_for("serving on")
        url = f"https://127.0.0.1:{server.port}/mcp"
        anonymous = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        with pytest.raises((httpx2.ConnectError, httpx2.ReadError, httpx2.RemoteProtocolError)):
            _initialize(url, anonymous).raise_for_status()
        known = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        known.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
        answered = _initialize(url, known)
        assert answered.status_code == 200, answered.text


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--http", "h11", "--certfile", "c.pem", "--keyfile", "k.pem"), b"needs --http hypercorn"),
        (("--certfile", "c.pem"), b"needs both --certfile and --keyfile"),
        (("--certfile", "no/such.pem", "--keyfile", "no/such.key"), b"cannot load the TLS files"),
    ],
)
def test_bad_tls_options_are_one_line(args: tuple[str, ...], fragment: bytes) -> None:
    result = run_cli("serve", EVERYTHING, *args)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert result.stderr.count(b"\n") == 1
