"""Video monitoring records (VM-01..VM-12): key posts and cameras on the floor plan, clip records with
their traceability indices and retention, evidence links, purges, and video-analytics alarms."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from records.base import utcnow
from records.video import VideoEvidence as EvidenceRow
from resolvers import video as res
from resolvers.context import Context
from schema.permissions import can
from schema.relay import Connection, Edge, connection, decode_cursor, encode_cursor, page_size
from schema.signing import SignatureInput, signed


@strawberry.enum(description="VM-10: what a key post is.")
class KeyPostCategory(Enum):
    KEY_WORKSTATION = "KEY_WORKSTATION"
    KEY_OPERATION = "KEY_OPERATION"
    MANUAL_INTERVENTION = "MANUAL_INTERVENTION"
    MANUAL_SAMPLING = "MANUAL_SAMPLING"


@strawberry.enum(description="VM-10/VM-11: the operation category a clip is indexed under.")
class VideoCategory(Enum):
    KEY_WORKSTATION = "KEY_WORKSTATION"
    KEY_OPERATION = "KEY_OPERATION"
    MANUAL_INTERVENTION = "MANUAL_INTERVENTION"
    MANUAL_SAMPLING = "MANUAL_SAMPLING"
    WAREHOUSE = "WAREHOUSE"
    GENERAL = "GENERAL"


@strawberry.enum(description="VM-06: the kind of device (pan-tilt-zoom or wide angle where access is hard).")
class CameraDeviceType(Enum):
    FIXED = "FIXED"
    DOME = "DOME"
    PTZ = "PTZ"
    WIDE_ANGLE = "WIDE_ANGLE"
    FISHEYE = "FISHEYE"


@strawberry.enum(description="VM-11: the movement a storage or transport clip shows.")
class StockMovement(Enum):
    STOCK_IN = "STOCK_IN"
    STOCK_OUT = "STOCK_OUT"
    TRANSFER = "TRANSFER"
    SPECIAL_TRANSPORT = "SPECIAL_TRANSPORT"


@strawberry.enum(description="Lowest to highest; a clip's class is only ever raised (VM-02..VM-04).")
class RetentionClass(Enum):
    STANDARD = "STANDARD"
    KEY = "KEY"
    PRODUCT_EXPIRY = "PRODUCT_EXPIRY"
    PERMANENT = "PERMANENT"


@strawberry.enum(description="The record a clip is evidence for (VM-04, VM-07).")
class EvidenceKind(Enum):
    DEVIATION = "DEVIATION"
    CHANGE = "CHANGE"
    VALIDATION = "VALIDATION"


@strawberry.enum(description="VM-12: events a video-analytics source reports.")
class VideoAnalyticsKind(Enum):
    MASK_MISSING = "MASK_MISSING"
    GOWN_MISSING = "GOWN_MISSING"
    OVER_OCCUPANCY = "OVER_OCCUPANCY"
    POST_ABSENT = "POST_ABSENT"


def _v(e: Enum | None) -> str | None:
    return None if e is None else str(e.value)


# --- types ------------------------------------------------------------------------------------------

@strawberry.type(description="A key post or key operation under video monitoring (VM-01), with its cameras.")
class KeyPost:
    code: str
    name: str
    category: KeyPostCategory
    room_code: str
    equipment_code: str | None
    description: str | None
    active: bool
    camera_codes: list[str] = strawberry.field(description="Active cameras covering it; empty: unmapped")

    @classmethod
    def of(cls, v: res.KeyPostView) -> KeyPost:
        k = v.key_post
        return cls(code=k.code, name=k.name, category=KeyPostCategory(k.category), room_code=v.room_code,
                   equipment_code=v.equipment_code, description=k.description, active=k.active,
                   camera_codes=v.camera_codes)


@strawberry.type
class KeyPostSummary:
    code: str
    name: str
    category: KeyPostCategory


@strawberry.type(description="A camera on the floor plan and what it watches (VM-01, VM-05, VM-06).")
class Camera:
    code: str
    name: str
    room_code: str
    x: float = strawberry.field(description="Plant metres, the floor plan's frame")
    y: float
    device_type: CameraDeviceType
    direction_deg: float | None = strawberry.field(description="Viewing direction, degrees clockwise")
    field_of_view_deg: float | None
    resolution: str | None
    equipment_code: str | None = strawberry.field(description="The workstation equipment it watches")
    stream_uri: str | None
    risk_assessment_ref: str | None
    validation_ref: str | None
    active: bool
    key_posts: list[KeyPostSummary]

    @classmethod
    def of(cls, v: res.CameraView) -> Camera:
        c = v.camera
        return cls(code=c.code, name=c.name, room_code=v.room_code, x=c.x, y=c.y,
                   device_type=CameraDeviceType(c.device_type), direction_deg=c.direction_deg,
                   field_of_view_deg=c.field_of_view_deg, resolution=c.resolution, equipment_code=v.equipment_code,
                   stream_uri=c.stream_uri, risk_assessment_ref=c.risk_assessment_ref, validation_ref=c.validation_ref,
                   active=c.active, key_posts=[KeyPostSummary(code=k.code, name=k.name,
                                                              category=KeyPostCategory(k.category))
                                               for k in v.key_posts])


@strawberry.type(description="VM-01: every active key post with its active cameras; unmapped ones listed apart.")
class KeyPostCoverage:
    checked_at: datetime
    complete: bool
    key_posts: list[KeyPost]
    unmapped: list[KeyPost]


@strawberry.type
class VideoRetention:
    retention_class: RetentionClass
    retain_until: datetime | None = strawberry.field(
        description="Earliest time it may be purged; null: permanent, or a product expiry not known yet")
    basis: str
    purgeable: bool


@strawberry.type(description="A record the clip is evidence for.")
class VideoLink:
    evidence_id: int
    record_kind: EvidenceKind
    record_ref: str
    linked_by: str
    linked_at: datetime


@strawberry.type(description="A clip of recorded video, indexed for traceability and playback (VM-08..VM-11).")
class VideoClip:
    id: int
    camera_code: str
    room_code: str
    started_at: datetime
    ended_at: datetime
    time_source: str = strawberry.field(description="VMS, SERVER (end stamped by the plant clock) or CORRECTED")
    time_corrections: int
    playback_uri: str | None = strawberry.field(description="The VMS playback reference; null once purged")
    key_post_code: str | None = strawberry.field(description="The workstation (key post)")
    category: VideoCategory
    operation: str | None
    batch_number: str | None
    process_step: str | None
    warehouse_location: str | None
    movement: StockMovement | None
    movement_ref: str | None
    note: str | None
    recorded_by: str
    registered_at: datetime
    status: str = strawberry.field(description="AVAILABLE or PURGED")
    retention: VideoRetention
    links: list[VideoLink]

    @classmethod
    def of(cls, v: res.ClipView) -> VideoClip:
        c, r = v.clip, v.retention
        return cls(
            id=c.id, camera_code=v.camera_code, room_code=v.room_code, started_at=c.started_at, ended_at=c.ended_at,
            time_source=c.time_source, time_corrections=c.time_corrections,
            playback_uri=c.playback_uri if c.status == "AVAILABLE" else None, key_post_code=v.key_post_code,
            category=VideoCategory(c.category), operation=c.operation, batch_number=v.batch_number,
            process_step=c.process_step, warehouse_location=c.warehouse_location,
            movement=StockMovement(c.movement) if c.movement else None, movement_ref=c.movement_ref, note=c.note,
            recorded_by=c.recorded_by, registered_at=c.registered_at, status=c.status,
            retention=VideoRetention(retention_class=RetentionClass(r.retention_class), retain_until=r.retain_until,
                                     basis=r.basis, purgeable=c.status == "AVAILABLE" and r.purgeable(utcnow())),
            links=[VideoLink(evidence_id=e.id, record_kind=EvidenceKind(e.record_kind), record_ref=e.record_ref,
                             linked_by=e.linked_by, linked_at=e.linked_at) for e in v.links])


@strawberry.type(description="Clips linked as evidence of one record (VM-07).")
class VideoEvidence:
    id: int
    record_kind: EvidenceKind
    record_ref: str
    permanent: bool
    linked_by: str
    linked_at: datetime
    reason: str
    clips: list[VideoClip]


@strawberry.type(description="A signed destruction of clips whose retention had ended.")
class VideoPurge:
    id: int
    purged_by: str
    purged_at: datetime
    reason: str
    clips: list[VideoClip]


@strawberry.type
class VideoRetentionPolicy:
    standard_months: int
    key_months: int
    minimum_standard_months: int = res.MIN_STANDARD_MONTHS
    minimum_key_months: int = res.MIN_KEY_MONTHS


@strawberry.type(description="The alarm a video-analytics event became (VM-12).")
class VideoAnalyticsAlarm:
    alarm_id: int
    duplicate: bool = strawberry.field(description="true: this event was posted before; no new alarm")
    camera_code: str
    room_code: str
    condition: str
    priority: str
    raised_at: datetime
    message: str


# --- inputs -----------------------------------------------------------------------------------------

@strawberry.input
class DefineKeyPostInput:
    code: str
    name: str
    category: KeyPostCategory
    room_code: str
    equipment_code: str | None = None
    description: str | None = None


@strawberry.input
class RegisterCameraInput:
    code: str
    name: str
    room_code: str
    x: float
    y: float
    device_type: CameraDeviceType
    direction_deg: float | None = None
    field_of_view_deg: float | None = None
    resolution: str | None = None
    equipment_code: str | None = None
    key_post_codes: list[str] = strawberry.field(default_factory=list)
    stream_uri: str | None = None
    risk_assessment_ref: str | None = None
    validation_ref: str | None = None


@strawberry.input(description="Only the fields given change; an empty string clears an optional text field.")
class UpdateCameraInput:
    code: str
    reason: str
    name: str | None = None
    room_code: str | None = None
    x: float | None = None
    y: float | None = None
    device_type: CameraDeviceType | None = None
    direction_deg: float | None = None
    field_of_view_deg: float | None = None
    resolution: str | None = None
    equipment_code: str | None = None
    key_post_codes: list[str] | None = strawberry.field(default=None,
                                                        description="The complete new mapping, when given")
    stream_uri: str | None = None
    risk_assessment_ref: str | None = None
    validation_ref: str | None = None
    active: bool | None = None


@strawberry.input
class RecordVideoClipInput:
    camera_code: str
    started_at: datetime
    ended_at: datetime | None = strawberry.field(default=None,
                                                 description="Omitted: the clip ends now, by the plant clock")
    playback_uri: str
    key_post_code: str | None = strawberry.field(
        default=None, description="The workstation; defaults to the camera's only key post for key categories")
    category: VideoCategory | None = strawberry.field(default=None,
                                                      description="Defaults to the key post's category")
    operation: str | None = None
    batch_number: str | None = None
    process_step: str | None = None
    warehouse_location: str | None = None
    movement: StockMovement | None = None
    movement_ref: str | None = None
    note: str | None = None
    retention_class: RetentionClass | None = strawberry.field(
        default=None, description="Defaults to KEY for key clips, STANDARD otherwise; never lower")


@strawberry.input
class CorrectVideoClipTimeInput:
    clip_id: int
    started_at: datetime
    ended_at: datetime
    reason: str


@strawberry.input
class SetVideoClipRetentionInput:
    clip_id: int
    retention_class: RetentionClass
    reason: str


@strawberry.input(description="Name the clips, or a camera and time range (all its clips overlapping it), or both.")
class LinkVideoClipsInput:
    record_kind: EvidenceKind
    record_ref: str = strawberry.field(description="The deviation number, or the change / validation reference")
    reason: str
    clip_ids: list[int] = strawberry.field(default_factory=list)
    camera_code: str | None = None
    since: datetime | None = strawberry.field(default=None, name="from")
    until: datetime | None = strawberry.field(default=None, name="to")
    batch_number: str | None = strawberry.field(
        default=None, description="The product concerned, when not the deviation's batch")
    permanent: bool = strawberry.field(default=False, description="Keep permanently instead of expiry + 1 year")


@strawberry.input
class PurgeVideoClipsInput:
    clip_ids: list[int]
    reason: str


@strawberry.input
class SetVideoRetentionPolicyInput:
    standard_months: int = strawberry.field(description="At least 3 (VM-02)")
    key_months: int = strawberry.field(description="At least 12 (VM-03)")
    reason: str


@strawberry.input
class PostVideoAnalyticsEventInput:
    camera_code: str
    kind: VideoAnalyticsKind
    at: datetime = strawberry.field(description="When the analytics source saw it (synchronised clock)")
    detail: str | None = None
    person_count: int | None = None
    confidence: float | None = None


@strawberry.input(description="Every index given must match; the time range selects clips overlapping it.")
class VideoClipFilter:
    batch_number: str | None = None
    key_post_code: str | None = strawberry.field(default=None, description="The workstation")
    category: VideoCategory | None = None
    operation: str | None = None
    process_step: str | None = None
    warehouse_location: str | None = strawberry.field(default=None, description="A location or its prefix")
    movement: StockMovement | None = None
    movement_ref: str | None = None
    camera_code: str | None = None
    room_code: str | None = None
    since: datetime | None = strawberry.field(default=None, name="from")
    until: datetime | None = strawberry.field(default=None, name="to")
    linked_record: str | None = strawberry.field(default=None, description="A deviation number, change or "
                                                                          "validation reference")
    retention_class: RetentionClass | None = None
    include_purged: bool = False

    def plain(self) -> res.ClipFilter:
        return res.ClipFilter(
            batch_number=self.batch_number, key_post_code=self.key_post_code, category=_v(self.category),
            operation=self.operation, process_step=self.process_step, warehouse_location=self.warehouse_location,
            movement=_v(self.movement), movement_ref=self.movement_ref, camera_code=self.camera_code,
            room_code=self.room_code, since=self.since, until=self.until, record_ref=self.linked_record,
            retention_class=_v(self.retention_class), include_purged=self.include_purged)


# --- fields -----------------------------------------------------------------------------------------

@strawberry.type
class VideoQuery:
    @strawberry.field(description="Cameras on the floor plan, with the key posts they cover.",
                      extensions=can("plant:camera", "read"))
    async def cameras(self, info: Info[Context, None], room_code: str | None = None) -> list[Camera]:
        async with info.context.db.read() as s:
            return [Camera.of(v) for v in await res.camera_views(s, room_code)]

    @strawberry.field(description="Key posts and key operations under video monitoring (VM-01, VM-10).",
                      extensions=can("plant:camera", "read"))
    async def key_posts(self, info: Info[Context, None], room_code: str | None = None) -> list[KeyPost]:
        async with info.context.db.read() as s:
            return [KeyPost.of(v) for v in await res.key_post_views(s, room_code)]

    @strawberry.field(description="VM-01: is every active key post covered by an active camera?",
                      extensions=can("plant:camera", "read"))
    async def key_post_coverage(self, info: Info[Context, None]) -> KeyPostCoverage:
        async with info.context.db.read() as s:
            cov = await res.coverage(s)
        return KeyPostCoverage(checked_at=cov.checked_at, complete=not cov.unmapped,
                               key_posts=[KeyPost.of(k) for k in cov.key_posts],
                               unmapped=[KeyPost.of(k) for k in cov.unmapped])

    @strawberry.field(description="Search clips by batch, workstation, category, location, movement, camera "
                                  "and time range (VM-08, VM-10, VM-11); in time order.",
                      extensions=can("video:clip", "read"))
    async def video_clips(self, info: Info[Context, None], filter: VideoClipFilter | None = None,
                          first: int | None = None, after: str | None = None) -> Connection[VideoClip]:
        offset = decode_cursor("clip", after)
        start = 0 if offset is None else offset + 1
        async with info.context.db.read() as s:
            rows, total, more = await res.search(s, (filter or VideoClipFilter()).plain(), page_size(first), start)
        edges = [Edge(node=VideoClip.of(v), cursor=encode_cursor("clip", start + i)) for i, v in enumerate(rows)]
        return connection(edges, total, more, start > 0)

    @strawberry.field(description="One clip, with its retention and links.", extensions=can("video:clip", "read"))
    async def video_clip(self, info: Info[Context, None], id: int) -> VideoClip | None:
        async with info.context.db.read() as s:
            v = await res.clip(s, id)
        return VideoClip.of(v) if v else None

    @strawberry.field(description="The retention settings (VM-02, VM-03).", extensions=can("video:clip", "read"))
    async def video_retention_policy(self, info: Info[Context, None]) -> VideoRetentionPolicy:
        async with info.context.db.read() as s:
            p = await res.retention_policy(s)
        return VideoRetentionPolicy(standard_months=p.standard_months, key_months=p.key_months)


def _evidence(ev: EvidenceRow, clips: list[res.ClipView]) -> VideoEvidence:
    return VideoEvidence(id=ev.id, record_kind=EvidenceKind(ev.record_kind), record_ref=ev.record_ref,
                         permanent=ev.permanent, linked_by=ev.linked_by, linked_at=ev.linked_at, reason=ev.reason,
                         clips=[VideoClip.of(v) for v in clips])


@strawberry.type
class VideoMutation:
    @strawberry.mutation(description="Define a key post that must be under video monitoring; signed APPROVED (QA).",
                         extensions=can("video:camera", "write"))
    async def define_key_post(self, info: Info[Context, None], input: DefineKeyPostInput,
                              signature: SignatureInput) -> KeyPost:
        v = await res.define_key_post(info.context, signed(info, signature), input.code, input.name,
                                      input.category.value, input.room_code, input.equipment_code, input.description)
        return KeyPost.of(v)

    @strawberry.mutation(description="Register a camera on the floor plan with the key posts it covers; "
                                     "signed PERFORMED.", extensions=can("video:camera", "write"))
    async def register_camera(self, info: Info[Context, None], input: RegisterCameraInput,
                              signature: SignatureInput) -> Camera:
        spec = res.CameraSpec(
            name=input.name, room_code=input.room_code, x=input.x, y=input.y, device_type=input.device_type.value,
            direction_deg=input.direction_deg, field_of_view_deg=input.field_of_view_deg, resolution=input.resolution,
            equipment_code=input.equipment_code, key_post_codes=input.key_post_codes, stream_uri=input.stream_uri,
            risk_assessment_ref=input.risk_assessment_ref, validation_ref=input.validation_ref)
        return Camera.of(await res.register_camera(info.context, signed(info, signature), input.code, spec))

    @strawberry.mutation(description="Move, re-aim, re-map or retire a camera, with a reason; signed PERFORMED.",
                         extensions=can("video:camera", "write"))
    async def update_camera(self, info: Info[Context, None], input: UpdateCameraInput,
                            signature: SignatureInput) -> Camera:
        spec = res.CameraSpec(
            name=input.name, room_code=input.room_code, x=input.x, y=input.y, device_type=_v(input.device_type),
            direction_deg=input.direction_deg, field_of_view_deg=input.field_of_view_deg, resolution=input.resolution,
            equipment_code=input.equipment_code, key_post_codes=input.key_post_codes, stream_uri=input.stream_uri,
            risk_assessment_ref=input.risk_assessment_ref, validation_ref=input.validation_ref, active=input.active)
        return Camera.of(await res.update_camera(info.context, signed(info, signature), input.code, spec,
                                                 input.reason))

    @strawberry.mutation(description="Record a clip of the VMS with its indices and playback reference; signed "
                                     "PERFORMED.", extensions=can("video:clip", "write"))
    async def record_video_clip(self, info: Info[Context, None], input: RecordVideoClipInput,
                                signature: SignatureInput) -> VideoClip:
        spec = res.ClipSpec(
            camera_code=input.camera_code, started_at=input.started_at, ended_at=input.ended_at,
            playback_uri=input.playback_uri, key_post_code=input.key_post_code, category=_v(input.category),
            operation=input.operation, batch_number=input.batch_number, process_step=input.process_step,
            warehouse_location=input.warehouse_location, movement=_v(input.movement), movement_ref=input.movement_ref,
            note=input.note, retention_class=_v(input.retention_class))
        return VideoClip.of(await res.record_clip(info.context, signed(info, signature), spec))

    @strawberry.mutation(description="Correct a clip's times, with a reason; audited (VM-09); signed PERFORMED.",
                         extensions=can("video:clip", "correct"))
    async def correct_video_clip_time(self, info: Info[Context, None], input: CorrectVideoClipTimeInput,
                                      signature: SignatureInput) -> VideoClip:
        return VideoClip.of(await res.correct_time(info.context, signed(info, signature), input.clip_id,
                                                   input.started_at, input.ended_at, input.reason))

    @strawberry.mutation(description="Raise a clip's retention class (never lower); signed APPROVED (QA).",
                         extensions=can("video:retention", "write"))
    async def set_video_clip_retention(self, info: Info[Context, None], input: SetVideoClipRetentionInput,
                                       signature: SignatureInput) -> VideoClip:
        return VideoClip.of(await res.set_clip_retention(info.context, signed(info, signature), input.clip_id,
                                                         input.retention_class.value, input.reason))

    @strawberry.mutation(description="Link clips to a deviation, key change or key validation (VM-07); their "
                                     "retention rises to product expiry + 1 year or permanent (VM-04); signed "
                                     "APPROVED (QA).", extensions=can("video:retention", "write"))
    async def link_video_clips(self, info: Info[Context, None], input: LinkVideoClipsInput,
                               signature: SignatureInput) -> VideoEvidence:
        spec = res.LinkSpec(record_kind=input.record_kind.value, record_ref=input.record_ref, reason=input.reason,
                            clip_ids=input.clip_ids, camera_code=input.camera_code, since=input.since,
                            until=input.until, batch_number=input.batch_number, permanent=input.permanent)
        ev, clips = await res.link_clips(info.context, signed(info, signature), spec)
        return _evidence(ev, clips)

    @strawberry.mutation(description="Purge clips whose retention has ended, all or none; a clip still retained "
                                     "is refused with CONFLICT (UNDER_RETENTION) and the refusal audited; signed "
                                     "APPROVED (QA).", extensions=can("video:clip", "purge"))
    async def purge_video_clips(self, info: Info[Context, None], input: PurgeVideoClipsInput,
                                signature: SignatureInput) -> VideoPurge:
        purge, clips = await res.purge_clips(info.context, signed(info, signature), input.clip_ids, input.reason)
        return VideoPurge(id=purge.id, purged_by=purge.purged_by, purged_at=purge.purged_at, reason=purge.reason,
                          clips=[VideoClip.of(v) for v in clips])

    @strawberry.mutation(description="Set the retention periods (at least 3 and 12 months); signed APPROVED (QA).",
                         extensions=can("video:retention-policy", "write"))
    async def set_video_retention_policy(self, info: Info[Context, None], input: SetVideoRetentionPolicyInput,
                                         signature: SignatureInput) -> VideoRetentionPolicy:
        p = await res.set_retention_policy(info.context, signed(info, signature), input.standard_months,
                                           input.key_months, input.reason)
        return VideoRetentionPolicy(standard_months=p.standard_months, key_months=p.key_months)

    @strawberry.mutation(description="VM-12: an event of the video-analytics source becomes an alarm linked to "
                                     "camera, room and time. Posted by the device bridge's service account; a "
                                     "machine, so no e-signature.", extensions=can("video:analytics", "write"))
    async def post_video_analytics_event(self, info: Info[Context, None],
                                         input: PostVideoAnalyticsEventInput) -> VideoAnalyticsAlarm:
        r = await res.analytics_event(info.context, input.kind.value, input.camera_code, input.at, input.detail,
                                      input.person_count, input.confidence)
        return VideoAnalyticsAlarm(alarm_id=r.alarm_id, duplicate=r.duplicate, camera_code=r.camera_code,
                                   room_code=r.room_code, condition=r.condition, priority=r.priority,
                                   raised_at=r.at, message=r.message)

