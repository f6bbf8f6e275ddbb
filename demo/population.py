"""A synthetic plasma population and its genealogy, for the demo and the benchmarks.

Deterministic for a seed; written with bulk inserts in chunks (a million units in minutes), and
recorded in the audit trail as one SYNTHETIC_IMPORT event with the counts, since these rows are
generated test data, not GMP work. The event carries a SHA-256 of each table's imported rows as
stored (`stateDigests`), so `audit verify` can tell them from rows edited afterwards behind the
application (records.audit_state).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from records import audit, audit_state
from records.audit import AuditContext, PendingEvent
from records.db import Database
from records.genealogy import Distributor, FinalLot, Intermediate, PackagingUnit, Shipment
from records.plant import Sensor
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, Pool, batch_pool
from records.readings import SensorReading

PRODUCTS = (("Human Albumin 20%", "8612345"), ("Human Immunoglobulin (pH4) for IV", "8612346"),
            ("Human Coagulation Factor VIII", "8612347"))
BLOOD_TYPES = ("A", "B", "O", "AB")
SURNAMES = ("Zhao", "Qian", "Sun", "Li", "Zhou", "Wu", "Zheng", "Wang", "Feng", "Chen")


@dataclass(frozen=True)
class Population:
    donors: int = 2000
    units: int = 8000
    pools: int = 8
    lots_per_batch: int = 2
    cases_per_lot: int = 2
    cartons_per_case: int = 4
    units_per_carton: int = 10
    distributors: int = 2
    seed: int = 20261122
    start: date = date(2026, 3, 1)


HISTORY_STEP = timedelta(minutes=15)


def _chunked(rows: Iterator[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _next_id(s: Any, col: Any) -> int:
    return int((await s.execute(select(func.coalesce(func.max(col), 0)))).scalar_one()) + 1


async def generate(db: Database, pop: Population = Population(),
                   progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Add the population once (no-op when plasma units exist); returns the counts written."""
    rng = random.Random(pop.seed)
    say = progress or (lambda _msg: None)
    ctx = AuditContext("system", reason="synthetic demo population")
    async with db.write(ctx) as s:
        if (await s.execute(select(func.count()).select_from(PlasmaUnit))).scalar_one():
            return {}
        stations = [(sid, code) for sid, code in (await s.execute(select(PlasmaStation.id, PlasmaStation.code)))]
        if not stations:
            raise ValueError("seed the plasma stations first")
        conn = await s.connection()
        ids = {t: await _next_id(s, t.id) for t in (Donor, PlasmaUnit, Pool, Batch, Intermediate, FinalLot,
                                                    PackagingUnit, Distributor, Shipment)}

        say(f"donors: {pop.donors}")
        donor_station: list[int] = []
        for chunk in _chunked(_donors(rng, pop, stations, ids[Donor], donor_station)):
            await conn.execute(insert(Donor), chunk)

        # Pools, batches and what they became.
        say(f"pools and batches: {pop.pools}")
        pool_rows, batch_rows, links, inter_rows, lot_rows = [], [], [], [], []
        for i in range(pop.pools):
            product, _ = PRODUCTS[i % len(PRODUCTS)]
            day = pop.start + timedelta(days=120 + i * 3)
            pid, bid, iid = ids[Pool] + i, ids[Batch] + i, ids[Intermediate] + i
            pool_rows.append({"id": pid, "code": f"PL{day:%y%m}{i + 1:04d}", "product": product,
                              "pooled_at": datetime.combine(day, datetime.min.time(), UTC), "status": "CLOSED"})
            batch_rows.append({"id": bid, "batch_number": f"B{day:%Y%m}{i + 1:04d}", "product": product,
                               "status": "RELEASED" if i < pop.pools - 2 else (
                                   "UNDER_REVIEW" if i == pop.pools - 2 else "IN_PROGRESS"),
                               "started_at": datetime.combine(day, datetime.min.time(), UTC),
                               "expiry_date": day + timedelta(days=3 * 365)})
            links.append({"batch_id": bid, "pool_id": pid})
            inter_rows.append({"id": iid, "code": f"INT-{day:%y%m}-{i + 1:04d}", "batch_id": bid,
                               "kind": "bulk solution", "quantity": f"{rng.randint(180, 260)} L"})
            for k in range(pop.lots_per_batch):
                lot_rows.append({"id": ids[FinalLot] + i * pop.lots_per_batch + k,
                                 "lot_number": f"L{day:%Y%m}{i + 1:03d}{k + 1}", "intermediate_id": iid,
                                 "product": product, "filled_on": day + timedelta(days=20),
                                 "expiry_date": day + timedelta(days=3 * 365),
                                 "status": "RELEASED" if i < pop.pools - 2 else "QUARANTINE"})
        await conn.execute(insert(Pool), pool_rows)
        await conn.execute(insert(Batch), batch_rows)
        await conn.execute(insert(batch_pool), links)
        await conn.execute(insert(Intermediate), inter_rows)
        await conn.execute(insert(FinalLot), lot_rows)

        say(f"plasma units: {pop.units}")
        pool_of_unit = _pool_assignment(rng, pop)
        for chunk in _chunked(_units(rng, pop, donor_station, ids, pool_of_unit)):
            await conn.execute(insert(PlasmaUnit), chunk)

        say("cold-store temperature history")
        await _cold_store_history(conn, pop, rng)

        say("distributors, shipments and packaging codes")
        dist_rows = [{"id": ids[Distributor] + d, "code": f"DIST-{d + 1:02d}", "name": f"Distributor {d + 1}"}
                     for d in range(pop.distributors)]
        await conn.execute(insert(Distributor), dist_rows)
        counts = await _packaging(conn, pop, rng, ids, lot_rows, dist_rows)

        if conn.dialect.name == "postgresql":
            # Explicit ids do not advance PostgreSQL sequences; later ORM inserts must not collide.
            for t in ids:
                name = t.__tablename__
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")  # noqa: S608
        digests = await audit_state.import_digests(conn, ids)
        written = {"donors": pop.donors, "plasmaUnits": pop.units, "pools": pop.pools, "batches": pop.pools,
                   "intermediates": len(inter_rows), "finalLots": len(lot_rows), **counts}
        ev = PendingEvent("SYNTHETIC_IMPORT", "population", str(pop.seed),
                          {"counts": [None, written], "parameters": [None, audit.to_json_value(_jsonable(pop))],
                           "stateDigests": [None, digests]})
        await audit.add(s, ev)
        return written


