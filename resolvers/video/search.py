"""Finding clips (VM-08, VM-10, VM-11): by batch, workstation, category, location, movement, camera,
time range, linked record or retention, in time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from records.plant import Room
from records.plasma import Batch
from records.video import Camera, KeyPost, VideoClip, VideoEvidence, VideoEvidenceClip
from resolvers.context import Context
from resolvers.video.checks import CATEGORIES, MOVEMENTS, RETENTION_CLASSES, aware, one_of
from resolvers.video.clips import ClipView, views


@dataclass(frozen=True)
class ClipFilter:
    batch_number: str | None = None
    key_post_code: str | None = None
    category: str | None = None
    operation: str | None = None
    process_step: str | None = None
    warehouse_location: str | None = None
    movement: str | None = None
    movement_ref: str | None = None
    camera_code: str | None = None
    room_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    record_ref: str | None = None
    retention_class: str | None = None
    include_purged: bool = False


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _query(f: ClipFilter) -> Select[VideoClip]:
    q = select(VideoClip)
    if not f.include_purged:
        q = q.where(VideoClip.status == "AVAILABLE")
    return _by_place_time_and_record(_by_activity(q, f), f)


def _by_activity(q: Select[VideoClip], f: ClipFilter) -> Select[VideoClip]:
    """The indexes of what was filmed: batch, key post, category, operation, step, location, movement."""
    if f.batch_number:
        q = q.where(VideoClip.batch_id == select(Batch.id).where(Batch.batch_number == f.batch_number)
                    .scalar_subquery())
    if f.key_post_code:
        q = q.where(VideoClip.key_post_id == select(KeyPost.id).where(KeyPost.code == f.key_post_code)
                    .scalar_subquery())
    if f.category:
        q = q.where(VideoClip.category == f.category)
    if f.operation:
        q = q.where(func.lower(VideoClip.operation) == f.operation.strip().lower())
    if f.process_step:
        q = q.where(func.lower(VideoClip.process_step) == f.process_step.strip().lower())
    if f.warehouse_location:
        q = q.where(VideoClip.warehouse_location.like(_like_prefix(f.warehouse_location.strip()), escape="\\"))
    if f.movement:
        q = q.where(VideoClip.movement == f.movement)
    if f.movement_ref:
        q = q.where(VideoClip.movement_ref == f.movement_ref)
    return q


def _by_place_time_and_record(q: Select[VideoClip], f: ClipFilter) -> Select[VideoClip]:
    """Where and when it was filmed, the record it is evidence of and how long it is kept."""
    if f.camera_code:
        q = q.where(VideoClip.camera_id == select(Camera.id).where(Camera.code == f.camera_code).scalar_subquery())
    if f.room_code:
        q = q.where(VideoClip.room_id == select(Room.id).where(Room.code == f.room_code).scalar_subquery())
    if f.since:
        q = q.where(VideoClip.ended_at >= aware(f.since, "from"))
    if f.until:
        q = q.where(VideoClip.started_at <= aware(f.until, "to"))
    if f.record_ref:
        q = q.where(VideoClip.id.in_(select(VideoEvidenceClip.clip_id).join(
            VideoEvidence, VideoEvidence.id == VideoEvidenceClip.evidence_id).where(
            VideoEvidence.record_ref == f.record_ref)))
    if f.retention_class:
        q = q.where(VideoClip.retention_class == f.retention_class)
    return q


async def search(s: AsyncSession, f: ClipFilter, limit: int, offset: int) -> tuple[list[ClipView], int, bool]:
    """Clips overlapping the time range and matching every index given, in time order."""
    one_of(f.category, CATEGORIES, "category")
    one_of(f.movement, MOVEMENTS, "movement")
    one_of(f.retention_class, RETENTION_CLASSES, "retentionClass")
    q = _query(f)
    total = (await s.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = list((await s.execute(q.order_by(VideoClip.started_at, VideoClip.id).offset(offset).limit(limit + 1)))
                .scalars())
    return await views(s, rows[:limit]), int(total), len(rows) > limit



async def search_clips(ctx: Context, f: ClipFilter, limit: int, offset: int) -> tuple[list[ClipView], int, bool]:
    """`search` in a session of its own: a page of clips, the total and whether more follow."""
    async with ctx.db.read() as s:
        return await search(s, f, limit, offset)
