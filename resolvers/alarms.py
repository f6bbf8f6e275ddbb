"""Alarm records: the list and its filters, acknowledgement with a signature, printable exports
(PR-75, PR-79, PR-82: time, room, content, handler, handling method, recovery time)."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from policies.principal import Principal
from records import pdf_text
from records.alarms import CHATTER_COUNT_KEY as CHATTER_COUNT_KEY  # plain settings (resolvers/settings.py)
from records.alarms import CHATTER_SECONDS_KEY as CHATTER_SECONDS_KEY
from records.alarms import STANDING, Alarm, AlarmAcknowledgement, AlarmEvent, alarm_unit, snapshot
from records.alarms import AlarmEventKind as AlarmEventKind  # the value lists, for the schema
from records.alarms import AlarmSource as AlarmSource
from records.alarms import AlarmState as AlarmState
from records.alarms import Priority as Priority
from records.audit import iso
from records.base import utcnow
from records.identity import Setting
from records.plant import Equipment, Room
from records.plasma import PlasmaUnit
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform
from subscriptions.topics import ALARM_TOPIC

MAX_EXPORT = 10_000


@dataclass(frozen=True)
class AlarmFilter:
    active: bool | None = None
    room_code: str | None = None
    priority: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    batch_number: str | None = None


def _query(f: AlarmFilter) -> Select[Alarm]:
    q = select(Alarm)
    if f.active is True:  # standing: still active or not yet acknowledged
        q = q.where(Alarm.state.in_(STANDING))
    elif f.active is False:
        q = q.where(Alarm.state == "CLOSED")
    if f.room_code:
        q = q.where(Alarm.room_id == select(Room.id).where(Room.code == f.room_code).scalar_subquery())
    if f.priority:
        q = q.where(Alarm.priority == f.priority)
    if f.source:
        q = q.where(Alarm.source == f.source)
    if f.batch_number:
        q = q.where(Alarm.batch_number == f.batch_number)
    if f.since:
        q = q.where(Alarm.raised_at >= f.since)
    if f.until:
        q = q.where(Alarm.raised_at < f.until)
    return q


async def page(s: AsyncSession, f: AlarmFilter, limit: int, before_id: int | None) -> tuple[list[Alarm], int, bool]:
    """Newest first; `before_id` is the cursor of the last alarm of the previous page."""
    q = _query(f)
    total = (await s.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    if before_id is not None:
        q = q.where(Alarm.id < before_id)
    rows = list((await s.execute(q.order_by(Alarm.id.desc()).limit(limit + 1))).scalars())
    return rows[:limit], total, len(rows) > limit


async def rows_for_export(s: AsyncSession, f: AlarmFilter) -> list[Alarm]:
    rows = list((await s.execute(_query(f).order_by(Alarm.id).limit(MAX_EXPORT + 1))).scalars())
    if len(rows) > MAX_EXPORT:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"more than {MAX_EXPORT} alarms: narrow the time range")
    return rows


async def units_by_alarm_ids(s: AsyncSession, alarm_ids: Sequence[int]) -> list[list[str]]:
    """PL-12: the donation numbers linked to each alarm, in the order of `alarm_ids`, in one statement."""
    found: dict[int, list[str]] = {i: [] for i in alarm_ids}
    for alarm_id, number in (await s.execute(select(alarm_unit.c.alarm_id, PlasmaUnit.donation_number).join(
            alarm_unit, alarm_unit.c.plasma_unit_id == PlasmaUnit.id).where(alarm_unit.c.alarm_id.in_(set(alarm_ids)))
            .order_by(alarm_unit.c.alarm_id, PlasmaUnit.donation_number))).all():
        found[alarm_id].append(number)
    return [found[i] for i in alarm_ids]


def content(a: Alarm) -> dict[str, Any]:
    """What an acknowledgement signature is bound to."""
    return {"id": a.id, "source": a.source, "condition": a.condition, "tag": a.tag, "raisedAt": iso(a.raised_at),
            "state": a.state, "handling": a.handling}


def _check_handling(handling: str) -> None:
    if not handling.strip() or len(handling) > 2000:
        raise AppError(ErrorCode.VALIDATION_FAILED, "the handling method (1-2000 characters) is required")


def _acknowledged(a: Alarm, by: str, handling: str, at: datetime) -> None:
    """One alarm acknowledged, alone or in a group: who, when, how handled, and its next state."""
    a.acknowledged_at, a.acknowledged_by, a.handling = at, by, handling.strip()
    a.state = AlarmState(a.state).acknowledged()


async def acknowledge(ctx: Context, req: SignedRequest, alarm_id: int, handling: str) -> Alarm:
    p = ctx.signed_in()

    async def clean() -> None:
        _check_handling(handling)

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> Alarm:
        a = await s.get(Alarm, alarm_id)
        if a is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no alarm {alarm_id}")
        if a.acknowledged_at is not None:
            raise AppError(ErrorCode.CONFLICT, f"alarm {alarm_id} was acknowledged by {a.acknowledged_by}")
        _acknowledged(a, p.username, handling, utcnow())
        await s.flush()
        await signatures.bind(s, "alarm", str(a.id), content(a))
        return a

    def publish(a: Alarm) -> None:
        ctx.services.alarms.published("ACKNOWLEDGED", a)

    return await perform(ctx, req, reason="alarm acknowledged", clean=clean, save=save, publish=publish,
                         meanings=("ACKNOWLEDGED",))


MAX_GROUP = 100


async def acknowledge_group(ctx: Context, req: SignedRequest, alarm_ids: Sequence[int], handling: str) -> list[Alarm]:
    """Acknowledge several alarms with one signature (a flood handled as one event), all or none: the
    signature is bound to the group's record, which lists every alarm with its content as acknowledged."""
    p = ctx.signed_in()
    ids = list(dict.fromkeys(alarm_ids))

    async def clean() -> None:
        _check_handling(handling)
        if not 1 <= len(ids) <= MAX_GROUP:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"acknowledge 1 to {MAX_GROUP} alarms at once")

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> list[Alarm]:
        found = {a.id: a for a in (await s.execute(select(Alarm).where(Alarm.id.in_(ids)))).scalars()}
        missing = [i for i in ids if i not in found]
        if missing:
            raise AppError(ErrorCode.NOT_FOUND, f"no alarms {missing}")
        done = [i for i in ids if found[i].acknowledged_at is not None]
        if done:
            raise AppError(ErrorCode.CONFLICT, f"alarms {done} are acknowledged already; nothing was acknowledged")
        now = utcnow()
        for i in ids:
            _acknowledged(found[i], p.username, handling, now)
        group = AlarmAcknowledgement(alarm_ids=ids, handling=handling.strip(), acknowledged_by=p.username,
                                     acknowledged_at=now)
        s.add(group)
        await s.flush()
        await signatures.bind(s, "alarm_acknowledgement", str(group.id),
                              {"id": group.id, "alarms": [content(found[i]) for i in ids]})
        return [found[i] for i in ids]

    def publish(rows: list[Alarm]) -> None:
        for a in rows:
            ctx.services.alarms.published("ACKNOWLEDGED", a)

    return await perform(ctx, req, reason="alarms acknowledged together", clean=clean, save=save, publish=publish,
                         meanings=("ACKNOWLEDGED",))


