"""Video monitoring (VM-01..VM-12): the camera inventory and key posts, clip records indexed for
traceability, retention enforced on purge, clips linked as evidence, and video-analytics alarms.

Retention classes, lowest to highest (a clip's class is only ever raised):

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

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from graphql import GraphQLResolveInfo
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies import signatures as sig
from policies.errors import AppError, ErrorCode
from records.alarms import Alarm
from records.audit import AuditContext, PendingEvent, iso
from records.base import utcnow
from records.db import Database
from records.genealogy import FinalLot, Intermediate
from records.identity import Setting
from records.plant import Area, Equipment, Plant, Room
from records.plasma import Batch
from records.quality import Deviation
from records.video import (
    Camera,
    CameraKeyPost,
    KeyPost,
    VideoClip,
    VideoEvidence,
    VideoEvidenceClip,
    VideoPurge,
)
from resolvers.context import Context
from resolvers.signing import check_signature, store_signature
from twin.alarms import Priority

KEY_CATEGORIES = ("KEY_WORKSTATION", "KEY_OPERATION", "MANUAL_INTERVENTION", "MANUAL_SAMPLING")
CATEGORIES = (*KEY_CATEGORIES, "WAREHOUSE", "GENERAL")
DEVICE_TYPES = ("FIXED", "DOME", "PTZ", "WIDE_ANGLE", "FISHEYE")
MOVEMENTS = ("STOCK_IN", "STOCK_OUT", "TRANSFER", "SPECIAL_TRANSPORT")
RETENTION_CLASSES = ("STANDARD", "KEY", "PRODUCT_EXPIRY", "PERMANENT")
RANK = {c: i for i, c in enumerate(RETENTION_CLASSES)}
RECORD_KINDS = ("DEVIATION", "CHANGE", "VALIDATION")
# VM-12: what a video-analytics source may report, its alarm priority and its wording.
ANALYTICS: dict[str, tuple[Priority, str]] = {
    "MASK_MISSING": (Priority.HIGH, "Mask not worn as required"),
    "GOWN_MISSING": (Priority.HIGH, "Protective clothing not worn as required"),
    "OVER_OCCUPANCY": (Priority.MEDIUM, "Too many people in the controlled area"),
    "POST_ABSENT": (Priority.MEDIUM, "Staff absent from the post"),
}

SETTING_KEY = "video.retention"
MIN_STANDARD_MONTHS = 3
MIN_KEY_MONTHS = 12
MAX_MONTHS = 1200
# VM-09: times from the VMS must agree with the plant clock; a clip cannot end in the future.
CLOCK_TOLERANCE = timedelta(seconds=60)
MAX_CLIP = timedelta(hours=24)
# A time correction fixes clock drift or a time-zone slip; it cannot move a clip further (nor shorten its
# retention that way).
MAX_CORRECTION = timedelta(hours=24)
MAX_BATCH = 1000
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
RESOLUTION = re.compile(r"^\d{2,5}x\d{2,5}$")
URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):\S+$")
BAD_SCHEMES = frozenset({"javascript", "data", "vbscript", "file"})


# --- small checks -----------------------------------------------------------------------------------

def _fail(message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, message)


def _code(value: str, what: str) -> str:
    v = value.strip()
    if not CODE.match(v):
        raise _fail(f"{what} code {value!r}: 1-32 of A-Z 0-9 _ . - (upper case)")
    return v


def _text(value: str | None, what: str, limit: int, required: bool = False) -> str | None:
    v = (value or "").strip()
    if not v:
        if required:
            raise _fail(f"{what} is required")
        return None
    if len(v) > limit:
        raise _fail(f"{what} is longer than {limit} characters")
    return v


def _uri(value: str | None, what: str, required: bool = False) -> str | None:
    v = _text(value, what, 500, required)
    if v is None:
        return None
    m = URI.match(v)
    if not m or m.group(1).lower() in BAD_SCHEMES:
        raise _fail(f"{what} must be an absolute URL or URI of the VMS (e.g. rtsp://, https://, vms:)")
    return v


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise _fail(f"{what} needs a time zone (RFC 3339, e.g. 2026-11-22T05:33:11Z)")
    return value.astimezone(UTC)


def _one_of(value: str | None, allowed: Sequence[str], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise _fail(f"{what} must be one of {', '.join(allowed)}")
    return value


def _clip_times(started_at: datetime, ended_at: datetime | None, now: datetime) -> tuple[datetime, datetime, str]:
    """VM-09: a clip ends at the latest now (the plant clock); without an end the server stamps it."""
    start = _aware(started_at, "startedAt")
    end, source = (_aware(ended_at, "endedAt"), "VMS") if ended_at is not None else (now, "SERVER")
    if end > now + CLOCK_TOLERANCE:
        raise _fail("the clip ends later than the plant clock: check the VMS time synchronisation")
    if end < start:
        raise _fail("a clip cannot end before it starts")
    if end - start > MAX_CLIP:
        raise _fail("a clip record covers at most 24 hours")
    return start, end, source


def inside(polygon: Iterable[Sequence[float]], x: float, y: float, tolerance: float = 0.5) -> bool:
    """Point in polygon (ray casting), counting points on or near the walls as inside."""
    pts = [(float(p[0]), float(p[1])) for p in polygon]
    n = len(pts)
    hit = False
    for i in range(n):
        (x1, y1), (x2, y2) = pts[i], pts[(i + 1) % n]
        dx, dy = x2 - x1, y2 - y1
        seg = dx * dx + dy * dy
        t = 0.0 if seg == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / seg))
        if (x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2 <= tolerance ** 2:
            return True
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * dx / (y2 - y1):
            hit = not hit
    return hit


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


# --- lookups ----------------------------------------------------------------------------------------

async def _room(s: AsyncSession, code: str) -> Room:
    room = (await s.execute(select(Room).where(Room.code == code))).scalar_one_or_none()
    if room is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no room {code}")
    return room


async def _equipment(s: AsyncSession, code: str | None, room: Room) -> int | None:
    if not code:
        return None
    eq = (await s.execute(select(Equipment).where(Equipment.code == code))).scalar_one_or_none()
    if eq is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no equipment {code}")
    if eq.room_id != room.id:
        raise _fail(f"equipment {code} is not in room {room.code}")
    return eq.id


async def _camera(s: AsyncSession, code: str) -> Camera:
    cam = (await s.execute(select(Camera).where(Camera.code == code))).scalar_one_or_none()
    if cam is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no camera {code}")
    return cam


async def _batch_id(s: AsyncSession, number: str | None) -> int | None:
    if not number:
        return None
    bid = (await s.execute(select(Batch.id).where(Batch.batch_number == number))).scalar_one_or_none()
    if bid is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no batch {number}")
    return int(bid)


async def _key_posts(s: AsyncSession, codes: Sequence[str], room: Room) -> list[KeyPost]:
    wanted = sorted(set(codes))
    rows = list((await s.execute(select(KeyPost).where(KeyPost.code.in_(wanted)))).scalars()) if wanted else []
    missing = set(wanted) - {k.code for k in rows}
    if missing:
        raise AppError(ErrorCode.NOT_FOUND, f"no key post {', '.join(sorted(missing))}")
    elsewhere = [k.code for k in rows if k.room_id != room.id]
    if elsewhere:
        raise _fail(f"key post {', '.join(sorted(elsewhere))} is not in room {room.code}, which the camera watches")
    return rows


async def _clips(s: AsyncSession, ids: Sequence[int]) -> list[VideoClip]:
    wanted = sorted(set(ids))
    if not wanted:
        raise _fail("name at least one clip")
    if len(wanted) > MAX_BATCH:
        raise _fail(f"at most {MAX_BATCH} clips at a time")
    rows = list((await s.execute(select(VideoClip).where(VideoClip.id.in_(wanted)).order_by(VideoClip.id))).scalars())
    missing = set(wanted) - {c.id for c in rows}
    if missing:
        raise AppError(ErrorCode.NOT_FOUND, f"no clip {', '.join(str(i) for i in sorted(missing))}")
    return rows


def _available(clips: Iterable[VideoClip]) -> None:
    gone = [c.id for c in clips if c.status != "AVAILABLE"]
    if gone:
        raise AppError(ErrorCode.CONFLICT, f"clip {', '.join(map(str, gone))} was already purged")


# --- retention --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetentionPolicy:
    standard_months: int = MIN_STANDARD_MONTHS
    key_months: int = MIN_KEY_MONTHS


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


@dataclass(frozen=True)
class CameraView:
    camera: Camera
    room_code: str
    equipment_code: str | None
    key_posts: list[KeyPost]


@dataclass(frozen=True)
class KeyPostView:
    key_post: KeyPost
    room_code: str
    equipment_code: str | None
    camera_codes: list[str]


async def camera_views(s: AsyncSession, room_code: str | None = None, code: str | None = None) -> list[CameraView]:
    q = select(Camera, Room.code).join(Room, Room.id == Camera.room_id).order_by(Camera.code)
    if room_code:
        q = q.where(Room.code == room_code)
    if code:
        q = q.where(Camera.code == code)
    rows = (await s.execute(q)).all()
    eq = dict((await s.execute(select(Equipment.id, Equipment.code))).all())
    mapped: dict[int, list[KeyPost]] = defaultdict(list)
    for cam_id, kp in (await s.execute(select(CameraKeyPost.camera_id, KeyPost)
                                       .join(KeyPost, KeyPost.id == CameraKeyPost.key_post_id)
                                       .order_by(KeyPost.code))):
        mapped[cam_id].append(kp)
    return [CameraView(c, rc, eq.get(c.equipment_id or -1), mapped.get(c.id, [])) for c, rc in rows]


async def key_post_views(s: AsyncSession, room_code: str | None = None) -> list[KeyPostView]:
    q = select(KeyPost, Room.code).join(Room, Room.id == KeyPost.room_id).order_by(KeyPost.code)
    if room_code:
        q = q.where(Room.code == room_code)
    rows = (await s.execute(q)).all()
    eq = dict((await s.execute(select(Equipment.id, Equipment.code))).all())
    cams: dict[int, list[str]] = defaultdict(list)
    for kp_id, code in (await s.execute(select(CameraKeyPost.key_post_id, Camera.code)
                                        .join(Camera, Camera.id == CameraKeyPost.camera_id)
                                        .where(Camera.active.is_(True)).order_by(Camera.code))):
        cams[kp_id].append(code)
    return [KeyPostView(k, rc, eq.get(k.equipment_id or -1), cams.get(k.id, [])) for k, rc in rows]


@dataclass(frozen=True)
class Coverage:
    """VM-01: every active key post with the active cameras on it; those with none are unmapped."""

    checked_at: datetime
    key_posts: list[KeyPostView]

    @property
    def unmapped(self) -> list[KeyPostView]:
        return [k for k in self.key_posts if not k.camera_codes]


async def coverage(s: AsyncSession) -> Coverage:
    return Coverage(utcnow(), [k for k in await key_post_views(s) if k.key_post.active])


# --- key posts and cameras (GMP configuration, signed) ------------------------------------------------

def key_post_content(k: KeyPost, room_code: str) -> dict[str, Any]:
    return {"code": k.code, "name": k.name, "category": k.category, "room": room_code, "active": k.active}


async def define_key_post(ctx: Context, info: GraphQLResolveInfo, code: str, name: str, category: str,
                          room_code: str, equipment_code: str | None, description: str | None,
                          payload: sig.SignaturePayload | None) -> KeyPostView:
    ctx.signed_in()
    code = _code(code, "key post")
    name_ = _text(name, "name", 200, required=True)
    _one_of(category, KEY_CATEGORIES, "a key post's category")
    desc = _text(description, "description", 2000)
    async with ctx.db.read() as s:
        room = await _room(s, room_code)
        eq_id = await _equipment(s, equipment_code, room)
        if (await s.execute(select(KeyPost.id).where(KeyPost.code == code))).first():
            raise AppError(ErrorCode.CONFLICT, f"key post {code} already exists")
    by = await check_signature(ctx, info, "defineKeyPost", payload)
    async with ctx.db.write(ctx.audit_context("key post defined")) as s:
        if (await s.execute(select(KeyPost.id).where(KeyPost.code == code))).first():
            raise AppError(ErrorCode.CONFLICT, f"key post {code} already exists")
        k = KeyPost(code=code, name=name_, category=category, room_id=room.id, equipment_id=eq_id,
                    description=desc, active=True)
        s.add(k)
        await s.flush()
        await store_signature(s, by, "video_key_post", str(k.id), key_post_content(k, room.code))
    return KeyPostView(k, room.code, equipment_code or None, [])


@dataclass(frozen=True)
class CameraSpec:
    """A camera as registered, or the fields an update changes (None: unchanged)."""

    name: str | None = None
    room_code: str | None = None
    x: float | None = None
    y: float | None = None
    device_type: str | None = None
    direction_deg: float | None = None
    field_of_view_deg: float | None = None
    resolution: str | None = None
    equipment_code: str | None = None
    key_post_codes: Sequence[str] | None = None
    stream_uri: str | None = None
    risk_assessment_ref: str | None = None
    validation_ref: str | None = None
    active: bool | None = None


def camera_content(c: Camera, room_code: str, key_posts: Iterable[str]) -> dict[str, Any]:
    return {"code": c.code, "name": c.name, "room": room_code, "x": c.x, "y": c.y, "deviceType": c.device_type,
            "resolution": c.resolution, "keyPosts": sorted(key_posts), "validationRef": c.validation_ref,
            "active": c.active}


def _camera_fields(spec: CameraSpec) -> dict[str, Any]:
    """Validate the plain fields of a spec; returns those given, by column name."""
    out: dict[str, Any] = {}
    if spec.name is not None:
        out["name"] = _text(spec.name, "name", 200, required=True)
    if spec.device_type is not None:
        out["device_type"] = _one_of(spec.device_type, DEVICE_TYPES, "deviceType")
    if spec.direction_deg is not None:
        if not 0 <= spec.direction_deg < 360:
            raise _fail("directionDeg is between 0 and 360 (clockwise)")
        out["direction_deg"] = float(spec.direction_deg)
    if spec.field_of_view_deg is not None:
        if not 0 < spec.field_of_view_deg <= 360:
            raise _fail("fieldOfViewDeg is above 0 and at most 360")
        out["field_of_view_deg"] = float(spec.field_of_view_deg)
    if spec.resolution is not None:
        if not RESOLUTION.match(spec.resolution.strip()):
            raise _fail("resolution is WIDTHxHEIGHT in pixels, e.g. 1920x1080")
        out["resolution"] = spec.resolution.strip()
    if spec.stream_uri is not None:
        out["stream_uri"] = _uri(spec.stream_uri, "streamUri")
    if spec.risk_assessment_ref is not None:
        out["risk_assessment_ref"] = _text(spec.risk_assessment_ref, "riskAssessmentRef", 64)
    if spec.validation_ref is not None:
        out["validation_ref"] = _text(spec.validation_ref, "validationRef", 64)
    if spec.active is not None:
        out["active"] = spec.active
    return out


async def _place(s: AsyncSession, room: Room, x: float, y: float) -> None:
    plant = (await s.execute(select(Plant).join(Area, Area.plant_id == Plant.id).where(Area.id == room.area_id))
             ).scalars().first()
    if plant is not None and not (0 <= x <= plant.width and 0 <= y <= plant.height):
        raise _fail(f"({x:g}, {y:g}) is outside the floor plan ({plant.width:g} x {plant.height:g} m)")
    if not inside(room.polygon, x, y):
        raise _fail(f"({x:g}, {y:g}) is not in room {room.code} on the floor plan")


async def register_camera(ctx: Context, info: GraphQLResolveInfo, code: str, spec: CameraSpec,
                          payload: sig.SignaturePayload | None) -> CameraView:
    ctx.signed_in()
    code = _code(code, "camera")
    if spec.name is None or spec.room_code is None or spec.x is None or spec.y is None or spec.device_type is None:
        raise _fail("a camera needs a name, a room, a position and a device type")
    fields = _camera_fields(spec)

    async def prepare(s: AsyncSession) -> tuple[Room, int | None, list[KeyPost]]:
        assert spec.room_code is not None and spec.x is not None and spec.y is not None
        room = await _room(s, spec.room_code)
        await _place(s, room, spec.x, spec.y)
        eq_id = await _equipment(s, spec.equipment_code, room)
        posts = await _key_posts(s, spec.key_post_codes or (), room)
        if (await s.execute(select(Camera.id).where(Camera.code == code))).first():
            raise AppError(ErrorCode.CONFLICT, f"camera {code} already exists")
        return room, eq_id, posts

    async with ctx.db.read() as s:
        await prepare(s)
    by = await check_signature(ctx, info, "registerCamera", payload)
    async with ctx.db.write(ctx.audit_context("camera registered")) as s:
        room, eq_id, posts = await prepare(s)
        cam = Camera(code=code, room_id=room.id, equipment_id=eq_id, x=float(spec.x), y=float(spec.y),
                     **{"active": True, **fields})
        s.add(cam)
        await s.flush()
        for k in posts:
            s.add(CameraKeyPost(camera_id=cam.id, key_post_id=k.id))
        await s.flush()
        await store_signature(s, by, "video_camera", str(cam.id),
                              camera_content(cam, room.code, [k.code for k in posts]))
    return CameraView(cam, room.code, spec.equipment_code or None, sorted(posts, key=lambda k: k.code))


async def update_camera(ctx: Context, info: GraphQLResolveInfo, code: str, spec: CameraSpec, reason: str,
                        payload: sig.SignaturePayload | None) -> CameraView:
    """Move, re-aim, re-map or retire a camera; every change is audited with the reason."""
    ctx.signed_in()
    why = _text(reason, "reason", 2000, required=True)
    fields = _camera_fields(spec)

    async def prepare(s: AsyncSession) -> tuple[Camera, Room, int | None, list[KeyPost] | None]:
        cam = await _camera(s, code)
        room = await _room(s, spec.room_code) if spec.room_code else await s.get_one(Room, cam.room_id)
        x = spec.x if spec.x is not None else cam.x
        y = spec.y if spec.y is not None else cam.y
        if spec.room_code or spec.x is not None or spec.y is not None:
            await _place(s, room, x, y)
        if spec.equipment_code is not None:
            eq_id = await _equipment(s, spec.equipment_code, room) if spec.equipment_code else None
        else:
            eq_id = cam.equipment_id
            if eq_id is not None and spec.room_code and (await s.get_one(Equipment, eq_id)).room_id != room.id:
                raise _fail("the camera's equipment is not in the new room: name the equipment it watches there")
        posts = await _key_posts(s, spec.key_post_codes, room) if spec.key_post_codes is not None else None
        if posts is None and spec.room_code and room.id != cam.room_id:
            current = list((await s.execute(select(KeyPost).join(CameraKeyPost).where(
                CameraKeyPost.camera_id == cam.id))).scalars())
            if current:
                raise _fail("the camera's key posts are not in the new room: name its keyPostCodes there")
        return cam, room, eq_id, posts

    async with ctx.db.read() as s:
        await prepare(s)
    by = await check_signature(ctx, info, "updateCamera", payload)
    async with ctx.db.write(ctx.audit_context(why)) as s:
        cam, room, eq_id, posts = await prepare(s)
        cam.room_id, cam.equipment_id = room.id, eq_id
        if spec.x is not None:
            cam.x = float(spec.x)
        if spec.y is not None:
            cam.y = float(spec.y)
        for k, v in fields.items():
            setattr(cam, k, v)
        if posts is not None:
            have = {m.key_post_id: m for m in (await s.execute(select(CameraKeyPost).where(
                CameraKeyPost.camera_id == cam.id))).scalars()}
            want = {k.id for k in posts}
            for kp_id, m in have.items():
                if kp_id not in want:
                    await s.delete(m)
            for kp_id in want - set(have):
                s.add(CameraKeyPost(camera_id=cam.id, key_post_id=kp_id))
        await s.flush()
        views_ = await camera_views(s, code=cam.code)
        await store_signature(s, by, "video_camera", str(cam.id),
                              camera_content(cam, room.code, [k.code for k in views_[0].key_posts]))
    return views_[0]


# --- clips ------------------------------------------------------------------------------------------

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


def clip_content(c: VideoClip) -> dict[str, Any]:
    return {"id": c.id, "camera": c.camera_id, "startedAt": iso(c.started_at), "endedAt": iso(c.ended_at),
            "playbackUri": c.playback_uri, "category": c.category, "keyPost": c.key_post_id, "batch": c.batch_id,
            "processStep": c.process_step, "retentionClass": c.retention_class, "status": c.status}


async def record_clip(ctx: Context, info: GraphQLResolveInfo, spec: ClipSpec,
                      payload: sig.SignaturePayload | None) -> ClipView:
    """Index a clip of the VMS (VM-08..VM-11); key clips are KEY from the start (VM-03)."""
    p = ctx.signed_in()
    uri = _uri(spec.playback_uri, "playbackUri", required=True)
    _one_of(spec.category, CATEGORIES, "category")
    _one_of(spec.movement, MOVEMENTS, "movement")
    _one_of(spec.retention_class, RETENTION_CLASSES, "retentionClass")
    texts = {"operation": _text(spec.operation, "operation", 100),
             "process_step": _text(spec.process_step, "processStep", 100),
             "warehouse_location": _text(spec.warehouse_location, "warehouseLocation", 64),
             "movement_ref": _text(spec.movement_ref, "movementRef", 64),
             "note": _text(spec.note, "note", 2000)}
    if spec.movement_ref and not spec.movement:
        raise _fail("a movementRef needs its movement (STOCK_IN, STOCK_OUT, TRANSFER or SPECIAL_TRANSPORT)")

    async def prepare(s: AsyncSession) -> dict[str, Any]:
        cam = await _camera(s, spec.camera_code)
        if not cam.active:
            raise AppError(ErrorCode.CONFLICT, f"camera {cam.code} is retired")
        mapped = list((await s.execute(select(KeyPost).join(CameraKeyPost).where(
            CameraKeyPost.camera_id == cam.id).order_by(KeyPost.code))).scalars())
        post: KeyPost | None = None
        if spec.key_post_code:
            post = next((k for k in mapped if k.code == spec.key_post_code), None)
            if post is None:
                raise _fail(f"camera {cam.code} does not watch key post {spec.key_post_code}")
        elif (spec.category is None or spec.category in KEY_CATEGORIES) and len(mapped) == 1:
            post = mapped[0]
        category = spec.category or (post.category if post else None)
        if category is None:
            raise _fail("name the operation category (the camera watches no single key post)")
        key = post is not None or category in KEY_CATEGORIES
        floor = "KEY" if key else "STANDARD"
        wanted = spec.retention_class or floor
        if RANK[wanted] < RANK[floor]:
            raise _fail(f"a {'key ' if key else ''}clip is retained at least as {floor}")
        batch_id = await _batch_id(s, spec.batch_number)
        if wanted == "PRODUCT_EXPIRY" and batch_id is None:
            raise _fail("PRODUCT_EXPIRY retention needs the batch the clip concerns")
        return {"camera_id": cam.id, "room_id": cam.room_id, "key_post_id": post.id if post else None,
                "category": category, "batch_id": batch_id, "retention_class": wanted}

    now = utcnow()
    start, end, source = _clip_times(spec.started_at, spec.ended_at, now)
    async with ctx.db.read() as s:
        await prepare(s)
    by = await check_signature(ctx, info, "recordVideoClip", payload)
    async with ctx.db.write(ctx.audit_context("video clip recorded")) as s:
        c = VideoClip(started_at=start, ended_at=end, time_source=source, time_corrections=0, playback_uri=uri,
                      movement=spec.movement, recorded_by=p.username, registered_at=now, status="AVAILABLE",
                      **texts, **(await prepare(s)))
        s.add(c)
        await s.flush()
        await store_signature(s, by, "video_clip", str(c.id), clip_content(c))
        return (await views(s, [c]))[0]


async def correct_time(ctx: Context, info: GraphQLResolveInfo, clip_id: int, started_at: datetime,
                       ended_at: datetime, reason: str, payload: sig.SignaturePayload | None) -> ClipView:
    """VM-09: a changed time is recorded; the audit event keeps the old and new times with the reason."""
    ctx.signed_in()
    why = _text(reason, "reason", 2000, required=True)
    start, end, _ = _clip_times(started_at, ended_at, utcnow())
    async with ctx.db.read() as s:
        clip = (await _clips(s, [clip_id]))[0]
        _available([clip])
        if clip.started_at == start and clip.ended_at == end:
            raise AppError(ErrorCode.CONFLICT, "the clip already has these times")
        if abs(start - clip.started_at) > MAX_CORRECTION or abs(end - clip.ended_at) > MAX_CORRECTION:
            raise _fail("a time correction moves a clip by at most 24 hours")
    by = await check_signature(ctx, info, "correctVideoClipTime", payload)
    assert why is not None
    async with ctx.db.write(ctx.audit_context(why)) as s:
        clip = (await _clips(s, [clip_id]))[0]
        _available([clip])
        clip.started_at, clip.ended_at = start, end
        clip.time_source, clip.time_corrections = "CORRECTED", clip.time_corrections + 1
        await s.flush()
        await store_signature(s, by, "video_clip", str(clip.id), clip_content(clip))
        return (await views(s, [clip]))[0]


class Refused(Exception):
    """A refusal to be audited once the transaction that found it has rolled back."""

    def __init__(self, action: str, events: list[tuple[str, str, dict[str, Any]]], error: AppError) -> None:
        super().__init__(error.message)
        self.action, self.events, self.error = action, events, error


async def _audit_refusal(ctx: Context, r: Refused) -> AppError:
    """Record a refused change in its own transaction (nothing else is written); returns the error."""
    await ctx.db.record(ctx.audit_context(), *(PendingEvent(r.action, entity, eid, changes)
                                               for entity, eid, changes in r.events))
    return r.error


async def set_clip_retention(ctx: Context, info: GraphQLResolveInfo, clip_id: int, retention_class: str,
                             reason: str, payload: sig.SignaturePayload | None) -> ClipView:
    """Raise a clip's retention class; lowering it is refused and the refusal audited."""
    ctx.signed_in()
    _one_of(retention_class, RETENTION_CLASSES, "retentionClass")
    why = _text(reason, "reason", 2000, required=True)
    assert why is not None

    async def check(s: AsyncSession) -> VideoClip:
        clip = (await _clips(s, [clip_id]))[0]
        _available([clip])
        if retention_class == clip.retention_class:
            raise AppError(ErrorCode.CONFLICT, f"clip {clip.id} is already retained as {retention_class}")
        if RANK[retention_class] < RANK[clip.retention_class]:
            raise Refused("RETENTION_LOWERING_REFUSED", [("video_clip", str(clip.id), {
                "retentionClass": [clip.retention_class, retention_class], "reason": why})],
                AppError(ErrorCode.CONFLICT, f"clip {clip.id} is retained as {clip.retention_class}: "
                         "a retention class can only be raised", reason="RETENTION_CANNOT_BE_LOWERED"))
        if retention_class == "PRODUCT_EXPIRY" and not (await linked_batches(s, [clip]))[clip.id]:
            raise _fail("PRODUCT_EXPIRY needs a product: the clip has no batch and no linked record with one; "
                        "choose PERMANENT")
        return clip

    try:
        async with ctx.db.read() as s:
            await check(s)
        by = await check_signature(ctx, info, "setVideoClipRetention", payload)
        async with ctx.db.write(ctx.audit_context(why)) as s:
            clip = await check(s)
            clip.retention_class = retention_class
            await s.flush()
            await store_signature(s, by, "video_clip", str(clip.id), clip_content(clip))
            return (await views(s, [clip]))[0]
    except Refused as r:
        raise await _audit_refusal(ctx, r) from None


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
    return {"id": e.id, "recordKind": e.record_kind, "recordRef": e.record_ref, "batch": e.batch_id,
            "permanent": e.permanent, "clips": sorted(clip_ids)}


