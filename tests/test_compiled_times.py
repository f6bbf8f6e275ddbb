"""Compiled reads (issue 12): filters by time on `batches`, `alarms` and `auditTrail` bound as the UTC
column binds them (the text SQLite stores, a timestamptz on PostgreSQL), and the `coldRoomChecks`
connection, with the normal path's answers, bounds (from included, to excluded), cursors and refusals
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest_asyncio
from sqlalchemy import select

import tests.test_compiled_more as more_tests
from records.alarms import Alarm
from records.audit import AuditContext, AuditEvent
from records.plant import Room
from records.quality import ColdRoomCheck
from schema.relay import encode_cursor
from tests.conftest import GQL

World = more_tests.World
world = more_tests.world
more = more_tests.more
same = more_tests.same
walk = more_tests._walk
code_of = more_tests._code

CHECKS = """query($r: String, $first: Int, $after: String) {
  coldRoomChecks(roomCode: $r, first: $first, after: $after) { edges { cursor node { id roomCode temperature
  sensorTag sensorValue doorClosed activeAlarms conforming checkedBy checkedAt note } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }"""


@pytest_asyncio.fixture
async def checks(more: World) -> AsyncIterator[World]:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with more.db.write(AuditContext("system", reason="compiled read tests")) as s:
        rooms = list((await s.execute(select(Room.code).order_by(Room.id))).scalars())[:2]
        for i in range(9):
            s.add(ColdRoomCheck(room_code=rooms[i % 2], checked_at=t0 + timedelta(hours=i, microseconds=i % 2 * 7),
                                checked_by="op.one", temperature=4.0 + i / 4, sensor_tag=f"T-{i}" if i % 3 else None,
                                sensor_value=None if i % 3 == 0 else 4.1 + i, door_closed=i % 4 != 0,
                                active_alarms=i % 3, conforming=i % 5 != 0, note=None if i % 2 else f"note {i} \"q\""))
    yield more


def _iso(t: datetime) -> str:
    return t.isoformat()


async def test_alarm_and_audit_times_equal_the_normal_path(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    async with more.db.read() as s:
        raised = sorted((await s.execute(select(Alarm.raised_at))).scalars())
        occurred = sorted((await s.execute(select(AuditEvent.occurred_at))).scalars())
    mid, edge = raised[len(raised) // 2], raised[3]
    for f in [{"from": _iso(mid)}, {"to": _iso(mid)}, {"from": _iso(edge), "to": _iso(mid)},
              {"from": _iso(edge + timedelta(microseconds=1))},  # an alarm raised at `edge` is out
              {"from": edge.astimezone(timezone(timedelta(hours=2))).isoformat()},  # the same instant elsewhere
              {"from": _iso(mid), "active": True}, {"to": "1999-01-01T00:00:00Z"}]:
        cursors = await walk(more, me, more_tests.ALARMS, "alarms", {"f": f}, 3)
        answer = await same(more, me, more_tests.ALARMS, {"f": f, "first": 1})
        assert answer["data"]["alarms"]["totalCount"] == len(cursors), f
    at = occurred[len(occurred) // 2]
    for f in [{"from": _iso(at)}, {"to": _iso(at)}, {"from": _iso(occurred[0]), "to": _iso(at), "actor": "system"}]:
        await walk(more, me, more_tests.AUDIT, "auditTrail", {"f": f}, 40)
    counts = []
    for f in [{"from": _iso(edge)}, {"to": _iso(edge)}]:
        counts.append((await same(more, me, more_tests.ALARMS, {"f": f}))["data"]["alarms"]["totalCount"])
    assert sum(counts) == len(raised) and 0 < counts[1] < len(raised)  # from included, to excluded


async def test_batch_start_times_equal_the_normal_path(more: World) -> None:
    me = await GQL(more.client).sign_in("qa.one")
    for f in [{"startedFrom": "2026-04-01T06:00:00.5+00:00"}, {"startedFrom": "2026-04-01T06:00:00.500001+00:00"},
              {"startedTo": "2026-04-01T06:00:00.500001Z"}, {"startedTo": "2026-04-01T06:00:00.5Z"},
              {"startedFrom": "2000-01-01T00:00:00Z", "startedTo": "2100-01-01T00:00:00-05:00"}]:
        await walk(more, me, more_tests.BATCHES, "batches", {"f": f}, 3)
    answer = await same(more, me, more_tests.BATCHES, {"f": {"startedFrom": "2026-04-01T08:00:00.5+02:00",
                                                             "startedTo": "2026-04-01T06:00:00.6Z"}})
    assert [e["node"]["startedAt"] for e in answer["data"]["batches"]["edges"]] == ["2026-04-01T06:00:00.500000+00:00"]


async def test_cold_room_checks_equal_the_normal_path(checks: World) -> None:
    me = await GQL(checks.client).sign_in("op.one")
    async with checks.db.read() as s:
        ids = list((await s.execute(select(ColdRoomCheck.id).order_by(ColdRoomCheck.id.desc()))).scalars())
        rooms = list((await s.execute(select(Room.code).order_by(Room.id))).scalars())[:3]
    assert await walk(checks, me, CHECKS, "coldRoomChecks", {}, 2) == [encode_cursor("check", i) for i in ids]
    sizes = [len(await walk(checks, me, CHECKS, "coldRoomChecks", {"r": r}, 3)) for r in [*rooms, ""]]
    assert sizes == [5, 4, 0, 9]
    for variables in ({"first": 0}, {"first": 500}, {"first": -1}, {"after": "garbage"}):
        answer: dict[str, Any] = await same(checks, me, CHECKS, variables)
    assert code_of(answer) == "VALIDATION_FAILED"
    assert code_of(await same(checks, await GQL(checks.client).sign_in("bridge.one"), CHECKS)) == "FORBIDDEN"
    assert code_of(await same(checks, GQL(checks.client), CHECKS)) == "UNAUTHENTICATED"
    token = await more_tests.issue_token(GQL(checks.client), checks.signers, "reg.one", products=["Albumin"])
    assert code_of(await same(checks, token, CHECKS)) == "OUT_OF_SCOPE"
