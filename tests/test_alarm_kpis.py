"""Alarm management for floods (issue 15; ISA-18.2, EEMUA 191): the performance report (alarms per 10 minutes
with the peak window, floods, bad actors, chattering sources and standing alarms; refusals for a bad period or
role), and a group of alarms acknowledged with one signature, all or none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from records.alarms import Alarm
from records.audit import AuditContext

KPIS = """query($s: DateTime!, $u: DateTime) { alarmKpis(since: $s, until: $u) { total byPriority { priority alarms }
  perTenMinutesAverage perTenMinutesPeak peakWindowStart floodWindows badActors { source alarms }
  chattering { source alarms } standing stale } }"""


async def test_the_report_counts_floods_bad_actors_chattering_and_standing_alarms(env: Any) -> None:
    gql, _, db = env
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)

    def alarm(tag: str, at: datetime, state: str = "CLOSED", priority: str = "LOW") -> Alarm:
        return Alarm(source="LIMIT", condition="HIGH", priority=priority, state=state, tag=tag, message=tag,
                     began_at=at, raised_at=at)

    rows = [alarm("FLOOD-TT", start + timedelta(seconds=20 * i)) for i in range(12)]  # 12 in 4 minutes: a flood
    rows += [alarm("SLOW-TT", start + timedelta(minutes=30 + 5 * i)) for i in range(3)]  # not chattering
    rows += [alarm("OLD-TT", start - timedelta(days=2), state="ACTIVE", priority="HIGH"),  # stale, outside the period
             alarm("NEW-TT", start + timedelta(minutes=90), state="CLEARED", priority="HIGH")]  # standing
    async with db.write(AuditContext("system", reason="alarm history")) as s:
        s.add_all(rows)
    op = await gql.sign_in("op.one")
    k = (await op(KPIS, {"s": start.isoformat(), "u": (start + timedelta(hours=2)).isoformat()}))["data"]["alarmKpis"]
    assert k["total"] == 16 and {p["priority"]: p["alarms"] for p in k["byPriority"]} == {"LOW": 15, "HIGH": 1}
    assert k["perTenMinutesPeak"] == 12 and k["floodWindows"] == 1
    assert datetime.fromisoformat(k["peakWindowStart"]) == start
    assert k["perTenMinutesAverage"] == round(16 / 12, 2)
    assert k["badActors"][0] == {"source": "FLOOD-TT", "alarms": 12} and len(k["badActors"]) == 3
    assert k["chattering"] == [{"source": "FLOOD-TT", "alarms": 12}]
    assert (k["standing"], k["stale"]) == (2, 1)  # OLD-TT active (unacknowledged), NEW-TT cleared unacknowledged

    bad = await op(KPIS, {"s": start.isoformat(), "u": (start - timedelta(hours=1)).isoformat()})
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    too_long = await op(KPIS, {"s": (start - timedelta(days=40)).isoformat(), "u": start.isoformat()})
    assert too_long["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    station = await gql.sign_in("st.one")
    denied = await station(KPIS, {"s": start.isoformat(), "u": None})
    assert denied["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "OUT_OF_SCOPE")


ACK_ALL = """mutation($input: AcknowledgeAlarmsInput!, $sig: SignatureInput!) {
  acknowledgeAlarms(input: $input, signature: $sig) { id state acknowledgedBy handling } }"""


async def test_a_flood_is_acknowledged_with_one_signature_all_or_none(env: Any) -> None:
    from sqlalchemy import select

    from records.alarms import AlarmAcknowledgement
    from records.signature import ESignature

    gql, signers, db = env
    now = datetime.now(UTC)
    async with db.write(AuditContext("system", reason="flood")) as s:
        rows = [Alarm(source="LIMIT", condition="HIGH", priority="HIGH", state=state, tag=f"F-{i}", message="flood",
                      began_at=now, raised_at=now) for i, state in enumerate(["ACTIVE", "CLEARED", "ACTIVE"])]
        s.add_all(rows)
        await s.flush()
        ids = [a.id for a in rows]
    op = await gql.sign_in("op.one")

    async def ack(inp: dict[str, Any], meaning: str = "ACKNOWLEDGED") -> dict[str, Any]:
        body: dict[str, Any] = await op(ACK_ALL, {"input": inp, "sig": signers.sign("op.one", "acknowledgeAlarms",
                                                                                     inp, meaning)})
        return body

    assert (await ack({"ids": [*ids, 999_999], "handling": "x"}))["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await ack({"ids": ids, "handling": " "}))["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert (await ack({"ids": ids, "handling": "x"}, "PERFORMED"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await ack({"ids": ids, "handling": "door closed"})
    assert [a["state"] for a in body["data"]["acknowledgeAlarms"]] == ["ACKED", "CLOSED", "ACKED"]
    assert {a["acknowledgedBy"] for a in body["data"]["acknowledgeAlarms"]} == {"op.one"}
    again = await ack({"ids": ids[:1], "handling": "again"})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    async with db.read() as s:
        (group,) = (await s.execute(select(AlarmAcknowledgement))).scalars()
        sig = (await s.execute(select(ESignature).where(ESignature.entity == "alarm_acknowledgement"))).scalar_one()
    assert group.alarm_ids == ids and sig.meaning == "ACKNOWLEDGED" and sig.entity_id == str(group.id)