async def acknowledged_group(ctx: Context, req: SignedRequest, alarm_ids: Sequence[int],
                             handling: str) -> list[dict[str, Any]]:
    rows = await acknowledge_group(ctx, req, alarm_ids, handling)
    async with ctx.db.read() as s:
        rooms, eq = await codes(s)
    return [as_dict(a, rooms, eq) for a in rows]


COLUMNS = ("id", "raised at", "room", "equipment", "tag", "priority", "content", "value", "peak", "state",
           "acknowledged at", "handler", "handling method", "recovered at")


def _cells(a: Alarm, rooms: dict[int, str], eq: dict[int, str]) -> list[str]:
    def t(v: datetime | None) -> str:
        return v.strftime("%Y-%m-%d %H:%M:%S") if v else ""

    def n(v: float | None) -> str:
        return "" if v is None else f"{v:g}"

    return [str(a.id), t(a.raised_at), rooms.get(a.room_id or -1, ""), eq.get(a.equipment_id or -1, ""),
            a.tag or a.camera_code or "", a.priority, a.message, n(a.value), n(a.peak), a.state, t(a.acknowledged_at),
            a.acknowledged_by or "", a.handling or "", t(a.cleared_at)]


# A spreadsheet program reads a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def defuse(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs: a leading quote before a formula start.

    Plain numbers stay numbers (a cold store reads -19). defusedcsv does this too, but leaves tab and
    carriage return, which OWASP lists, unescaped."""
    if cell.startswith(FORMULA_START) and not NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def to_csv(rows: list[Alarm], rooms: dict[int, str], eq: dict[int, str]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    w.writerows([defuse(c) for c in _cells(a, rooms, eq)] for a in rows)
    return buf.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheet programs read UTF-8


WIDTHS = (10, 30, 16, 18, 24, 16, 60, 14, 14, 16, 30, 18, 50, 30)


# The PDF's column names: the time columns are UTC, printed without a zone of their own.
TIMES = ("raised at", "acknowledged at", "recovered at")


def to_pdf(rows: list[Alarm], rooms: dict[int, str], eq: dict[int, str], title: str, printed_by: str) -> bytes:
    """The alarm record, its fixed text in Chinese beside the English (issue 15), values as recorded."""
    pdf = FPDF(orientation="L", unit="mm", format="A3")
    pdf.set_auto_page_break(True, margin=12)
    chinese = pdf_text.use_cjk(pdf)
    pdf.add_page()
    pdf_text.pair(pdf, 8, title, 12, "B")
    zh = pdf_text.zh
    pdf_text.runs(pdf, 6, [(zh(pdf, "Printed"), True), (f" Printed {utcnow():%Y-%m-%d %H:%M:%S} UTC ", False),
                           (zh(pdf, "Printed by"), True), (f" by {printed_by}; ", False),
                           (zh(pdf, "Alarms"), True), (f" {len(rows)} alarms", False)], 8)
    face = FontFace(family=pdf_text.CJK, emphasis="")
    with pdf.table(col_widths=WIDTHS, text_align="LEFT", line_height=4, num_heading_rows=2 if chinese else 1) as table:
        if chinese:
            head = table.row()
            for c in COLUMNS:
                head.cell(zh(pdf, c), style=face)
        table.row([f"{c} (UTC)" if c in TIMES else c for c in COLUMNS])
        for a in rows:
            row = table.row()
            for c in _cells(a, rooms, eq):
                row.cell(pdf_text.shown(pdf, c), style=pdf_text.value_face(pdf, c))
    return bytes(pdf.output())


async def codes(s: AsyncSession) -> tuple[dict[int, str], dict[int, str]]:
    """Room and equipment codes by id (small tables; alarms carry ids)."""
    rooms = dict((await s.execute(select(Room.id, Room.code))).all())
    eq = dict((await s.execute(select(Equipment.id, Equipment.code))).all())
    return rooms, eq


def as_dict(a: Alarm, rooms: dict[int, str], eq: dict[int, str]) -> dict[str, Any]:
    return snapshot(a, rooms.get(a.room_id or -1), eq.get(a.equipment_id or -1))


# --- one field each ---------------------------------------------------------------------------

async def listing(ctx: Context, f: AlarmFilter, limit: int, before_id: int | None
                  ) -> tuple[list[dict[str, Any]], int, bool]:
    """A page of alarms as snapshots (with room and equipment codes), the total, and whether more follow."""
    async with ctx.db.read() as s:
        rows, total, more = await page(s, f, limit, before_id)
        rooms, eq = await codes(s)
    return [as_dict(a, rooms, eq) for a in rows], total, more


async def export(ctx: Context, f: AlarmFilter, pdf: bool) -> tuple[bytes, int]:
    """The filtered alarms as CSV or PDF, and how many rows it holds."""
    async with ctx.db.read() as s:
        rows = await rows_for_export(s, f)
        rooms, eq = await codes(s)
    if not pdf:
        return to_csv(rows, rooms, eq), len(rows)
    return to_pdf(rows, rooms, eq, "Alarm record", ctx.signed_in().username), len(rows)


async def acknowledged(ctx: Context, req: SignedRequest, alarm_id: int, handling: str) -> dict[str, Any]:
    """Acknowledge, and return the alarm's snapshot."""
    a = await acknowledge(ctx, req, alarm_id, handling)
    async with ctx.db.read() as s:
        rooms, eq = await codes(s)
    return as_dict(a, rooms, eq)


