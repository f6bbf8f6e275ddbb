"""Demo public-key infrastructure for electronic signatures.

An ECDSA P-256 CA issues end-entity certificates for ES256 (P-256), RS256 (RSA 3072) and SM2_SM3
(SM2 on sm2p256v1, which `cryptography` cannot handle: those keys and certificates are built with
asn1crypto and signed with gmssl). Every certificate is signed by the CA with ecdsa-with-SHA256.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as akeys
from asn1crypto import pem as apem
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID
from gmssl.sm2 import CryptSM2

ALGORITHMS = ("ES256", "RS256", "SM2_SM3")

# sm2p256v1 (GB/T 32918.5-2017 / GM/T 0003.5-2012)
SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
SM2_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_CURVE_OID = "1.2.156.10197.1.301"

# Extended key usage for signing documents/records (not TLS, not e-mail): the IETF id-kp-documentSigning
# (RFC 9336) plus Microsoft's "Document Signing", which Adobe and Windows tools recognise.
EKU_DOCUMENT_SIGNING = ("1.3.6.1.5.5.7.3.36", "1.3.6.1.4.1.311.10.3.12")

# asn1crypto needs the curve's private-key length to encode SM2 keys (the documented extension point).
akeys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, 32)

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_Point = tuple[int, int] | None


@dataclass(frozen=True)
class IssuedKey:
    username: str
    algorithm: str
    key_pem: bytes
    cert_pem: bytes
    fingerprint: str


# --- SM2 curve arithmetic (key generation and key checks only; not constant-time) ---


def _sm2_add(p1: _Point, p2: _Point) -> _Point:
    """Affine point addition on sm2p256v1 (None is the point at infinity)."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % SM2_P == 0:
        return None
    if x1 == x2:
        lam = (3 * x1 * x1 + SM2_A) * pow(2 * y1, -1, SM2_P) % SM2_P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, SM2_P) % SM2_P
    x3 = (lam * lam - x1 - x2) % SM2_P
    return x3, (lam * (x1 - x3) - y1) % SM2_P


def _sm2_public(d: int) -> tuple[int, int]:
    """d*G by double-and-add."""
    if not 1 <= d <= SM2_N - 2:
        raise ValueError("SM2 private key out of range")
    result: _Point = None
    addend: _Point = (SM2_GX, SM2_GY)
    while d:
        if d & 1:
            result = _sm2_add(result, addend)
        addend = _sm2_add(addend, addend)
        d >>= 1
    assert result is not None
    return result


def _sm2_on_curve(x: int, y: int) -> bool:
    return 0 <= x < SM2_P and 0 <= y < SM2_P and (y * y - x * x * x - SM2_A * x - SM2_B) % SM2_P == 0


def _point_hex(x: int, y: int) -> str:
    return f"{x:064x}{y:064x}"


def _point_from_bytes(point: bytes) -> str:
    """Uncompressed SEC1 point (04||x||y) on sm2p256v1 -> 128 hex chars without the 04 prefix."""
    if len(point) != 65 or point[0] != 4:
        raise ValueError("expected an uncompressed 65-byte SM2 public point")
    x, y = int.from_bytes(point[1:33]), int.from_bytes(point[33:])
    if not _sm2_on_curve(x, y):
        raise ValueError("SM2 public point is not on sm2p256v1")
    return point[1:].hex()


def _sm2_params() -> akeys.ECDomainParameters:
    return akeys.ECDomainParameters(name="named", value=SM2_CURVE_OID)


def _is_sm2(params: akeys.ECDomainParameters) -> bool:
    return params.name == "named" and params.chosen.dotted == SM2_CURVE_OID


def _crypt_sm2(private_hex: str, public_hex: str) -> CryptSM2:
    """A gmssl CryptSM2 with the key set as-is (its constructor lstrip("04")s some valid keys)."""
    sm2 = CryptSM2(private_key=private_hex, public_key="")
    sm2.public_key = public_hex
    return sm2


# --- PEM and parsing helpers ---