async def link_clips(ctx: Context, info: GraphQLResolveInfo, spec: LinkSpec,
                     payload: sig.SignaturePayload | None) -> tuple[VideoEvidence, list[ClipView]]:
    """VM-07/VM-04: clips (by ids, or by camera and time range) become evidence of a deviation, key change
    or key validation; their retention rises to product expiry + 1 year, or permanent."""
    p = ctx.signed_in()
    _one_of(spec.record_kind, RECORD_KINDS, "recordKind")
    ref = _text(spec.record_ref, "recordRef", 64, required=True)
    why = _text(spec.reason, "reason", 2000, required=True)
    assert ref is not None and why is not None
    by_range = spec.camera_code is not None or spec.since is not None or spec.until is not None
    since: datetime | None = None
    until: datetime | None = None
    if by_range:
        if spec.camera_code is None or spec.since is None or spec.until is None:
            raise _fail("a time range link names the camera, from and to")
        since, until = _aware(spec.since, "from"), _aware(spec.until, "to")
        if until <= since:
            raise _fail("the time range ends before it starts")
    elif not spec.clip_ids:
        raise _fail("name the clips (clipIds) or a camera and time range")

    async def prepare(s: AsyncSession) -> tuple[int | None, int | None, int | None, list[VideoClip]]:
        dev_id = batch_id = cam_id = None
        if spec.record_kind == "DEVIATION":
            dev = (await s.execute(select(Deviation).where(Deviation.number == ref))).scalar_one_or_none()
            if dev is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no deviation {ref}")
            dev_id, batch_id = dev.id, dev.batch_id
        batch_id = await _batch_id(s, spec.batch_number) or batch_id
        clips = await _clips(s, spec.clip_ids) if spec.clip_ids else []
        if by_range:
            cam = await _camera(s, spec.camera_code or "")
            cam_id = cam.id
            found = list((await s.execute(select(VideoClip).where(
                VideoClip.camera_id == cam.id, VideoClip.ended_at >= since, VideoClip.started_at <= until,
                VideoClip.status == "AVAILABLE").order_by(VideoClip.id))).scalars())
            if not found:
                raise AppError(ErrorCode.NOT_FOUND, f"no available clip of camera {cam.code} in that time range")
            clips = sorted({c.id: c for c in (*clips, *found)}.values(), key=lambda c: c.id)
        _available(clips)
        return dev_id, batch_id, cam_id, clips

    async with ctx.db.read() as s:
        await prepare(s)
    by = await check_signature(ctx, info, "linkVideoClips", payload)
    async with ctx.db.write(ctx.audit_context(why)) as s:
        dev_id, batch_id, cam_id, clips = await prepare(s)
        ev = VideoEvidence(record_kind=spec.record_kind, record_ref=ref, deviation_id=dev_id, batch_id=batch_id,
                           camera_id=cam_id, range_from=since, range_to=until, permanent=spec.permanent,
                           linked_by=p.username,
                           linked_at=utcnow(), reason=why)
        s.add(ev)
        await s.flush()
        for c in clips:
            s.add(VideoEvidenceClip(evidence_id=ev.id, clip_id=c.id))
            product = batch_id is not None or c.batch_id is not None
            target = "PERMANENT" if spec.permanent or not product else "PRODUCT_EXPIRY"
            if RANK[target] > RANK[c.retention_class]:
                c.retention_class = target
        await s.flush()
        await store_signature(s, by, "video_evidence", str(ev.id), evidence_content(ev, [c.id for c in clips]))
        return ev, await views(s, clips)


