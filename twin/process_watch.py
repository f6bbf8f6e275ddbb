"""The critical process parameters of the phases running now (PR-51), watched against their recipe's
limits: while a phase runs, each of its tagged parameters is a rule of its own, separate from the
tag's equipment limits, and an excursion is an alarm of that batch and phase.

The rules follow the phases: loaded at start, and again whenever a phase starts or completes on any
node (the PHASE topic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from records.alarms import UNCLEARED, Alarm, AlarmSource
from records.execution import PhaseRun, PhaseStatus
from records.plasma import Batch
from records.recipe import Recipe
from twin.alarm_rules import AlarmEngine, Priority, Rule, Transition


@dataclass(frozen=True)
class Watched:
    """A tag bound to the running phase whose parameter it is."""

    batch_number: str
    phase_code: str
    name: str
    unit: str


@dataclass(frozen=True)
class Excursion:
    """A transition of a watched parameter, for the alarm writer."""

    transition: Transition
    watched: Watched


@dataclass
class ProcessWatch:
    engine: AlarmEngine = field(default_factory=AlarmEngine)
    watched: dict[str, Watched] = field(default_factory=dict)
    # The standing PROCESS alarm per tag.
    open_ids: dict[str, int] = field(default_factory=dict)

    async def load(self, s: AsyncSession) -> None:
        rows = (await s.execute(select(PhaseRun.phase_code, Batch.batch_number, Recipe.procedure)
                                .join(Batch, Batch.id == PhaseRun.batch_id).join(Recipe, Recipe.id == Batch.recipe_id)
                                .where(PhaseRun.status == PhaseStatus.RUNNING))).all()
        rules: dict[str, Rule] = {}
        watched: dict[str, Watched] = {}
        for phase_code, batch_number, procedure in rows:
            phase = next((p for p in procedure if p["code"] == phase_code), None)
            for p in (phase or {}).get("parameters", []):
                if p.get("tag"):
                    delay = timedelta(seconds=p.get("alarm_delay_s") or 0)
                    rules[p["tag"]] = Rule(p["tag"], high=p["high"], low=p["low"], on_delay=delay,
                                           priority=Priority.HIGH)
                    watched[p["tag"]] = Watched(batch_number, phase_code, p["name"], p["unit"])
        self.engine.rules, self.watched = rules, watched
        standing = (await s.execute(select(Alarm).where(Alarm.source == AlarmSource.PROCESS,
                                                        Alarm.state.in_(UNCLEARED)))).scalars().all()
        self.open_ids = {}
        self.engine.keep(set(rules))
        for a in standing:
            if a.tag in rules and a.cleared_at is None:
                self.open_ids[a.tag] = a.id
                self.engine.restore(a.tag, a.condition, a.began_at)

    def feed(self, tag: str, value: float | None, at: datetime) -> list[Excursion]:
        w = self.watched.get(tag)
        if w is None:
            return []
        return [Excursion(t, w) for t in self.engine.feed(tag, value, at)]
