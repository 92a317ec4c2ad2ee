"""Our client over TLS to our server on hypercorn: a private CA the client is told
to trust, a server it must not trust without it, and client certificates (mutual
TLS) when the server requires them."""

from __future__ import annotations

import datetime
import functools
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import attrs
import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypercorn.config import Config

from scaled_mcp.client import Client, ConnectionLost
from scaled_mcp.protocol.jsonrpc import ErrorCode
from scaled_mcp.protocol.types import TextContent
from scaled_mcp.runtime import Runtime, RuntimeConfig
from scaled_mcp_hypercorn import serve as serve_hypercorn

from .client_helpers import make_e2e_app

#: A generous bound on each test: nothing here may hang.
DEADLINE: Final = 60


@attrs.frozen
class Pki:
    """A private CA, a server certificate for 127.0.0.1 and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    folder: Path,
    stem: str,
    subject: str,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    usage: x509.ObjectIdentifier | None,
) -> tuple[Path, Path, x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(subject)
    issuer_name, issuer_key = issuer or (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if usage is ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, name, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, _, ca_name, ca_key = _issue(folder, "ca", "tests CA", None, None)
    server_cert, server_key, _, _ = _issue(
        folder, "server", "127.0.0.1", (ca_name, ca_key), ExtendedKeyUsageOID.SERVER_AUTH
    )
    client_cert, client_key, _, _ = _issue(
        folder, "client", "a client", (ca_name, ca_key), ExtendedKeyUsageOID.CLIENT_AUTH
    )
    return Pki(ca, server_cert, server_key, client_cert, client_key)


@asynccontextmanager
async def serving_tls(pki: Pki, *, require_client_cert: bool) -> AsyncIterator[str]:
    """Our server on hypercorn over TLS: its ``https://`` URL."""
    config = Config()
    config.certfile = str(pki.server_cert)
    config.keyfile = str(pki.server_key)
    if require_client_cert:
        config.ca_certs = str(pki.ca)
        config.verify_mode = ssl.CERT_REQUIRED
    runtime = Runtime(make_e2e_app(), config=RuntimeConfig(shutdown_grace=1))
    stop = trio.Event()
    async with runtime.run(), trio.open_nursery() as nursery:
        bound = await nursery.start(
            functools.partial(
                serve_hypercorn, runtime, ["127.0.0.1:0"], shutdown=stop, config=config
            )
        )
        yield f"https://127.0.0.1:{int(bound[0].rpartition(':')[2])}/mcp"
        stop.set()


def trusting(pki: Pki, *, with_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if with_client_cert:
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    return context


async def echo(client: Client, text: str) -> str:
    result = await client.call_tool("echo", {"text": text})
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


@pytest.mark.parametrize("mode", ["handshake", "stateless"])
async def test_a_server_signed_by_a_trusted_ca(pki: Pki, mode: str) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            serving_tls(pki, require_client_cert=False) as url,
            Client(url, mode=mode, verify=trusting(pki)) as client,  # type: ignore[arg-type]
        ):
            assert await echo(client, "over tls") == "over tls"
            assert len(await client.list_tools()) == 10


async def test_a_server_the_client_does_not_trust_is_refused(pki: Pki) -> None:
    with trio.fail_after(DEADLINE):
        async with serving_tls(pki, require_client_cert=False) as url:
            with pytest.raises(ConnectionLost) as raised:
                async with Client(url, mode="handshake", timeout=DEADLINE / 3):
                    pass
            assert raised.value.code == ErrorCode.INTERNAL_ERROR
            # Verification off: the same server is reached.
            async with Client(url, mode="handshake", verify=False) as client:
                assert await echo(client, "unverified") == "unverified"


async def test_mutual_tls(pki: Pki) -> None:
    with trio.fail_after(DEADLINE):
        async with serving_tls(pki, require_client_cert=True) as url:
            verify = trusting(pki, with_client_cert=True)
            async with Client(url, mode="handshake", verify=verify) as client:
                assert await echo(client, "with a certificate") == "with a certificate"
            # The fixed API's ``cert=``: a (certificate, key) pair beside ``verify``.
            async with Client(
                url,
                mode="stateless",
                verify=trusting(pki),
                cert=(str(pki.client_cert), str(pki.client_key)),
            ) as client:
                assert await echo(client, "cert=") == "cert="
            # Without a client certificate the server ends the TLS handshake.
            with pytest.raises(ConnectionLost):
                async with Client(
                    url, mode="handshake", verify=trusting(pki), timeout=DEADLINE / 3
                ):
                    pass
