"""CAPA (QC-26, QM-10): QA or QC's reviewer draws up an action for an OOS or a deviation with its owner and
due date (signed PERFORMED); the owner, and only the owner, signs it done (PERFORMED); QA checks its
effectiveness (APPROVED), never the owner (policies/duties.csv check_capa). Overdue: open past its due date."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.capa import Capa, content
from records.capa import CapaKind as CapaKind
from records.capa import CapaStatus as CapaStatus
from records.capa import Effectiveness as Effectiveness
from records.identity import User
from records.oos import OosRecord
from records.quality import Deviation
from resolvers.checks import conflict, invalid, text
from resolvers.codes import highest, next_serial
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform, transition


@dataclass(frozen=True)
class CapaView:
    capa: Capa
    oos_number: str | None
    deviation_number: str | None

    @property
    def overdue(self) -> bool:
        return self.capa.status == CapaStatus.OPEN and self.capa.due_date < utcnow().date()


@dataclass(frozen=True)
class NewCapa:
    kind: str
    action: str
    owner: str
    due_date: date
    oos_id: int | None = None
    deviation_number: str | None = None


async def _get(s: AsyncSession, number: str) -> Capa:
    c = (await s.execute(select(Capa).where(Capa.number == number.strip()))).scalar_one_or_none()
    if c is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no CAPA {number.strip()[:24]}")
    return c


async def create(ctx: Context, req: SignedRequest, n: NewCapa) -> Capa:
    p = ctx.signed_in()

    async def clean() -> tuple[int | None, int | None]:
        if n.kind not in CapaKind.__members__:
            raise invalid(f"kind: one of {', '.join(CapaKind)}")
        text("action", n.action, 4000)
        text("owner", n.owner, 64)
        if (n.oos_id is None) == (n.deviation_number is None):
            raise invalid("a CAPA answers one OOS (oosId) or one deviation (deviationNumber)")
        if n.due_date < utcnow().date():
            raise invalid("dueDate: today or later")
        async with ctx.db.read() as s:
            owner = (await s.execute(select(User.active).where(User.username == n.owner.strip()))).first()
            if owner is None or not owner[0]:
                raise invalid(f"owner: no active user {n.owner.strip()[:64]}")
            dev_id = None
            if n.oos_id is not None:
                o = await s.get(OosRecord, n.oos_id)
                if o is None:
                    raise AppError(ErrorCode.NOT_FOUND, f"no OOS record {n.oos_id}")
            else:
                assert n.deviation_number is not None
                dev_id = (await s.execute(select(Deviation.id).where(
                    Deviation.number == n.deviation_number.strip()))).scalar_one_or_none()
                if dev_id is None:
                    raise AppError(ErrorCode.NOT_FOUND, f"no deviation {n.deviation_number.strip()[:24]}")
        return n.oos_id, dev_id

    async def save(s: AsyncSession, links: tuple[int | None, int | None], signatures: Signatures[Any]) -> Capa:
        now = utcnow()
        serial = await next_serial(s, f"CA{now:%Y}", start=highest(s, Capa.number, f"CAPA-{now:%Y}-"),
                                   what="CAPA numbers")
        c = Capa(number=f"CAPA-{now:%Y}-{serial:05d}", kind=n.kind, action=n.action.strip(),
                 owner=n.owner.strip(), due_date=n.due_date, status=CapaStatus.OPEN.value, oos_id=links[0],
                 deviation_id=links[1], created_by=p.username, created_at=now)
        s.add(c)
        await s.flush()
        await signatures.bind(s, "capa", str(c.id), content(c))
        return c

    return await perform(ctx, req, reason="CAPA drawn up", clean=clean, save=save,
                         conflict="a CAPA was numbered concurrently; send it again")


async def _step(ctx: Context, req: SignedRequest, number: str, why: str, check: Callable[[Capa], Awaitable[None]],
                change: Callable[[Capa, str], None], meaning: str) -> Capa:
    async def write(_: AsyncSession, c: Capa, signer: str) -> None:
        change(c, signer)

    return await transition(ctx, req, entity="capa", load=lambda s: _get(s, number), check=check, change=write,
                            content=content, reason=why, meaning=meaning,
                            concurrent="the CAPA was changed concurrently; look again",
                            unchanged=lambda before, now: before.status == now.status)


async def complete(ctx: Context, req: SignedRequest, number: str, note: str) -> Capa:
    """The owner signs the action done (PERFORMED)."""
    p = ctx.signed_in()

    async def check(c: Capa) -> None:
        text("note (what was done)", note, 4000)
        if c.status != CapaStatus.OPEN:
            raise conflict(f"{c.number} is {c.status}")
        if p.username != c.owner:
            raise AppError(ErrorCode.FORBIDDEN, f"only the owner {c.owner} signs {c.number} done")

    def change(c: Capa, who: str) -> None:
        c.status, c.done_by, c.done_at, c.done_note = CapaStatus.DONE.value, who, utcnow(), note.strip()

    return await _step(ctx, req, number, "CAPA done", check, change, "PERFORMED")


async def check_effectiveness(ctx: Context, req: SignedRequest, number: str, result: str, note: str) -> Capa:
    """QA's effectiveness check (APPROVED): EFFECTIVE closes it, NOT_EFFECTIVE opens it again."""
    async def check(c: Capa) -> None:
        text("note (the evidence of effectiveness)", note, 4000)
        if result not in Effectiveness.__members__:
            raise invalid(f"result: one of {', '.join(Effectiveness)}")
        if c.status != CapaStatus.DONE:
            raise conflict(f"{c.number} is {c.status}; its effectiveness is checked once it is done")
        await ctx.require_duty("check_capa", "capa", str(c.id),
                               "the owner of a CAPA does not check its effectiveness", owner=c.owner)

    def change(c: Capa, who: str) -> None:
        c.effectiveness, c.checked_by, c.checked_at, c.check_note = result, who, utcnow(), note.strip()
        c.status = (CapaStatus.CLOSED if result == Effectiveness.EFFECTIVE else CapaStatus.OPEN).value

    return await _step(ctx, req, number, f"CAPA effectiveness checked: {result}", check, change, "APPROVED")


# --- reads ----------------------------------------------------------------------------------------------

def _query() -> Select[Capa, str, str]:
    return (select(Capa, OosRecord.number, Deviation.number).outerjoin(OosRecord, OosRecord.id == Capa.oos_id)
            .outerjoin(Deviation, Deviation.id == Capa.deviation_id))


async def listed(ctx: Context, overdue_only: bool = False, oos_id: int | None = None) -> list[CapaView]:
    """CAPA, newest first; `overdue_only`: still open and past the due date, the most overdue first."""
    q = _query()
    if overdue_only:
        q = q.where(Capa.status == CapaStatus.OPEN, Capa.due_date < utcnow().date()).order_by(Capa.due_date, Capa.id)
    else:
        q = q.order_by(Capa.id.desc())
    if oos_id is not None:
        q = q.where(Capa.oos_id == oos_id)
    async with ctx.db.read() as s:
        rows = (await s.execute(q.limit(500))).all()
    return [CapaView(c, o, d) for c, o, d in rows]


async def get(ctx: Context, number: str) -> CapaView:
    async with ctx.db.read() as s:
        row = (await s.execute(_query().where(Capa.number == number.strip()))).first()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no CAPA {number.strip()[:24]}")
    return CapaView(*row)

