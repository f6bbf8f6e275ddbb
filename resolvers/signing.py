"""Signed mutations: check the payload, then store the signature record with the change.

Every refusal is audited in its own transaction and leaves the business data untouched.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from policies import pki
from policies import signatures as sig
from policies.errors import AppError, ErrorCode
from policies.principal import Principal
from records import audit
from records.audit import AuditEvent, PendingEvent
from records.base import utcnow
from records.identity import Setting, User, UserCertificate
from records.signature import ESignature as ESignature
from records.signature import record_hash
from resolvers import reauth
from resolvers.context import Context


@dataclass(frozen=True)
class SignedBy:
    """A verified signature and the account behind it, ready to be stored with the change."""

    verified: sig.VerifiedSignature
    user_id: int
    printed_name: str
    # The re-authentication it rests on (resolvers/reauth.py), spent when the signature is stored.
    session_id: int | None = None


def check_raw_input(raw: Any) -> Any:
    if raw is sig.RawInput.MISSING:
        raise AppError(ErrorCode.VALIDATION_FAILED,
                       "the signed $input must be sent in the request's variables; a default written in the "
                       "document is not covered by the signature")
    if raw is sig.RawInput.INLINE:
        raise AppError(ErrorCode.VALIDATION_FAILED,
                       "a signed mutation takes its input as a variable ($input), not written inline")
    return raw


async def audit_rejection(ctx: Context, operation: str, e: AppError, payload: sig.SignaturePayload | None,
                          *, signature_stage: bool = True) -> None:
    """One audit event per refused signed write: SIGNATURE_REJECTED when a signature failed its
    checks, WRITE_REFUSED when the write itself was refused (bad input, state, a lost nonce race)."""
    action, entity, entity_id = (("SIGNATURE_REJECTED", "e_signature", None) if signature_stage
                                 else ("WRITE_REFUSED", "operation", operation))
    await ctx.db.record(ctx.audit_context(), PendingEvent(action, entity, entity_id, {
        "operation": operation, "code": e.code.value, "message": e.message,
        "signer": payload.signer if payload else None, "nonce": payload.nonce if payload else None}))


KEY_ROLES_KEY = "signing.keyRoles"


async def key_roles(s: AsyncSession) -> frozenset[str]:
    """The roles of key persons (IT-48): the guideline's own and those the plant adds in the setting."""
    row = await s.get(Setting, KEY_ROLES_KEY)
    return sig.KEY_ROLES | frozenset(row.value if row is not None else ())


def check_key_roles(key: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(r, str) and r.strip() for r in value):
        raise AppError(ErrorCode.VALIDATION_FAILED,
                       f"{key} lists the roles key persons sign with, beyond {', '.join(sorted(sig.KEY_ROLES))}")


async def verify_signature(
    ctx: Context, operation: str, raw_input: Any, payload: sig.SignaturePayload | None,
    *, second_person: bool = False, meanings: tuple[str, ...] | None = None,
    enrolling: sig.RegisteredCert | None = None,
) -> SignedBy:
    """All checks of the contract but the nonce (enforced on insert), in its order; nothing audited here."""
    principal = ctx.signed_in()
    if payload is None:
        raise AppError(ErrorCode.SIGNATURE_REQUIRED, f"{operation} needs a signature")
    if meanings is not None and payload.meaning not in meanings:
        raise AppError(ErrorCode.FORBIDDEN, f"this signature must mean {' or '.join(meanings)}")
    return await _check(ctx, operation, raw_input, payload, principal, second_person, enrolling)


