"""What every video write checks: the vocabularies, the input rules and the lookups that refuse what
is not there."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.plant import Equipment, Room
from records.plasma import Batch
from records.video import Camera, KeyPost, VideoClip
from records.video import CameraDeviceType as CameraDeviceType  # the value lists, for the schema
from records.video import ClipStatus as ClipStatus
from records.video import EvidenceKind as EvidenceKind
from records.video import KeyPostCategory as KeyPostCategory
from records.video import RetentionClass as RetentionClass
from records.video import StockMovement as StockMovement
from records.video import TimeSource as TimeSource
from records.video import VideoCategory as VideoCategory

KEY_CATEGORIES = tuple(KeyPostCategory)
CATEGORIES = tuple(VideoCategory)
DEVICE_TYPES = tuple(CameraDeviceType)
MOVEMENTS = tuple(StockMovement)
RETENTION_CLASSES = tuple(RetentionClass)
RANK: dict[str, int] = {c: i for i, c in enumerate(RETENTION_CLASSES)}
RECORD_KINDS = tuple(EvidenceKind)
# VM-09: times from the VMS must agree with the plant clock; a clip cannot end in the future.
CLOCK_TOLERANCE = timedelta(seconds=60)
MAX_CLIP = timedelta(hours=24)
MAX_BATCH = 1000
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):\S+$")
BAD_SCHEMES = frozenset({"javascript", "data", "vbscript", "file"})


# --- input ------------------------------------------------------------------------------------------

def invalid(message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, message)


def valid_code(value: str, what: str) -> str:
    v = value.strip()
    if not CODE.match(v):
        raise invalid(f"{what} code {value!r}: 1-32 of A-Z 0-9 _ . - (upper case)")
    return v


def valid_text(value: str | None, what: str, limit: int, required: bool = False) -> str | None:
    v = (value or "").strip()
    if not v:
        if required:
            raise invalid(f"{what} is required")
        return None
    if len(v) > limit:
        raise invalid(f"{what} is longer than {limit} characters")
    return v


def valid_reason(value: str) -> str:
    """The reason a change is made, required: what the audit trail records with it."""
    why = valid_text(value, "reason", 2000, required=True)
    assert why is not None
    return why


def valid_uri(value: str | None, what: str, required: bool = False) -> str | None:
    v = valid_text(value, what, 500, required)
    if v is None:
        return None
    m = URI.match(v)
    if not m or m.group(1).lower() in BAD_SCHEMES:
        raise invalid(f"{what} must be an absolute URL or URI of the VMS (e.g. rtsp://, https://, vms:)")
    return v


def aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise invalid(f"{what} needs a time zone (RFC 3339, e.g. 2026-11-22T05:33:11Z)")
    return value.astimezone(UTC)


def one_of(value: str | None, allowed: Sequence[str], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise invalid(f"{what} must be one of {', '.join(allowed)}")
    return value


def clip_times(started_at: datetime, ended_at: datetime | None, now: datetime) -> tuple[datetime, datetime, str]:
    """VM-09: a clip ends at the latest now (the plant clock); without an end the server stamps it."""
    start = aware(started_at, "startedAt")
    end, source = (aware(ended_at, "endedAt"), TimeSource.VMS) if ended_at is not None else (now, TimeSource.SERVER)
    if end > now + CLOCK_TOLERANCE:
        raise invalid("the clip ends later than the plant clock: check the VMS time synchronisation")
    if end < start:
        raise invalid("a clip cannot end before it starts")
    if end - start > MAX_CLIP:
        raise invalid("a clip record covers at most 24 hours")
    return start, end, source


# --- lookups ----------------------------------------------------------------------------------------

async def find_room(s: AsyncSession, code: str) -> Room:
    room = (await s.execute(select(Room).where(Room.code == code))).scalar_one_or_none()
    if room is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no room {code}")
    return room


async def find_equipment_id(s: AsyncSession, code: str | None, room: Room) -> int | None:
    if not code:
        return None
    eq = (await s.execute(select(Equipment).where(Equipment.code == code))).scalar_one_or_none()
    if eq is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no equipment {code}")
    if eq.room_id != room.id:
        raise invalid(f"equipment {code} is not in room {room.code}")
    return eq.id


async def find_camera(s: AsyncSession, code: str) -> Camera:
    cam = (await s.execute(select(Camera).where(Camera.code == code))).scalar_one_or_none()
    if cam is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no camera {code}")
    return cam


async def find_batch_id(s: AsyncSession, number: str | None) -> int | None:
    if not number:
        return None
    bid = (await s.execute(select(Batch.id).where(Batch.batch_number == number))).scalar_one_or_none()
    if bid is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no batch {number}")
    return int(bid)


async def find_key_posts(s: AsyncSession, codes: Sequence[str], room: Room) -> list[KeyPost]:
    wanted = sorted(set(codes))
    rows = list((await s.execute(select(KeyPost).where(KeyPost.code.in_(wanted)))).scalars()) if wanted else []
    missing = set(wanted) - {k.code for k in rows}
    if missing:
        raise AppError(ErrorCode.NOT_FOUND, f"no key post {', '.join(sorted(missing))}")
    elsewhere = [k.code for k in rows if k.room_id != room.id]
    if elsewhere:
        raise invalid(f"key post {', '.join(sorted(elsewhere))} is not in room {room.code}, which the camera watches")
    return rows


async def find_clips(s: AsyncSession, ids: Sequence[int]) -> list[VideoClip]:
    wanted = sorted(set(ids))
    if not wanted:
        raise invalid("name at least one clip")
    if len(wanted) > MAX_BATCH:
        raise invalid(f"at most {MAX_BATCH} clips at a time")
    rows = list((await s.execute(select(VideoClip).where(VideoClip.id.in_(wanted)).order_by(VideoClip.id))).scalars())
    missing = set(wanted) - {c.id for c in rows}
    if missing:
        raise AppError(ErrorCode.NOT_FOUND, f"no clip {', '.join(str(i) for i in sorted(missing))}")
    return rows


def ensure_available(clips: Iterable[VideoClip]) -> None:
    gone = [c.id for c in clips if c.status != ClipStatus.AVAILABLE]
    if gone:
        raise AppError(ErrorCode.CONFLICT, f"clip {', '.join(map(str, gone))} was already purged")
