"""The demo's production, made by its people through the API while the simulated plant runs.

Albumin batch ALB-DEMO-01, on a pool of QA-released plasma, thaws live on the thawing tank with an
excursion injected into its plasma temperature (the live PROCESS alarm of the batch and phase; the
phase completes as an exception and raises a deviation). Its Fraction I precipitation follows: the
ethanol weighed on the dispensing floor scale, the phase live for a while, completed with its values
and verified. Then two batches are driven quickly through every phase (each completed seconds after
its start, a demo's compression of hours: its tagged values are what the simulator read meanwhile):
IVIG-DEMO-01, left COMPLETED for QA's review by exception, and FVIII-DEMO-01, reviewed and concluded by
QA and released by the Qualified Person. Last, ALB-DEMO-01's Fraction V precipitation starts and stays
running, so the control room shows a batch live.

Once per data directory: what is made is left as it is, a phase left running by an earlier run is
completed (except Fraction V of ALB-DEMO-01, which runs on), and what is missing is made. The people,
the pools and the batches are the demo's; ethanol lots are received and released at the start.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from starlette.types import ASGIApp

from demo import quality
from demo.actors import ActorError, Actors
from demo.floor import Floor, SimulatedPlant, phase_of
from demo.recipes import RECIPES
from records.db import Database
from records.plasma import Batch
from records.recipe import Recipe

log = logging.getLogger("plasmatwin.demo")


@dataclass(frozen=True)
class Demo:
    batch: str
    pool: str
    recipe: str
    operator: str

    @property
    def product(self) -> str:
        return str(next(r["product"] for r in RECIPES if r["code"] == self.recipe))

    @property
    def phases(self) -> list[str]:
        return [p["code"] for r in RECIPES if r["code"] == self.recipe for p in r["phases"]]


ALBUMIN = Demo("ALB-DEMO-01", "PL-DEMO-01", "ALB-20", "op.chen")
IVIG = Demo("IVIG-DEMO-01", "PL-DEMO-02", "IVIG-10", "op.wang")
FACTOR_VIII = Demo("FVIII-DEMO-01", "PL-DEMO-03", "FVIII-500", "op.wang")
UNITS = 6
THAW_TAG = "THP-TT-201"


@dataclass(frozen=True)
class Pace:
    """How long the demo lets things run (seconds). PLASMATWIN_DEMO_PACE=fast: about a minute in all."""

    thaw: float = 180.0  # ALB-DEMO-01's thawing, live
    excursion_after: float = 20.0
    excursion: float = 120.0  # the plasma warms above 4 °C this long
    fraction_i: float = 120.0  # its Fraction I precipitation, live
    quick: float = 5.0  # each phase of the batches driven through quickly

    @classmethod
    def from_env(cls) -> Pace:
        return FAST if os.environ.get("PLASMATWIN_DEMO_PACE", "").strip().lower() == "fast" else cls()


FAST = Pace(thaw=6.0, excursion_after=1.0, excursion=3.0, fraction_i=3.0, quick=2.0)


async def _picked(people: Actors, d: Demo) -> tuple[str, list[str]]:
    """Released plasma picked by scan from the cold store for the batch's pool (PR-34): the server's
    picking list for the product (an open one left by an earlier run, else a new one) and its units;
    none when there is not enough plasma that may be pooled."""
    lists = (await people.query("log.sun", "{ pickingLists(status: OPEN) { code product } }"))["pickingLists"]
    code = next((x["code"] for x in lists if x["product"] == d.product), None)
    if code is None:
        try:
            made = await people.signed("log.sun", "createPickingList", {"product": d.product, "units": UNITS},
                                       answer="code")
        except ActorError as e:
            log.warning("demo production: no picking list for %s: %s", d.batch, e)
            return "", []
        code = made["createPickingList"]["code"]
    lines = (await people.query("log.sun", "query($c: String!) { pickingList(code: $c) { lines { donationNumber "
                                           "picked } } }", {"c": code}))["pickingList"]["lines"]
    for line in lines:
        if not line["picked"]:
            pick = {"listCode": code, "donationNumber": line["donationNumber"]}
            try:
                await people.signed("log.sun", "pickPlasmaUnit", pick)
            except ActorError as e:
                # A cold-store excursion since the list was made: the unit is refused at the scan, as it should
                # be. Logistics cancels the list; the caller picks again, and the new list leaves the store out.
                if not _storage_refusal(e):
                    raise
                await people.signed("log.sun", "cancelPickingList", {"code": code,
                                                                     "reason": "a unit refused at picking: storage"})
                raise
    return code, [x["donationNumber"] for x in lines]


async def _status(db: Database, batch: str) -> str | None:
    async with db.read() as s:
        return (await s.execute(select(Batch.status).where(Batch.batch_number == batch))).scalar_one_or_none()


def _storage_refusal(e: ActorError) -> bool:
    """The server refused units for their storage record: at the scan ("may not be pooled") or at the
    pool charge ("cannot be pooled"). Logistics picks again; anything else stops the demo's production."""
    return "pooled" in str(e)