async def purge_clips(ctx: Context, info: GraphQLResolveInfo, clip_ids: Sequence[int], reason: str,
                      payload: sig.SignaturePayload | None) -> tuple[VideoPurge, list[ClipView]]:
    """Destroy clips whose retention has ended (all or none). A clip still retained refuses the whole
    purge with CONFLICT (extensions.reason UNDER_RETENTION), audited as PURGE_REFUSED per clip."""
    p = ctx.signed_in()
    why = _text(reason, "reason", 2000, required=True)
    assert why is not None

    async def check(s: AsyncSession) -> list[VideoClip]:
        clips = await _clips(s, clip_ids)
        _available(clips)
        now = utcnow()
        ret = await retention_of(s, clips)
        held = [(c, ret[c.id]) for c in clips if not ret[c.id].purgeable(now)]
        if held:
            detail = [{"id": c.id, "retentionClass": r.retention_class,
                       "retainUntil": iso(r.retain_until) if r.retain_until else None, "basis": r.basis}
                      for c, r in held]
            raise Refused("PURGE_REFUSED", [("video_clip", str(d["id"]), {**d, "reason": why}) for d in detail],
                          AppError(ErrorCode.CONFLICT, f"{len(held)} of {len(clips)} clips are still under retention; "
                                   "nothing was purged", reason="UNDER_RETENTION", clips=detail))
        return clips

    try:
        async with ctx.db.read() as s:
            await check(s)
        by = await check_signature(ctx, info, "purgeVideoClips", payload)
        async with ctx.db.write(ctx.audit_context(why)) as s:
            clips = await check(s)
            purge = VideoPurge(purged_by=p.username, purged_at=utcnow(), reason=why, clip_count=len(clips))
            s.add(purge)
            await s.flush()
            for c in clips:
                c.status, c.purge_id = "PURGED", purge.id
            await s.flush()
            await store_signature(s, by, "video_purge", str(purge.id),
                                  {"id": purge.id, "clips": [c.id for c in clips], "reason": why})
            return purge, await views(s, clips)
    except Refused as r:
        raise await _audit_refusal(ctx, r) from None


