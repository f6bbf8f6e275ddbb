"""Chattering alarms (issue 15; ISA-18.2, EEMUA 191): a tag whose alarm goes active and returns to normal 3 times
within 60 s (the settings alarms.chatterCount and alarms.chatterSeconds) is declared chattering: no new alarm
for it, recorded and audited (ALARM_CHATTERING), listed by the KPI report; the declaration ends after the value
has stayed normal for the window (ALARM_CHATTER_ENDED), or when an excursion has lasted the window, which is
then raised with the time it began. A steady excursion of another tag is raised as always."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from records.alarms import Alarm, AlarmChatter
from records.audit import AuditContext, AuditEvent
from records.plant import Room, Sensor
from tests.test_alarm_records import _ingest, recording
from tests.test_users import set_setting
from twin.alarm_rules import AlarmEngine, Chatter, Rule

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
FLAP, STEADY = "CH1-TT-101", "CH1-TT-102"
KPIS = """query($s: DateTime!) { alarmKpis(since: $s) { chattering { source alarms }
  chatteringNow { tag declaredAt alarms windowSeconds } } }"""


def _at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def _flaps(start: float, times: int, every: float = 4.0) -> list[tuple[float, float]]:
    """(second, value): above the 10 degree limit, then back below it past the deadband, `times` times."""
    out = []
    for i in range(times):
        out += [(start + every * i, 12.0), (start + every * i + every / 2, 8.0)]
    return out


def test_the_engine_declares_a_flapping_tag_chattering_and_raises_a_lasting_excursion_when_it_ends() -> None:
    eng = AlarmEngine({FLAP: Rule(FLAP, high=10.0, deadband=0.5)}, chatter=Chatter(3, timedelta(seconds=60)))
    kinds = [t.kind for s, v in _flaps(0, 6) for t in eng.feed(FLAP, v, _at(s))]
    assert kinds == ["RAISED", "CLEARED"] * 2 + ["RAISED", "CLEARED", "CHATTERING"]  # 3 alarms, then quiet
    assert eng.chattering() == {FLAP: _at(10)}
    # Out of limits for the whole window while declared: a steady excursion, raised with the time it began.
    assert eng.feed(FLAP, 12.0, _at(30)) == [] and eng.feed(FLAP, 12.5, _at(60)) == []
    ended, raised = eng.feed(FLAP, 13.0, _at(90))
    assert (ended.kind, raised.kind, raised.since, raised.at) == ("CHATTER_ENDED", "RAISED", _at(30), _at(90))
    assert eng.active() == {FLAP: "HIGH"} and eng.chattering() == {}
    # Without detection (the process engine), flapping alarms every time.
    plain = AlarmEngine({FLAP: Rule(FLAP, high=10.0)})
    assert sum(t.kind == "RAISED" for s, v in _flaps(0, 6) for t in plain.feed(FLAP, v, _at(s))) == 6


async def test_a_chattering_tag_is_declared_audited_listed_and_alarms_again_after_a_quiet_window(env: Any) -> None:
    gql, _, db = env
    async with db.write(AuditContext("system", reason="test room")) as s:
        room = (await s.execute(select(Room))).scalars().first()
        assert room is not None
        for tag in (FLAP, STEADY):
            s.add(Sensor(tag=tag, name="Product temperature", kind="temperature", unit="°C", room_id=room.id,
                         high_limit=10.0, alarm_delay_s=0, alarm_deadband=0.5, alarm_priority="MEDIUM"))
    async with recording(gql, db) as (svc, _):
        bridge = await gql.sign_in("bridge.one")

        async def send(*readings: tuple[str, float, float]) -> None:
            r = await _ingest(gql, bridge, [{"tag": t, "value": v, "quality": "GOOD", "sourceTime": _at(s).isoformat()}
                                            for t, s, v in readings])
            assert r.status_code == 200, r.text
            await svc.alarms.drain()

        async def alarms(tag: str) -> list[Alarm]:
            async with db.read() as s:
                return list((await s.execute(select(Alarm).where(Alarm.tag == tag).order_by(Alarm.id))).scalars())

        async def events(action: str) -> list[AuditEvent]:
            async with db.read() as s:
                return list((await s.execute(select(AuditEvent).where(AuditEvent.action == action))).scalars())

        # A probe with a loose contact flaps across its limit every 2 s for a minute; the other tag goes high and
        # stays there.
        await send(*[(FLAP, s, v) for s, v in _flaps(0, 15)], (STEADY, 0, 12.0), (STEADY, 30, 12.5))
        assert len(await alarms(FLAP)) == 3  # at most 3 alarms, then declared chattering
        (declared,) = await events("ALARM_CHATTERING")
        assert declared.entity_id == FLAP and declared.changes["alarms"] == [None, 3]
        assert declared.actor == "system"
        steady = await alarms(STEADY)
        assert [(a.state, a.began_at) for a in steady] == [("ACTIVE", _at(0))]  # raised as always
        op = await gql.sign_in("op.one")
        k = (await op(KPIS, {"s": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}))["data"]["alarmKpis"]
        assert [(c["tag"], c["alarms"], c["windowSeconds"]) for c in k["chatteringNow"]] == [(FLAP, 3, 60)]

        # Normal for the whole window: the declaration ends, and the next excursion alarms again.
        await send((FLAP, 70, 8.0), (FLAP, 100, 8.1), (FLAP, 131, 8.0))
        (ended,) = await events("ALARM_CHATTER_ENDED")
        assert ended.entity_id == FLAP
        async with db.read() as s:
            (row,) = (await s.execute(select(AlarmChatter))).scalars()
        assert row.ended_at == _at(131) and row.declared_at == _at(10)
        await send((FLAP, 140, 12.0))
        after = await alarms(FLAP)
        assert len(after) == 4 and after[-1].state == "ACTIVE" and after[-1].began_at == _at(140)
        k = (await op(KPIS, {"s": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}))["data"]["alarmKpis"]
        assert k["chatteringNow"] == []


async def test_an_excursion_in_progress_when_the_declaration_ends_is_raised_and_the_settings_apply(env: Any) -> None:
    gql, signers, db = env
    assert "errors" not in await set_setting(gql, signers, "alarms.chatterCount", 2, "two flaps are enough here")
    assert "errors" not in await set_setting(gql, signers, "alarms.chatterSeconds", 30, "fast loop")
    bad = await set_setting(gql, signers, "alarms.chatterCount", 1, "one is no chatter")
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    async with db.write(AuditContext("system", reason="test room")) as s:
        room = (await s.execute(select(Room))).scalars().first()
        assert room is not None
        s.add(Sensor(tag=FLAP, name="Product temperature", kind="temperature", unit="°C", room_id=room.id,
                     high_limit=10.0, alarm_delay_s=0, alarm_deadband=0.5, alarm_priority="MEDIUM"))
    async with recording(gql, db) as (svc, _):
        bridge = await gql.sign_in("bridge.one")
        assert svc.alarms.engine.chatter == Chatter(2, timedelta(seconds=30))
        readings = [*_flaps(0, 4), (20.0, 12.0), (35.0, 12.5), (51.0, 13.0)]
        r = await _ingest(gql, bridge, [{"tag": FLAP, "value": v, "quality": "GOOD", "sourceTime": _at(s).isoformat()}
                                        for s, v in readings])
        assert r.status_code == 200, r.text
        await svc.alarms.drain()
        async with db.read() as s:
            rows = list((await s.execute(select(Alarm).where(Alarm.tag == FLAP).order_by(Alarm.id))).scalars())
            (chatter,) = (await s.execute(select(AlarmChatter))).scalars()
        # 2 alarms then declared; the excursion from 20 s lasted the 30 s window: ended and raised at 51 s.
        assert len(rows) == 3 and (rows[-1].began_at, rows[-1].raised_at, rows[-1].state) == (
            _at(20), _at(51), "ACTIVE")
        assert (chatter.alarms, chatter.window_s, chatter.ended_at) == (2, 30, _at(51))
