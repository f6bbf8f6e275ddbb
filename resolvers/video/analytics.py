"""Video analytics (VM-12): an event of the analytics source becomes a momentary alarm linked to camera,
room and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from policies.errors import AppError, ErrorCode
from records.alarms import Alarm, Priority
from records.base import utcnow
from records.plant import Equipment, Room
from records.video import CameraKeyPost, KeyPost
from resolvers.context import Context
from resolvers.video.checks import CLOCK_TOLERANCE, aware, find_camera, invalid, one_of, valid_text


class VideoAnalyticsKind(StrEnum):
    """What a video-analytics source may report (VM-12); not stored: it becomes an alarm's condition."""

    MASK_MISSING = "MASK_MISSING"
    GOWN_MISSING = "GOWN_MISSING"
    OVER_OCCUPANCY = "OVER_OCCUPANCY"
    POST_ABSENT = "POST_ABSENT"


# Each kind's alarm priority and wording.
ANALYTICS: dict[str, tuple[Priority, str]] = {
    VideoAnalyticsKind.MASK_MISSING: (Priority.HIGH, "Mask not worn as required"),
    VideoAnalyticsKind.GOWN_MISSING: (Priority.HIGH, "Protective clothing not worn as required"),
    VideoAnalyticsKind.OVER_OCCUPANCY: (Priority.MEDIUM, "Too many people in the controlled area"),
    VideoAnalyticsKind.POST_ABSENT: (Priority.MEDIUM, "Staff absent from the post"),
}


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
    one_of(kind, tuple(ANALYTICS), "kind")
    when = aware(at, "at")
    if when > utcnow() + CLOCK_TOLERANCE:
        raise invalid("the event is later than the plant clock: check the analytics source's time synchronisation")
    text = valid_text(detail, "detail", 500)
    if person_count is not None and not 0 <= person_count <= 1000:
        raise invalid("personCount is between 0 and 1000")
    if confidence is not None and not 0 <= confidence <= 1:
        raise invalid("confidence is between 0 and 1")
    priority, label = ANALYTICS[kind]
    async with ctx.db.read() as s:
        cam = await find_camera(s, camera_code)
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

