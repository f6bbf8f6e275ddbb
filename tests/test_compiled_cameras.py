"""Compiled reads (issue 12): `cameras(roomCode)` with their key posts and `runningPhases(roomCode)`
(the control room's Cameras and Running documents) answer what the normal path answers on SQLite and
PostgreSQL, refusals and a scoped token's batches included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from graphql import print_ast
from sqlalchemy import select

import tests.test_compiled as base
import tests.test_compiled_more as more_tests
from demo.cameras import seed_demo_cameras
from records.audit import AuditContext
from records.execution import PhaseRun
from records.plant import Equipment, Room
from records.plasma import Batch
from records.recipe import Recipe
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


RUNNING = """query($r: String) { runningPhases(roomCode: $r) { __typename batchNumber product phaseCode phaseName
  equipmentCode roomCode startedAt startedBy } }"""


@pytest_asyncio.fixture
async def runs(world: World) -> AsyncIterator[World]:
    """Phases running and done, on equipment in several rooms, of batches with and without a recipe
    (one naming a phase twice, one without the phase)."""
    t0 = datetime(2026, 4, 2, 7, 0, tzinfo=UTC)
    async with world.db.write(AuditContext("system", reason="compiled read tests")) as s:
        eqs = (await s.execute(select(Equipment).order_by(Equipment.id))).scalars().all()
        batches = (await s.execute(select(Batch).order_by(Batch.id))).scalars().all()
        recipe = Recipe(code="MR-RUN", version=1, product="Albumin", name="r", change_note="r", batch_size=1.0,
                        batch_unit="L", procedure=[{"code": "P1", "name": "Thaw \"cold\" µ"},
                                                   {"code": "P2", "name": "Pool"}, {"code": "P1", "name": "Thaw 2"}],
                        drafted_by="t", drafted_at=t0)
        s.add(recipe)
        await s.flush()
        batches[0].recipe_id = batches[1].recipe_id = recipe.id
        for i, (batch, phase, status) in enumerate([
                (batches[0], "P1", "RUNNING"), (batches[0], "P2", "COMPLETED"), (batches[1], "P2", "RUNNING"),
                (batches[1], "P9", "RUNNING"), (batches[2], "P1", "RUNNING"), (batches[3], "X", "RUNNING")]):
            s.add(PhaseRun(batch_id=batch.id, phase_code=phase, status=status, equipment_id=eqs[i * 3 % len(eqs)].id,
                           pre_check={}, started_at=t0 - timedelta(minutes=i, microseconds=i * 3),
                           started_by="op.one"))
    yield world


async def test_running_phases_equal_the_normal_path(runs: World) -> None:
    me = await GQL(runs.client).sign_in("op.one")
    answer = await same(runs, me, RUNNING)
    phases = answer["data"]["runningPhases"]
    assert len(phases) == 5 and {p["phaseName"] for p in phases} >= {"Thaw 2", "Pool", "P9", "P1", "X"}
    for room in {p["roomCode"] for p in phases} | {"NO-ROOM", ""}:
        await same(runs, me, RUNNING, {"r": room})
    await same(runs, me, print_ast(documents()["Running"]))  # as the app sends it
    async with runs.db.read() as s:
        batches = (await s.execute(select(Batch).order_by(Batch.id))).scalars().all()
    seen = []
    for scope in ({"products": [batches[0].product]}, {"batchNumbers": [batches[1].batch_number]},
                  {"stations": ["NO-STATION"]}):
        token = await more_tests.issue_token(GQL(runs.client), runs.signers, "reg.one", **scope)
        seen.append(len((await same(runs, token, RUNNING))["data"]["runningPhases"]))
    assert seen[1] == 2 and seen[2] == 0 and seen[0] >= 1
    assert more_tests._code(await same(runs, await GQL(runs.client).sign_in("bridge.one"), RUNNING)) == "FORBIDDEN"
