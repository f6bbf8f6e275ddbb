"""The demo's alarm rate (issue 15; ISA-18.2, EEMUA 191: about one alarm per operator per 10 minutes): the demo
plant's simulated signals, stepped for two simulated hours without waiting, through the alarm rules the demo
seeds; outside injected faults at most one alarm in any 10 minutes, with priorities that differ by consequence.
An injected cold-store excursion still alarms at once: the limits have margin, not blindness."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from demo.live import signals
from demo.plant import DEMO_PLANT, all_sensors
from demo.signals import Plant
from twin.alarm_rules import AlarmEngine, Chatter, Priority, Rule, Transition

T0 = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
WINDOW = 600.0


def _engine() -> AlarmEngine:
    """The rules as the alarm service builds them from the seeded sensors (twin/alarm_service.py)."""
    rules = {s.tag: Rule(s.tag, high=s.high_limit, low=s.low_limit, on_delay=timedelta(seconds=s.alarm_delay_s),
                         deadband=s.alarm_deadband, priority=Priority(s.alarm_priority))
             for _, _, s in all_sensors(DEMO_PLANT) if s.high_limit is not None or s.low_limit is not None}
    return AlarmEngine(rules, chatter=Chatter(3, timedelta(seconds=60)))


def _run(plant: Plant, engine: AlarmEngine, seconds: int) -> list[Transition]:
    raised = []
    for _ in range(seconds):
        for smp in plant.step(1.0):  # the demo simulator's interval
            if smp.quality == "GOOD":
                raised += [t for t in engine.feed(smp.tag, smp.value, T0 + timedelta(seconds=plant.t))
                           if t.kind == "RAISED"]
    return raised


def test_the_demo_raises_at_most_one_alarm_per_ten_minutes_without_injected_faults() -> None:
    raised = _run(Plant(signals(), seed=15), _engine(), 2 * 3600)
    windows = Counter(int((t.at - T0).total_seconds() // WINDOW) for t in raised)
    assert max(windows.values(), default=0) <= 1, [(t.tag, t.at, t.value) for t in raised]
    assert len(raised) <= 3, [(t.tag, t.at, t.value) for t in raised]


def test_priorities_differ_by_consequence_and_an_injected_excursion_still_alarms() -> None:
    engine = _engine()
    by_priority = Counter(r.priority for r in engine.rules.values())
    assert set(by_priority) == {Priority.LOW, Priority.MEDIUM, Priority.HIGH}
    assert by_priority[Priority.HIGH] < by_priority[Priority.MEDIUM] < by_priority[Priority.LOW]
    rules = engine.rules
    assert rules["CS1-TT-101"].priority is Priority.HIGH and rules["CS1-TT-101"].on_delay == timedelta(0)
    room_temps = [s for _, eq, s in all_sensors(DEMO_PLANT) if eq is None and s.name == "Room temperature"]
    assert room_temps and all(rules[s.tag].priority is Priority.LOW for s in room_temps)

    plant = Plant(signals(), seed=15)
    assert _run(plant, engine, 300) == []
    plant.excursion("CS1-TT-101", 25.0, 20.0)  # what /demo/simulate injects
    raised = _run(plant, engine, 5)
    assert [(t.tag, t.priority) for t in raised] == [("CS1-TT-101", Priority.HIGH)]
