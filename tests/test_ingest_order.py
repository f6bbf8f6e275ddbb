"""POST /ingest with several batches of one bridge in flight: applied to the twin in the bridge's
order (session, seq), whatever order the requests arrive in; a refused batch does not hold up the
next; the wait is bounded; a body without seq is taken as it comes (twin/sequence.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import GQL
from twin.sequence import Sequencer

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _r(s: int) -> dict[str, Any]:
    at = (T0 + timedelta(seconds=s)).isoformat()
    return {"tag": "ORD-TT-01", "value": float(s), "quality": "GOOD", "sourceTime": at}


@pytest.fixture
async def core(env: Any) -> tuple[GQL, Any, list[float]]:
    """The app, a bridge's token, and the values in the order the twin was handed them."""
    gql, _, _ = env
    svc = gql.client.app_services
    applied: list[float] = []
    ingest = svc.twin.ingest

    def noted(tag: str, value: float | None, *args: Any) -> Any:
        applied.append(value)
        return ingest(tag, value, *args)

    svc.twin.ingest = noted
    return gql, await gql.sign_in("bridge.one"), applied


async def post(gql: GQL, bridge: GQL, readings: Any, **order: Any) -> Any:
    body = {"bridge": "area-1", "readings": readings, **order}
    return await gql.client.post("/ingest", json=body, headers={"authorization": f"Bearer {bridge.token}"})


async def started(coro: Any) -> asyncio.Task[Any]:
    task = asyncio.ensure_future(coro)
    await asyncio.sleep(0.1)  # the request is in and waiting for its turn
    return task


async def test_a_batch_that_overtakes_the_earlier_one_waits_for_it(core: Any) -> None:
    gql, bridge, applied = core
    second = await started(post(gql, bridge, [_r(2)], session="s1", seq=2, answered=0))
    assert applied == [] and not second.done()
    first = await post(gql, bridge, [_r(1)], session="s1", seq=1, answered=0)
    assert first.status_code == 200 and (await second).status_code == 200
    assert applied == [1.0, 2.0]
    # the session goes on: 4 before 3
    fourth = await started(post(gql, bridge, [_r(4)], session="s1", seq=4, answered=2))
    third = await post(gql, bridge, [_r(3)], session="s1", seq=3, answered=2)
    assert third.json()["accepted"] == 1 and (await fourth).json()["accepted"] == 1
    assert applied == [1.0, 2.0, 3.0, 4.0]
    # another session of the same bridge name is ordered on its own
    other = await post(gql, bridge, [_r(10)], session="s2", seq=1, answered=0)
    assert other.status_code == 200 and applied[-1] == 10.0


async def test_a_refused_batch_does_not_hold_up_the_next(core: Any) -> None:
    gql, bridge, applied = core
    svc = gql.client.app_services
    t0 = time.monotonic()
    second = await started(post(gql, bridge, [_r(2)], session="s", seq=2, answered=0))
    bad = await post(gql, bridge, "not a list", session="s", seq=1, answered=0)
    assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert (await second).status_code == 200 and applied == [2.0]
    # refused as busy: passes too
    backlog = iter([250_000])
    svc.twin.backlog = lambda: next(backlog, 0)
    fourth = await started(post(gql, bridge, [_r(4)], session="s", seq=4, answered=2))
    busy = await post(gql, bridge, [_r(3)], session="s", seq=3, answered=2)
    assert busy.status_code == 503 and busy.json()["errors"][0]["extensions"]["code"] == "BUSY"
    assert (await fourth).status_code == 200 and applied == [2.0, 4.0]
    assert time.monotonic() - t0 < 1.5  # neither waited out its bound


async def test_a_batch_waits_a_bounded_time_for_one_that_never_comes(core: Any) -> None:
    gql, bridge, applied = core
    t0 = time.monotonic()
    r = await post(gql, bridge, [_r(3)], session="lost", seq=3, answered=1)  # 2 never arrives
    waited = time.monotonic() - t0
    assert r.status_code == 200 and applied == [3.0] and 1.8 < waited < 5
    late = await post(gql, bridge, [_r(2)], session="lost", seq=2, answered=1)  # behind: at once
    assert late.status_code == 200 and applied == [3.0, 2.0]


