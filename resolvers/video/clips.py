"""Clip records (VM-08..VM-11): a clip of the VMS indexed for traceability, its time corrections
(VM-09), and how a clip is shown with its retention and links."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.audit import iso
from records.base import utcnow
from records.plant import Room
from records.plasma import Batch
from records.video import Camera, CameraKeyPost, KeyPost, VideoClip, VideoEvidence, VideoEvidenceClip
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform
from resolvers.video.checks import (
    CATEGORIES,
    KEY_CATEGORIES,
    MOVEMENTS,
    RANK,
    RETENTION_CLASSES,
    clip_times,
    ensure_available,
    find_batch_id,
    find_camera,
    find_clips,
    invalid,
    one_of,
    valid_reason,
    valid_text,
    valid_uri,
)
from resolvers.video.retention import Retention, retention_of

# A time correction fixes clock drift or a time-zone slip; it cannot move a clip further (nor shorten its
# retention that way).
MAX_CORRECTION = timedelta(hours=24)


# --- views (what the schema shows) ------------------------------------------------------------------

@dataclass(frozen=True)
class EvidenceRef:
    id: int
    record_kind: str
    record_ref: str
    linked_by: str
    linked_at: datetime


@dataclass(frozen=True)
class ClipView:
    clip: VideoClip
    camera_code: str
    room_code: str
    key_post_code: str | None
    batch_number: str | None
    retention: Retention
    links: list[EvidenceRef] = field(default_factory=list)

    @property
    def purgeable(self) -> bool:
        """Still available, and its retention has ended."""
        return self.clip.status == "AVAILABLE" and self.retention.purgeable(utcnow())


async def views(s: AsyncSession, clips: Sequence[VideoClip]) -> list[ClipView]:
    if not clips:
        return []
    cams = dict((await s.execute(select(Camera.id, Camera.code).where(
        Camera.id.in_({c.camera_id for c in clips})))).all())
    rooms = dict((await s.execute(select(Room.id, Room.code).where(Room.id.in_({c.room_id for c in clips})))).all())
    kp_ids = {c.key_post_id for c in clips if c.key_post_id}
    posts = dict((await s.execute(select(KeyPost.id, KeyPost.code).where(KeyPost.id.in_(kp_ids)))).all()) \
        if kp_ids else {}
    b_ids = {c.batch_id for c in clips if c.batch_id}
    batches = dict((await s.execute(select(Batch.id, Batch.batch_number).where(Batch.id.in_(b_ids)))).all()) \
        if b_ids else {}
    links: dict[int, list[EvidenceRef]] = defaultdict(list)
    rows = await s.execute(select(VideoEvidenceClip.clip_id, VideoEvidence)
                           .join(VideoEvidence, VideoEvidence.id == VideoEvidenceClip.evidence_id)
                           .where(VideoEvidenceClip.clip_id.in_([c.id for c in clips])).order_by(VideoEvidence.id))
    for clip_id, ev in rows:
        links[clip_id].append(EvidenceRef(ev.id, ev.record_kind, ev.record_ref, ev.linked_by, ev.linked_at))
    ret = await retention_of(s, clips)
    return [ClipView(c, cams[c.camera_id], rooms[c.room_id], posts.get(c.key_post_id or -1),
                     batches.get(c.batch_id or -1), ret[c.id], links.get(c.id, [])) for c in clips]


async def clip(s: AsyncSession, clip_id: int) -> ClipView | None:
    c = await s.get(VideoClip, clip_id)
    return (await views(s, [c]))[0] if c else None


async def read_clip(ctx: Context, clip_id: int) -> ClipView | None:
    async with ctx.db.read() as s:
        return await clip(s, clip_id)


def clip_content(c: VideoClip) -> dict[str, Any]:
    """What a signature on a clip record is bound to."""
    return {"id": c.id, "camera": c.camera_id, "startedAt": iso(c.started_at), "endedAt": iso(c.ended_at),
            "playbackUri": c.playback_uri, "category": c.category, "keyPost": c.key_post_id, "batch": c.batch_id,
            "processStep": c.process_step, "retentionClass": c.retention_class, "status": c.status}


# --- recording --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClipSpec:
    camera_code: str
    started_at: datetime
    playback_uri: str
    ended_at: datetime | None = None
    key_post_code: str | None = None
    category: str | None = None
    operation: str | None = None
    batch_number: str | None = None
    process_step: str | None = None
    warehouse_location: str | None = None
    movement: str | None = None
    movement_ref: str | None = None
    note: str | None = None
    retention_class: str | None = None


@dataclass(frozen=True)
class _NewClip:
    """A clip's checked times, playback reference and texts; its indices are looked up again in the write."""

    columns: dict[str, Any]
    registered_at: datetime


