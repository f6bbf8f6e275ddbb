"""The alarm performance report (issue 15; ISA-18.2, EEMUA 191): alarms per 10 minutes with the peak window,
floods, bad actors, chattering sources and standing alarms, over a period; refusals for a bad period or role."""

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
