"""Key posts and cameras (VM-01, VM-05, VM-06): the GMP configuration of video monitoring, each change
signed, and the key-post coverage it gives."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plant import Area, Equipment, Plant, Room
from records.video import Camera, CameraKeyPost, KeyPost
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform
from resolvers.video.checks import (
    DEVICE_TYPES,
    KEY_CATEGORIES,
    find_camera,
    find_equipment_id,
    find_key_posts,
    find_room,
    invalid,
    one_of,
    valid_code,
    valid_reason,
    valid_text,
    valid_uri,
)

RESOLUTION = re.compile(r"^\d{2,5}x\d{2,5}$")


# --- views ------------------------------------------------------------------------------------------

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


async def read_cameras(ctx: Context, room_code: str | None = None) -> list[CameraView]:
    async with ctx.db.read() as s:
        return await camera_views(s, room_code)


async def read_key_posts(ctx: Context, room_code: str | None = None) -> list[KeyPostView]:
    async with ctx.db.read() as s:
        return await key_post_views(s, room_code)


async def read_coverage(ctx: Context) -> Coverage:
    async with ctx.db.read() as s:
        return await coverage(s)


# --- the floor plan ---------------------------------------------------------------------------------

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




async def _place(s: AsyncSession, room: Room, x: float, y: float) -> None:
    plant = (await s.execute(select(Plant).join(Area, Area.plant_id == Plant.id).where(Area.id == room.area_id))
             ).scalars().first()
    if plant is not None and not (0 <= x <= plant.width and 0 <= y <= plant.height):
        raise invalid(f"({x:g}, {y:g}) is outside the floor plan ({plant.width:g} x {plant.height:g} m)")
    if not inside(room.polygon, x, y):
        raise invalid(f"({x:g}, {y:g}) is not in room {room.code} on the floor plan")


# --- key posts (signed) -----------------------------------------------------------------------------

def key_post_content(k: KeyPost, room_code: str) -> dict[str, Any]:
    """What a signature on a key post is bound to."""
    return {"code": k.code, "name": k.name, "category": k.category, "room": room_code, "active": k.active}


async def _key_post_is_new(s: AsyncSession, code: str) -> None:
    if (await s.execute(select(KeyPost.id).where(KeyPost.code == code))).first():
        raise AppError(ErrorCode.CONFLICT, f"key post {code} already exists")


async def define_key_post(ctx: Context, req: SignedRequest, code: str, name: str, category: str,
                          room_code: str, equipment_code: str | None, description: str | None) -> KeyPostView:
    ctx.signed_in()

    async def clean() -> tuple[dict[str, Any], str]:
        """The new key post's columns, and its room's code."""
        key = valid_code(code, "key post")
        columns: dict[str, Any] = {
            "code": key, "name": valid_text(name, "name", 200, required=True),
            "category": one_of(category, KEY_CATEGORIES, "a key post's category"),
            "description": valid_text(description, "description", 2000)}
        async with ctx.db.read() as s:
            room = await find_room(s, room_code)
            eq_id = await find_equipment_id(s, equipment_code, room)
            await _key_post_is_new(s, key)
        return {**columns, "room_id": room.id, "equipment_id": eq_id}, room.code

    async def save(s: AsyncSession, new: tuple[dict[str, Any], str],
                   signatures: Signatures[tuple[dict[str, Any], str]]) -> KeyPostView:
        columns, room = new
        await _key_post_is_new(s, columns["code"])
        k = KeyPost(**columns, active=True)
        s.add(k)
        await s.flush()
        await signatures.bind(s, "video_key_post", str(k.id), key_post_content(k, room))
        return KeyPostView(k, room, equipment_code or None, [])

    return await perform(ctx, req, reason="key post defined", clean=clean, save=save, meanings=("APPROVED",))


# --- cameras (signed) -------------------------------------------------------------------------------

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
    """What a signature on a camera is bound to."""
    return {"code": c.code, "name": c.name, "room": room_code, "x": c.x, "y": c.y, "deviceType": c.device_type,
            "resolution": c.resolution, "keyPosts": sorted(key_posts), "validationRef": c.validation_ref,
            "active": c.active}


def _camera_fields(spec: CameraSpec) -> dict[str, Any]:
    """Validate the plain fields of a spec; returns those given, by column name."""
    out: dict[str, Any] = {}
    if spec.name is not None:
        out["name"] = valid_text(spec.name, "name", 200, required=True)
    if spec.device_type is not None:
        out["device_type"] = one_of(spec.device_type, DEVICE_TYPES, "deviceType")
    out.update(_camera_view_fields(spec))
    if spec.stream_uri is not None:
        out["stream_uri"] = valid_uri(spec.stream_uri, "streamUri")
    if spec.risk_assessment_ref is not None:
        out["risk_assessment_ref"] = valid_text(spec.risk_assessment_ref, "riskAssessmentRef", 64)
    if spec.validation_ref is not None:
        out["validation_ref"] = valid_text(spec.validation_ref, "validationRef", 64)
    if spec.active is not None:
        out["active"] = spec.active
    return out


def _camera_view_fields(spec: CameraSpec) -> dict[str, Any]:
    """Validate what the camera sees (direction, field of view, resolution); returns those given."""
    out: dict[str, Any] = {}
    if spec.direction_deg is not None:
        if not 0 <= spec.direction_deg < 360:
            raise invalid("directionDeg is between 0 and 360 (clockwise)")
        out["direction_deg"] = float(spec.direction_deg)
    if spec.field_of_view_deg is not None:
        if not 0 < spec.field_of_view_deg <= 360:
            raise invalid("fieldOfViewDeg is above 0 and at most 360")
        out["field_of_view_deg"] = float(spec.field_of_view_deg)
    if spec.resolution is not None:
        if not RESOLUTION.match(spec.resolution.strip()):
            raise invalid("resolution is WIDTHxHEIGHT in pixels, e.g. 1920x1080")
        out["resolution"] = spec.resolution.strip()
    return out


async def register_camera(ctx: Context, req: SignedRequest, code: str, spec: CameraSpec) -> CameraView:
    ctx.signed_in()

    async def placed(s: AsyncSession, camera_code: str) -> tuple[Room, int | None, list[KeyPost]]:
        """Where the camera goes and what it watches, checked against the plant."""
        assert spec.room_code is not None and spec.x is not None and spec.y is not None
        room = await find_room(s, spec.room_code)
        await _place(s, room, spec.x, spec.y)
        eq_id = await find_equipment_id(s, spec.equipment_code, room)
        posts = await find_key_posts(s, spec.key_post_codes or (), room)
        if (await s.execute(select(Camera.id).where(Camera.code == camera_code))).first():
            raise AppError(ErrorCode.CONFLICT, f"camera {camera_code} already exists")
        return room, eq_id, posts

    async def clean() -> tuple[str, dict[str, Any]]:
        """The camera's code and its plain fields."""
        checked = valid_code(code, "camera")
        if spec.name is None or spec.room_code is None or spec.x is None or spec.y is None or spec.device_type is None:
            raise invalid("a camera needs a name, a room, a position and a device type")
        fields = _camera_fields(spec)
        async with ctx.db.read() as s:
            await placed(s, checked)
        return checked, fields

    async def save(s: AsyncSession, new: tuple[str, dict[str, Any]],
                   signatures: Signatures[tuple[str, dict[str, Any]]]) -> CameraView:
        camera_code, fields = new
        room, eq_id, posts = await placed(s, camera_code)
        assert spec.x is not None and spec.y is not None
        cam = Camera(code=camera_code, room_id=room.id, equipment_id=eq_id, x=float(spec.x), y=float(spec.y),
                     **{"active": True, **fields})
        s.add(cam)
        await s.flush()
        for k in posts:
            s.add(CameraKeyPost(camera_id=cam.id, key_post_id=k.id))
        await s.flush()
        await signatures.bind(s, "video_camera", str(cam.id), camera_content(cam, room.code, [k.code for k in posts]))
        return CameraView(cam, room.code, spec.equipment_code or None, sorted(posts, key=lambda k: k.code))

    return await perform(ctx, req, reason="camera registered", clean=clean, save=save, meanings=("PERFORMED",))


