"""Certificates and keys for the local control plane (generated with ``cryptography``).

What kube-apiserver needs for a secure port with client-certificate authentication and
service-account tokens (https://kubernetes.io/docs/setup/best-practices/certificates/):

- ``ca.crt``/``ca.key``: a self-signed CA that signs both the serving certificate and the
  client certificates (``--client-ca-file``).
- ``apiserver.crt``/``apiserver.key``: serving certificate for 127.0.0.1/localhost, the
  in-cluster names of the ``kubernetes`` Service and its ClusterIP.
- ``admin.crt``/``admin.key``: client certificate with O=``system:masters`` (the group
  bound to cluster-admin by default RBAC), used by the admin kubeconfig, the controller
  manager, the scheduler and the API server's calls to the kubelet (logs, exec).
- ``node.crt``/``node.key``: the kubelet's identity, CN=``system:node:assetcron-dev``,
  O=``system:nodes``.
- ``sa.key``/``sa.pub``: the RSA key pair that signs and verifies service-account tokens.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

_VALIDITY = dt.timedelta(days=365)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


#: Leaf certificates other than the serving one: stem -> (CN, O).
CLIENTS = {
    "admin": ("assetcron-dev-admin", "system:masters"),
    # The node's identity: the group the plane binds to ClusterRole system:node.
    "node": ("system:node:assetcron-dev", "system:nodes"),
}


def generate(pki: Path, apiserver_ips: tuple[str, ...] = ()) -> None:
    """Write the CA, serving/client certificates and service-account keys into ``pki``.

    Existing files are kept (a restarted plane keeps its identity and its tokens stay
    valid); only missing ones are created, and the serving certificate is issued anew
    when it does not cover every address of ``apiserver_ips`` (besides 127.0.0.1).
    Certificates are valid for 365 days.
    """
    pki.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    if (pki / "ca.crt").exists() and (pki / "ca.key").exists():
        ca_cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
        loaded = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)  # we wrote it
        ca_key = loaded
    else:
        ca_key, ca_cert = _new_ca(pki, now)

    def leaf(
        stem: str, subject: x509.Name, *, server: bool, sans: list[x509.GeneralName] | None = None
    ) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        usage = (
            x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
            if server
            else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        _write_key(pki / f"{stem}.key", key)
        _write_cert(pki / f"{stem}.crt", builder.sign(ca_key, hashes.SHA256()))

    ips = ("127.0.0.1", *apiserver_ips)
    if not _covers(pki / "apiserver.crt", ips):
        leaf(
            "apiserver",
            _name("kube-apiserver"),
            server=True,
            sans=[
                x509.DNSName("localhost"),
                x509.DNSName("kubernetes"),
                x509.DNSName("kubernetes.default"),
                x509.DNSName("kubernetes.default.svc"),
                x509.DNSName("kubernetes.default.svc.cluster.local"),
                *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips),
            ],
        )
    for stem, (cn, org) in CLIENTS.items():
        if not (pki / f"{stem}.crt").exists():
            leaf(stem, _name(cn, org), server=False)
    if not (pki / "sa.key").exists():
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_key(pki / "sa.key", sa_key)
        (pki / "sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def _covers(cert_path: Path, ips: tuple[str, ...]) -> bool:
    """True when the certificate at ``cert_path`` exists and names every IP of ``ips``."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    have = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    return set(ips) <= have


def _new_ca(pki: Path, now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("assetcron-dev-ca"))
        .issuer_name(_name("assetcron-dev-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
    _write_key(pki / "ca.key", ca_key)
    _write_cert(pki / "ca.crt", ca_cert)
    return ca_key, ca_cert
