"""Completing a PAdES document whose signer's key stays on the client (batch release, test reports): the
client's CMS signature over the reserved bytes is embedded, and the document must validate against the trust
anchors. A refusal is audited on the document itself (not as the e-signature's refusal, which `perform`
writes), so the error is marked as audited."""

from __future__ import annotations

import base64
import binascii

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies import pades
from policies.errors import AppError, ErrorCode
from policies.signatures import TrustStore
from records.audit import PendingEvent
from records.identity import User, UserCertificate
from resolvers.context import Context
from resolvers.signed import SignedRequest
from resolvers.signing import key_roles


async def rejected(ctx: Context, req: SignedRequest, entity: str, document_id: str, code: ErrorCode, message: str,
                   detail: str | None = None) -> AppError:
    await ctx.db.record(ctx.audit_context(), PendingEvent(
        "SIGNATURE_REJECTED", entity, document_id,
        {"operation": req.operation, "code": code.value, "message": detail or message}))
    e = AppError(code, message)
    e.audited = True
    return e


async def embed(ctx: Context, req: SignedRequest, entity: str, document_id: str, state: str,
                cms_signature: str) -> bytes:
    """The final PDF with the client's signature embedded, validated; refusals audited on the document."""
    try:
        raw = base64.b64decode(cms_signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise await rejected(ctx, req, entity, document_id, ErrorCode.SIGNATURE_INVALID,
                             "cmsSignature is not standard base64", str(exc)) from exc
    reserved = pades.PreparedSignature.from_state(state.encode())
    try:
        final = await pades.finish_external(reserved, raw, reserved.algorithm)
    except ValueError as exc:
        raise await rejected(ctx, req, entity, document_id, ErrorCode.SIGNATURE_INVALID,
                             "the document signature does not verify", str(exc)) from exc
    reports = await pades.validate(final, list(ctx.services.trust.anchors))
    if not reports or not all(r.intact and r.valid and r.trusted for r in reports):
        raise await rejected(ctx, req, entity, document_id, ErrorCode.CERTIFICATE_UNTRUSTED,
                             "the signed document does not validate against the trust anchors")
    return final


def organisation_key(ctx: Context, what: str) -> tuple[bytes, bytes]:
    if ctx.services.org_key is None or ctx.services.org_cert is None:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{what} need the organisation's signing key "
                                                    "(PLASMATWIN_ORG_KEY, PLASMATWIN_ORG_CERT)")
    return ctx.services.org_key, ctx.services.org_cert


async def signer_certificate(s: AsyncSession, user_id: int, trust: TrustStore) -> str:
    """The signer's newest valid certificate PAdES can use (ES256 or RS256); for a key person (IT-48), the newest
    from a third-party CA, as their e-signatures are."""
    certs = (await s.execute(select(UserCertificate.pem, UserCertificate.algorithm)
                             .where(UserCertificate.user_id == user_id, UserCertificate.revoked_at.is_(None))
                             .order_by(UserCertificate.id.desc()))).all()
    usable = [str(pem) for pem, alg in certs if alg in pades.ALGORITHMS]
    if not usable:
        raise AppError(ErrorCode.VALIDATION_FAILED, "PAdES document signatures need an ES256 or RS256 certificate")
    user = (await s.execute(select(User).where(User.id == user_id))).scalar_one()
    if set(user.role_names) & await key_roles(s):
        usable = [pem for pem in usable if trust.issuer_of(pem.encode()) in trust.third_party]
        if not usable:
            raise AppError(ErrorCode.CERTIFICATE_UNTRUSTED, f"{user.username} is a key person and needs an ES256 or "
                           "RS256 certificate from an accredited third-party CA for document signatures")
    return usable[0]


async def reserve(ctx: Context, pdf: bytes, cert: str) -> tuple[bytes, pades.PreparedSignature]:
    """The PDF sealed by the organisation, and the signer's signature reserved in it."""
    key, org_cert = organisation_key(ctx, "signed documents")
    chain = list(ctx.services.trust.anchors)
    sealed = await pades.sign_as_organisation(pdf, key, org_cert, chain)
    return sealed, await pades.prepare_external(sealed, cert.encode(), chain)