def _unpem(data: bytes, kind: str) -> bytes:
    try:
        found, _, der = apem.unarmor(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM {kind}") from exc
    if found != kind:
        raise ValueError(f"expected PEM {kind}, got {found}")
    return bytes(der)


def _load_cert(cert_pem: bytes) -> ax509.Certificate:
    try:
        cert = ax509.Certificate.load(_unpem(cert_pem, "CERTIFICATE"))
        _ = cert["tbs_certificate"]["subject_public_key_info"]["algorithm"].native, cert.issuer.native
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("malformed certificate") from exc
    return cert


def _ca_private(ca_key_pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(ca_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the CA key must be ECDSA P-256")
    return key


def _pkcs8(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def fingerprint(cert_pem: bytes) -> str:
    """Lowercase hex SHA-256 of the certificate DER."""
    return hashlib.sha256(_unpem(cert_pem, "CERTIFICATE")).hexdigest()


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


def _new_key(algorithm: str) -> tuple[bytes, akeys.PublicKeyInfo]:
    """A fresh key pair: (PKCS#8 PEM, SubjectPublicKeyInfo)."""
    if algorithm == "SM2_SM3":
        d = secrets.randbelow(SM2_N - 2) + 1
        point = b"\x04" + bytes.fromhex(_point_hex(*_sm2_public(d)))
        inner = akeys.ECPrivateKey()
        inner.set_key_size(32)
        inner["version"] = "ecPrivkeyVer1"
        inner["private_key"] = d
        inner["public_key"] = point
        info = akeys.PrivateKeyInfo({
            "version": 0,
            "private_key_algorithm": {"algorithm": "ec", "parameters": _sm2_params()},
            "private_key": inner,
        })
        spki = akeys.PublicKeyInfo({"algorithm": {"algorithm": "ec", "parameters": _sm2_params()},
                                    "public_key": point})
        return apem.armor("PRIVATE KEY", info.dump()), spki
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
    ca_cert = _load_cert(ca_cert_pem)
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


def verify_issued_by(cert_pem: bytes, ca_cert_pem: bytes) -> bool:
    """True if the CA's name is the certificate's issuer and its ECDSA key signed the certificate."""
    cert, ca = _load_cert(cert_pem), _load_cert(ca_cert_pem)
    if cert.issuer != ca.subject or not ca.ca:
        return False
    algorithm = cert["signature_algorithm"]["algorithm"].native
    if algorithm != "sha256_ecdsa" or cert["tbs_certificate"]["signature"]["algorithm"].native != algorithm:
        return False
    try:
        ca_key = serialization.load_der_public_key(ca.public_key.dump())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("unsupported CA public key") from exc
    if not isinstance(ca_key, ec.EllipticCurvePublicKey):
        raise ValueError("the CA key must be ECDSA")
    try:
        ca_key.verify(cert["signature_value"].native, cert["tbs_certificate"].dump(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# --- SM2 keys ---


def load_sm2_private(key_pem: bytes) -> tuple[str, str]:
    """PKCS#8 SM2 key -> (private hex, 64 chars; public hex, 128 chars without 04)."""
    try:
        info = akeys.PrivateKeyInfo.load(_unpem(key_pem, "PRIVATE KEY"))
        algorithm = info["private_key_algorithm"]
        if algorithm["algorithm"].native != "ec" or not _is_sm2(algorithm["parameters"]):
            raise ValueError("not an SM2 private key")
        inner = info["private_key"].parsed
        d = inner["private_key"].native
        stored = inner["public_key"]
    except (TypeError, KeyError) as exc:
        raise ValueError("malformed SM2 private key") from exc
    public_hex = _point_hex(*_sm2_public(d))
    if stored.native is not None and _point_from_bytes(bytes(stored)) != public_hex:
        raise ValueError("SM2 public key does not match the private key")
    return f"{d:064x}", public_hex


def sm2_public_from_cert(cert_pem: bytes) -> str:
    """The SM2 public key of a certificate as 128 hex chars (no 04 prefix)."""
    spki = _load_cert(cert_pem)["tbs_certificate"]["subject_public_key_info"]
    if spki["algorithm"]["algorithm"].native != "ec" or not _is_sm2(spki["algorithm"]["parameters"]):
        raise ValueError("not an SM2 certificate")
    return _point_from_bytes(bytes(spki["public_key"]))


# --- signing and verification ---


def _sign_sm2(key_pem: bytes, data: bytes) -> bytes:
    private_hex, public_hex = load_sm2_private(key_pem)
    sm2 = _crypt_sm2(private_hex, public_hex)
    while True:  # gmssl returns None for the (negligibly rare) nonces that give r=0, r+k=n or s=0
        nonce = f"{secrets.randbelow(SM2_N - 1) + 1:064x}"  # never gmssl's default: it uses `random`
        signature = sm2.sign_with_sm3(data, nonce)
        if signature is not None:
            return bytes.fromhex(signature)


def sign_bytes(key_pem: bytes, algorithm: str, data: bytes) -> bytes:
    """ES256: r||s (64 bytes); RS256: PKCS#1 v1.5 SHA-256; SM2_SM3: r||s with ID 1234567812345678."""
    if algorithm == "SM2_SM3":
        return _sign_sm2(key_pem, data)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except UnsupportedAlgorithm as exc:  # e.g. an SM2 key
        raise ValueError(f"the key cannot be used for {algorithm}") from exc
    if algorithm == "ES256":
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("ES256 needs an ECDSA P-256 key")
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32) + s.to_bytes(32)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("RS256 needs an RSA key")
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _verify_sm2(cert_pem: bytes, data: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        raise ValueError("an SM2 signature is 64 bytes (r||s)")
    sm2 = _crypt_sm2("", sm2_public_from_cert(cert_pem))
    r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
    if not (1 <= r < SM2_N and 1 <= s < SM2_N):
        return False  # gmssl does not check the ranges itself
    try:
        return bool(sm2.verify_with_sm3(signature.hex(), data))
    except (TypeError, ValueError):  # gmssl hits the point at infinity on some forged inputs
        return False


def _public_key(cert_pem: bytes) -> object:
    try:
        return x509.load_pem_x509_certificate(cert_pem).public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("certificate or its public key is not usable") from exc


def verify_bytes(cert_pem: bytes, algorithm: str, data: bytes, signature: bytes) -> bool:
    """True if `signature` over `data` verifies with the certificate's key; False if it does not."""
    if algorithm == "SM2_SM3":
        return _verify_sm2(cert_pem, data, signature)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    key = _public_key(cert_pem)
    try:
        if algorithm == "ES256":
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
                raise ValueError("ES256 needs an ECDSA P-256 certificate")
            if len(signature) != 64:
                raise ValueError("an ES256 signature is 64 bytes (r||s)")
            der = encode_dss_signature(int.from_bytes(signature[:32]), int.from_bytes(signature[32:]))
            key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                raise ValueError("RS256 needs an RSA certificate")
            if len(signature) != (key.key_size + 7) // 8:
                raise ValueError("RS256 signature length does not match the key")
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# --- files ---


def algorithm_of(cert_pem: bytes) -> str:
    """ES256, RS256 or SM2_SM3 from the certificate's public key."""
    spki = _load_cert(cert_pem)["tbs_certificate"]["subject_public_key_info"]
    kind = spki["algorithm"]["algorithm"].native
    if kind == "rsa":
        return "RS256"
    if kind == "ec" and _is_sm2(spki["algorithm"]["parameters"]):
        return "SM2_SM3"
    if kind == "ec" and spki["algorithm"]["parameters"].chosen.native == "secp256r1":
        return "ES256"
    raise ValueError("unsupported public key")


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


def _ca_files(directory: Path) -> tuple[bytes, bytes]:
    key_path, cert_path = directory / "ca-key.pem", directory / "ca.pem"
    if key_path.exists() and cert_path.exists():
        return key_path.read_bytes(), cert_path.read_bytes()
    ca_key, ca_cert = create_ca()
    _write(key_path, ca_key, 0o600)
    _write(cert_path, ca_cert, 0o644)
    return ca_key, ca_cert


def _existing(key_path: Path, cert_path: Path, ca_cert: bytes, username: str, algorithm: str) -> IssuedKey | None:
    """The user's key and certificate on disk if still usable with this CA and algorithm."""
    if not (key_path.exists() and cert_path.exists()):
        return None
    cert_pem = cert_path.read_bytes()
    try:
        not_after = _load_cert(cert_pem)["tbs_certificate"]["validity"]["not_after"].native
        usable = algorithm_of(cert_pem) == algorithm and verify_issued_by(cert_pem, ca_cert)
    except ValueError:
        return None
    if not usable or not_after <= datetime.now(UTC):
        return None
    return IssuedKey(username, algorithm, key_path.read_bytes(), cert_pem, fingerprint(cert_pem))


def write_pki(directory: Path, users: Iterable[tuple[str, str, str]]) -> dict[str, IssuedKey]:
    """Create (or reuse) DIR/ca.pem, DIR/ca-key.pem and DIR/users/<username>.{key,cert}.pem."""
    (directory / "users").mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca_files(directory)
    issued: dict[str, IssuedKey] = {}
    for username, display_name, algorithm in users:
        if not _USERNAME.fullmatch(username):
            raise ValueError(f"username {username!r} cannot be used as a file name")
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
        raise FileNotFoundError(f"no CA in {directory}: run `plasmatwin pki init` first")
    ca_key_pem, ca_cert_pem = _ca_files(directory)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    ca = x509.load_pem_x509_certificate(ca_cert_pem)
    cert = x509.load_pem_x509_certificate((directory / "users" / f"{username}.cert.pem").read_bytes())
    crl_path = directory / "crl.pem"
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
