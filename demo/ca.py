"""Demo certificate authority: the CA, user keys and certificates, their files and the CRL.

An ECDSA P-256 CA issues end-entity certificates for ES256 (P-256), RS256 (RSA 3072) and SM2_SM3.
Every certificate is signed by the CA with ecdsa-with-SHA256. It serves `plasmatwin demo`,
`plasmatwin pki` and the tests; a plant's own CA is outside PlasmaTwin (PLASMATWIN_TRUST_ANCHORS), and
the server's signature checks (`policies.pki`) never import this module.

`cryptography` has no SM2 curve and gmssl makes no keys, so SM2 key pairs come from GmSSL through
`gmssl_pyx.sm2_key_generate` (binary wheels, maintained): the scalar from the system's random source,
the public point by GmSSL's fixed-window multiplication in C. That is not strictly constant-time
either (it skips zero windows and reads its table at the secret digit), but unlike the Python
double-and-add it replaces, its timing does not give away the key's bit length and bit count.
tongsuopy, the OpenSSL-based alternative, bundles a 2020 OpenSSL 1.1.1 fork and has had no release
since 2023. The certificate around the key is built with asn1crypto.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gmssl_pyx
from asn1crypto import keys as akeys
from asn1crypto import pem as apem
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from policies.pki import SM2_CURVE_OID, algorithm_of, fingerprint, load_certificate, verify_issued_by

# Extended key usage for signing documents/records (not TLS, not e-mail): the IETF id-kp-documentSigning
# (RFC 9336) plus Microsoft's "Document Signing", which Adobe and Windows tools recognise.
EKU_DOCUMENT_SIGNING = ("1.3.6.1.5.5.7.3.36", "1.3.6.1.4.1.311.10.3.12")

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class IssuedKey:
    username: str
    algorithm: str
    key_pem: bytes
    cert_pem: bytes
    fingerprint: str


# --- keys ---


def _pkcs8(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ca_private(ca_key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(ca_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the CA key must be ECDSA P-256")
    return key


def _new_sm2_key() -> tuple[bytes, akeys.PublicKeyInfo]:
    public, private = gmssl_pyx.sm2_key_generate()  # x||y (64 bytes), d (32 bytes)
    point = b"\x04" + public
    params = akeys.ECDomainParameters(name="named", value=SM2_CURVE_OID)
    inner = akeys.ECPrivateKey()
    inner.set_key_size(32)
    inner["version"] = "ecPrivkeyVer1"
    inner["private_key"] = int.from_bytes(private)
    inner["public_key"] = point
    info = akeys.PrivateKeyInfo({
        "version": 0,
        "private_key_algorithm": {"algorithm": "ec", "parameters": params},
        "private_key": inner,
    })
    spki = akeys.PublicKeyInfo({"algorithm": {"algorithm": "ec", "parameters": params}, "public_key": point})
    return apem.armor("PRIVATE KEY", info.dump()), spki


def _new_key(algorithm: str) -> tuple[bytes, akeys.PublicKeyInfo]:
    """A fresh key pair: (PKCS#8 PEM, SubjectPublicKeyInfo)."""
    if algorithm == "SM2_SM3":
        return _new_sm2_key()
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    spki_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    return _pkcs8(key), akeys.PublicKeyInfo.load(spki_der)


# --- CA and certificates ---


def create_ca(common_name: str = "PlasmaTwin Demo CA", days: int = 3650) -> tuple[bytes, bytes]:
    """A new self-signed ECDSA P-256 CA: (PKCS#8 key PEM, certificate PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.now(UTC) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pkcs8(key), cert.public_bytes(serialization.Encoding.PEM)


def _time(value: datetime) -> ax509.Time:
    return ax509.Time(name="utc_time" if value.year < 2050 else "general_time", value=value)


def _extensions(spki: akeys.PublicKeyInfo, authority_key_id: bytes) -> list[dict[str, object]]:
    # RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value.
    ski = hashlib.sha1(spki["public_key"].contents[1:], usedforsecurity=False).digest()
    return [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
        {"extn_id": "key_usage", "critical": True, "extn_value": {"digital_signature", "non_repudiation"}},
        {"extn_id": "extended_key_usage", "critical": False, "extn_value": list(EKU_DOCUMENT_SIGNING)},
        {"extn_id": "key_identifier", "critical": False, "extn_value": ski},
        {"extn_id": "authority_key_identifier", "critical": False,
         "extn_value": {"key_identifier": authority_key_id}},
    ]


def issue_user(ca_key_pem: bytes, ca_cert_pem: bytes, username: str, display_name: str, algorithm: str,
               days: int = 730) -> IssuedKey:
    """A new key pair and an end-entity signing certificate (CN=display_name, UID=username)."""
    ca_key = _ca_private(ca_key_pem)
    ca_cert = load_certificate(ca_cert_pem)
    if ca_cert.key_identifier is None:
        raise ValueError("the CA certificate has no subject key identifier")
    key_pem, spki = _new_key(algorithm)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    sig_alg = {"algorithm": "sha256_ecdsa"}
    tbs = ax509.TbsCertificate({
        "version": "v3",
        "serial_number": x509.random_serial_number(),
        "signature": sig_alg,
        "issuer": ca_cert.subject,
        "validity": {"not_before": _time(start), "not_after": _time(start + timedelta(days=days))},
        "subject": ax509.Name.build({"common_name": display_name, "user_id": username}),
        "subject_public_key_info": spki,
        "extensions": _extensions(spki, ca_cert.key_identifier),
    })
    signature = ca_key.sign(tbs.dump(), ec.ECDSA(hashes.SHA256()))
    cert = ax509.Certificate({"tbs_certificate": tbs, "signature_algorithm": sig_alg,
                              "signature_value": signature})
    cert_pem = apem.armor("CERTIFICATE", cert.dump())
    return IssuedKey(username, algorithm, key_pem, cert_pem, fingerprint(cert_pem))


# --- files ---


def _write(path: Path, data: bytes, mode: int) -> None:
    """Atomically replace `path` with `data`, created with `mode` (not widened by the umask)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)
    tmp.replace(path)


