"""What the schema shows of video monitoring: key posts and cameras on the floor plan, clips with their
retention and links, evidence links, purges, and video-analytics alarms."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import video as res
from schema.convert import of
from schema.video.enums import (
    CameraDeviceType,
    ClipStatus,
    EvidenceKind,
    KeyPostCategory,
    RetentionClass,
    StockMovement,
    TimeSource,
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


def key_post_of(v: res.KeyPostView) -> KeyPost:
    return of(KeyPost, v.key_post, room_code=v.room_code, equipment_code=v.equipment_code,
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


def camera_of(v: res.CameraView) -> Camera:
    return of(Camera, v.camera, room_code=v.room_code, equipment_code=v.equipment_code,
              key_posts=[of(KeyPostSummary, k) for k in v.key_posts])


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
    time_source: TimeSource
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
    status: ClipStatus
    retention: VideoRetention
    links: list[VideoLink]


def clip_of(v: res.ClipView) -> VideoClip:
    c = v.clip
    return of(VideoClip, c, camera_code=v.camera_code, room_code=v.room_code, key_post_code=v.key_post_code,
              batch_number=v.batch_number, movement=c.movement or None,
              playback_uri=c.playback_uri if c.status == "AVAILABLE" else None,
              retention=of(VideoRetention, v.retention, purgeable=v.purgeable),
              links=[of(VideoLink, e, evidence_id=e.id) for e in v.links])


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


def evidence_of(ev: res.VideoEvidence, clips: list[res.ClipView]) -> VideoEvidence:
    return of(VideoEvidence, ev, clips=[clip_of(v) for v in clips])


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
