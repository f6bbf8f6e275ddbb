"""What the schema shows of video monitoring: key posts and cameras on the floor plan, clips with their
retention and links, evidence links, purges, and video-analytics alarms."""

from __future__ import annotations

from datetime import datetime

import strawberry

from records.base import utcnow
from records.video import VideoEvidence as EvidenceRow
from resolvers import video as res
from schema.video.enums import (
    CameraDeviceType,
    EvidenceKind,
    KeyPostCategory,
    RetentionClass,
    StockMovement,
    VideoCategory,
)


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

    @classmethod
    def of(cls, ev: EvidenceRow, clips: list[res.ClipView]) -> VideoEvidence:
        return cls(id=ev.id, record_kind=EvidenceKind(ev.record_kind), record_ref=ev.record_ref,
                   permanent=ev.permanent, linked_by=ev.linked_by, linked_at=ev.linked_at, reason=ev.reason,
                   clips=[VideoClip.of(v) for v in clips])


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