async def test_bodies_without_seq_and_unknown_sessions_go_at_once(core: Any) -> None:
    gql, bridge, applied = core
    t0 = time.monotonic()
    old = await post(gql, bridge, [_r(1)])  # the body of bridges without a window
    assert old.status_code == 200 and old.json()["accepted"] == 1
    resumed = await post(gql, bridge, [_r(2)], session="core-restarted", seq=500)  # starts where it is
    assert resumed.status_code == 200 and applied == [1.0, 2.0] and time.monotonic() - t0 < 1.5
    for bad in ({"seq": 1}, {"session": "s"}, {"session": "s", "seq": 0}, {"session": "s", "seq": True},
                {"session": "", "seq": 1}, {"session": "s", "seq": 2, "answered": -1}):
        r = await post(gql, bridge, [_r(9)], **bad)
        assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", bad
    assert applied == [1.0, 2.0]


# ---- the sequencer itself -----------------------------------------------------------------------


async def test_sequencer_orders_bounds_and_forgets() -> None:
    order = Sequencer(wait=0.2, idle=60, limit=3)
    done: list[int] = []

    async def batch(seq: int, answered: int | None = 0, session: str = "a") -> None:
        async with order.turn("b", session, seq, answered):
            done.append(seq)

    await asyncio.gather(batch(3), batch(2), batch(1))
    assert done == [1, 2, 3] and order.waited_out == 0
    with pytest.raises(RuntimeError):  # a batch refused inside its turn still passes
        async with order.turn("b", "a", 4, 3):
            raise RuntimeError("refused")
    await batch(5, 4)
    await batch(7, 5)  # 6 never comes: bounded
    assert done == [1, 2, 3, 5, 7] and order.waited_out == 1
    await batch(8, None)  # `answered` is optional once the session is known
    assert done[-1] == 8
    for s in ("x", "y", "z"):
        await batch(1, 0, s)
    assert len(order) == 3  # at most `limit` sessions: the least recently used went
    order.idle = 0
    await batch(1, 0, "w")
    assert len(order) == 1  # idle ones are forgotten


async def test_a_reading_json_cannot_carry_exactly_is_refused_alone(core: Any) -> None:
    """NaN and integers past 64 bits are valid for Python's parser but not for orjson: the body is still
    read and only those readings are refused, by index, so a bridge never stalls on one bad value."""
    gql, bridge, applied = core
    body = ('{"bridge":"area-1","readings":[' + ",".join([
        '{"tag":"ORD-TT-01","value":NaN,"quality":"GOOD","sourceTime":"2026-12-01T08:00:01+00:00"}',
        '{"tag":"ORD-TT-01","value":123456789012345678901234567890,"quality":"GOOD",'
        '"sourceTime":"2026-12-01T08:00:02+00:00"}',
        '{"tag":"ORD-TT-01","value":3.5,"quality":"GOOD","sourceTime":"2026-12-01T08:00:03+00:00"}']) + "]}")
    r = await gql.client.post("/ingest", content=body, headers={"authorization": f"Bearer {bridge.token}",
                                                                 "content-type": "application/json"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["accepted"] == 2 and [x["index"] for x in answer["rejected"]] == [0]
    assert applied == [123456789012345678901234567890.0, 3.5]
    broken = await gql.client.post("/ingest", content=b'{"readings": [', headers={
        "authorization": f"Bearer {bridge.token}", "content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_a_big_batch_lets_others_run_between_its_chunks(core: Any) -> None:
    """2,000 readings in one turn held the core's sockets ~50 ms: a batch is applied in chunks, the event
    loop turning in between, with refusals still reported by their index in the whole batch."""
    from twin.ingest import CHUNK

    gql, bridge, applied = core
    turns = [0]
    seen_at: list[int] = []
    svc = gql.client.app_services
    noted = svc.twin.ingest

    def counting(tag: str, value: float | None, *args: Any) -> Any:
        seen_at.append(turns[0])
        return noted(tag, value, *args)

    svc.twin.ingest = counting

    async def spin() -> None:
        while True:
            turns[0] += 1
            await asyncio.sleep(0)

    spinner = asyncio.ensure_future(spin())
    try:
        readings = [_r(i) for i in range(3 * CHUNK)]
        readings[2 * CHUNK + 1] = {"tag": "ORD-TT-01", "value": "warm", "sourceTime": _r(0)["sourceTime"]}
        r = await post(gql, bridge, readings)
    finally:
        spinner.cancel()
    assert r.status_code == 200 and r.json()["accepted"] == 3 * CHUNK - 1
    assert [x["index"] for x in r.json()["rejected"]] == [2 * CHUNK + 1]
    assert applied == [float(i) for i in range(3 * CHUNK) if i != 2 * CHUNK + 1]  # in order
    assert seen_at[0] < seen_at[CHUNK] < seen_at[-1]  # the loop turned between the chunks
    assert seen_at[0] == seen_at[CHUNK - 1]  # but not within one