async def update_camera(ctx: Context, req: SignedRequest, code: str, spec: CameraSpec, reason: str) -> CameraView:
    """Move, re-aim, re-map or retire a camera; every change is audited with the reason."""
    ctx.signed_in()

    async def placed(s: AsyncSession) -> tuple[Camera, Room, int | None, list[KeyPost] | None]:
        """The camera, where it will be and what it will watch (None: its key posts unchanged)."""
        cam = await find_camera(s, code)
        room = await find_room(s, spec.room_code) if spec.room_code else await s.get_one(Room, cam.room_id)
        x = spec.x if spec.x is not None else cam.x
        y = spec.y if spec.y is not None else cam.y
        if spec.room_code or spec.x is not None or spec.y is not None:
            await _place(s, room, x, y)
        eq_id = await _watched_equipment(s, spec, cam, room)
        posts = await _watched_key_posts(s, spec, cam, room)
        return cam, room, eq_id, posts

    async def clean() -> dict[str, Any]:
        """The plain fields that change."""
        valid_reason(reason)
        fields = _camera_fields(spec)
        async with ctx.db.read() as s:
            await placed(s)
        return fields

    async def save(s: AsyncSession, fields: dict[str, Any], signatures: Signatures[dict[str, Any]]) -> CameraView:
        cam, room, eq_id, posts = await placed(s)
        cam.room_id, cam.equipment_id = room.id, eq_id
        if spec.x is not None:
            cam.x = float(spec.x)
        if spec.y is not None:
            cam.y = float(spec.y)
        for k, v in fields.items():
            setattr(cam, k, v)
        if posts is not None:
            await _map_key_posts(s, cam, posts)
        await s.flush()
        view = (await camera_views(s, code=cam.code))[0]
        await signatures.bind(s, "video_camera", str(cam.id),
                              camera_content(cam, room.code, [k.code for k in view.key_posts]))
        return view

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, meanings=("PERFORMED",))


