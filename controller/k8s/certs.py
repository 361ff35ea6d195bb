"""TLS for the admission webhook when no certificate is mounted: a self-signed CA and a serving
certificate, generated with `cryptography` at startup (local runs, the demo, the e2e tests).

In a cluster the chart mounts a Secret (tls.crt, tls.key, ca.crt) from Helm or cert-manager and
the operator reads it from --webhook-cert-dir instead.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILE, KEY_FILE, CA_FILE = "tls.crt", "tls.key", "ca.crt"


@dataclass(frozen=True)
class ServingFiles:
    """Where the serving certificate lives, and the CA the API server must trust (caBundle)."""

    certfile: Path
    keyfile: Path
    ca_pem: bytes


def _key() -> ec.EllipticCurvePrivateKey:
    # ECDSA P-256: fast to generate and cheap TLS handshakes; kube-apiserver accepts it.
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def self_signed_pair(
    hosts: Sequence[str], days: int = 365, now: dt.datetime | None = None
) -> tuple[bytes, bytes, bytes]:
    """(ca_pem, cert_pem, key_pem): a CA and a serving certificate for `hosts` (DNS names or
    IPs, all put in subjectAltName; the API server checks SANs only)."""
    if not hosts:
        raise ValueError("a serving certificate needs at least one host name or IP")
    now = now or dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "golive-webhook-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = _key()
    unique = list(dict.fromkeys(hosts))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, unique[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in unique]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return ca.public_bytes(pem), cert.public_bytes(pem), _pem_key(key)


def write_self_signed(hosts: Sequence[str], directory: Path | None = None) -> ServingFiles:
    """Generate a pair and write tls.crt/tls.key/ca.crt into `directory` (default: a fresh
    private temp dir). The key file is 0600."""
    ca_pem, cert_pem, key_pem = self_signed_pair(hosts)
    target = directory or Path(tempfile.mkdtemp(prefix="golive-webhook-tls-"))
    target.mkdir(parents=True, exist_ok=True)
    (target / CA_FILE).write_bytes(ca_pem)
    (target / CERT_FILE).write_bytes(cert_pem)
    key_path = target / KEY_FILE
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    return ServingFiles(target / CERT_FILE, key_path, ca_pem)


def mounted(directory: Path) -> ServingFiles:
    """The chart's layout: tls.crt and tls.key, and ca.crt when the issuer provides one (else
    the certificate is taken as its own CA). Raises ValueError naming a missing file."""
    cert, key, ca = directory / CERT_FILE, directory / KEY_FILE, directory / CA_FILE
    for path in (cert, key):
        if not path.is_file():
            raise ValueError(f"--webhook-cert-dir: {path} does not exist")
    return ServingFiles(cert, key, (ca if ca.is_file() else cert).read_bytes())