async def record_clip(ctx: Context, req: SignedRequest, spec: ClipSpec) -> ClipView:
    """Index a clip of the VMS (VM-08..VM-11); key clips are KEY from the start (VM-03)."""
    p = ctx.signed_in()

    async def indices(s: AsyncSession) -> dict[str, Any]:
        """The camera, key post, category, batch and retention the clip is filed under."""
        cam = await find_camera(s, spec.camera_code)
        if not cam.active:
            raise AppError(ErrorCode.CONFLICT, f"camera {cam.code} is retired")
        mapped = list((await s.execute(select(KeyPost).join(CameraKeyPost).where(
            CameraKeyPost.camera_id == cam.id).order_by(KeyPost.code))).scalars())
        post: KeyPost | None = None
        if spec.key_post_code:
            post = next((k for k in mapped if k.code == spec.key_post_code), None)
            if post is None:
                raise invalid(f"camera {cam.code} does not watch key post {spec.key_post_code}")
        elif (spec.category is None or spec.category in KEY_CATEGORIES) and len(mapped) == 1:
            post = mapped[0]
        category = spec.category or (post.category if post else None)
        if category is None:
            raise invalid("name the operation category (the camera watches no single key post)")
        key = post is not None or category in KEY_CATEGORIES
        floor = "KEY" if key else "STANDARD"
        wanted = spec.retention_class or floor
        if RANK[wanted] < RANK[floor]:
            raise invalid(f"a {'key ' if key else ''}clip is retained at least as {floor}")
        batch_id = await find_batch_id(s, spec.batch_number)
        if wanted == "PRODUCT_EXPIRY" and batch_id is None:
            raise invalid("PRODUCT_EXPIRY retention needs the batch the clip concerns")
        return {"camera_id": cam.id, "room_id": cam.room_id, "key_post_id": post.id if post else None,
                "category": category, "batch_id": batch_id, "retention_class": wanted}

    async def clean() -> _NewClip:
        uri = valid_uri(spec.playback_uri, "playbackUri", required=True)
        one_of(spec.category, CATEGORIES, "category")
        one_of(spec.movement, MOVEMENTS, "movement")
        one_of(spec.retention_class, RETENTION_CLASSES, "retentionClass")
        texts = {"operation": valid_text(spec.operation, "operation", 100),
                 "process_step": valid_text(spec.process_step, "processStep", 100),
                 "warehouse_location": valid_text(spec.warehouse_location, "warehouseLocation", 64),
                 "movement_ref": valid_text(spec.movement_ref, "movementRef", 64),
                 "note": valid_text(spec.note, "note", 2000)}
        if spec.movement_ref and not spec.movement:
            raise invalid("a movementRef needs its movement (STOCK_IN, STOCK_OUT, TRANSFER or SPECIAL_TRANSPORT)")
        now = utcnow()
        start, end, source = clip_times(spec.started_at, spec.ended_at, now)
        async with ctx.db.read() as s:
            await indices(s)
        return _NewClip({"started_at": start, "ended_at": end, "time_source": source, "playback_uri": uri,
                         "movement": spec.movement, **texts}, now)

    async def save(s: AsyncSession, new: _NewClip, signatures: Signatures[_NewClip]) -> ClipView:
        c = VideoClip(time_corrections=0, recorded_by=p.username, registered_at=new.registered_at,
                      status="AVAILABLE", **new.columns, **(await indices(s)))
        s.add(c)
        await s.flush()
        await signatures.bind(s, "video_clip", str(c.id), clip_content(c))
        return (await views(s, [c]))[0]

    return await perform(ctx, req, reason="video clip recorded", clean=clean, save=save, meanings=("PERFORMED",))


async def correct_time(ctx: Context, req: SignedRequest, clip_id: int, started_at: datetime,
                       ended_at: datetime, reason: str) -> ClipView:
    """VM-09: a changed time is recorded; the audit event keeps the old and new times with the reason."""
    ctx.signed_in()

    async def clean() -> tuple[datetime, datetime]:
        valid_reason(reason)
        start, end, _ = clip_times(started_at, ended_at, utcnow())
        async with ctx.db.read() as s:
            c = (await find_clips(s, [clip_id]))[0]
            ensure_available([c])
            if c.started_at == start and c.ended_at == end:
                raise AppError(ErrorCode.CONFLICT, "the clip already has these times")
            if abs(start - c.started_at) > MAX_CORRECTION or abs(end - c.ended_at) > MAX_CORRECTION:
                raise invalid("a time correction moves a clip by at most 24 hours")
        return start, end

    async def save(s: AsyncSession, times: tuple[datetime, datetime],
                   signatures: Signatures[tuple[datetime, datetime]]) -> ClipView:
        c = (await find_clips(s, [clip_id]))[0]
        ensure_available([c])
        c.started_at, c.ended_at = times
        c.time_source, c.time_corrections = "CORRECTED", c.time_corrections + 1
        await s.flush()
        await signatures.bind(s, "video_clip", str(c.id), clip_content(c))
        return (await views(s, [c]))[0]

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, meanings=("PERFORMED",))
