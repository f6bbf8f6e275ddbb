"""The demo's production, made by its people through the API while the simulated plant runs: an
albumin batch planned on a pool of QA-released plasma, its thawing phase started on the thawing tank
with the plasma temperature live from the simulator, an excursion injected into that temperature
(the live PROCESS alarm of the batch and phase), and the phase completed a few minutes on (the
excursion in its record, a deviation raised at once). The batch then waits at its Fraction I phase.

Once per data directory: a batch already there is left as it is, a thawing phase left running by an
earlier run is completed.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.types import ASGIApp

from demo.actors import ActorError, Actors
from records.db import Database
from records.execution import PhaseRun
from records.plasma import Batch, PlasmaUnit
from resolvers import storage

log = logging.getLogger("plasmatwin.demo")

BATCH, POOL, RECIPE, PRODUCT = "ALB-DEMO-01", "PL-DEMO-01", "ALB-20", "Human Albumin 20%"
UNITS = 6
THAW_TAG, THAW_TANK = "THP-TT-201", "EQ-THP-01"
EXCURSION_AFTER_S, EXCURSION_S, THAW_S = 20.0, 120.0, 180.0


async def _units(db: Database) -> list[str]:
    """Released units whose storage record lets them be pooled (PR-32), in the order received."""
    async with db.read() as s:
        units = list((await s.execute(select(PlasmaUnit).where(PlasmaUnit.status == "RELEASED",
                                                               PlasmaUnit.pool_id.is_(None))
                                      .order_by(PlasmaUnit.id).limit(200))).scalars())
        problems = await storage.pooling_problems(s, units)
    return [u.donation_number for u in units if u.donation_number not in problems][:UNITS]


async def _state(db: Database) -> str | None:
    """None: no demo batch yet; else the thawing phase's status ("" when not started)."""
    async with db.read() as s:
        batch = (await s.execute(select(Batch.id).where(Batch.batch_number == BATCH))).scalar_one_or_none()
        if batch is None:
            return None
        status = (await s.execute(select(PhaseRun.status).where(PhaseRun.batch_id == batch,
                                                                PhaseRun.phase_code == "THAW"))).scalar_one_or_none()
    return status or ""


async def _plan(people: Actors, db: Database) -> bool:
    units = await _units(db)
    if len(units) < 2:
        log.warning("demo production: no released plasma that can be pooled; no demo batch")
        return False
    await people.signed("log.sun", "chargePool", {"poolCode": POOL, "product": PRODUCT, "donationNumbers": units},
                        second=("sup.zhao", "VERIFIED"))
    await people.signed("sup.zhao", "createBatch", {"batchNumber": BATCH, "recipeCode": RECIPE, "poolCodes": [POOL],
                                                    "reason": "demo campaign, week 49"})
    return True


async def _start_thawing(people: Actors) -> None:
    checks = (await people.query("op.chen", "{ preOperationCheck }"))["preOperationCheck"]
    await people.signed("op.chen", "startPhase", {"batchNumber": BATCH, "phaseCode": "THAW",
                                                  "equipmentCode": THAW_TANK, "confirmed": checks})


async def _complete_thawing(people: Actors) -> None:
    await people.signed("op.chen", "completePhase", {
        "batchNumber": BATCH, "phaseCode": "THAW", "manual": [{"name": "Heating-medium temperature", "value": 34.5}],
        "controls": [{"name": "Total protein", "value": 61.8}], "output": 2352, "losses": 31})


async def drive(app: ASGIApp, db: Database, data_dir: Path, excursion: Any) -> None:
    """Run the demo's production once; `excursion(tag, delta, seconds)` is the simulator's."""
    try:
        async with Actors(app, data_dir) as people:
            state = await _state(db)
            if state is None:
                if not await _plan(people, db):
                    return
                await _start_thawing(people)
                log.info("demo production: %s thawing on %s", BATCH, THAW_TANK)
                await asyncio.sleep(EXCURSION_AFTER_S)
                excursion(THAW_TAG, 5.0, EXCURSION_S)  # the plasma warms above 4 °C for two minutes
                await asyncio.sleep(THAW_S - EXCURSION_AFTER_S)
            elif state == "":
                await _start_thawing(people)
                await asyncio.sleep(THAW_S)
            elif state != "RUNNING":
                return
            await _complete_thawing(people)
            log.info("demo production: %s thawing completed", BATCH)
    except ActorError as e:  # the demo goes on without its batch; the refusal says why
        log.warning("demo production stopped: %s", e)
