"""The caller's signing certificates: enrolment (signed with the new certificate's key) and the list."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import certificates as res
from resolvers.context import Context
from schema.convert import of
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="An X.509 certificate registered to the caller for signing.")
class Certificate:
    fingerprint: str = strawberry.field(description="SHA-256 of the DER certificate, hex")
    algorithm: str
    pem: str
    not_before: datetime
    not_after: datetime
    registered_at: datetime
    revoked_at: datetime | None


@strawberry.input
class EnrolCertificateInput:
    certificate: str = strawberry.field(description="The PEM certificate, issued to you (subject uid = your "
                                                    "username) by a CA the plant trusts")
    reason: str


@strawberry.type
class CertificateQuery:
    @strawberry.field(description="Your signing certificates, newest first.", extensions=can("certificate:own", "read"))
    async def my_certificates(self, info: Info[Context, None]) -> list[Certificate]:
        return [of(Certificate, c) for c in await res.mine(info.context)]


@strawberry.type
class CertificateMutation:
    @strawberry.mutation(description="Register your signing certificate; signed PERFORMED with its own key (send "
                                     "it as the signature's certificate), which proves you hold the key.",
                         extensions=can("certificate:own", "write"))
    async def enrol_certificate(self, info: Info[Context, None], input: EnrolCertificateInput,
                                signature: SignatureInput) -> Certificate:
        return of(Certificate, await res.enrol(info.context, signed(info, signature), input.certificate,
                                               input.reason))