def _jsonable(pop: Population) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(pop).items()}


def _donors(rng: random.Random, pop: Population, stations: list[tuple[int, str]], first: int,
            donor_station: list[int]) -> Iterator[dict[str, Any]]:
    for i in range(pop.donors):
        sid, _ = stations[i % len(stations)]
        donor_station.append(sid)
        blood = BLOOD_TYPES[(i * 7 + pop.seed) % len(BLOOD_TYPES)]
        # One donor seroconverted: deferred, so the lookback has something to find.
        status = "DEFERRED" if i == 7 else ("PERMANENTLY_DEFERRED" if i % 997 == 13 else "ACTIVE")
        yield {"id": first + i, "card_number": f"C{pop.seed % 1000:03d}{i + 1:07d}", "station_id": sid,
               "name": f"{rng.choice(SURNAMES)} Donor-{i + 1}", "blood_type": blood,
               "status": status}


def _pool_assignment(rng: random.Random, pop: Population) -> list[int | None]:
    """Older units went into pools; the newest stay in storage or quarantine."""
    pooled = int(pop.units * 0.75)
    per_pool = max(1, pooled // max(1, pop.pools))
    return [min(i // per_pool, pop.pools - 1) if i < pooled else None for i in range(pop.units)]


def _units(rng: random.Random, pop: Population, donor_station: list[int], ids: dict[Any, int],
           pool_of_unit: list[int | None]) -> Iterator[dict[str, Any]]:
    serial_by_month: dict[str, int] = {}
    # Spread over enough months that no month needs more than 80,000 codes (5-digit serials).
    span = max(240, -(-pop.units // 80_000) * 31)
    for i in range(pop.units):
        donor = i % pop.donors
        # Units in donation order: a donor's units are about span*donors/units days apart.
        day = pop.start + timedelta(days=int(i * span / pop.units))
        month = f"{day:%y%m}"
        serial_by_month[month] = serial_by_month.get(month, 0) + 1
        pool = pool_of_unit[i]
        status = "POOLED" if pool is not None else rng.choice(("RELEASED", "QUARANTINED", "RECEIVED"))
        if donor == 7 and pool is None:
            status = "BLOCKED"
        yield {"id": ids[PlasmaUnit] + i, "donation_number": f"D{donor_station[donor]:02d}{i + 1:09d}",
               "donor_id": ids[Donor] + donor, "station_id": donor_station[donor],
               "material_code": f"PL{month}{serial_by_month[month]:05d}",
               "blood_type": BLOOD_TYPES[(donor * 7 + pop.seed) % len(BLOOD_TYPES)],
               "collected_on": day, "weight_g": round(rng.uniform(560, 640), 1), "status": status,
               "received_at": datetime.combine(day + timedelta(days=3), datetime.min.time(), UTC),
               "storage_location": f"CS{1 + i % 2}-R{(i // 100) % 20 + 1:02d}-P{i % 100 + 1:02d}",
               "pool_id": ids[Pool] + pool if pool is not None else None}


async def _cold_store_history(conn: Any, pop: Population, rng: random.Random) -> None:
    """A quarter-hourly air-temperature record of the cold stores the units lie in (CS1, CS2), from the
    first receipt until now, so their storage record is complete; the live twin continues it."""
    sensors = (await conn.execute(select(Sensor.id).where(Sensor.tag.in_(("CS1-TT-101", "CS2-TT-101"))))
               ).scalars().all()
    start = datetime.combine(pop.start, datetime.min.time(), UTC)
    steps = int((datetime.now(UTC) - start) / HISTORY_STEP)

    def rows() -> Iterator[dict[str, Any]]:
        for sid in sensors:
            for i in range(steps):
                t = start + i * HISTORY_STEP
                yield {"sensor_id": sid, "source_time": t, "received_at": t, "quality": "GOOD",
                       "value": round(-30.5 + rng.gauss(0, 0.6), 2)}

    for chunk in _chunked(rows()):
        await conn.execute(insert(SensorReading), chunk)


async def _packaging(conn: Any, pop: Population, rng: random.Random, ids: dict[Any, int],
                     lot_rows: list[dict[str, Any]], dist_rows: list[dict[str, Any]]) -> dict[str, int]:
    shipments: list[dict[str, Any]] = []
    ship_of: dict[tuple[int, int], int] = {}
    for n, lot in enumerate(lot_rows):
        if lot["status"] != "RELEASED":
            continue
        for c in range(pop.cases_per_lot):
            ship_of[(n, c)] = ids[Shipment] + len(shipments)
            shipments.append({"id": ship_of[(n, c)], "code": f"SH-{n + 1:05d}-{c + 1}",
                              "distributor_id": dist_rows[(n + c) % len(dist_rows)]["id"],
                              "shipped_at": datetime.combine(lot["filled_on"] + timedelta(days=40),
                                                             datetime.min.time(), UTC)})
    if shipments:
        for chunk in _chunked(iter(shipments)):
            await conn.execute(insert(Shipment), chunk)
    prefix = dict(PRODUCTS)
    written = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal written
        next_id, serial = ids[PackagingUnit], 0
        for n, lot in enumerate(lot_rows):
            pre = prefix[lot["product"]]
            for c in range(pop.cases_per_lot):
                serial += 1
                case_id = next_id
                next_id += 1
                yield {"id": case_id, "code": f"{pre}{serial:013d}", "level": "CASE", "final_lot_id": lot["id"],
                       "parent_id": None, "shipment_id": ship_of.get((n, c))}
                for _ in range(pop.cartons_per_case):
                    serial += 1
                    carton_id = next_id
                    next_id += 1
                    yield {"id": carton_id, "code": f"{pre}{serial:013d}", "level": "CARTON",
                           "final_lot_id": lot["id"], "parent_id": case_id, "shipment_id": None}
                    for _ in range(pop.units_per_carton):
                        serial += 1
                        yield {"id": next_id, "code": f"{pre}{serial:013d}", "level": "UNIT",
                               "final_lot_id": lot["id"], "parent_id": carton_id, "shipment_id": None}
                        next_id += 1
        written = next_id - ids[PackagingUnit]

    for chunk in _chunked(rows()):
        await conn.execute(insert(PackagingUnit), chunk)
    return {"shipments": len(shipments), "packagingUnits": written}
