"""Tablet work in clean areas: sampling with a label, cold-room checks, the task list."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import sample_life
from resolvers import tablet as res
from resolvers.context import Context
from schema.convert import of
from schema.enums import SampleKind, TaskKind
from schema.permissions import can
from schema.receipt import LabelLine
from schema.relay import Connection, Edge, connection, decode_cursor, encode_cursor, page_size
from schema.sample_life import SampleInfo, SampleLifeMutation, SampleLifeQuery, info_of
from schema.signing import SignatureInput, signed


@strawberry.type
class SampleLabel:
    lines: list[LabelLine]
    code128_svg: str
    qr_svg: str


@strawberry.type
class SampleRecord:
    code: str
    kind: SampleKind
    source_code: str
    taken_at: datetime
    taken_by: str
    storage_location: str | None
    label: SampleLabel


def _sample_record(r: res.SampleRecord) -> SampleRecord:
    label = of(SampleLabel, r.label, lines=[LabelLine(label=k, value=v) for k, v in r.label.lines])
    return of(SampleRecord, r.sample, source_code=r.source_code, label=label)


@strawberry.input
class RecordSampleInput:
    source_code: str = strawberry.field(description="Donation number, material code, pool code or batch number "
                                                    "sampled")
    kind: SampleKind
    storage_location: str | None = None
    note: str | None = None
    name: str | None = strawberry.field(default=None, description="B.10 sample name; by default from the kind")
    quantity: float | None = None
    unit: str | None = None
    pieces: int | None = None
    sampled_from: str | None = strawberry.field(default=None, description="The process step or storage location "
                                                                          "sampled; required for RELEASE (PR-27)")
    conditions: str | None = strawberry.field(default=None, description="B.10 sample storage conditions")
    tube_code: str | None = strawberry.field(default=None, description="QC-16, plasma: the specimen tube's code as "
                                                                       "scanned; must equal the bag's donation number")
    bag_intact: bool | None = strawberry.field(default=None, description="QC-16, plasma: the bag checked intact")


@strawberry.type
class ColdRoomCheck:
    id: int
    room_code: str
    temperature: float
    sensor_tag: str | None
    sensor_value: float | None = strawberry.field(description="What the room's sensor read at the check")
    door_closed: bool
    active_alarms: int
    conforming: bool
    checked_by: str
    checked_at: datetime
    note: str | None


@strawberry.input
class ColdRoomCheckInput:
    room_code: str
    temperature: float
    door_closed: bool
    note: str | None = None


@strawberry.type
class TabletTask:
    kind: TaskKind
    title: str
    room_code: str | None
    due_at: datetime
    alarm_id: int | None


@strawberry.type
class TabletQuery:
    @strawberry.field(description="Cold rooms due for a check and alarms waiting for acknowledgement, by due time.",
                      extensions=can("plant:task", "read"))
    async def tablet_tasks(self, info: Info[Context, None]) -> list[TabletTask]:
        return [of(TabletTask, t) for t in await res.tasks(info.context)]

    @strawberry.field(description="Cold-room checks, newest first.", extensions=can("plant:coldcheck", "read"))
    async def cold_room_checks(self, info: Info[Context, None], room_code: str | None = None,
                               first: int | None = None, after: str | None = None) -> Connection[ColdRoomCheck]:
        rows, more = await res.check_page(info.context, room_code, page_size(first), decode_cursor("check", after))
        edges = [Edge(node=of(ColdRoomCheck, r), cursor=encode_cursor("check", r.id)) for r in rows]
        return connection(edges, len(edges), more, after is not None)


@strawberry.type
class TabletMutation:
    @strawberry.mutation(description="Record a sample taken from a unit or batch; signed PERFORMED. Returns its label.",
                         extensions=can("sample:record", "write"))
    async def record_sample(self, info: Info[Context, None], input: RecordSampleInput,
                            signature: SignatureInput) -> SampleRecord:
        more = sample_life.Sampling(input.name, input.quantity, input.unit, input.pieces, input.sampled_from,
                                    input.conditions, input.tube_code, input.bag_intact)
        return _sample_record(await res.record_sample(info.context, signed(info, signature), input.source_code,
                                                      input.kind.value, input.storage_location, input.note, more))

    @strawberry.mutation(description="Record a cold-room check (reading, door); signed PERFORMED.",
                         extensions=can("plant:coldcheck", "write"))
    async def record_cold_room_check(self, info: Info[Context, None], input: ColdRoomCheckInput,
                                     signature: SignatureInput) -> ColdRoomCheck:
        return of(ColdRoomCheck, await res.record_cold_room_check(
            info.context, signed(info, signature), input.room_code, input.temperature, input.door_closed,
            input.note))


@strawberry.input
class DestroySampleInput:
    code: str
    reason: str


@strawberry.type
class SampleQuery(SampleLifeQuery):
    @strawberry.field(description="A sample with its whole history and, for a retained sample, how long it must be "
                                  "kept (PR-33).", extensions=can("sample:record", "read"))
    async def sample(self, info: Info[Context, None], code: str) -> SampleInfo | None:
        v = await sample_life.find(info.context, code)
        return info_of(v) if v else None

    @strawberry.field(description="QC-15: a sample's label to print; a plasma sample's label lacking any of sample "
                                  "name, batch number, sampling time, sampler, donor, collection date or station is "
                                  "refused (VALIDATION_FAILED).", extensions=can("sample:record", "read"))
    async def sample_label(self, info: Info[Context, None], code: str) -> SampleLabel:
        lab = await sample_life.label(info.context, code)
        return SampleLabel(lines=[LabelLine(label=k, value=v) for k, v in lab.lines], code128_svg=lab.code128_svg,
                           qr_svg=lab.qr_svg)


@strawberry.type
class SampleMutation(SampleLifeMutation):
    @strawberry.mutation(description="Record a sample's destruction; refused for a retained sample still under "
                                     "retention. Signed PERFORMED.", extensions=can("sample:destroy", "write"))
    async def destroy_sample(self, info: Info[Context, None], input: DestroySampleInput,
                             signature: SignatureInput) -> SampleInfo:
        await res.destroy_sample(info.context, signed(info, signature), input.code, input.reason)
        v = await sample_life.find(info.context, input.code)
        assert v is not None  # just written
        return info_of(v)