async def set_retention_policy(ctx: Context, info: GraphQLResolveInfo, standard_months: int, key_months: int,
                               reason: str, payload: sig.SignaturePayload | None) -> RetentionPolicy:
    """VM-02/VM-03: the retention settings, never under 3 months (all video) and 12 months (key video)."""
    ctx.signed_in()
    why = _text(reason, "reason", 2000, required=True)
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
        raise await _audit_refusal(ctx, Refused("SETTING_REFUSED", [("setting", SETTING_KEY, {
            "standardMonths": standard_months, "keyMonths": key_months, "problem": problem})], _fail(problem)))
    by = await check_signature(ctx, info, "setVideoRetentionPolicy", payload)
    value = {"standardMonths": standard_months, "keyMonths": key_months}
    async with ctx.db.write(ctx.audit_context(why)) as s:
        row = await s.get(Setting, SETTING_KEY)
        if row is None:
            s.add(Setting(key=SETTING_KEY, value=value))
        else:
            row.value = value
        await s.flush()
        await store_signature(s, by, "setting", SETTING_KEY, value)
    return RetentionPolicy(standard_months, key_months)


# --- search (VM-08, VM-10, VM-11) ---------------------------------------------------------------------

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
    if f.camera_code:
        q = q.where(VideoClip.camera_id == select(Camera.id).where(Camera.code == f.camera_code).scalar_subquery())
    if f.room_code:
        q = q.where(VideoClip.room_id == select(Room.id).where(Room.code == f.room_code).scalar_subquery())
    if f.since:
        q = q.where(VideoClip.ended_at >= _aware(f.since, "from"))
    if f.until:
        q = q.where(VideoClip.started_at <= _aware(f.until, "to"))
    if f.record_ref:
        q = q.where(VideoClip.id.in_(select(VideoEvidenceClip.clip_id).join(
            VideoEvidence, VideoEvidence.id == VideoEvidenceClip.evidence_id).where(
            VideoEvidence.record_ref == f.record_ref)))
    if f.retention_class:
        q = q.where(VideoClip.retention_class == f.retention_class)
    return q