# --- notification of designated people (PR-80) -------------------------------------------------

RECIPIENTS_KEY = "alarm.recipients"
PRIORITY_RANK = {p.value: i for i, p in enumerate(Priority)}


def check_recipients(value: Any) -> None:
    """The setting is a list of rules: {"rooms": [room codes or prefixes], "minPriority": "HIGH",
    "roles": [...], "users": [...]}; a rule without rooms covers every room."""
    if not isinstance(value, list):
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{RECIPIENTS_KEY} is a list of rules")
    for i, rule in enumerate(value):
        if not isinstance(rule, dict) or set(rule) - {"rooms", "minPriority", "roles", "users"}:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"rule {i}: keys are rooms, minPriority, roles, users")
        for k in ("rooms", "roles", "users"):
            if not all(isinstance(x, str) for x in rule.get(k, [])):
                raise AppError(ErrorCode.VALIDATION_FAILED, f"rule {i}: {k} is a list of strings")
        if rule.get("minPriority", "LOW") not in PRIORITY_RANK:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"rule {i}: minPriority is one of {', '.join(PRIORITY_RANK)}")
        if not rule.get("roles") and not rule.get("users"):
            raise AppError(ErrorCode.VALIDATION_FAILED, f"rule {i} names nobody (roles or users)")


