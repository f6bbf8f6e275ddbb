"""Video monitoring records (VM-01..VM-12): key posts, the camera inventory on the floor plan, clip
records indexed for traceability (time, workstation, batch and step, warehouse location and movement),
their retention class, links to deviations/changes/validations as evidence, and purges.

Clips are never deleted: a purge (the footage destroyed in the VMS) marks the clip PURGED and points to
the signed purge record, so the index keeps proof of what existed and who destroyed it when.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class KeyPostCategory(StrEnum):
    """VM-10: what a key post is."""

    KEY_WORKSTATION = "KEY_WORKSTATION"
    KEY_OPERATION = "KEY_OPERATION"
    MANUAL_INTERVENTION = "MANUAL_INTERVENTION"
    MANUAL_SAMPLING = "MANUAL_SAMPLING"


class VideoCategory(StrEnum):
    """VM-10/VM-11: the operation category a clip is indexed under (the key post categories and two more)."""

    KEY_WORKSTATION = "KEY_WORKSTATION"
    KEY_OPERATION = "KEY_OPERATION"
    MANUAL_INTERVENTION = "MANUAL_INTERVENTION"
    MANUAL_SAMPLING = "MANUAL_SAMPLING"
    WAREHOUSE = "WAREHOUSE"
    GENERAL = "GENERAL"


class CameraDeviceType(StrEnum):
    FIXED = "FIXED"
    DOME = "DOME"
    PTZ = "PTZ"
    WIDE_ANGLE = "WIDE_ANGLE"
    FISHEYE = "FISHEYE"


class StockMovement(StrEnum):
    STOCK_IN = "STOCK_IN"
    STOCK_OUT = "STOCK_OUT"
    TRANSFER = "TRANSFER"
    SPECIAL_TRANSPORT = "SPECIAL_TRANSPORT"


class RetentionClass(StrEnum):
    """Lowest to highest; a clip's class is only ever raised."""

    STANDARD = "STANDARD"
    KEY = "KEY"
    PRODUCT_EXPIRY = "PRODUCT_EXPIRY"
    PERMANENT = "PERMANENT"


class EvidenceKind(StrEnum):
    DEVIATION = "DEVIATION"
    CHANGE = "CHANGE"
    VALIDATION = "VALIDATION"


class TimeSource(StrEnum):
    """Where a clip's times come from: the VMS, the plant clock stamping its end, or a signed correction."""

    VMS = "VMS"
    SERVER = "SERVER"
    CORRECTED = "CORRECTED"


class ClipStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    PURGED = "PURGED"


class KeyPost(Base):
    """VM-01/VM-10: a key workstation, key operation, manual-intervention or manual-sampling post that
    must be under video monitoring (e.g. plasma charging, pooling, virus-screening testing)."""

    __tablename__ = "video_key_post"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(24), index=True)  # KeyPostCategory
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)


class Camera(Base):
    """A camera on the floor plan (plant metres), the room and workstation it watches (VM-01, VM-05,
    VM-06: device type, viewing direction and angle, resolution, risk assessment and validation)."""

    __tablename__ = "video_camera"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    # FIXED, DOME, PTZ (pan-tilt-zoom), WIDE_ANGLE or FISHEYE
    device_type: Mapped[str] = mapped_column(String(16))
    # Viewing direction (degrees clockwise from the plan's +y axis) and horizontal field of view.
    direction_deg: Mapped[float | None] = mapped_column(Float)
    field_of_view_deg: Mapped[float | None] = mapped_column(Float)
    resolution: Mapped[str | None] = mapped_column(String(16))
    stream_uri: Mapped[str | None] = mapped_column(String(500))
    risk_assessment_ref: Mapped[str | None] = mapped_column(String(64))
    validation_ref: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)


class CameraKeyPost(Base):
    """Which key posts a camera covers (the VM-01 mapping); audited like any GMP configuration."""

    __tablename__ = "video_camera_key_post"
    __audited__ = True

    camera_id: Mapped[int] = mapped_column(ForeignKey("video_camera.id"), primary_key=True)
    key_post_id: Mapped[int] = mapped_column(ForeignKey("video_key_post.id"), primary_key=True, index=True)


class VideoPurge(Base):
    """A signed destruction of clips whose retention had ended (the footage is deleted in the VMS)."""

    __tablename__ = "video_purge"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purged_by: Mapped[str] = mapped_column(String(64))
    purged_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    clip_count: Mapped[int] = mapped_column(Integer)


class VideoClip(Base):
    """One clip of recorded video as indexed for traceability (VM-08..VM-11) and retained (VM-02..VM-04)."""

    __tablename__ = "video_clip"
    __audited__ = True
    __table_args__ = (CheckConstraint("ended_at >= started_at", name="time_order"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("video_camera.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime] = mapped_column(index=True)
    # VMS (times given by the VMS, synchronised to the plant time source), SERVER (end stamped by our
    # clock when the clip was registered) or CORRECTED (changed afterwards; the audit trail has the old).
    time_source: Mapped[str] = mapped_column(String(10))
    time_corrections: Mapped[int] = mapped_column(Integer, default=0)
    # The VMS playback reference (URL or URI) of the footage.
    playback_uri: Mapped[str] = mapped_column(String(500))
    # VM-10 index: workstation (key post) and operation category; KEY_WORKSTATION, KEY_OPERATION,
    # MANUAL_INTERVENTION, MANUAL_SAMPLING, WAREHOUSE or GENERAL.
    key_post_id: Mapped[int | None] = mapped_column(ForeignKey("video_key_post.id"), index=True)
    category: Mapped[str] = mapped_column(String(24), index=True)
    operation: Mapped[str | None] = mapped_column(String(100))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    process_step: Mapped[str | None] = mapped_column(String(100))
    # VM-11 index: warehouse location, and the movement filmed (STOCK_IN, STOCK_OUT, TRANSFER,
    # SPECIAL_TRANSPORT) with its reference (shipment, transfer order...).
    warehouse_location: Mapped[str | None] = mapped_column(String(64), index=True)
    movement: Mapped[str | None] = mapped_column(String(20), index=True)
    movement_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    # STANDARD (>= 3 months), KEY (>= 12 months), PRODUCT_EXPIRY (latest linked product expiry + 1 year)
    # or PERMANENT; only ever raised.
    retention_class: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime]
    # AVAILABLE or PURGED
    status: Mapped[str] = mapped_column(String(10), default=ClipStatus.AVAILABLE.value, index=True)
    purge_id: Mapped[int | None] = mapped_column(ForeignKey("video_purge.id"))


class VideoEvidence(Base):
    """VM-07/VM-04: clips linked (by ids or by camera and time range) to a deviation investigation, a key
    change or a key validation (e.g. a media fill)."""

    __tablename__ = "video_evidence"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(16))
    record_ref: Mapped[str] = mapped_column(String(64), index=True)
    deviation_id: Mapped[int | None] = mapped_column(ForeignKey("deviation.id"), index=True)
    # The product concerned (the deviation's batch, or the one named for a change or validation).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("video_camera.id"))
    range_from: Mapped[datetime | None]
    range_to: Mapped[datetime | None]
    permanent: Mapped[bool] = mapped_column(default=False)
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class VideoEvidenceClip(Base):
    __tablename__ = "video_evidence_clip"
    __audited__ = True

    evidence_id: Mapped[int] = mapped_column(ForeignKey("video_evidence.id"), primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("video_clip.id"), primary_key=True, index=True)
