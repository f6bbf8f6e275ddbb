"""Signed-mutation cases: video monitoring records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from records.audit import AuditContext
from records.video import VideoClip
from tests.attack.signed_cases.base import Case, World


def _at(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


CAM = {"code": "CAM-X", "name": "Cam", "roomCode": "R1", "x": 0, "y": 2.5, "deviceType": "PTZ"}


async def _kp(_: Any) -> dict[str, Any]:
    return {"code": "KP-X", "name": "Post", "category": "KEY_WORKSTATION", "roomCode": "R1"}


async def _cam(_: Any) -> dict[str, Any]:
    return dict(CAM)


async def _upd(w: World) -> dict[str, Any]:
    await w.call("sup.rsa", "registerCamera", CAM)
    return {"code": "CAM-X", "reason": "re-aim", "directionDeg": 45}


def _clip_input(start: int = -30, end: int = -20) -> dict[str, Any]:
    return {"cameraCode": "CAM-X", "startedAt": _at(start), "endedAt": _at(end),
            "playbackUri": "https://vms.local/x", "category": "GENERAL"}


async def _rec(w: World) -> dict[str, Any]:
    await w.call("sup.rsa", "registerCamera", CAM)
    return _clip_input()


async def _clip(w: World, days: int = 0) -> int:
    await w.call("sup.rsa", "registerCamera", CAM)
    await w.call("op.one", "recordVideoClip", _clip_input())
    async with w.db.read() as s:
        cid = int((await s.execute(select(func.max(VideoClip.id)))).scalar_one())
    if days:
        async with w.db.write(AuditContext("test", reason="age")) as s:
            c = await s.get_one(VideoClip, cid)
            c.started_at -= timedelta(days=days)
            c.ended_at -= timedelta(days=days)
    return cid


async def _correct(w: World) -> dict[str, Any]:
    return {"clipId": await _clip(w), "startedAt": _at(-31), "endedAt": _at(-21), "reason": "drift"}


async def _retain(w: World) -> dict[str, Any]:
    return {"clipId": await _clip(w), "retentionClass": "PERMANENT", "reason": "evidence"}


async def _link(w: World) -> dict[str, Any]:
    return {"recordKind": "CHANGE", "recordRef": "CC-1", "reason": "evidence", "clipIds": [await _clip(w)]}


async def _purge(w: World) -> dict[str, Any]:
    return {"clipIds": [await _clip(w, 100)], "reason": "expired"}


async def _policy(_: Any) -> dict[str, Any]:
    return {"standardMonths": 6, "keyMonths": 24, "reason": "SOP"}


CASES: dict[str, Case] = {
    "defineKeyPost": Case("qa.sig", _kp, "APPROVED"),
    "registerCamera": Case("sup.rsa", _cam),
    "updateCamera": Case("sup.rsa", _upd),
    "recordVideoClip": Case("op.one", _rec),
    "correctVideoClipTime": Case("sup.rsa", _correct),
    "setVideoClipRetention": Case("qa.sig", _retain, "APPROVED"),
    "linkVideoClips": Case("qa.sig", _link, "APPROVED"),
    "purgeVideoClips": Case("qa.sig", _purge, "APPROVED"),
    "setVideoRetentionPolicy": Case("qa.sig", _policy, "APPROVED"),
}
