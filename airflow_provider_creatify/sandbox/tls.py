"""A throw-away self-signed certificate, so the sandbox can serve HTTPS as the real API does."""

from __future__ import annotations

from pathlib import Path

LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


def write_self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a certificate valid for ``host`` and the loopback names, and its key: ``(cert.pem, key.pem)``.

    It is its own CA, so a client trusts it with ``SSL_CERT_FILE`` (aiohttp, httpx) or
    ``REQUESTS_CA_BUNDLE`` (requests) pointing at ``cert.pem``. Needs ``cryptography`` (an Airflow
    dependency), imported here only.

    :param directory: where to write the two PEM files.
    :param host: an IP address or a DNS name the certificate names besides the loopback ones.
    """
    import datetime
    import ipaddress

    from airflow_provider_creatify.sandbox.settings import sandbox_import

    sandbox_import("cryptography", "to make a self-signed certificate")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def alt_name(name: str) -> x509.GeneralName:
        try:
            return x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            return x509.DNSName(name)

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt_names = x509.SubjectAlternativeName([alt_name(n) for n in dict.fromkeys([host, *LOOPBACK_NAMES])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(alt_names, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_path.write_bytes(key_bytes)
    return cert_path, key_path
