"""Alarm rules per tag in the ISA-18.2 manner: high/low limits, on-delay, deadband, priority.

A pure state machine: readings in, alarm transitions out. The twin feeds it every reading; storage,
acknowledgement and notification are layered on top, in twin/alarm_service.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from records.alarms import Priority as Priority  # the value list, with the alarm row


@dataclass(frozen=True)
class Rule:
    tag: str
    high: float | None = None
    low: float | None = None
    # Out of limits for this long before the alarm is raised (filters brief spikes such as a door opened).
    on_delay: timedelta = timedelta(0)
    # Back inside by this margin before the alarm returns to normal (no chattering at the limit).
    deadband: float = 0.0
    priority: Priority = Priority.MEDIUM


@dataclass(frozen=True)
class Transition:
    tag: str
    kind: str  # RAISED or CLEARED
    condition: str  # HIGH or LOW
    value: float
    limit: float
    at: datetime
    since: datetime
    priority: Priority


@dataclass
class _State:
    pending: str | None = None
    pending_since: datetime | None = None
    active: str | None = None
    active_since: datetime | None = None


@dataclass
class AlarmEngine:
    rules: dict[str, Rule] = field(default_factory=dict)
    _states: dict[str, _State] = field(default_factory=dict)

    def restore(self, tag: str, condition: str, since: datetime) -> None:
        """An alarm still standing when the process restarted: active again, not raised twice."""
        self._states[tag] = _State(active=condition, active_since=since)

    def keep(self, tags: set[str] | frozenset[str]) -> None:
        """Forget the state of every other tag (rules that went away)."""
        for tag in [t for t in self._states if t not in tags]:
            del self._states[tag]

    def active(self) -> dict[str, str]:
        return {tag: st.active for tag, st in self._states.items() if st.active}

    def condition(self, tag: str) -> str | None:
        """The tag's standing condition (HIGH, LOW), or None: per reading, without building `active()`."""
        st = self._states.get(tag)
        return st.active if st is not None else None

    def feed(self, tag: str, value: float | None, at: datetime) -> list[Transition]:
        rule = self.rules.get(tag)
        if rule is None or value is None:
            return []
        st = self._states.setdefault(tag, _State())
        out: list[Transition] = []
        if st.active is not None:
            limit = rule.high if st.active == "HIGH" else rule.low
            assert limit is not None
            back = value <= limit - rule.deadband if st.active == "HIGH" else value >= limit + rule.deadband
            if back:
                assert st.active_since is not None
                out.append(Transition(tag, "CLEARED", st.active, value, limit, at, st.active_since, rule.priority))
                st.active = st.active_since = None
            return out
        condition = ("HIGH" if rule.high is not None and value > rule.high
                     else "LOW" if rule.low is not None and value < rule.low else None)
        if condition is None:
            st.pending = st.pending_since = None
            return out
        if st.pending != condition:
            st.pending, st.pending_since = condition, at
        assert st.pending_since is not None
        if at - st.pending_since >= rule.on_delay:
            limit = rule.high if condition == "HIGH" else rule.low
            assert limit is not None
            out.append(Transition(tag, "RAISED", condition, value, limit, at, st.pending_since, rule.priority))
            st.active, st.active_since = condition, st.pending_since
            st.pending = st.pending_since = None
        return out
