"""Clips as evidence (VM-07, VM-04): clips linked to a deviation, key change or key validation, whose
retention rises with the link."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.quality import Deviation
from records.video import VideoClip, VideoEvidenceClip
from records.video import VideoEvidence as VideoEvidence  # the row link_clips returns, for the schema
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform
from resolvers.video.checks import (
    RANK,
    RECORD_KINDS,
    aware,
    ensure_available,
    find_batch_id,
    find_camera,
    find_clips,
    invalid,
    one_of,
    valid_reason,
    valid_text,
)
from resolvers.video.clips import ClipView, views


@dataclass(frozen=True)
class LinkSpec:
    record_kind: str
    record_ref: str
    reason: str
    clip_ids: Sequence[int] = ()
    camera_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    batch_number: str | None = None
    permanent: bool = False


def evidence_content(e: VideoEvidence, clip_ids: Iterable[int]) -> dict[str, Any]:
    """What a signature on an evidence link is bound to."""
    return {"id": e.id, "recordKind": e.record_kind, "recordRef": e.record_ref, "batch": e.batch_id,
            "permanent": e.permanent, "clips": sorted(clip_ids)}


@dataclass(frozen=True)
class _Target:
    """The checked record reference and time range of a link (no range: the clips are named)."""

    ref: str
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class _Found:
    deviation_id: int | None
    batch_id: int | None
    camera_id: int | None
    clips: list[VideoClip]


async def link_clips(ctx: Context, req: SignedRequest, spec: LinkSpec) -> tuple[VideoEvidence, list[ClipView]]:
    """VM-07/VM-04: clips (by ids, or by camera and time range) become evidence of a deviation, key change
    or key validation; their retention rises to product expiry + 1 year, or permanent."""
    p = ctx.signed_in()
    by_range = spec.camera_code is not None or spec.since is not None or spec.until is not None

    async def find(s: AsyncSession, t: _Target) -> _Found:
        """The record linked to, its product, and the clips: named, or of the camera in the time range."""
        dev_id = batch_id = cam_id = None
        if spec.record_kind == "DEVIATION":
            dev = (await s.execute(select(Deviation).where(Deviation.number == t.ref))).scalar_one_or_none()
            if dev is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no deviation {t.ref}")
            dev_id, batch_id = dev.id, dev.batch_id
        batch_id = await find_batch_id(s, spec.batch_number) or batch_id
        clips = await find_clips(s, spec.clip_ids) if spec.clip_ids else []
        if by_range:
            cam_id, found = await _clips_in_range(s, spec.camera_code or "", t)
            clips = sorted({c.id: c for c in (*clips, *found)}.values(), key=lambda c: c.id)
        ensure_available(clips)
        return _Found(dev_id, batch_id, cam_id, clips)

    async def clean() -> _Target:
        one_of(spec.record_kind, RECORD_KINDS, "recordKind")
        ref = valid_text(spec.record_ref, "recordRef", 64, required=True)
        valid_reason(spec.reason)
        assert ref is not None
        t = _ranged_target(spec, ref) if by_range else _Target(ref)
        if not by_range and not spec.clip_ids:
            raise invalid("name the clips (clipIds) or a camera and time range")
        async with ctx.db.read() as s:
            await find(s, t)
        return t

    async def save(s: AsyncSession, t: _Target,
                   signatures: Signatures[_Target]) -> tuple[VideoEvidence, list[ClipView]]:
        f = await find(s, t)
        ev = VideoEvidence(record_kind=spec.record_kind, record_ref=t.ref, deviation_id=f.deviation_id,
                           batch_id=f.batch_id, camera_id=f.camera_id, range_from=t.since, range_to=t.until,
                           permanent=spec.permanent, linked_by=p.username, linked_at=utcnow(),
                           reason=spec.reason.strip())
        s.add(ev)
        await s.flush()
        for c in f.clips:
            s.add(VideoEvidenceClip(evidence_id=ev.id, clip_id=c.id))
            _raise_retention(c, spec.permanent, f.batch_id)
        await s.flush()
        await signatures.bind(s, "video_evidence", str(ev.id), evidence_content(ev, [c.id for c in f.clips]))
        return ev, await views(s, f.clips)

    return await perform(ctx, req, reason=spec.reason.strip(), clean=clean, save=save, meanings=("APPROVED",))


def _ranged_target(spec: LinkSpec, ref: str) -> _Target:
    """A time range link: the camera and both ends named, the range not ending before it starts."""
    if spec.camera_code is None or spec.since is None or spec.until is None:
        raise invalid("a time range link names the camera, from and to")
    since, until = aware(spec.since, "from"), aware(spec.until, "to")
    if until <= since:
        raise invalid("the time range ends before it starts")
    return _Target(ref, since, until)


async def _clips_in_range(s: AsyncSession, camera_code: str, t: _Target) -> tuple[int, list[VideoClip]]:
    """The camera's id and its available clips overlapping the range; a range without one is refused."""
    cam = await find_camera(s, camera_code)
    found = list((await s.execute(select(VideoClip).where(
        VideoClip.camera_id == cam.id, VideoClip.ended_at >= t.since, VideoClip.started_at <= t.until,
        VideoClip.status == "AVAILABLE").order_by(VideoClip.id))).scalars())
    if not found:
        raise AppError(ErrorCode.NOT_FOUND, f"no available clip of camera {cam.code} in that time range")
    return cam.id, found


def _raise_retention(clip: VideoClip, permanent: bool, batch_id: int | None) -> None:
    """Evidence keeps a clip until product expiry + 1 year when a product is involved, for good otherwise
    (or when the link says so); a link never lowers a clip's retention."""
    product = batch_id is not None or clip.batch_id is not None
    target = "PERMANENT" if permanent or not product else "PRODUCT_EXPIRY"
    if RANK[target] > RANK[clip.retention_class]:
        clip.retention_class = target
