"""Retention (IT-20, IT-21): the database itself refuses to delete plasma collection and testing records
younger than 10 years and a batch record until a year past the batch's expiry date (for ever while it has
none), whether the delete comes through the application or behind it; older records can be deleted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from records.audit import AuditContext
from records.db import Database
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, RetestResult
from records.retention import RULES

CTX = AuditContext("tester", reason="retention test")
TODAY = datetime.now(UTC).date()


async def _delete(db: Database, table: str, row_id: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(f"DELETE FROM {table} WHERE id = :i"), {"i": row_id})  # noqa: S608 - test names


async def _refused(db: Database, table: str, row_id: int) -> str:
    with pytest.raises(DBAPIError) as caught:
        await _delete(db, table, row_id)
    return str(caught.value)


async def _unit(db: Database, number: str, collected: date) -> tuple[int, int]:
    async with db.write(CTX) as s:
        station = (await s.execute(select(PlasmaStation).limit(1))).scalar_one_or_none()
        if station is None:
            station = PlasmaStation(code="PS-R", name="Station", province="X", licence_number="L")
            s.add(station)
            await s.flush()
        donor = Donor(card_number=f"D-{number}", station_id=station.id, name="Synthetic Donor", blood_type="A")
        s.add(donor)
        await s.flush()
        unit = PlasmaUnit(donation_number=number, donor_id=donor.id, station_id=station.id, blood_type="A",
                          collected_on=collected, weight_g=600.0, status="QUARANTINED")
        s.add(unit)
        await s.flush()
        test = RetestResult(unit_id=unit.id, test="ALT", result="NEGATIVE", value=20.0, method="m", kit_lot="k",
                            instrument="i", analyst="qc", tested_at=datetime.combine(collected, datetime.min.time(),
                                                                                    UTC) + timedelta(days=3))
        s.add(test)
        await s.flush()
        return unit.id, test.id


@pytest.mark.req("IT-20")
async def test_plasma_collection_and_testing_records_are_kept_ten_years(db: Database) -> None:
    young, young_test = await _unit(db, "U-YOUNG", TODAY - timedelta(days=400))
    old, old_test = await _unit(db, "U-OLD", TODAY - timedelta(days=365 * 10 + 10))
    assert "plasma testing records are kept 10 years" in await _refused(db, "retest_result", young_test)
    # Through the application too: the ORM's DELETE meets the same trigger, and nothing is removed.
    with pytest.raises(DBAPIError, match="retention"):
        async with db.write(CTX) as s:
            await s.delete(await s.get_one(RetestResult, young_test))
    await _delete(db, "retest_result", old_test)  # older than 10 years: allowed
    assert "plasma collection records are kept 10 years" in await _refused(db, "plasma_unit", young)
    await _delete(db, "plasma_unit", old)
    async with db.read() as s:
        assert {u.donation_number for u in (await s.execute(select(PlasmaUnit))).scalars()} == {"U-YOUNG"}


@pytest.mark.req("IT-21")
async def test_a_batch_record_is_kept_a_year_past_the_expiry_date(db: Database) -> None:
    async with db.write(CTX) as s:
        rows = [Batch(batch_number="B-NO-EXPIRY", product="P", status="RELEASED"),
                Batch(batch_number="B-EXPIRES-SOON", product="P", status="RELEASED",
                      expiry_date=TODAY - timedelta(days=200)),
                Batch(batch_number="B-LONG-GONE", product="P", status="RELEASED",
                      expiry_date=TODAY - timedelta(days=800))]
        s.add_all(rows)
        await s.flush()
        ids = {b.batch_number: b.id for b in rows}
    for number in ("B-NO-EXPIRY", "B-EXPIRES-SOON"):
        assert "kept 1 year past the expiry date" in await _refused(db, "batch", ids[number])
    await _delete(db, "batch", ids["B-LONG-GONE"])
    async with db.read() as s:
        left = set((await s.execute(select(Batch.batch_number))).scalars())
    assert left == {"B-NO-EXPIRY", "B-EXPIRES-SOON"}


async def test_the_rules_are_readable_by_qa(env: Any) -> None:
    gql, _, _ = env
    qa = await gql.sign_in("qa.sig")
    rules = (await qa("{ retentionRules { table period requirement } }"))["data"]["retentionRules"]
    assert {"table": "batch", "period": "1 year after the batch's expiry date (kept while it has none)",
            "requirement": "IT-21"} in rules
    assert len(rules) == len(RULES)


async def test_every_rule_has_its_trigger_at_the_head_revision(db: Database) -> None:
    """A later SQLite migration that rebuilds one of these tables (batch_alter_table) would drop its trigger."""
    sql = ("SELECT name FROM sqlite_master WHERE type = 'trigger'" if db.is_sqlite
           else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    async with db.engine.connect() as conn:
        names = set((await conn.execute(text(sql))).scalars())
    assert {f"{r.table}_retention" for r in RULES} <= names


@pytest.mark.req("IT-20", "IT-21")
async def test_supply_records_and_a_batchs_other_records_are_kept_too(db: Database) -> None:
    """Beyond the first tables: a plasma shipment (supply) is kept 10 years, a deviation a year past its
    batch's expiry and for good without a batch."""
    from records.plasma import PlasmaShipment
    from records.quality import Deviation

    now = datetime.now(UTC)
    async with db.write(CTX) as s:
        station = PlasmaStation(code="PS-S", name="Station", province="X", licence_number="L")
        gone = Batch(batch_number="B-GONE", product="P", status="RELEASED", expiry_date=TODAY - timedelta(days=800))
        s.add_all([station, gone])
        await s.flush()
        shipments = [PlasmaShipment(code=f"SH-{i}", station_id=station.id, submitted_by="st", submitted_at=at)
                     for i, at in enumerate([now - timedelta(days=30), now - timedelta(days=365 * 10 + 10)])]
        deviations = [Deviation(number=f"DEV-R-{i}", title="t", description="d", batch_id=b, raised_by="op",
                                raised_at=now) for i, b in enumerate([None, gone.id])]
        s.add_all([*shipments, *deviations])
        await s.flush()
        young, old = (x.id for x in shipments)
        loose, of_gone = (d.id for d in deviations)
    assert "plasma supply records are kept 10 years" in await _refused(db, "plasma_shipment", young)
    await _delete(db, "plasma_shipment", old)
    assert "kept 1 year past the expiry date" in await _refused(db, "deviation", loose)
    await _delete(db, "deviation", of_gone)