async def _watched_equipment(s: AsyncSession, spec: CameraSpec, cam: Camera, room: Room) -> int | None:
    """The equipment an updated camera watches: the one named ("" for none), else its current one,
    which must then be in the room it moves to."""
    if spec.equipment_code is not None:
        return await find_equipment_id(s, spec.equipment_code, room) if spec.equipment_code else None
    eq_id = cam.equipment_id
    if eq_id is not None and spec.room_code and (await s.get_one(Equipment, eq_id)).room_id != room.id:
        raise invalid("the camera's equipment is not in the new room: name the equipment it watches there")
    return eq_id


async def _watched_key_posts(s: AsyncSession, spec: CameraSpec, cam: Camera, room: Room) -> list[KeyPost] | None:
    """The key posts an updated camera watches, or None to keep its own, which a move to another room
    allows only when it has none."""
    if spec.key_post_codes is not None:
        return await find_key_posts(s, spec.key_post_codes, room)
    if spec.room_code and room.id != cam.room_id:
        current = list((await s.execute(select(KeyPost).join(CameraKeyPost).where(
            CameraKeyPost.camera_id == cam.id))).scalars())
        if current:
            raise invalid("the camera's key posts are not in the new room: name its keyPostCodes there")
    return None


async def _map_key_posts(s: AsyncSession, cam: Camera, posts: list[KeyPost]) -> None:
    """The camera's key-post links become exactly `posts`: links kept, dropped or added, never rewritten."""
    have = {m.key_post_id: m for m in (await s.execute(select(CameraKeyPost).where(
        CameraKeyPost.camera_id == cam.id))).scalars()}
    want = {k.id for k in posts}
    for kp_id, m in have.items():
        if kp_id not in want:
            await s.delete(m)
    for kp_id in want - set(have):
        s.add(CameraKeyPost(camera_id=cam.id, key_post_id=kp_id))
