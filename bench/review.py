"""Review by exception and the batch's exports: `batchReview` of a batch with 200 exceptions and 5,000
audit events on its records, and the export of its Appendix B datasets and whole record; p50/p95 over
in-process ASGI requests (SQLite), as a QA officer would make them."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

from bench.app import in_process
from records.alarms import Alarm
from records.audit import AuditContext, PendingEvent
from records.base import utcnow
from records.db import Database
from records.execution import PhaseRun
from records.plant import Equipment
from records.plasma import Batch
from records.quality import Deviation
from records.recipe import Recipe

# 40 phases out of limits (20 with a value entered by hand), 60 alarms, 30 deviations and 50 changes of a
# recorded value among 5,000 audit events: 200 exceptions.
PHASES, ALARMS, DEVIATIONS, EVENTS, CHANGE_EVERY = 40, 60, 30, 5000, 100
REVIEW = """query($b: String!) { batchReview(batchNumber: $b) { total unreviewed blockers
  items { key kind at phaseCode summary entity entityId open reviewed } } }"""
EXPORT = """query($d: String!, $b: String) { exportDataset(dataset: $d, filter: {batchNumber: $b}) { count } }"""
RECORD = """query($b: String!) { exportBatchRecord(batchNumber: $b) { filename } }"""


async def _batch(db: Database) -> None:
    now = utcnow()
    async with db.write(AuditContext("bench", reason="a batch with exceptions")) as s:
        recipe = Recipe(code="BENCH-MR", version=1, product="Human Albumin 20%", name="bench", status="APPROVED",
                        change_note="bench", batch_size=100, batch_unit="L", drafted_by="sup.rsa", drafted_at=now,
                        procedure=[{"code": f"P{i}", "name": f"Phase {i}", "parameters": [], "controls": []}
                                   for i in range(PHASES)])
        s.add(recipe)
        await s.flush()
        batch = Batch(batch_number="BR-1", product=recipe.product, status="COMPLETED", recipe_id=recipe.id,
                      started_at=now - timedelta(hours=PHASES))
        s.add(batch)
        await s.flush()
        eq = (await s.get_one(Equipment, 1))
        value = {"name": "Temperature", "unit": "°C", "low": 2, "high": 8, "tag": None, "source": "MANUAL",
                 "value": 9.0, "within": False, "enteredBy": "op.one", "reason": "probe out"}
        runs = [PhaseRun(batch_id=batch.id, phase_code=f"P{i}", status="COMPLETED", equipment_id=eq.id, pre_check={},
                         started_at=now - timedelta(hours=PHASES - i), started_by="op.one",
                         completed_at=now - timedelta(hours=PHASES - i - 1), completed_by="op.one",
                         parameters=[value] if i % 2 else [], controls=[], exception=True) for i in range(PHASES)]
        s.add_all(runs)
        s.add_all(Alarm(source="PROCESS", condition="HIGH", priority="HIGH", state="CLEARED", room_id=eq.room_id,
                        equipment_id=eq.id, message=f"BR-1 P{i % PHASES}: temperature high", began_at=now,
                        raised_at=now - timedelta(minutes=i), cleared_at=now, batch_number="BR-1",
                        phase_code=f"P{i % PHASES}") for i in range(ALARMS))
        s.add_all(Deviation(number=f"DEV-B-{i}", title=f"bench {i}", description="x", batch_id=batch.id,
                            raised_by="op.one", raised_at=now, status="OPEN") for i in range(DEVIATIONS))
        await s.flush()
        ids = [str(r.id) for r in runs]
    # The audit trail of its records: lifecycle updates, one in a hundred a change of a recorded value.
    changed, lifecycle = {"pre_check": [{}, {"x": True}]}, {"status": ["RUNNING", "COMPLETED"]}
    events = [PendingEvent("UPDATE", "phase_run", ids[i % PHASES], changed if i % CHANGE_EVERY == 0 else lifecycle)
              for i in range(EVENTS)]
    for chunk in range(0, EVENTS, 500):
        await db.record(AuditContext("bench", reason="history"), *events[chunk:chunk + 500])


def _p(values: list[float], q: float) -> float:
    return round(sorted(values)[min(len(values) - 1, int(len(values) * q))] * 1000, 1)


async def run(rounds: int = 40) -> dict[str, Any]:
    async with in_process(_batch) as bench:
        c, h = bench.client, await bench.token("qa.sig")

        async def timed(query: str, variables: dict[str, Any]) -> tuple[float, Any]:
            t0 = time.perf_counter()
            body = (await c.post("/graphql", json={"query": query, "variables": variables}, headers=h)).json()
            took = time.perf_counter() - t0
            assert "errors" not in body, body
            return took, body["data"]

        review: list[float] = []
        for _ in range(rounds):
            took, data = await timed(REVIEW, {"b": "BR-1"})
            review.append(took)
        total = data["batchReview"]["total"]
        exports: dict[str, list[float]] = {}
        for _ in range(max(5, rounds // 4)):
            for ds in ("B.2", "B.6", "B.7", "B.8"):
                exports.setdefault(ds, []).append((await timed(EXPORT, {"d": ds, "b": "BR-1"}))[0])
            exports.setdefault("record", []).append((await timed(RECORD, {"b": "BR-1"}))[0])
    return {"exceptions": total, "audit_events": EVENTS, "batchReview_p50_ms": _p(review, 0.5),
            "batchReview_p95_ms": _p(review, 0.95),
            **{f"export_{k}_p50_ms": round(statistics.median(v) * 1000, 1) for k, v in exports.items()}}