def designated(rules: list[dict[str, Any]], alarm: dict[str, Any], username: str, roles: list[str]) -> bool:
    room = alarm.get("room_code") or ""
    for rule in rules:
        rooms = rule.get("rooms") or []
        if rooms and not any(room == r or room.startswith(r) for r in rooms):
            continue
        if PRIORITY_RANK[alarm["priority"]] < PRIORITY_RANK[rule.get("minPriority", "LOW")]:
            continue
        if username in rule.get("users", []) or set(roles) & set(rule.get("roles", [])):
            return True
    return False


async def recipient_rules(s: AsyncSession) -> list[dict[str, Any]]:
    row = await s.get(Setting, RECIPIENTS_KEY)
    return list(row.value) if row is not None and isinstance(row.value, list) else []


async def events(ctx: Context, p: Principal, for_me: bool) -> AsyncGenerator[AlarmEvent, None]:
    """Alarm events as they are committed, never coalesced; `for_me`: only those the setting
    alarm.recipients routes to this person (routing changes are picked up within seconds)."""
    rules: list[dict[str, Any]] = []
    read_at = float("-inf")
    async with ctx.services.bus.subscribe(ALARM_TOPIC, lossless=True) as stream:
        async for e in stream:
            assert isinstance(e, AlarmEvent)
            if for_me:
                if time.monotonic() - read_at > 10:
                    async with ctx.db.read() as s:
                        rules, read_at = await recipient_rules(s), time.monotonic()
                if not designated(rules, e.alarm, p.username, p.roles):
                    continue
            yield e