async def search(s: AsyncSession, f: ClipFilter, limit: int, offset: int) -> tuple[list[ClipView], int, bool]:
    """Clips overlapping the time range and matching every index given, in time order."""
    _one_of(f.category, CATEGORIES, "category")
    _one_of(f.movement, MOVEMENTS, "movement")
    _one_of(f.retention_class, RETENTION_CLASSES, "retentionClass")
    q = _query(f)
    total = (await s.execute(select(func.count()).select_from(q.subquery()))).scalar_one()
    rows = list((await s.execute(q.order_by(VideoClip.started_at, VideoClip.id).offset(offset).limit(limit + 1)))
                .scalars())
    return await views(s, rows[:limit]), int(total), len(rows) > limit


async def clip(s: AsyncSession, clip_id: int) -> ClipView | None:
    c = await s.get(VideoClip, clip_id)
    return (await views(s, [c]))[0] if c else None


# --- video analytics (VM-12) --------------------------------------------------------------------------

@dataclass(frozen=True)
class AnalyticsResult:
    alarm_id: int
    duplicate: bool
    camera_code: str
    room_code: str
    condition: str
    priority: str
    at: datetime
    message: str


async def analytics_event(ctx: Context, kind: str, camera_code: str, at: datetime, detail: str | None,
                          person_count: int | None, confidence: float | None) -> AnalyticsResult:
    """An event of the video-analytics source becomes a momentary alarm linked to camera, room and time.

    A machine posts it (the device bridge's service account): no e-signature. A resend of the same event
    (camera, kind, time) answers with the alarm already raised."""
    ctx.signed_in()
    _one_of(kind, tuple(ANALYTICS), "kind")
    when = _aware(at, "at")
    if when > utcnow() + CLOCK_TOLERANCE:
        raise _fail("the event is later than the plant clock: check the analytics source's time synchronisation")
    text = _text(detail, "detail", 500)
    if person_count is not None and not 0 <= person_count <= 1000:
        raise _fail("personCount is between 0 and 1000")
    if confidence is not None and not 0 <= confidence <= 1:
        raise _fail("confidence is between 0 and 1")
    priority, label = ANALYTICS[kind]
    async with ctx.db.read() as s:
        cam = await _camera(s, camera_code)
        if not cam.active:
            raise AppError(ErrorCode.CONFLICT, f"camera {cam.code} is retired")
        room = await s.get_one(Room, cam.room_id)
        eq_code = (await s.get_one(Equipment, cam.equipment_id)).code if cam.equipment_id else None
        posts = list((await s.execute(select(KeyPost.name).join(CameraKeyPost).where(
            CameraKeyPost.camera_id == cam.id).order_by(KeyPost.code))).scalars())
        same = (await s.execute(select(Alarm).where(
            Alarm.source == "VIDEO", Alarm.camera_code == cam.code, Alarm.condition == kind,
            Alarm.raised_at == when))).scalars().first()
    if same is not None:
        return AnalyticsResult(same.id, True, cam.code, room.code, kind, same.priority, same.raised_at, same.message)
    parts = [f"{label}: camera {cam.code} ({cam.name}) in {room.code} {room.name}"]
    if posts:
        parts.append("post " + ", ".join(posts))
    if person_count is not None:
        parts.append(f"{person_count} people seen")
    if confidence is not None:
        parts.append(f"confidence {confidence:.2f}")
    if text:
        parts.append(text)
    message = "; ".join(parts)
    try:
        alarm_id = await ctx.services.alarms.raise_event(
            source="VIDEO", condition=kind, room_code=room.code, message=message, priority=priority,
            camera_code=cam.code, equipment_code=eq_code, at=when, actor=ctx.audit_context("video analytics event"))
    except KeyError as exc:
        raise AppError(ErrorCode.CONFLICT, f"the alarm service does not know room {room.code} yet") from exc
    return AnalyticsResult(alarm_id, False, cam.code, room.code, kind, priority.value, when, message)


