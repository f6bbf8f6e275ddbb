"""The signature payload of signed mutations and the signature records of any record."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from policies import pki
from policies import signatures as sig
from policies.errors import AppError, ErrorCode
from resolvers import signing as res
from resolvers.context import Context
from resolvers.signed import SignedRequest
from schema import convert
from schema.permissions import can

# The payload's value lists, under the names the public contract gives them.
strawberry.enum(sig.Meaning, name="SignatureMeaning",
                description="What a signature means (design.md, 'Signature payloads')")
strawberry.enum(pki.Algorithm, name="SignatureAlgorithm", description="The signature algorithm")


@strawberry.input(description="A signature over the mutation's $input (design.md, 'Signature payloads').")
class SignatureInput:
    signer: str
    meaning: sig.Meaning
    signed_at: str = strawberry.field(description="RFC 3339 UTC, exactly as signed, e.g. 2026-11-22T05:33:11Z")
    nonce: str
    algorithm: pki.Algorithm
    value: str = strawberry.field(description="Standard base64 of the signature")
    certificate: str | None = None

    def payload(self) -> sig.SignaturePayload:
        return sig.SignaturePayload(signer=self.signer, meaning=self.meaning.value, signed_at=self.signed_at,
                                    nonce=self.nonce, algorithm=self.algorithm.value, value=self.value,
                                    certificate=self.certificate)


def signed(info: Info[Context, None], signature: SignatureInput | None,
           second: SignatureInput | None = None) -> SignedRequest:
    """The signed request of this mutation field: its name is the operation, and the transport
    recorded its `input` exactly as sent (api/access.py)."""
    raw = info.context.raw_inputs.get(str(info.path.key), sig.RawInput.MISSING)
    return SignedRequest(info.field_name, raw, signature.payload() if signature else None,
                         second.payload() if second else None)


@strawberry.type(description="A stored electronic signature: who, when, what it means, and what it is bound to.")
class Signature:
    id: strawberry.ID
    entity: str
    entity_id: str
    record_hash: str
    operation: str
    meaning: str
    signer: str
    printed_name: str
    signed_at: str
    recorded_at: datetime
    algorithm: str
    certificate_fingerprint: str

    @classmethod
    def of(cls, r: res.ESignature) -> Signature:
        return convert.of(cls, r, id=strawberry.ID(str(r.id)))


@strawberry.type
class SignatureCheck:
    signature_id: strawberry.ID
    valid: bool = strawberry.field(description="The value verifies over the signed input with the certificate")
    bound: bool = strawberry.field(description="The audit trail links it to this record version")
    audit_event_id: strawberry.ID | None
    problem: str | None


@strawberry.type
class SigningQuery:
    @strawberry.field(description="Re-verify a stored signature and its link to the signed record.",
                      extensions=can("plant:signature", "read"))
    async def verify_signature(self, info: Info[Context, None], id: strawberry.ID) -> SignatureCheck:
        try:
            sid = int(id)
        except ValueError as exc:
            raise AppError(ErrorCode.VALIDATION_FAILED, "id must be numeric") from exc
        c = await res.verify_stored(info.context, sid)
        return SignatureCheck(signature_id=strawberry.ID(str(c.signature_id)), valid=c.valid, bound=c.bound,
                              audit_event_id=strawberry.ID(str(c.audit_event_id)) if c.audit_event_id else None,
                              problem=c.problem)

    @strawberry.field(description="Every signature of one record, oldest first.",
                      extensions=can("plant:signature", "read"))
    async def signatures(self, info: Info[Context, None], entity: str, entity_id: str) -> list[Signature]:
        return [Signature.of(r) for r in await res.record_signatures(info.context, entity, entity_id)]
