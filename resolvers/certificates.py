"""Certificate enrolment: a person registers the X.509 certificate they sign with.

The certificate must be issued to them (its subject's user ID, RFC 4519 `uid`, is their username)
by a CA the plant trusts, valid now and not revoked; those are the signature checks themselves,
because the enrolment is signed with the new certificate's own key, which proves the caller holds
it (proof of possession). A person may hold several (a new one before the old expires); a
certificate is registered to one account only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies import pki
from policies import signatures as sig
from policies.errors import AppError, ErrorCode
from records.identity import UserCertificate
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

MAX_PEM = 20_000


@dataclass(frozen=True)
class Candidate:
    pem: str
    fingerprint: str
    algorithm: str
    not_before: datetime
    not_after: datetime

    def registered(self) -> sig.RegisteredCert:
        return sig.RegisteredCert(self.fingerprint, self.algorithm, self.pem)


def candidate(pem: str, username: str) -> Candidate:
    """The certificate as sent, if it is a certificate issued to `username` for a known algorithm."""
    text = pem.strip()
    if not text or len(text) > MAX_PEM:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"certificate: a PEM X.509 certificate (at most {MAX_PEM} "
                                                    "characters)")
    try:
        cert = x509.load_pem_x509_certificate(text.encode())
        algorithm = pki.algorithm_of(text.encode())
    except ValueError as exc:
        raise AppError(ErrorCode.VALIDATION_FAILED, "certificate: not a PEM X.509 certificate of a known "
                                                    "algorithm") from exc
    uids = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.USER_ID)]
    if uids != [username]:
        named = ", ".join(uids) or "nobody"
        raise AppError(ErrorCode.VALIDATION_FAILED,
                       f"the certificate is issued to {named} (subject uid), not to {username}")
    return Candidate(text + "\n", pki.fingerprint(text.encode()), algorithm, cert.not_valid_before_utc,
                     cert.not_valid_after_utc)


async def enrol(ctx: Context, req: SignedRequest, pem: str, reason: str) -> UserCertificate:
    """Register the caller's certificate; signed PERFORMED with that certificate's key."""
    p = ctx.signed_in()

    async def clean() -> Candidate:
        if not reason.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
        return candidate(pem, p.username)

    async def proven(c: Candidate, signatures: Signatures[Candidate]) -> Candidate:
        if signatures.by.verified.fingerprint != c.fingerprint:
            raise AppError(ErrorCode.SIGNATURE_INVALID, "sign the enrolment with the key of the certificate "
                                                        "enrolled (send it as the signature's certificate)")
        return c

    async def save(s: AsyncSession, c: Candidate, signatures: Signatures[Candidate]) -> UserCertificate:
        taken = (await s.execute(select(UserCertificate.user_id).where(
            UserCertificate.fingerprint == c.fingerprint))).scalar_one_or_none()
        if taken is not None:
            raise AppError(ErrorCode.CONFLICT, "this certificate is already registered")
        row = UserCertificate(user_id=p.user_id, fingerprint=c.fingerprint, algorithm=c.algorithm, pem=c.pem,
                              not_before=c.not_before, not_after=c.not_after)
        s.add(row)
        await s.flush()
        await signatures.bind(s, "user_certificate", str(row.id), {
            "username": p.username, "fingerprint": c.fingerprint, "algorithm": c.algorithm})
        return row

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, signed=proven,
                         enrolling=Candidate.registered, conflict="this certificate is already registered")


async def mine(ctx: Context) -> list[UserCertificate]:
    """The caller's certificates, newest first, revoked ones included."""
    p = ctx.signed_in()
    async with ctx.db.read() as s:
        return list((await s.execute(select(UserCertificate).where(UserCertificate.user_id == p.user_id)
                                     .order_by(UserCertificate.id.desc()))).scalars())