# --- demo inventory -------------------------------------------------------------------------------------

# (code, name, category, room, equipment or None)
DEMO_KEY_POSTS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("KP-RCV-INSPECT", "Plasma incoming inspection", "KEY_OPERATION", "RCV", None),
    ("KP-RCV-SAMPLE", "Raw plasma sampling", "MANUAL_SAMPLING", "RCV", None),
    ("KP-THP-CHARGE", "Raw plasma charging", "KEY_WORKSTATION", "THP", "EQ-THP-01"),
    ("KP-THP-POOL", "Plasma pooling", "KEY_WORKSTATION", "THP", "EQ-THP-02"),
    ("KP-THP-SAMPLE", "Pooled plasma sampling", "MANUAL_SAMPLING", "THP", "EQ-THP-02"),
    ("KP-VIN-INACT", "Virus inactivation", "KEY_OPERATION", "VIN", "EQ-VIN-01"),
    ("KP-FBG-FORM", "Bulk formulation", "KEY_OPERATION", "FBG", "EQ-FBG-01"),
    ("KP-FIL-FILL", "Aseptic filling", "KEY_WORKSTATION", "FIL", "EQ-FIL-01"),
    ("KP-FIL-ASSY", "Aseptic filling part assembly", "MANUAL_INTERVENTION", "FIL", "EQ-FIL-01"),
    ("KP-QCL-VIRUS", "Plasma virus-screening testing", "KEY_WORKSTATION", "QCL", None),
    ("KP-QCL-ANTIBODY", "Antibody testing", "KEY_WORKSTATION", "QCL", None),
    ("KP-QCM-BSC", "Release testing in the biosafety cabinet", "MANUAL_INTERVENTION", "QCM", "EQ-QCM-01"),
)

