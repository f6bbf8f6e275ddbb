"""Verification of signature payloads (design.md, "Signature payloads"), in the contract's order.

Signing input: UTF-8 bytes of the RFC 8785 canonical JSON of
{"operation", "input", "meaning", "signedAt", "nonce", "signer"}; `input` is the raw `$input`
variable as the request carried it.
"""

from __future__ import annotations

import base64
import binascii
import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from policies import pki
from policies.errors import AppError, ErrorCode

HERE = Path(__file__).resolve().parent


class Meaning(StrEnum):
    """What a signature means (design.md, 'Signature payloads')."""

    PERFORMED = "PERFORMED"
    VERIFIED = "VERIFIED"
    REVIEWED = "REVIEWED"
    APPROVED = "APPROVED"
    RELEASED = "RELEASED"
    REJECTED = "REJECTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"


MEANINGS = tuple(Meaning)


class RawInput(Enum):
    """What the transport found instead of a value for a signed mutation's `$input`."""

    MISSING = "missing"  # the variable was not sent (or sent as null): a default would be applied
    INLINE = "inline"  # written in the document: nothing exact for the signature to cover


@dataclass(frozen=True)
class SignaturePayload:
    signer: str
    meaning: str
    signed_at: str
    nonce: str
    algorithm: str
    value: str
    certificate: str | None = None


@dataclass(frozen=True)
class RegisteredCert:
    fingerprint: str
    algorithm: str
    pem: str


@dataclass(frozen=True)
class VerifiedSignature:
    payload: SignaturePayload
    operation: str
    signing_input: bytes
    fingerprint: str


def signing_input(operation: str, raw_input: Any, p: SignaturePayload) -> bytes:
    return rfc8785.dumps({"operation": operation, "input": raw_input, "meaning": p.meaning,
                          "signedAt": p.signed_at, "nonce": p.nonce, "signer": p.signer})


