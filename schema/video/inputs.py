"""The inputs of the video monitoring fields."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import video as res
from schema.video.enums import (
    CameraDeviceType,
    EvidenceKind,
    KeyPostCategory,
    RetentionClass,
    StockMovement,
    VideoAnalyticsKind,
    VideoCategory,
    value_of,
)


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

    def plain(self) -> res.CameraSpec:
        return res.CameraSpec(
            name=self.name, room_code=self.room_code, x=self.x, y=self.y, device_type=self.device_type.value,
            direction_deg=self.direction_deg, field_of_view_deg=self.field_of_view_deg, resolution=self.resolution,
            equipment_code=self.equipment_code, key_post_codes=self.key_post_codes, stream_uri=self.stream_uri,
            risk_assessment_ref=self.risk_assessment_ref, validation_ref=self.validation_ref)


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

    def plain(self) -> res.CameraSpec:
        return res.CameraSpec(
            name=self.name, room_code=self.room_code, x=self.x, y=self.y, device_type=value_of(self.device_type),
            direction_deg=self.direction_deg, field_of_view_deg=self.field_of_view_deg, resolution=self.resolution,
            equipment_code=self.equipment_code, key_post_codes=self.key_post_codes, stream_uri=self.stream_uri,
            risk_assessment_ref=self.risk_assessment_ref, validation_ref=self.validation_ref, active=self.active)


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

    def plain(self) -> res.ClipSpec:
        return res.ClipSpec(
            camera_code=self.camera_code, started_at=self.started_at, ended_at=self.ended_at,
            playback_uri=self.playback_uri, key_post_code=self.key_post_code, category=value_of(self.category),
            operation=self.operation, batch_number=self.batch_number, process_step=self.process_step,
            warehouse_location=self.warehouse_location, movement=value_of(self.movement),
            movement_ref=self.movement_ref, note=self.note, retention_class=value_of(self.retention_class))


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

    def plain(self) -> res.LinkSpec:
        return res.LinkSpec(record_kind=self.record_kind.value, record_ref=self.record_ref, reason=self.reason,
                            clip_ids=self.clip_ids, camera_code=self.camera_code, since=self.since,
                            until=self.until, batch_number=self.batch_number, permanent=self.permanent)


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
            batch_number=self.batch_number, key_post_code=self.key_post_code, category=value_of(self.category),
            operation=self.operation, process_step=self.process_step, warehouse_location=self.warehouse_location,
            movement=value_of(self.movement), movement_ref=self.movement_ref, camera_code=self.camera_code,
            room_code=self.room_code, since=self.since, until=self.until, record_ref=self.linked_record,
            retention_class=value_of(self.retention_class), include_purged=self.include_purged)
