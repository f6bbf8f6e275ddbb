"""Alarm rules per tag in the ISA-18.2 manner: high/low limits, on-delay, deadband, priority, and chattering
detection (EEMUA 191): a tag whose alarm went active and returned to normal `count` times within `window` is
declared chattering; no alarm is raised for it until its value has stayed normal for the window (the
declaration ends quietly) or an excursion has lasted the window (the declaration ends and that excursion is
raised, with the time it began: nothing is lost).

A pure state machine: readings in, alarm transitions out. The twin feeds it every reading; storage,
acknowledgement and notification are layered on top, in twin/alarm_service.py.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
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
class Chatter:
    count: int
    window: timedelta


@dataclass(frozen=True)
class Transition:
    tag: str
    # RAISED, CLEARED; CHATTERING (declared: `since` is the first of the counted alarms) and CHATTER_ENDED
    kind: str
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
    # When its alarms were raised, for those that returned to normal within the chatter window.
    cycles: deque[datetime] = field(default_factory=deque)
    chattering_since: datetime | None = None
    normal_since: datetime | None = None  # while chattering: within limits since then


@dataclass
class AlarmEngine:
    rules: dict[str, Rule] = field(default_factory=dict)
    _states: dict[str, _State] = field(default_factory=dict)
    chatter: Chatter | None = None  # None: no chattering detection

    def restore_chattering(self, tag: str, since: datetime) -> None:
        """A declaration still standing when the process restarted (not over an alarm standing again)."""
        st = self._states.setdefault(tag, _State())
        if st.active is not None:
            return
        st.chattering_since, st.normal_since = since, None

    def chattering(self) -> dict[str, datetime]:
        return {tag: st.chattering_since for tag, st in self._states.items() if st.chattering_since is not None}

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
        if st.chattering_since is not None:
            return self._while_chattering(rule, st, value, at)
        out: list[Transition] = []
        if st.active is not None:
            limit = rule.high if st.active == "HIGH" else rule.low
            assert limit is not None
            if _back(rule, st.active, value):
                assert st.active_since is not None
                out.append(Transition(tag, "CLEARED", st.active, value, limit, at, st.active_since, rule.priority))
                out += self._count_cycle(st, out[-1])
                st.active = st.active_since = None
            return out
        condition = _outside(rule, value)
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

    def _count_cycle(self, st: _State, cleared: Transition) -> list[Transition]:
        """An alarm returned to normal: declared chattering if it is the count-th within the window."""
        if self.chatter is None:
            return []
        st.cycles.append(cleared.since)
        while st.cycles and cleared.at - st.cycles[0] > self.chatter.window:
            st.cycles.popleft()
        if len(st.cycles) < self.chatter.count:
            return []
        first = st.cycles[0]
        st.cycles.clear()
        st.chattering_since, st.normal_since = cleared.at, cleared.at
        st.pending = st.pending_since = None
        return [replace(cleared, kind="CHATTERING", since=first)]

    def _while_chattering(self, rule: Rule, st: _State, value: float, at: datetime) -> list[Transition]:
        """Declared chattering: raise nothing; end the declaration after a window within limits, or raise an
        excursion that has lasted the window (a steady one is no chatter) with the time it began."""
        assert self.chatter is not None and st.chattering_since is not None
        window = max(self.chatter.window, rule.on_delay)
        condition = _outside(rule, value)
        if condition is None:
            if st.pending is not None and not _back(rule, st.pending, value):
                return []  # between the limit and its deadband: still the same excursion
            st.pending = st.pending_since = None
            st.normal_since = st.normal_since or at
            if at - st.normal_since < self.chatter.window:
                return []
            ended = Transition(rule.tag, "CHATTER_ENDED", "", value, 0.0, at, st.chattering_since, rule.priority)
            st.chattering_since = st.normal_since = None
            return [ended]
        st.normal_since = None
        if st.pending != condition:
            st.pending, st.pending_since = condition, at
        assert st.pending_since is not None
        if at - st.pending_since < window:
            return []
        limit = rule.high if condition == "HIGH" else rule.low
        assert limit is not None
        ended = Transition(rule.tag, "CHATTER_ENDED", condition, value, limit, at, st.chattering_since, rule.priority)
        raised = Transition(rule.tag, "RAISED", condition, value, limit, at, st.pending_since, rule.priority)
        st.chattering_since = None
        st.active, st.active_since = condition, st.pending_since
        st.pending = st.pending_since = None
        return [ended, raised]


def _outside(rule: Rule, value: float) -> str | None:
    return ("HIGH" if rule.high is not None and value > rule.high
            else "LOW" if rule.low is not None and value < rule.low else None)


def _back(rule: Rule, condition: str, value: float) -> bool:
    """Back inside the limit past its deadband."""
    limit = rule.high if condition == "HIGH" else rule.low
    assert limit is not None
    return value <= limit - rule.deadband if condition == "HIGH" else value >= limit + rule.deadband
