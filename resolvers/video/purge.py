"""What may be destroyed, and when (VM-02..VM-04): raising a clip's retention class, the site's retention
periods, and the purge of clips whose retention has ended. A refusal that the regulation cares about (a
retention lowered, a period under the minimum, a clip purged too early) is audited under its own action."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.audit import iso
from records.base import utcnow
from records.identity import Setting
from records.video import VideoClip, VideoPurge
from resolvers.context import Context
from resolvers.signed import Refused, Signatures, SignedRequest, perform, refusals_audited
from resolvers.video.checks import (
    RANK,
    RETENTION_CLASSES,
    ensure_available,
    find_clips,
    invalid,
    one_of,
    valid_reason,
)
from resolvers.video.clips import ClipView, clip_content, views
from resolvers.video.retention import (
    MAX_MONTHS,
    MIN_KEY_MONTHS,
    MIN_STANDARD_MONTHS,
    SETTING_KEY,
    RetentionPolicy,
    linked_batches,
    retention_of,
)


async def set_clip_retention(ctx: Context, req: SignedRequest, clip_id: int, retention_class: str,
                             reason: str) -> ClipView:
    """Raise a clip's retention class; lowering it is refused and the refusal audited."""
    ctx.signed_in()

    async def checked(s: AsyncSession) -> VideoClip:
        clip = (await find_clips(s, [clip_id]))[0]
        ensure_available([clip])
        if retention_class == clip.retention_class:
            raise AppError(ErrorCode.CONFLICT, f"clip {clip.id} is already retained as {retention_class}")
        if RANK[retention_class] < RANK[clip.retention_class]:
            raise Refused("RETENTION_LOWERING_REFUSED", [("video_clip", str(clip.id), {
                "retentionClass": [clip.retention_class, retention_class], "reason": reason.strip()})],
                AppError(ErrorCode.CONFLICT, f"clip {clip.id} is retained as {clip.retention_class}: "
                         "a retention class can only be raised", reason="RETENTION_CANNOT_BE_LOWERED"))
        if retention_class == "PRODUCT_EXPIRY" and not (await linked_batches(s, [clip]))[clip.id]:
            raise invalid("PRODUCT_EXPIRY needs a product: the clip has no batch and no linked record with one; "
                          "choose PERMANENT")
        return clip

    async def clean() -> None:
        one_of(retention_class, RETENTION_CLASSES, "retentionClass")
        valid_reason(reason)
        async with ctx.db.read() as s:
            await checked(s)

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> ClipView:
        clip = await checked(s)
        clip.retention_class = retention_class
        await s.flush()
        await signatures.bind(s, "video_clip", str(clip.id), clip_content(clip))
        return (await views(s, [clip]))[0]

    return await refusals_audited(ctx, perform(ctx, req, reason=reason.strip(), clean=clean, save=save,
                                                meanings=("APPROVED",)))


async def purge_clips(ctx: Context, req: SignedRequest, clip_ids: Sequence[int],
                      reason: str) -> tuple[VideoPurge, list[ClipView]]:
    """Destroy clips whose retention has ended (all or none). A clip still retained refuses the whole
    purge with CONFLICT (extensions.reason UNDER_RETENTION), audited as PURGE_REFUSED per clip."""
    p = ctx.signed_in()

    async def purgeable(s: AsyncSession) -> list[VideoClip]:
        clips = await find_clips(s, clip_ids)
        ensure_available(clips)
        now = utcnow()
        ret = await retention_of(s, clips)
        held = [(c, ret[c.id]) for c in clips if not ret[c.id].purgeable(now)]
        if held:
            detail = [{"id": c.id, "retentionClass": r.retention_class,
                       "retainUntil": iso(r.retain_until) if r.retain_until else None, "basis": r.basis}
                      for c, r in held]
            raise Refused("PURGE_REFUSED", [("video_clip", str(d["id"]), {**d, "reason": reason.strip()})
                                            for d in detail],
                          AppError(ErrorCode.CONFLICT, f"{len(held)} of {len(clips)} clips are still under retention; "
                                   "nothing was purged", reason="UNDER_RETENTION", clips=detail))
        return clips

    async def clean() -> None:
        valid_reason(reason)
        async with ctx.db.read() as s:
            await purgeable(s)

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> tuple[VideoPurge, list[ClipView]]:
        clips = await purgeable(s)
        purge = VideoPurge(purged_by=p.username, purged_at=utcnow(), reason=reason.strip(), clip_count=len(clips))
        s.add(purge)
        await s.flush()
        for c in clips:
            c.status, c.purge_id = "PURGED", purge.id
        await s.flush()
        await signatures.bind(s, "video_purge", str(purge.id),
                              {"id": purge.id, "clips": [c.id for c in clips], "reason": purge.reason})
        return purge, await views(s, clips)

    return await refusals_audited(ctx, perform(ctx, req, reason=reason.strip(), clean=clean, save=save,
                                                meanings=("APPROVED",)))


async def set_retention_policy(ctx: Context, req: SignedRequest, standard_months: int, key_months: int,
                               reason: str) -> RetentionPolicy:
    """VM-02/VM-03: the retention settings, never under 3 months (all video) and 12 months (key video)."""
    ctx.signed_in()
    value = {"standardMonths": standard_months, "keyMonths": key_months}

    async def clean() -> None:
        valid_reason(reason)
        problem = None
        if standard_months < MIN_STANDARD_MONTHS:
            problem = f"video is retained at least {MIN_STANDARD_MONTHS} months (VM-02)"
        elif key_months < MIN_KEY_MONTHS:
            problem = f"key video is retained at least {MIN_KEY_MONTHS} months (VM-03)"
        elif key_months < standard_months:
            problem = "key video cannot be kept shorter than other video"
        elif max(standard_months, key_months) > MAX_MONTHS:
            problem = f"at most {MAX_MONTHS} months; use PERMANENT for longer"
        if problem:
            raise Refused("SETTING_REFUSED", [("setting", SETTING_KEY, {**value, "problem": problem})],
                          invalid(problem))

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> RetentionPolicy:
        row = await s.get(Setting, SETTING_KEY)
        if row is None:
            s.add(Setting(key=SETTING_KEY, value=value))
        else:
            row.value = value
        await s.flush()
        await signatures.bind(s, "setting", SETTING_KEY, value)
        return RetentionPolicy(standard_months, key_months)

    return await refusals_audited(ctx, perform(ctx, req, reason=reason.strip(), clean=clean, save=save,
                                                meanings=("APPROVED",)))
