"""Alarms: the list (standing or all, filtered), acknowledgement with a signature, printable
exports, and the alarmEvents subscription (lossless: an alarm event is never coalesced away)."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from resolvers import alarm_kpi, alarm_shelves
from resolvers import alarms as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import AlarmEventKind, AlarmSource, AlarmState, Priority
from schema.permissions import can
from schema.relay import Connection, Edge, connection, decode_cursor, encode_cursor, page_size
from schema.signing import SignatureInput, signed


@strawberry.type(description="One alarm through its lifecycle: raised, acknowledged (signed), returned to normal.")
class Alarm:
    id: int
    source: AlarmSource
    condition: str = strawberry.field(description="HIGH or LOW for limits; the event type for other sources")
    priority: Priority
    state: AlarmState
    tag: str | None
    room_code: str | None
    equipment_code: str | None
    camera_code: str | None
    message: str = strawberry.field(description="The alarm's content")
    value: float | None
    limit_value: float | None
    peak: float | None
    began_at: datetime = strawberry.field(description="When the condition began (before the on-delay)")
    raised_at: datetime
    cleared_at: datetime | None = strawberry.field(description="Recovery time: back to normal")
    acknowledged_at: datetime | None
    acknowledged_by: str | None = strawberry.field(description="The handler")
    handling: str | None = strawberry.field(description="The handling method")
    batch_number: str | None = strawberry.field(description="The batch whose running phase the alarm belongs to")
    phase_code: str | None

    @strawberry.field(description="PL-12: plasma units lying in the cold store when the excursion was raised.",
                      extensions=can("plasma:unit", "read"))
    async def affected_units(self, info: Info[Context, None]) -> list[str] | None:
        return await info.context.loaders.units_by_alarm_id.load(self.id)



@strawberry.type
class AlarmEvent:
    kind: AlarmEventKind
    alarm: Alarm


@strawberry.input
class AlarmFilter:
    active: bool | None = strawberry.field(default=None, description="true: standing (active or unacknowledged)")
    room_code: str | None = None
    priority: Priority | None = None
    source: AlarmSource | None = None
    since: datetime | None = strawberry.field(default=None, name="from")
    until: datetime | None = strawberry.field(default=None, name="to")
    batch_number: str | None = strawberry.field(default=None, description="The alarms of a batch's phases")

    def plain(self, active: bool | None) -> res.AlarmFilter:
        return res.AlarmFilter(active if active is not None else self.active, self.room_code, self.priority,
                               self.source, self.since, self.until, self.batch_number)


@strawberry.enum
class ReportFormat(Enum):
    CSV = "CSV"
    PDF = "PDF"


@strawberry.type
class AlarmReport:
    filename: str
    content_type: str
    count: int
    data: str = strawberry.field(description="The file, standard base64")


@strawberry.input
class AcknowledgeAlarmInput:
    id: int
    handling: str = strawberry.field(description="The handling method: what was done about it")


@strawberry.type(description="A tag's limit alarms shelved with a reason until a time (ISA-18.2)")
class AlarmShelf:
    id: int
    tag: str
    reason: str
    shelved_by: str
    shelved_at: datetime
    until: datetime
    ended_at: datetime | None
    ended_by: str | None


@strawberry.input
class ShelveAlarmInput:
    tag: str
    minutes: int = strawberry.field(description="1 to 720")
    reason: str


@strawberry.input
class UnshelveAlarmInput:
    tag: str
    reason: str


@strawberry.input
class AcknowledgeAlarmsInput:
    ids: list[int] = strawberry.field(description="1 to 100 alarms, none acknowledged yet")
    handling: str = strawberry.field(description="The handling method: what was done about them")


@strawberry.type
class AlarmSourceCount:
    source: str = strawberry.field(description="The tag, else the equipment or camera code, else the alarm's source")
    alarms: int


@strawberry.type
class PriorityCount:
    priority: str
    alarms: int


@strawberry.type(description="A tag declared chattering by the alarm rules: no new alarm is raised for it until its "
                             "value has stayed within limits for the window, or an excursion has lasted that long")
class AlarmChattering:
    tag: str
    declared_at: datetime
    alarms: int = strawberry.field(description="Alarms raised and returned to normal within the window")
    window_seconds: int


@strawberry.type(description="Alarm performance over a period (ISA-18.2, EEMUA 191)")
class AlarmKpis:
    since: datetime
    until: datetime
    total: int
    by_priority: list[PriorityCount]
    per_ten_minutes_average: float
    per_ten_minutes_peak: int
    peak_window_start: datetime | None
    flood_windows: int = strawberry.field(description="10-minute windows with more than 10 alarms")
    bad_actors: list[AlarmSourceCount] = strawberry.field(description="The 10 sources with the most alarms")
    chattering: list[AlarmSourceCount] = strawberry.field(
        description="Sources with as many alarms within the chatter window as the settings alarms.chatterCount and "
                    "alarms.chatterSeconds say (3 within 60 s by default)")
    chattering_now: list[AlarmChattering] = strawberry.field(
        description="Tags declared chattering now, whatever the period")
    standing: int = strawberry.field(description="Alarms not yet acknowledged now, returned to normal or not")
    stale: int = strawberry.field(description="Alarms in alarm now for more than 24 hours")


@strawberry.type
class AlarmQuery:
    @strawberry.field(description="Alarms, newest first; active: true lists the standing ones.",
                      extensions=can("plant:alarm", "read"))
    async def alarms(self, info: Info[Context, None], active: bool | None = None, filter: AlarmFilter | None = None,
                     first: int | None = None, after: str | None = None) -> Connection[Alarm]:
        f = (filter or AlarmFilter()).plain(active)
        rows, total, more = await res.listing(info.context, f, page_size(first), decode_cursor("alarm", after))
        edges = [Edge(node=of(Alarm, a), cursor=encode_cursor("alarm", a["id"])) for a in rows]
        return connection(edges, total, more, after is not None)

    @strawberry.field(description="Shelved tags, newest first (at most 500); active: only those shelved now.",
                      extensions=can("plant:alarm", "read"))
    async def alarm_shelves(self, info: Info[Context, None], active: bool = True) -> list[AlarmShelf]:
        return [of(AlarmShelf, r) for r in await alarm_shelves.shelves(info.context, active)]

    @strawberry.field(description="Alarm performance over a period of at most 31 days (until: now).",
                      extensions=can("plant:alarm", "read"))
    async def alarm_kpis(self, info: Info[Context, None], since: datetime, until: datetime | None = None) -> AlarmKpis:
        k = await alarm_kpi.kpis(info.context, since, until)
        return AlarmKpis(
            since=k.since, until=k.until, total=k.total,
            by_priority=[PriorityCount(priority=p, alarms=n) for p, n in sorted(k.by_priority.items())],
            per_ten_minutes_average=k.per_window_average, per_ten_minutes_peak=k.per_window_peak,
            peak_window_start=k.peak_window_start, flood_windows=k.flood_windows,
            bad_actors=[AlarmSourceCount(source=x.source, alarms=x.alarms) for x in k.bad_actors],
            chattering=[AlarmSourceCount(source=x.source, alarms=x.alarms) for x in k.chattering],
            chattering_now=[AlarmChattering(tag=c.tag, declared_at=c.declared_at, alarms=c.alarms,
                                            window_seconds=c.window_s) for c in k.chattering_now],
            standing=k.standing, stale=k.stale)

    @strawberry.field(description="The alarm list as a printable file (CSV or PDF).",
                      extensions=can("plant:alarm", "read"))
    async def alarm_report(self, info: Info[Context, None], format: ReportFormat,
                           filter: AlarmFilter | None = None) -> AlarmReport:
        f = (filter or AlarmFilter()).plain(None)
        pdf = format is ReportFormat.PDF
        data, count = await res.export(info.context, f, pdf)
        return AlarmReport(filename=f"alarms.{format.value.lower()}",
                           content_type="application/pdf" if pdf else "text/csv", count=count,
                           data=base64.b64encode(data).decode())


@strawberry.type
class AlarmMutation:
    @strawberry.mutation(description="Acknowledge an alarm with the handling method; signed ACKNOWLEDGED.",
                         extensions=can("plant:alarm", "acknowledge"))
    async def acknowledge_alarm(self, info: Info[Context, None], input: AcknowledgeAlarmInput,
                                signature: SignatureInput) -> Alarm:
        return of(Alarm, await res.acknowledged(info.context, signed(info, signature), input.id, input.handling))

    @strawberry.mutation(description="Shelve a tag's limit alarms for up to 12 hours with a reason; an excursion "
                                     "meanwhile is held back and audited, and raised when the shelf ends with the "
                                     "value still out of limits. Signed PERFORMED.",
                         extensions=can("plant:alarm", "shelve"))
    async def shelve_alarm(self, info: Info[Context, None], input: ShelveAlarmInput,
                           signature: SignatureInput) -> AlarmShelf:
        return of(AlarmShelf, await alarm_shelves.shelve(info.context, signed(info, signature), input.tag.strip(),
                                                         input.minutes, input.reason))

    @strawberry.mutation(description="End a tag's shelf early, with a reason; signed PERFORMED.",
                         extensions=can("plant:alarm", "unshelve"))
    async def unshelve_alarm(self, info: Info[Context, None], input: UnshelveAlarmInput,
                             signature: SignatureInput) -> AlarmShelf:
        return of(AlarmShelf, await alarm_shelves.unshelve(info.context, signed(info, signature), input.tag.strip(),
                                                           input.reason))

    @strawberry.mutation(description="Acknowledge several alarms with one signature (a flood handled as one "
                                     "event), all or none; signed ACKNOWLEDGED.",
                         extensions=can("plant:alarm", "acknowledge"))
    async def acknowledge_alarms(self, info: Info[Context, None], input: AcknowledgeAlarmsInput,
                                 signature: SignatureInput) -> list[Alarm]:
        rows = await res.acknowledged_group(info.context, signed(info, signature), input.ids, input.handling)
        return [of(Alarm, a) for a in rows]


@strawberry.type
class AlarmSubscription:
    @strawberry.subscription(description="Alarms raised, acknowledged and returned to normal; never coalesced. "
                                         "forMe: only those the setting alarm.recipients routes to the caller.")
    async def alarm_events(self, info: Info[Context, None], for_me: bool = False) -> AsyncGenerator[AlarmEvent, None]:
        ctx = info.context
        p = await ctx.require("plant:alarm", "read")
        async for e in res.events(ctx, p, for_me):
            yield AlarmEvent(kind=AlarmEventKind(e.kind), alarm=of(Alarm, e.alarm))