# The demo's stand-in for an accredited third-party CA (IT-48), in its own folder beside the in-house CA.
THIRD_PARTY = "third-party"
THIRD_PARTY_NAME = "PlasmaTwin Demo Third-Party CA (stands in for an accredited CA)"


def _ca_files(directory: Path, common_name: str = "PlasmaTwin Demo CA") -> tuple[bytes, bytes]:
    key_path, cert_path = directory / "ca-key.pem", directory / "ca.pem"
    if key_path.exists() and cert_path.exists():
        return key_path.read_bytes(), cert_path.read_bytes()
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = create_ca(common_name)
    _write(key_path, ca_key, 0o600)
    _write(cert_path, ca_cert, 0o644)
    return ca_key, ca_cert


def _existing(key_path: Path, cert_path: Path, ca_cert: bytes, username: str, algorithm: str) -> IssuedKey | None:
    """The user's key and certificate on disk if still usable with this CA and algorithm."""
    if not (key_path.exists() and cert_path.exists()):
        return None
    cert_pem = cert_path.read_bytes()
    try:
        not_after = load_certificate(cert_pem)["tbs_certificate"]["validity"]["not_after"].native
        usable = algorithm_of(cert_pem) == algorithm and verify_issued_by(cert_pem, ca_cert)
    except ValueError:
        return None
    if not usable or not_after <= datetime.now(UTC):
        return None
    return IssuedKey(username, algorithm, key_path.read_bytes(), cert_pem, fingerprint(cert_pem))


def write_pki(directory: Path, users: Iterable[tuple[str, str, str]],
              third_party: Collection[str] = ()) -> dict[str, IssuedKey]:
    """Create (or reuse) DIR/ca.pem, DIR/ca-key.pem and DIR/users/<username>.{key,cert}.pem. The users
    named in `third_party` (key persons) get their certificate from DIR/third-party/ca.pem instead."""
    (directory / "users").mkdir(parents=True, exist_ok=True)
    in_house = _ca_files(directory)
    outside = _ca_files(directory / THIRD_PARTY, THIRD_PARTY_NAME) if third_party else in_house
    issued: dict[str, IssuedKey] = {}
    for username, display_name, algorithm in users:
        if not _USERNAME.fullmatch(username):
            raise ValueError(f"username {username!r} cannot be used as a file name")
        ca_key, ca_cert = outside if username in third_party else in_house
        key_path = directory / "users" / f"{username}.key.pem"
        cert_path = directory / "users" / f"{username}.cert.pem"
        key = _existing(key_path, cert_path, ca_cert, username, algorithm)
        if key is None:
            key = issue_user(ca_key, ca_cert, username, display_name, algorithm)
            _write(key_path, key.key_pem, 0o600)
            _write(cert_path, key.cert_pem, 0o644)
        issued[username] = key
    return issued


def revoke(directory: Path, username: str, days_valid: int = 30) -> Path:
    """Add `username`'s certificate to `directory/crl.pem` (signed by the CA); returns the CRL path."""
    if not (directory / "ca-key.pem").exists():
        raise FileNotFoundError(
            f"no CA in {directory}: pass the PKI's directory with --dir (the demo's is DATA_DIR/pki, "
            f"./var/demo/pki for `make demo`), or create one with `plasmatwin pki init --dir {directory}`")
    cert_file = directory / "users" / f"{username}.cert.pem"
    if not cert_file.is_file():
        known = sorted(p.name.removesuffix(".cert.pem") for p in (directory / "users").glob("*.cert.pem"))
        raise LookupError(f"{username} has no certificate in {directory}; it has: {', '.join(known)}")
    cert_pem = cert_file.read_bytes()
    outside = directory / THIRD_PARTY
    issuer = outside if (outside / "ca.pem").exists() and verify_issued_by(
        cert_pem, (outside / "ca.pem").read_bytes()) else directory
    ca_key_pem, ca_cert_pem = _ca_files(issuer)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    ca = x509.load_pem_x509_certificate(ca_cert_pem)
    cert = x509.load_pem_x509_certificate(cert_pem)
    crl_path = issuer / "crl.pem"
    now = datetime.now(UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(now)
               .next_update(now + timedelta(days=days_valid)))
    serials = {cert.serial_number}
    if crl_path.exists():
        old = x509.load_pem_x509_crl(crl_path.read_bytes())
        for entry in old:
            if entry.serial_number not in serials:
                builder = builder.add_revoked_certificate(entry)
                serials.add(entry.serial_number)
    builder = builder.add_revoked_certificate(
        x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(now).build())
    crl = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    _write(crl_path, crl.public_bytes(serialization.Encoding.PEM), 0o644)
    return crl_path