# (code, name, room, x, y, device type, direction, field of view, equipment or None, key posts)
DEMO_CAMERAS: tuple[tuple[str, str, str, float, float, str, float, float, str | None, tuple[str, ...]], ...] = (
    ("CAM-RCV-01", "Receipt dock and inspection bench", "RCV", 2.0, 12.0, "DOME", 90, 110, None,
     ("KP-RCV-INSPECT", "KP-RCV-SAMPLE")),
    ("CAM-CS1-01", "Cold store 1 racks", "CS1", 20.0, 2.0, "WIDE_ANGLE", 135, 120, None, ()),
    ("CAM-CS2-01", "Cold store 2 racks", "CS2", 32.0, 2.0, "WIDE_ANGLE", 135, 120, None, ()),
    ("CAM-THP-01", "Thawing and pooling tanks", "THP", 52.0, 2.0, "FIXED", 180, 90, "EQ-THP-02",
     ("KP-THP-CHARGE", "KP-THP-POOL")),
    ("CAM-THP-02", "Pool sampling point", "THP", 60.0, 10.0, "PTZ", 270, 60, "EQ-THP-02", ("KP-THP-SAMPLE",)),
    ("CAM-VIN-01", "Virus inactivation tanks", "VIN", 31.0, 28.0, "FIXED", 180, 90, "EQ-VIN-01", ("KP-VIN-INACT",)),
    ("CAM-FBG-01", "Formulation tank", "FBG", 42.0, 34.0, "FIXED", 90, 80, "EQ-FBG-01", ("KP-FBG-FORM",)),
    ("CAM-FIL-01", "Filling line and RABS", "FIL", 76.0, 28.0, "WIDE_ANGLE", 180, 120, "EQ-FIL-01",
     ("KP-FIL-FILL", "KP-FIL-ASSY")),
    ("CAM-QCL-01", "Virus and antibody testing benches", "QCL", 26.0, 60.0, "PTZ", 90, 70, None,
     ("KP-QCL-VIRUS", "KP-QCL-ANTIBODY")),
    ("CAM-QCM-01", "Biosafety cabinet (work surface and display)", "QCM", 48.0, 60.0, "PTZ", 90, 45,
     "EQ-QCM-01", ("KP-QCM-BSC",)),
)


