"""Configuration under change control (issue 14): alarm limits change only through a signed, audited change
with a reason and QA's approval, and the configuration in force at any past moment is rebuilt from the audit
trail (`configurationAt`): settings, every tag's alarm rule, the policy version, and the specification and
master-recipe versions in effect.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import Priority
from records.audit import AuditEvent
from records.audit_state import Replay, forward
from records.plant import Sensor
from records.retention import RULES as RULES  # the retention rules, for the schema
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.signed import Second, Signatures, SignedRequest, perform
from subscriptions.topics import CONFIG_TOPIC

RULE = ("low_limit", "high_limit", "alarm_delay_s", "alarm_deadband", "alarm_priority")
ROW_ACTIONS = ("CREATE", "UPDATE", "DELETE")


@dataclass(frozen=True)
class AlarmRule:
    tag: str
    low_limit: float | None
    high_limit: float | None
    alarm_delay_s: float
    alarm_deadband: float
    alarm_priority: str

    def values(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in RULE}


def _check(r: AlarmRule, reason: str) -> None:
    text("reason", reason, 2000)
    for name in ("low_limit", "high_limit", "alarm_delay_s", "alarm_deadband"):
        v = getattr(r, name)
        if v is not None and not math.isfinite(v):
            raise invalid(f"{name}: a finite number")
    if r.low_limit is not None and r.high_limit is not None and r.low_limit >= r.high_limit:
        raise invalid("lowLimit must be below highLimit")
    if r.alarm_delay_s < 0 or r.alarm_deadband < 0:
        raise invalid("alarmDelayS and alarmDeadband are zero or more")
    if r.alarm_priority not in Priority.__members__:
        raise invalid(f"alarmPriority: one of {', '.join(Priority)}")


async def change_alarm_rule(ctx: Context, req: SignedRequest, r: AlarmRule, reason: str) -> Sensor:
    """A tag's limits, on-delay, deadband and priority, signed PERFORMED with QA's approval in the same request;
    every node reloads its rules after the commit."""
    async def clean() -> int:
        _check(r, reason)
        async with ctx.db.read() as s:
            sensor = (await s.execute(select(Sensor).where(Sensor.tag == r.tag))).scalar_one_or_none()
        if sensor is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no tag {r.tag}")
        if all(getattr(sensor, k) == v for k, v in r.values().items()):
            raise conflict(f"{r.tag} already has this alarm rule: nothing changes")
        return sensor.id

    async def save(s: AsyncSession, sensor_id: int, signatures: Signatures[int]) -> Sensor:
        sensor = await s.get_one(Sensor, sensor_id)
        before = {k: getattr(sensor, k) for k in RULE}
        for k, v in r.values().items():
            setattr(sensor, k, v)
        await s.flush()  # audited as the sensor's UPDATE, old and new values, with the reason
        await signatures.bind(s, "sensor", str(sensor.id), {"tag": r.tag, "before": before, "after": r.values()})
        return sensor

    def publish(_: Sensor) -> None:
        ctx.services.bus.publish(CONFIG_TOPIC, "alarm-rule")

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, publish=publish,
                         second=Second(("APPROVED",), "QA's approval"),
                         conflict=f"the alarm rule of {r.tag} changed meanwhile; look again")


async def _rows_at(s: AsyncSession, entity: str, at: datetime) -> dict[str, dict[str, Any]]:
    """Every row of an audited table as it stood at `at`, replayed from its events up to then as the audit
    check replays them (records/audit_state.py); a row whose last event then was its DELETE is gone."""
    replays: dict[str, Replay] = defaultdict(Replay)
    events = await s.execute(select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.changes).where(
        AuditEvent.entity == entity, AuditEvent.action.in_(ROW_ACTIONS), AuditEvent.occurred_at <= at)
        .order_by(AuditEvent.id))
    for eid, action, changes in events:
        replays[eid].events.append((action, changes if isinstance(changes, dict) else {}))
    return {eid: forward(life)[1] for eid, r in replays.items() if (life := r.lives()[-1])}


@dataclass(frozen=True)
class Configuration:
    at: datetime
    settings: dict[str, Any]
    alarm_rules: list[dict[str, Any]]
    policy_fingerprint: str | None  # None: the policy files as shipped, never reloaded before then
    specifications: list[tuple[str, int]]  # effective (code, version)
    recipes: list[tuple[str, int]]  # approved master recipes in effect (code, version)


async def at_time(ctx: Context, at: datetime) -> Configuration:
    async with ctx.db.read() as s:
        settings = {k: v.get("value") for k, v in (await _rows_at(s, "setting", at)).items()}
        sensors = await _rows_at(s, "sensor", at)
        policy = (await s.execute(select(AuditEvent.changes).where(
            AuditEvent.action == "POLICY_RELOADED", AuditEvent.occurred_at <= at)
            .order_by(AuditEvent.id.desc()).limit(1))).scalar_one_or_none()
        specs = await _rows_at(s, "specification", at)
        recipes = await _rows_at(s, "recipe", at)
    rules = [{"tag": r.get("tag")} | {k: r.get(k) for k in RULE} for r in sensors.values() if r.get("tag")]
    return Configuration(
        at, dict(sorted(settings.items())), sorted(rules, key=lambda r: str(r["tag"])),
        policy["fingerprint"][1] if policy else None,
        sorted((r["code"], r["version"]) for r in specs.values() if r.get("status") == "EFFECTIVE"),
        sorted((r["code"], r["version"]) for r in recipes.values() if r.get("status") in ("APPROVED", "EFFECTIVE")))
