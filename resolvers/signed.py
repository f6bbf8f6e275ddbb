"""One way to make a signed GMP write (design.md, "A GMP write"), in the spirit of Saleor's
perform_mutation:

    clean (domain checks, duties) -> verify the signatures -> save rows, audit events and the
    signature records in one transaction -> publish after commit

A resolver says only what is domain-specific: what to check, what to write, what to announce.
The operation name comes from the GraphQL field and the raw `$input` from the transport
(`SignedRequest`, made in schema/signing.py). Every refusal is audited the same way: a failed
signature as SIGNATURE_REJECTED, any other refusal of the write (bad input, state, a lost nonce
race) as WRITE_REFUSED; refusals already audited where they were decided (a denied permission, a
separation-of-duties rule) are not written twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from policies import signatures as sig
from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from records.signature import ESignature
from resolvers import reauth
from resolvers.context import Context
from resolvers.signing import SignedBy, audit_rejection, store_signature, verify_signature

P = TypeVar("P")
# Refusals about a signature itself, wherever they are decided (a missing second signature is found
# by `clean` when only the record tells whether one is needed).
SIGNATURE_CODES = frozenset({ErrorCode.SIGNATURE_REQUIRED, ErrorCode.SIGNATURE_INVALID, ErrorCode.SIGNATURE_REPLAYED,
                             ErrorCode.SIGNATURE_EXPIRED, ErrorCode.CERTIFICATE_UNTRUSTED,
                             ErrorCode.REAUTHENTICATION_REQUIRED})
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class SignedRequest:
    """One signed mutation as the transport carried it."""

    operation: str
    raw_input: Any
    signature: sig.SignaturePayload | None
    # A second person's signature in the same request (`verification` or `approval`).
    second: sig.SignaturePayload | None = None

    @property
    def second_signer(self) -> str | None:
        """Who the second signature says it is (not yet verified: for duty checks in `clean`)."""
        return self.second.signer if self.second is not None else None


@dataclass(frozen=True)
class Second:
    """A second person signs in the same request: the meanings their signature may carry."""

    meanings: tuple[str, ...]
    what: str = "a second person's signature"
    required: bool = True


@dataclass
class Signatures(Generic[P]):
    """The verified signatures of a request, handed to `save`; `bind` links them to a record."""

    by: SignedBy
    second: SignedBy | None
    stored: list[ESignature] = field(default_factory=list)

    @property
    def signer(self) -> str:
        return self.by.verified.payload.signer

    @property
    def second_signer(self) -> str | None:
        return self.second.verified.payload.signer if self.second else None

    async def bind(self, s: AsyncSession, entity: str, entity_id: str, content: dict[str, Any],
                   **link: Any) -> ESignature:
        """Store every signature of the request, bound to this version of the record; the first is returned."""
        rows = [await store_signature(s, by, entity, entity_id, content, **link)
                for by in (self.by, self.second) if by is not None]
        self.stored.extend(rows)
        return rows[0]


Clean = Callable[[], Awaitable[P]]
Save = Callable[[AsyncSession, P, Signatures[P]], Awaitable[R]]


def _audited(e: AppError) -> bool:
    return bool(getattr(e, "audited", False))


def refused(e: AppError, *events: PendingEvent) -> AppError:
    """A refusal that is audited under its own events (written after the rollback) instead of
    WRITE_REFUSED: `raise refused(AppError(...), PendingEvent("PURGE_REFUSED", ...))`."""
    e.audit_events = events  # type: ignore[attr-defined]
    return e


async def perform(ctx: Context, req: SignedRequest, *, reason: str | Callable[[P], str],
                  clean: Clean[P], save: Save[P, R], publish: Callable[[R], None] | None = None,
                  meanings: tuple[str, ...] = ("PERFORMED",), second: Second | None = None,
                  signed: Callable[[P, Signatures[P]], Awaitable[P]] | None = None,
                  enrolling: Callable[[P], sig.RegisteredCert] | None = None,
                  conflict: str = "the record was written concurrently; look again and send it again") -> R:
    """Run one signed write; see the module's docstring. `clean` returns what `save` needs;
    `signed`, when given, runs once the signatures verified and before the transaction opens
    (slow work that needs a verified signer, such as sealing a document). `conflict` is the
    message when another request wrote the same record meanwhile (a unique constraint).
    `enrolling` names a certificate not yet registered that the first signature may be made with
    (the enrolment of that certificate, signed with its own key)."""
    signing, current = False, req.signature
    try:
        prepared = await clean()
        signing = True
        by = await verify_signature(ctx, req.operation, req.raw_input, req.signature, meanings=meanings,
                                    enrolling=enrolling(prepared) if enrolling else None)
        other = None
        if second is not None and (req.second is not None or second.required):
            current = req.second
            if req.second is None:
                raise AppError(ErrorCode.SIGNATURE_REQUIRED, f"{req.operation} needs {second.what}")
            other = await verify_signature(ctx, req.operation, req.raw_input, req.second, second_person=True,
                                           meanings=second.meanings)
        signing, current = False, req.signature
        signatures: Signatures[P] = Signatures(by, other)
        if signed is not None:
            prepared = await signed(prepared, signatures)
        why = reason(prepared) if callable(reason) else reason
        try:
            async with ctx.db.write(ctx.audit_context(why)) as s:
                result = await save(s, prepared, signatures)
                if not signatures.stored:
                    raise RuntimeError(f"{req.operation} wrote no signature record")
                await reauth.spend(s, by.session_id, other.session_id if other else None)
        except IntegrityError as exc:
            # Another request wrote the same record meanwhile; nothing of this one was kept.
            raise AppError(ErrorCode.CONFLICT, conflict) from exc
    except AppError as e:
        events = getattr(e, "audit_events", ())
        if events:
            await ctx.db.record(ctx.audit_context(), *events)
        elif not _audited(e):
            await audit_rejection(ctx, req.operation, e, current,
                                  signature_stage=signing or e.code in SIGNATURE_CODES)
        raise
    if publish is not None:
        publish(result)
    return result


class Row(Protocol):
    id: int


W = TypeVar("W", bound=Row)


async def transition(ctx: Context, req: SignedRequest, *, entity: str, load: Callable[[AsyncSession], Awaitable[W]],
                     change: Callable[[AsyncSession, W, str], Awaitable[None]],
                     content: Callable[[W], dict[str, Any]], reason: str, meaning: str, concurrent: str,
                     unchanged: Callable[[W, W], bool], check: Callable[[W], Awaitable[None]] | None = None) -> W:
    """One signed move of a record (a status step): `check(row)` refuses before signatures are taken, `change`
    writes in the transaction once the row is found `unchanged` since, and the signature is bound to the row as
    it is after. A row moved by someone else meanwhile is a CONFLICT (`concurrent`)."""
    async def clean() -> W:
        async with ctx.db.read() as s:
            row = await load(s)
        if check is not None:
            await check(row)
        return row

    async def save(s: AsyncSession, before: W, signatures: Signatures[W]) -> W:
        row = await load(s)
        if not unchanged(before, row):
            raise AppError(ErrorCode.CONFLICT, concurrent)
        await change(s, row, signatures.signer)
        await s.flush()
        await signatures.bind(s, entity, str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=reason, clean=clean, save=save, meanings=(meaning,), conflict=concurrent)


class Refused(Exception):
    """A refusal to be audited once the transaction that found it has rolled back."""

    def __init__(self, action: str, events: list[tuple[str, str, dict[str, Any]]], error: AppError) -> None:
        super().__init__(error.message)
        self.action, self.events, self.error = action, events, error


async def refusals_audited(ctx: Context, write: Awaitable[T]) -> T:
    """Run a signed write whose checks may refuse it: the refusal is recorded in its own transaction
    (nothing else is written), under its own action and instead of perform's WRITE_REFUSED."""
    try:
        return await write
    except Refused as r:
        await ctx.db.record(ctx.audit_context(), *(PendingEvent(r.action, entity, eid, changes)
                                                   for entity, eid, changes in r.events))
        r.error.audited = True
        raise r.error from None
