"""Signature primitives per algorithm: certificate parsing, fingerprints, signing and verification.

ES256 (P-256) and RS256 (RSA) use `cryptography`. SM2_SM3 (SM2 on sm2p256v1, which `cryptography`
cannot load) is parsed with asn1crypto and verified with gmssl, which checks public values only.
SM2 signing, which works with the private key and a secret nonce, is done by GmSSL's C code through
`gmssl_pyx`: gmssl computes k*G in Python one nonce bit at a time (its timing follows the nonce's
bits) and takes its default nonce from `random`. Every signature is checked against the key file's
public key before it is returned.

The demo certificate authority that issues keys and certificates is `demo.ca`; the
server's verification path never imports it.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

import gmssl_pyx
from asn1crypto import keys as akeys
from asn1crypto import pem as apem
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from gmssl.sm2 import CryptSM2


class Algorithm(StrEnum):
    """The signature algorithms a payload may name."""

    ES256 = "ES256"
    RS256 = "RS256"
    SM2_SM3 = "SM2_SM3"


ALGORITHMS = tuple(Algorithm)

# sm2p256v1 (GB/T 32918.5-2017 / GM/T 0003.5-2012): what checking a public point needs.
SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_CURVE_OID = "1.2.156.10197.1.301"

# asn1crypto needs the curve's private-key length to encode SM2 keys (the documented extension point).
akeys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, 32)

_SM2_KEY_CHECK = b"PlasmaTwin SM2 key pair check"


# --- parsing ---


def _unpem(data: bytes, kind: str) -> bytes:
    try:
        found, _, der = apem.unarmor(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM {kind}") from exc
    if found != kind:
        raise ValueError(f"expected PEM {kind}, got {found}")
    return bytes(der)


def load_certificate(cert_pem: bytes) -> ax509.Certificate:
    """A PEM certificate parsed far enough to know it is well-formed (ValueError if not)."""
    try:
        cert = ax509.Certificate.load(_unpem(cert_pem, "CERTIFICATE"))
        _ = cert["tbs_certificate"]["subject_public_key_info"]["algorithm"].native, cert.issuer.native
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("malformed certificate") from exc
    return cert


def fingerprint(cert_pem: bytes) -> str:
    """Lowercase hex SHA-256 of the certificate DER."""
    return hashlib.sha256(_unpem(cert_pem, "CERTIFICATE")).hexdigest()


def _is_sm2(params: akeys.ECDomainParameters) -> bool:
    return bool(params.name == "named" and params.chosen.dotted == SM2_CURVE_OID)


def algorithm_of(cert_pem: bytes) -> str:
    """ES256, RS256 or SM2_SM3 from the certificate's public key."""
    spki = load_certificate(cert_pem)["tbs_certificate"]["subject_public_key_info"]
    kind = spki["algorithm"]["algorithm"].native
    if kind == "rsa":
        return "RS256"
    if kind == "ec" and _is_sm2(spki["algorithm"]["parameters"]):
        return "SM2_SM3"
    if kind == "ec" and spki["algorithm"]["parameters"].chosen.native == "secp256r1":
        return "ES256"
    raise ValueError("unsupported public key")


def verify_issued_by(cert_pem: bytes, ca_cert_pem: bytes) -> bool:
    """True if the CA's name is the certificate's issuer and its ECDSA key signed the certificate."""
    cert, ca = load_certificate(cert_pem), load_certificate(ca_cert_pem)
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


def _sm2_on_curve(x: int, y: int) -> bool:
    return 0 <= x < SM2_P and 0 <= y < SM2_P and (y * y - x * x * x - SM2_A * x - SM2_B) % SM2_P == 0


def _point_from_bytes(point: bytes) -> bytes:
    """Uncompressed SEC1 point (04||x||y) on sm2p256v1 -> the 64 bytes x||y."""
    if len(point) != 65 or point[0] != 4:
        raise ValueError("expected an uncompressed 65-byte SM2 public point")
    if not _sm2_on_curve(int.from_bytes(point[1:33]), int.from_bytes(point[33:])):
        raise ValueError("SM2 public point is not on sm2p256v1")
    return point[1:]


def _sm2_key(key_pem: bytes) -> tuple[bytes, bytes]:
    """PKCS#8 SM2 key -> (private scalar, 32 bytes; public x||y as stored in the file, 64 bytes)."""
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
    if not 1 <= d <= SM2_N - 2:
        raise ValueError("SM2 private key out of range")
    if stored.native is None:  # RFC 5915 allows leaving it out; OpenSSL, GmSSL and our CA write it
        raise ValueError("the SM2 key file does not hold its public key")
    return d.to_bytes(32), _point_from_bytes(bytes(stored))


def _sm2_sign_checked(private: bytes, public: bytes, data: bytes) -> bytes:
    """r||s over `data` (SM3, ID 1234567812345678), refused unless it verifies with `public`."""
    try:
        der = gmssl_pyx.sm2_sign(private, public, data)
        matches = gmssl_pyx.sm2_verify(public, data, der)
    except gmssl_pyx.GmsslInnerError as exc:  # InvalidValueError included
        raise ValueError(f"SM2 signing failed: {exc}") from exc
    if not matches:
        raise ValueError("SM2 public key does not match the private key")
    r, s = decode_dss_signature(der)
    return r.to_bytes(32) + s.to_bytes(32)


def load_sm2_private(key_pem: bytes) -> tuple[str, str]:
    """PKCS#8 SM2 key -> (private hex, 64 chars; public hex, 128 chars without 04), halves checked to match."""
    private, public = _sm2_key(key_pem)
    _sm2_sign_checked(private, public, _SM2_KEY_CHECK)
    return private.hex(), public.hex()


def sm2_public_from_cert(cert_pem: bytes) -> str:
    """The SM2 public key of a certificate as 128 hex chars (no 04 prefix)."""
    spki = load_certificate(cert_pem)["tbs_certificate"]["subject_public_key_info"]
    if spki["algorithm"]["algorithm"].native != "ec" or not _is_sm2(spki["algorithm"]["parameters"]):
        raise ValueError("not an SM2 certificate")
    return _point_from_bytes(bytes(spki["public_key"])).hex()


# --- signing (client side: CLI, tools, tests) ---


def sign_bytes(key_pem: bytes, algorithm: str, data: bytes) -> bytes:
    """ES256: r||s (64 bytes); RS256: PKCS#1 v1.5 SHA-256; SM2_SM3: r||s with ID 1234567812345678."""
    if algorithm == "SM2_SM3":
        return _sm2_sign_checked(*_sm2_key(key_pem), data)
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


# --- verification (server side) ---


def _verify_sm2(cert_pem: bytes, data: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        raise ValueError("an SM2 signature is 64 bytes (r||s)")
    sm2 = CryptSM2(private_key="", public_key="")
    sm2.public_key = sm2_public_from_cert(cert_pem)  # set as-is: the constructor lstrip("04")s some valid keys
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