async def _check(ctx: Context, operation: str, raw_input: Any, payload: sig.SignaturePayload,
                 principal: Principal, second_person: bool, enrolling: sig.RegisteredCert | None) -> SignedBy:
    if second_person == (payload.signer == principal.username):
        who = "another person than the caller" if second_person else "the signed-in caller"
        raise AppError(ErrorCode.SIGNATURE_INVALID, f"the signer must be {who}")
    async with ctx.db.read() as s:
        user = (await s.execute(select(User).where(User.username == payload.signer))).scalar_one_or_none()
        if user is None or not user.active:
            raise AppError(ErrorCode.SIGNATURE_INVALID, "the signer is not an active user")
        roles = set(user.role_names)
        certs = [sig.RegisteredCert(c.fingerprint, c.algorithm, c.pem) for c in (await s.execute(
            select(UserCertificate).where(UserCertificate.user_id == user.id,
                                          UserCertificate.revoked_at.is_(None)))).scalars()]
        if enrolling is not None and user.id == principal.user_id:
            certs.append(enrolling)
        allowed = ctx.services.meanings.get(operation, {}).get(payload.meaning, frozenset())
        if not roles & allowed:
            raise AppError(ErrorCode.FORBIDDEN, f"{payload.signer} may not sign {operation} as {payload.meaning}")
        raw = check_raw_input(raw_input)
        verified = sig.verify(payload, operation=operation, raw_input=raw, registered=certs,
                              trust=ctx.services.trust, now=utcnow(),
                              window=timedelta(seconds=ctx.services.signature_window),
                              key_roles=frozenset(roles & await key_roles(s)))
        used = (await s.execute(select(ESignature.id).where(ESignature.nonce == payload.nonce))).first()
        if used:
            raise AppError(ErrorCode.SIGNATURE_REPLAYED, "this nonce was already used by a signature")
        session = await reauth.session_for(ctx, s, user.id, payload.signer, second_person)
        return SignedBy(verified, user.id, user.display_name, session)


async def store_signature(s: AsyncSession, by: SignedBy, entity: str, entity_id: str,
                          content: dict[str, Any], **link: Any) -> ESignature:
    """Link the signature for good to this version of the record (its hash).

    The link is also written as a SIGN event in the hash-chained audit trail, so a signature row
    copied or moved to another record behind the application's back no longer verifies.
    """
    v = by.verified
    row = ESignature(
        entity=entity, entity_id=entity_id, record_hash=record_hash(entity, entity_id, content),
        operation=v.operation, meaning=v.payload.meaning, signer_id=by.user_id, signer=v.payload.signer,
        printed_name=by.printed_name, signed_at=v.payload.signed_at, algorithm=v.payload.algorithm,
        certificate_fingerprint=v.fingerprint, nonce=v.payload.nonce,
        signing_input=v.signing_input.decode(), value=v.payload.value,
    )
    s.add(row)
    try:
        await s.flush()
    except IntegrityError as exc:
        # Two requests raced with one nonce: the unique constraint lets only one commit.
        raise AppError(ErrorCode.SIGNATURE_REPLAYED, "this nonce was already used by a signature") from exc
    ev = PendingEvent("SIGN", entity, entity_id, {
        "signature": [None, row.id], "recordHash": [None, row.record_hash], "meaning": [None, row.meaning],
        "signer": [None, row.signer], "operation": [None, row.operation],
        **{k: [None, val] for k, val in link.items()}})
    await audit.add(s, ev)
    return row


@dataclass(frozen=True)
class StoredCheck:
    signature_id: int
    valid: bool
    bound: bool
    audit_event_id: int | None
    problem: str | None


async def verify_stored(ctx: Context, signature_id: int) -> StoredCheck:
    """Re-verify a stored signature: its value over the signed input, and its link to the record."""
    async with ctx.db.read() as s:
        row = await s.get(ESignature, signature_id)
        if row is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no signature {signature_id}")
        pem = (await s.execute(select(UserCertificate.pem).where(
            UserCertificate.fingerprint == row.certificate_fingerprint))).scalar_one_or_none()
        events = (await s.execute(select(AuditEvent).where(
            AuditEvent.action == "SIGN", AuditEvent.entity == row.entity, AuditEvent.entity_id == row.entity_id)
        )).scalars().all()
    problem = None
    try:
        valid = pem is not None and pki.verify_bytes(pem.encode(), row.algorithm, row.signing_input.encode(),
                                                     base64.b64decode(row.value))
    except ValueError:
        valid = False
    if not valid:
        problem = "the signature value does not verify over its signed input"
    link = next((e for e in events if e.changes.get("signature", [None, None])[1] == row.id
                 and e.changes.get("recordHash", [None, None])[1] == row.record_hash), None)
    if link is None:
        problem = problem or "no audit event links this signature to this record version"
    return StoredCheck(row.id, valid, link is not None, link.id if link else None, problem)


async def record_signatures(ctx: Context, entity: str, entity_id: str) -> list[ESignature]:
    """Every signature of one record, oldest first."""
    async with ctx.db.read() as s:
        return list((await s.execute(select(ESignature).where(ESignature.entity == entity,
                                                              ESignature.entity_id == entity_id)
                                     .order_by(ESignature.id))).scalars())
