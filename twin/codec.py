"""How the twin's messages cross between API nodes (subscriptions.redis_bus), as JSON values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from records.alarms import AlarmEvent
from records.readings import Quality, Reading
from subscriptions.codecs import Codec
from subscriptions.topics import ALARM_TOPIC, SENSOR_TOPIC

ALARM_TIMES = ("began_at", "raised_at", "cleared_at", "acknowledged_at")


def _reading(r: Reading) -> list[Any]:
    return [r.tag, r.value, r.quality.value, r.source_time.isoformat(), r.received_at.isoformat()]


def _unreading(d: list[Any]) -> Reading:
    return Reading(d[0], d[1], Quality(d[2]), datetime.fromisoformat(d[3]), datetime.fromisoformat(d[4]))


def _alarm(e: AlarmEvent) -> dict[str, Any]:
    a = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in e.alarm.items()}
    return {"kind": e.kind, "alarm": a}


def _unalarm(d: dict[str, Any]) -> AlarmEvent:
    a = dict(d["alarm"])
    for k in ALARM_TIMES:
        if a.get(k) is not None:
            a[k] = datetime.fromisoformat(a[k])
    return AlarmEvent(d["kind"], a)


CODECS = {SENSOR_TOPIC: Codec(_reading, _unreading, lambda r: r.tag), ALARM_TOPIC: Codec(_alarm, _unalarm)}