async def seed_demo_cameras(db: Database) -> int:
    """Create the demo key posts and cameras once (after the demo plant); returns how many were added.
    Rooms or equipment missing from the plant are skipped."""
    added = 0
    async with db.write(AuditContext("system", reason="initial configuration")) as s:
        rooms = dict((await s.execute(select(Room.code, Room.id))).all())
        eq = dict((await s.execute(select(Equipment.code, Equipment.id))).all())
        posts = dict((await s.execute(select(KeyPost.code, KeyPost.id))).all())
        for code, name, category, room, equipment in DEMO_KEY_POSTS:
            if code in posts or room not in rooms:
                continue
            k = KeyPost(code=code, name=name, category=category, room_id=rooms[room],
                        equipment_id=eq.get(equipment or ""), active=True)
            s.add(k)
            await s.flush()
            posts[code] = k.id
            added += 1
        have = set((await s.execute(select(Camera.code))).scalars())
        for code, name, room, x, y, kind, direction, fov, equipment, kps in DEMO_CAMERAS:
            if code in have or room not in rooms:
                continue
            cam = Camera(code=code, name=name, room_id=rooms[room], equipment_id=eq.get(equipment or ""), x=x, y=y,
                         device_type=kind, direction_deg=float(direction), field_of_view_deg=float(fov),
                         resolution="1920x1080" if kind != "PTZ" else "3840x2160",
                         stream_uri=f"rtsp://vms.demo.local/{code}", risk_assessment_ref="RA-VID-001",
                         validation_ref="VAL-VID-001", active=True)
            s.add(cam)
            await s.flush()
            for kp in kps:
                if kp in posts:
                    s.add(CameraKeyPost(camera_id=cam.id, key_post_id=posts[kp]))
            added += 1
    return added
