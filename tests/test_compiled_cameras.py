"""Compiled reads (issue 12): `cameras(roomCode)` with their key posts, the control room's Cameras
document, answers what the normal path answers on SQLite and PostgreSQL, refusals included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from graphql import print_ast
from sqlalchemy import select

import tests.test_compiled as base
import tests.test_compiled_more as more_tests
from demo.cameras import seed_demo_cameras
from records.audit import AuditContext
from records.plant import Room
from records.video import Camera
from tests.conftest import GQL
from tests.test_compiled_clients import documents

World = base.World
world = base.world
same = more_tests.same

CAMERAS = """query($r: String) { cameras(roomCode: $r) { __typename code name roomCode x y deviceType directionDeg
  fieldOfViewDeg resolution equipmentCode streamUri riskAssessmentRef validationRef active
  keyPosts { code name category k: __typename } } }"""


@pytest_asyncio.fixture
async def cams(world: World) -> AsyncIterator[World]:
    assert await seed_demo_cameras(world.db) > 3
    async with world.db.write(AuditContext("system", reason="compiled read tests")) as s:
        room = (await s.execute(select(Room).order_by(Room.id))).scalars().first()
        assert room is not None
        s.add(Camera(code="CAM-A-BARE", name="No direction \"x\" µ", room_id=room.id, x=1.25, y=0.1,
                     device_type="FISHEYE", active=False, stream_uri="rtsp://cam/1", resolution="1080p"))
    yield world


async def test_cameras_equal_the_normal_path(cams: World) -> None:
    me = await GQL(cams.client).sign_in("op.one")
    answer = await same(cams, me, CAMERAS)
    cameras = answer["data"]["cameras"]
    assert cameras[0]["code"] == "CAM-A-BARE" and cameras[0]["directionDeg"] is None and cameras[0]["keyPosts"] == []
    assert any(len(c["keyPosts"]) > 1 for c in cameras) and any(c["equipmentCode"] for c in cameras)
    async with cams.db.read() as s:
        rooms = list((await s.execute(select(Room.code).order_by(Room.id))).scalars())
    sizes = [len((await same(cams, me, CAMERAS, {"r": r}))["data"]["cameras"]) for r in [*rooms, "NO-ROOM", ""]]
    assert sizes[-1] == len(cameras) and 0 in sizes
    await same(cams, me, print_ast(documents()["Cameras"]))  # as the app sends it
    assert more_tests._code(await same(cams, await GQL(cams.client).sign_in("bridge.one"), CAMERAS)) == "FORBIDDEN"
    token = await more_tests.issue_token(GQL(cams.client), cams.signers, "reg.one", products=["Albumin"])
    assert more_tests._code(await same(cams, token, CAMERAS)) == "OUT_OF_SCOPE"