async def _plan(people: Actors, db: Database, d: Demo) -> bool:
    """The batch's pool charged and the batch created; False when no plasma can be pooled."""
    if await _status(db, d.batch) is not None:
        return True
    for attempt in range(3):
        try:
            picking, units = await _picked(people, d)
        except ActorError as e:
            if attempt == 2 or not _storage_refusal(e):
                raise
            log.warning("demo production: %s; picking again", e)
            continue  # _picked cancelled its list
        if len(units) < 2:
            log.warning("demo production: no released plasma that can be pooled; no batch %s", d.batch)
            return False
        try:
            await people.signed("log.sun", "chargePool", {"poolCode": d.pool, "product": d.product,
                                                          "donationNumbers": units, "pickingListCode": picking},
                                second=("sup.zhao", "VERIFIED"))
            break
        except ActorError as e:
            # A cold-store excursion since the list was made (a door held open): the server refuses those units,
            # as it should. Logistics cancels the list; a new one leaves them out.
            if attempt == 2 or not _storage_refusal(e):
                raise
            log.warning("demo production: %s; picking again", e)
            await people.signed("log.sun", "cancelPickingList", {"code": picking,
                                                                 "reason": "units refused at pooling: storage"})
    await people.signed("sup.zhao", "createBatch", {"batchNumber": d.batch, "recipeCode": d.recipe,
                                                    "poolCodes": [d.pool], "reason": "demo campaign, week 49"})
    log.info("demo production: %s planned on pool %s (%d units)", d.batch, d.pool, len(units))
    return True


async def _albumin_thaw(floor: Floor, plant: SimulatedPlant, pace: Pace) -> None:
    thaw = phase_of(ALBUMIN.recipe, "THAW")
    status = (await floor.phases(ALBUMIN.batch)).get("THAW")
    if status == "COMPLETED":
        return
    if status is None:
        await floor.start(ALBUMIN.batch, thaw, ALBUMIN.operator)
        await asyncio.sleep(pace.excursion_after)
        plant.excursion(THAW_TAG, 5.0, pace.excursion)  # the plasma warms above 4 °C
        log.info("demo production: %s THAW: plasma temperature excursion injected on %s", ALBUMIN.batch, THAW_TAG)
        await asyncio.sleep(max(0.0, pace.thaw - pace.excursion_after))
    else:
        await asyncio.sleep(pace.quick)
    await floor.complete(ALBUMIN.batch, thaw, ALBUMIN.operator)


async def _quickly(floor: Floor, d: Demo, pace: Pace) -> None:
    for code in d.phases:
        await floor.run(d.batch, phase_of(d.recipe, code), d.operator, pace.quick)


async def _fraction_v(floor: Floor) -> None:
    """ALB-DEMO-01's Fraction V precipitation, started and left running: the demo's live batch."""
    if "FRAC-V" not in await floor.phases(ALBUMIN.batch):
        await floor.start(ALBUMIN.batch, phase_of(ALBUMIN.recipe, "FRAC-V"), ALBUMIN.operator)


async def _ready(db: Database) -> bool:
    async with db.read() as s:
        approved = set((await s.execute(select(Recipe.code).where(Recipe.status == "APPROVED"))).scalars())
    missing = {d.recipe for d in (ALBUMIN, IVIG, FACTOR_VIII)} - approved
    if missing:
        log.warning("demo production: recipes %s are not approved; no demo batches", ", ".join(sorted(missing)))
    return not missing


async def drive(app: ASGIApp, db: Database, data_dir: Path, plant: SimulatedPlant, pace: Pace | None = None) -> None:
    """Run the demo's production once, from wherever this data directory's stands."""
    pace = pace or Pace()
    try:
        if not await _ready(db):
            return
        async with Actors(app, data_dir) as people:
            floor = Floor(people, db, plant)
            if not await _plan(people, db, ALBUMIN):
                return
            await quality.ethanol(people)
            await quality.calibrate_scale(people, db)
            await _albumin_thaw(floor, plant, pace)
            await floor.run(ALBUMIN.batch, phase_of(ALBUMIN.recipe, "FRAC-I"), ALBUMIN.operator, pace.fraction_i)
            for d in (IVIG, FACTOR_VIII):
                if await _status(db, d.batch) in (None, "PLANNED", "IN_PROGRESS") and await _plan(people, db, d):
                    await _quickly(floor, d, pace)
            if await _status(db, FACTOR_VIII.batch) in ("COMPLETED", "UNDER_REVIEW"):
                await quality.review(people, db, FACTOR_VIII.batch)
                await quality.release(people, FACTOR_VIII.batch)
            await _fraction_v(floor)
            log.info("demo production: done: %s", "; ".join([f"{d.batch} {await _status(db, d.batch)}"
                                                            for d in (ALBUMIN, IVIG, FACTOR_VIII)]))
    except ActorError as e:  # the demo goes on without the rest of its production; the refusal says why
        log.warning("demo production stopped: %s", e)