def load_meanings(path: Path = HERE / "signing.csv") -> dict[str, dict[str, frozenset[str]]]:
    """operation -> meaning -> roles that may sign it with that meaning."""
    out: dict[str, dict[str, frozenset[str]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["operation"], {})[row["meaning"]] = frozenset(row["roles"].split("|"))
    return out


def parse_time(value: str) -> datetime:
    """RFC 3339 UTC ('...Z' or '+00:00')."""
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise AppError(ErrorCode.SIGNATURE_INVALID, "signedAt is not an RFC 3339 timestamp") from exc
    if ts.tzinfo is None or ts.utcoffset() != timedelta(0):
        raise AppError(ErrorCode.SIGNATURE_INVALID, "signedAt must be in UTC")
    return ts.astimezone(UTC)


# The key persons of IT-48 as this system's roles: who releases (QP) and who approves for quality (QA).
# Their signatures need a certificate from an accredited third-party CA (the final version's Q&A); a
# plant adds the roles its other key persons sign with in the setting `signing.keyRoles`.
KEY_ROLES = frozenset({"qa_officer", "qualified_person"})


def _pem_bundle(path: Path) -> list[bytes]:
    return [c.public_bytes(Encoding.PEM) for c in x509.load_pem_x509_certificates(path.read_bytes())]


class TrustStore:
    """Trust anchors (PEM bundles) and the CRLs that revoke certificates they issued.

    Anchors are of two classes: in-house CAs (the plant's own) and accredited third-party CAs
    (`third_party`, also trusted for everyone). Key persons sign only with certificates from the second.
    CRL files are re-read when they change on disk, so publishing a new CRL takes effect at the
    next signature without a restart. A CRL not signed by a trust anchor is ignored.
    """

    def __init__(self, anchors: list[bytes], crl_files: Iterable[Path] = (), third_party: Iterable[bytes] = ()) -> None:
        self.third_party = list(third_party)
        self.anchors = [*anchors, *(a for a in self.third_party if a not in anchors)]
        self.crl_files = tuple(crl_files)
        self._stamp: tuple[float, ...] | None = None
        self.crls: list[x509.CertificateRevocationList] = []

    @classmethod
    def from_files(cls, bundle: Path | None, crl_files: Iterable[Path] = (),
                   third_party: Path | None = None) -> TrustStore:
        return cls(_pem_bundle(bundle) if bundle else [], crl_files, _pem_bundle(third_party) if third_party else [])

    def _refresh(self) -> None:
        stamp = tuple(p.stat().st_mtime if p.exists() else -1.0 for p in self.crl_files)
        if stamp == self._stamp:
            return
        crls = []
        anchors = [x509.load_pem_x509_certificate(a) for a in self.anchors]
        for path in self.crl_files:
            if not path.exists():
                continue
            crl = x509.load_pem_x509_crl(path.read_bytes())
            if any(crl.issuer == a.subject and crl.is_signature_valid(a.public_key()) for a in anchors):  # type: ignore[arg-type]
                crls.append(crl)
        self.crls, self._stamp = crls, stamp

    def issuer_of(self, cert_pem: bytes) -> bytes | None:
        for anchor in self.anchors:
            try:
                if pki.verify_issued_by(cert_pem, anchor):
                    return anchor
            except ValueError:
                continue
        return None

    def revoked(self, cert: x509.Certificate) -> bool:
        self._refresh()
        return any(crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
                   and crl.issuer == cert.issuer for crl in self.crls)


def verify(
    payload: SignaturePayload, *, operation: str, raw_input: Any, registered: list[RegisteredCert],
    trust: TrustStore, now: datetime, window: timedelta, key_roles: frozenset[str] = frozenset(),
) -> VerifiedSignature:
    """Checks 3 to 6 of the contract (signer and role checks come first, nonce last, at insert).

    The checks run in the order of the contract's table (3 and 4 in helpers, 5 and 6 here): the first
    failure is the one reported, so the order is part of the contract. `key_roles`: the signer's roles
    that make them a key person, whose certificate must come from a third-party CA (IT-48)."""
    value, signed_at, cert_pem, cert = _well_formed(payload, registered)
    fp = _trusted(payload, registered, trust, cert_pem, cert, signed_at, key_roles)
    if abs(now - signed_at) > window:
        raise AppError(ErrorCode.SIGNATURE_EXPIRED,
                       f"signedAt is more than {int(window.total_seconds())} s from server time")
    data = signing_input(operation, raw_input, payload)
    try:
        good = pki.verify_bytes(cert_pem, payload.algorithm, data, value)
    except ValueError:
        good = False
    if not good:
        raise AppError(ErrorCode.SIGNATURE_INVALID, "the signature does not verify over the signing input")
    return VerifiedSignature(payload, operation, data, fp)


def _well_formed(payload: SignaturePayload,
                 registered: list[RegisteredCert]) -> tuple[bytes, datetime, bytes, x509.Certificate]:
    """Check 3: known algorithm and meaning, a nonce, base64, a timestamp and a PEM certificate.
    Returns the decoded value, signedAt, the certificate's PEM and the certificate."""
    if payload.algorithm not in pki.ALGORITHMS:
        raise AppError(ErrorCode.SIGNATURE_INVALID, f"unknown algorithm {payload.algorithm}")
    if payload.meaning not in MEANINGS:
        raise AppError(ErrorCode.SIGNATURE_INVALID, f"unknown meaning {payload.meaning}")
    if not payload.nonce or len(payload.nonce) > 128:
        raise AppError(ErrorCode.SIGNATURE_INVALID, "nonce must be 1-128 characters")
    try:
        value = base64.b64decode(payload.value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AppError(ErrorCode.SIGNATURE_INVALID, "value is not standard base64") from exc
    signed_at = parse_time(payload.signed_at)
    cert_pem = _certificate(payload, registered)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise AppError(ErrorCode.SIGNATURE_INVALID, "certificate is not a PEM X.509 certificate") from exc
    return value, signed_at, cert_pem, cert


def _trusted(payload: SignaturePayload, registered: list[RegisteredCert], trust: TrustStore, cert_pem: bytes,
             cert: x509.Certificate, signed_at: datetime, key_roles: frozenset[str]) -> str:
    """Check 4: the certificate chains to a trust anchor (a third-party one for a key person), is not
    revoked, was valid at signedAt and is the one registered to the signer for this algorithm. Returns
    its fingerprint."""
    fp = pki.fingerprint(cert_pem)
    match = next((r for r in registered if r.fingerprint == fp), None)
    issuer = trust.issuer_of(cert_pem)
    if issuer is None:
        raise AppError(ErrorCode.CERTIFICATE_UNTRUSTED, "the certificate does not chain to a trust anchor")
    if key_roles and issuer not in trust.third_party:
        name = x509.load_pem_x509_certificate(issuer).subject.rfc4514_string()
        raise AppError(ErrorCode.CERTIFICATE_UNTRUSTED,
                       f"{payload.signer} signs as a key person ({', '.join(sorted(key_roles))}) and needs a "
                       f"certificate from an accredited third-party CA; this one is from the in-house CA {name}")
    if trust.revoked(cert):
        raise AppError(ErrorCode.CERTIFICATE_UNTRUSTED, "the certificate is revoked")
    if not cert.not_valid_before_utc <= signed_at <= cert.not_valid_after_utc:
        raise AppError(ErrorCode.CERTIFICATE_UNTRUSTED, "the certificate was not valid at signedAt")
    if match is None:
        raise AppError(ErrorCode.CERTIFICATE_UNTRUSTED, "the certificate is not registered to the signer's account")
    if match.algorithm != payload.algorithm:
        raise AppError(ErrorCode.SIGNATURE_INVALID, f"the signer's certificate is for {match.algorithm}")
    return fp


def _certificate(payload: SignaturePayload, registered: list[RegisteredCert]) -> bytes:
    if payload.certificate:
        return payload.certificate.encode()
    if len(registered) == 1:
        return registered[0].pem.encode()
    if not registered:
        raise AppError(ErrorCode.CERTIFICATE_UNTRUSTED, "the signer has no registered certificate")
    raise AppError(ErrorCode.SIGNATURE_INVALID, "the signer has several certificates: send the one used")


def make_payload(key_pem: bytes, algorithm: str, signer: str, operation: str, raw_input: Any, meaning: str,
                 *, signed_at: str | None = None, nonce: str | None = None,
                 certificate: str | None = None) -> dict[str, Any]:
    """Client side: a ready SignatureInput (as JSON) over `raw_input` (CLI, tests, tools)."""
    import secrets

    stamp = signed_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    p = SignaturePayload(signer=signer, meaning=meaning, signed_at=stamp, nonce=nonce or secrets.token_urlsafe(18),
                         algorithm=algorithm, value="", certificate=certificate)
    value = base64.b64encode(pki.sign_bytes(key_pem, algorithm, signing_input(operation, raw_input, p))).decode()
    out: dict[str, Any] = {"signer": signer, "meaning": meaning, "signedAt": stamp, "nonce": p.nonce,
                           "algorithm": algorithm, "value": value}
    if certificate:
        out["certificate"] = certificate
    return out
