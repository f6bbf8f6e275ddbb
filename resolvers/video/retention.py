"""How long a clip is kept (VM-02..VM-04). Retention classes, lowest to highest (a clip's class is only
ever raised):

- STANDARD: `standardMonths` after the clip ended (setting, never under 3 months; VM-02);
- KEY: `keyMonths` after the clip ended (setting, never under 12 months; VM-03). Clips of a key post or
  of a key category (key workstation, key operation, manual intervention, manual sampling) are KEY from
  the start (note 16: the key data are VM-01's key posts and operations);
- PRODUCT_EXPIRY: one year after the latest expiry of the products concerned (the clip's batch and the
  batches of the deviations, changes or validations it is linked to, with their final lots), and not
  before the KEY period; while an expiry is not known yet, the clip cannot be purged (VM-04);
- PERMANENT: never purged (VM-04's other choice; also what a link gets when no product is concerned).

The retention end is computed when it is asked for, from the current links and expiry dates, so a later
link or a later expiry extends it, as PR-33 does for retained samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from records.genealogy import FinalLot, Intermediate
from records.identity import Setting
from records.plasma import Batch
from records.video import VideoClip, VideoEvidence, VideoEvidenceClip
from resolvers.context import Context

SETTING_KEY = "video.retention"
MIN_STANDARD_MONTHS = 3
MIN_KEY_MONTHS = 12
MAX_MONTHS = 1200


def add_months(ts: datetime, months: int) -> datetime:
    y, m = divmod(ts.month - 1 + months, 12)
    year, month = ts.year + y, m + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return ts.replace(year=year, month=month, day=min(ts.day, last))


def one_year_after(d: date) -> datetime:
    """The first instant after the day one year after `d` (29 February maps to 28 February)."""
    try:
        later = d.replace(year=d.year + 1)
    except ValueError:
        later = d.replace(year=d.year + 1, day=28)
    return datetime.combine(later + timedelta(days=1), time(0), UTC)


@dataclass(frozen=True)
class RetentionPolicy:
    standard_months: int = MIN_STANDARD_MONTHS
    key_months: int = MIN_KEY_MONTHS


async def read_retention_policy(ctx: Context) -> RetentionPolicy:
    async with ctx.db.read() as s:
        return await retention_policy(s)


async def retention_policy(s: AsyncSession) -> RetentionPolicy:
    row = await s.get(Setting, SETTING_KEY)
    if row is None or not isinstance(row.value, dict):
        return RetentionPolicy()
    # Never below the regulatory minimums, whatever is stored.
    return RetentionPolicy(max(MIN_STANDARD_MONTHS, int(row.value.get("standardMonths", MIN_STANDARD_MONTHS))),
                           max(MIN_KEY_MONTHS, int(row.value.get("keyMonths", MIN_KEY_MONTHS))))


@dataclass(frozen=True)
class Retention:
    retention_class: str
    retain_until: datetime | None
    basis: str

    def purgeable(self, now: datetime) -> bool:
        return self.retain_until is not None and now >= self.retain_until


async def product_expiry(s: AsyncSession, batch_ids: Iterable[int]) -> dict[int, date | None]:
    """Each batch's latest known expiry: its own and its final lots'; None while none is known."""
    ids = sorted(set(batch_ids))
    if not ids:
        return {}
    out: dict[int, date | None] = {i: None for i in ids}
    for bid, exp in (await s.execute(select(Batch.id, Batch.expiry_date).where(Batch.id.in_(ids)))):
        out[bid] = exp
    lots = await s.execute(select(Intermediate.batch_id, func.max(FinalLot.expiry_date))
                           .join(FinalLot, FinalLot.intermediate_id == Intermediate.id)
                           .where(Intermediate.batch_id.in_(ids)).group_by(Intermediate.batch_id))
    for bid, exp in lots:
        if exp is not None:
            known = out.get(bid)
            out[bid] = exp if known is None else max(known, exp)
    return out


async def linked_batches(s: AsyncSession, clips: Sequence[VideoClip]) -> dict[int, set[int]]:
    """Products concerned per clip: its own batch and the batches of the records it is evidence for."""
    out: dict[int, set[int]] = {c.id: ({c.batch_id} if c.batch_id else set()) for c in clips}
    if clips:
        rows = await s.execute(select(VideoEvidenceClip.clip_id, VideoEvidence.batch_id)
                               .join(VideoEvidence, VideoEvidence.id == VideoEvidenceClip.evidence_id)
                               .where(VideoEvidenceClip.clip_id.in_(list(out)), VideoEvidence.batch_id.is_not(None)))
        for clip_id, bid in rows:
            if bid is not None:
                out[clip_id].add(bid)
    return out


async def retention_of(s: AsyncSession, clips: Sequence[VideoClip]) -> dict[int, Retention]:
    policy = await retention_policy(s)
    batches = await linked_batches(s, clips)
    expiry = await product_expiry(s, {b for bs in batches.values() for b in bs})
    numbers = dict((await s.execute(select(Batch.id, Batch.batch_number).where(Batch.id.in_(list(expiry))))).all()) \
        if expiry else {}
    out: dict[int, Retention] = {}
    for c in clips:
        standard = add_months(c.ended_at, policy.standard_months)
        key = add_months(c.ended_at, max(policy.key_months, policy.standard_months))
        cls = c.retention_class
        if cls == "STANDARD":
            out[c.id] = Retention(cls, standard, f"{policy.standard_months} months after the clip ended")
        elif cls == "KEY":
            out[c.id] = Retention(cls, key, f"key data: {policy.key_months} months after the clip ended")
        elif cls == "PRODUCT_EXPIRY":
            mine = sorted(batches.get(c.id, set()))
            unknown = [numbers.get(b, str(b)) for b in mine if expiry.get(b) is None]
            if not mine or unknown:
                out[c.id] = Retention(cls, None, "kept until the product expiry is known: no expiry yet for batch "
                                      + ", ".join(unknown or ["(none linked)"]))
            else:
                latest = max(d for b in mine if (d := expiry.get(b)) is not None)
                out[c.id] = Retention(cls, max(key, one_year_after(latest)),
                                      f"one year after the latest product expiry {latest.isoformat()}")
        else:
            out[c.id] = Retention("PERMANENT", None, "kept permanently")
    return out

