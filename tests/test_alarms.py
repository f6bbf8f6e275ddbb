"""Alarm rules: limits, on-delay, deadband and priority, as a state machine over readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twin.alarm_rules import AlarmEngine, Priority, Rule

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_cold_store_excursion_raises_after_the_on_delay_and_clears_past_the_deadband() -> None:
    eng = AlarmEngine({"CS1-TT-101": Rule("CS1-TT-101", high=-25.0, on_delay=timedelta(seconds=60), deadband=1.0,
                                          priority=Priority.HIGH)})
    assert eng.feed("CS1-TT-101", -31.0, _at(0)) == []
    assert eng.feed("CS1-TT-101", -22.0, _at(10)) == []            # door opened: not yet
    assert eng.feed("CS1-TT-101", -31.0, _at(30)) == []            # closed again within the delay
    assert eng.feed("CS1-TT-101", -21.0, _at(100)) == []
    raised = eng.feed("CS1-TT-101", -20.0, _at(161))
    assert [(t.kind, t.condition, t.since, t.priority) for t in raised] == [
        ("RAISED", "HIGH", _at(100), Priority.HIGH)]
    assert eng.active() == {"CS1-TT-101": "HIGH"}
    assert eng.feed("CS1-TT-101", -25.5, _at(200)) == []           # inside the limit, not past the deadband
    cleared = eng.feed("CS1-TT-101", -26.5, _at(230))
    assert [(t.kind, t.since, t.at) for t in cleared] == [("CLEARED", _at(100), _at(230))]
    assert eng.active() == {}


def test_low_limit_without_delay_and_unknown_tags() -> None:
    eng = AlarmEngine({"WFI-TT-101": Rule("WFI-TT-101", low=70.0)})
    assert [t.condition for t in eng.feed("WFI-TT-101", 68.0, _at(0))] == ["LOW"]
    assert eng.feed("WFI-TT-101", 69.0, _at(1)) == []               # stays active, no repeat
    assert [t.kind for t in eng.feed("WFI-TT-101", 71.0, _at(2))] == ["CLEARED"]
    assert eng.feed("OTHER", 1e9, _at(3)) == [] and eng.feed("WFI-TT-101", None, _at(4)) == []
