"""Attack matrix, audit trail: business rows changed in the database behind the application.

The hash chain proves the events were not touched; these cases prove that `audit verify` (the CLI and
`verifyAuditChain`) also finds a row that no longer holds its last audited values, a row with no audit
record, and a row that is gone, while the chain itself still verifies. Rows of the synthetic import
(no CREATE events) are covered by the digests of the import event.

Add a case here for every new audited table written outside the ORM, and every new bulk import.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import io
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import rfc8785
from sqlalchemy import func, insert, select, text

from api import cli
from api.app import build_services, create_app
from api.seed import NewUser
from demo import population
from demo.seed import seed_stations
from demo.setup import seed_all
from records.audit import AuditContext, PendingEvent, append, verify_chain
from records.audit import AuditEvent as AuditEventModel
from records.audit_state import TableDigest, audited_tables, verify_store
from records.db import Database
from records.plant import Room, Sensor
from records.plasma import Batch, Donor, PlasmaUnit
from tests.conftest import GQL, PASSWORD, add_users, make_settings
from tests.signing_env import add_tiny_plant

SMALL = population.Population(donors=20, units=60, pools=3, distributors=1, start=date.today() - timedelta(days=5))
ALICE = AuditContext("alice", None, "correction after review", "10.1.2.3")
VERIFY = """{verifyAuditChain{ok checked firstBrokenAt problem rowsChecked stateOk mismatchCount
            mismatches(first: 50){entity entityId column audited current problem}}}"""


@dataclass(frozen=True)
class Store:
    db: Database
    gql: GQL  # signed in as the audit administrator
    imported_batch: int  # the import's IN_PROGRESS batch
    imported_unit: int  # an imported unit in storage (not pooled)
    orm_batch: int  # created through the application, with its CREATE event
    orm_unit: int


async def _orm_rows(db: Database) -> tuple[int, int]:
    async with db.write(ALICE) as s:
        donor = (await s.execute(select(Donor).order_by(Donor.id).limit(1))).scalar_one()
        batch = Batch(batch_number="B-ORM-0001", product="Human Albumin 20%", status="IN_PROGRESS")
        unit = PlasmaUnit(donation_number="D-ORM-000000001", donor_id=donor.id, station_id=donor.station_id,
                          blood_type=donor.blood_type, collected_on=date.today(), weight_g=600.0,
                          status="QUARANTINED", storage_location="CS1-R01-P01")
        s.add_all([batch, unit])
        await s.flush()
        return batch.id, unit.id


@pytest_asyncio.fixture
async def store(db: Database) -> AsyncIterator[Store]:
    """Stations, a small synthetic import, a batch and a unit made through the ORM, the standard users, and
    the API over the same database (SQLite and PostgreSQL)."""
    await seed_stations(db)
    await population.generate(db, SMALL)
    orm_batch, orm_unit = await _orm_rows(db)
    await _retention_off(db)
    await add_users(db)
    async with db.read() as s:
        imported_batch = (await s.execute(select(Batch.id).where(
            Batch.status == "IN_PROGRESS", Batch.id != orm_batch))).scalar_one()
        imported_unit = (await s.execute(select(func.min(PlasmaUnit.id)).where(
            PlasmaUnit.pool_id.is_(None), PlasmaUnit.id != orm_unit))).scalar_one()
    settings = make_settings(db.url)
    app = create_app(settings, build_services(settings, db))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        auditor = await GQL(client).sign_in("audit.one")
        yield Store(db, auditor, imported_batch, imported_unit, orm_batch, orm_unit)


async def _retention_off(db: Database) -> None:
    """These tests delete fresh units and batches, through the application and behind it, to prove the
    verification finds them; the retention triggers that refuse such deletes (tests/test_retention.py) go first,
    as someone with the database owner's rights would do."""
    for table in ("plasma_unit", "batch"):
        on = f" ON {table}" if not db.is_sqlite else ""
        await _sql(db, f"DROP TRIGGER {table}_retention{on}")


async def _sql(db: Database, stmt: str, **params: Any) -> None:
    """What someone with write access to the database file or server does: no application, no event."""
    async with db.engine.begin() as conn:
        await conn.execute(text(stmt), params)


async def _cli(url: str) -> tuple[int, dict[str, Any]]:
    """`plasmatwin audit verify` (its function, in a thread: it runs its own event loop)."""
    args = argparse.Namespace(database_url=url, mismatches=50)
    out: list[str] = []

    def run() -> int:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = cli.cmd_audit_verify(args)
        out.append(buf.getvalue())
        return code

    code = await asyncio.to_thread(run)
    return code, json.loads(out[0].strip().splitlines()[-1])


async def _graphql(st: Store) -> dict[str, Any]:
    body = await st.gql(VERIFY)
    assert "errors" not in body, body
    report: dict[str, Any] = body["data"]["verifyAuditChain"]
    return report


async def _chain_ok(db: Database) -> bool:
    async with db.read() as s:
        return (await verify_chain(s)).ok


# --- a clean store verifies ----------------------------------------------------------------

@pytest.mark.req("IT-03")
async def test_the_demo_seeding_leaves_every_audited_row_accounted_for(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """`plasmatwin demo`'s seeding (ORM rows with events, the bulk import with its digests) verifies clean."""
    monkeypatch.setattr(population, "generate", functools.partial(population.generate, pop=SMALL))
    await seed_all(db, [NewUser("qa.demo", "QA Demo", ("qa_officer",), PASSWORD)])
    report = await verify_store(db)
    assert report.state.mismatches == () and report.ok, report.state.mismatches[:5]
    async with db.read() as s:
        rows = 0
        for t in audited_tables():
            rows += (await s.execute(select(func.count()).select_from(t.table))).scalar_one()
    assert report.state.rows_checked == rows and rows > SMALL.units + SMALL.donors
    assert report.chain.ok and report.problem is None


async def test_a_clean_store_verifies_in_the_cli_and_the_api(store: Store) -> None:
    code, out = await _cli(store.db.url)
    assert code == 0 and out["ok"] is True and out["stateOk"] is True and out["mismatches"] == []
    assert out["rowsChecked"] > SMALL.units and out["problem"] is None
    report = await _graphql(store)
    assert report["ok"] and report["stateOk"] and report["mismatchCount"] == 0 and report["mismatches"] == []
    assert report["rowsChecked"] == out["rowsChecked"] and report["firstBrokenAt"] is None


async def test_changes_through_the_application_keep_imported_rows_verifiable(store: Store) -> None:
    """UPDATE and DELETE events on imported rows: their import-time state is rebuilt from the events."""
    async with store.db.write(ALICE) as s:
        unit = await s.get_one(PlasmaUnit, store.imported_unit)
        unit.status, unit.storage_location = "RELEASED", "CS2-R02-P02"
        batch = await s.get_one(Batch, store.imported_batch)
        batch.status = "COMPLETED"
    async with store.db.write(ALICE) as s:
        (await s.get_one(PlasmaUnit, store.imported_unit)).status = "BLOCKED"
        last = (await s.execute(select(func.max(PlasmaUnit.id)).where(PlasmaUnit.id != store.orm_unit))).scalar_one()
        await s.delete(await s.get_one(PlasmaUnit, last))
    report = await verify_store(store.db)
    assert report.ok, report.state.mismatches


# --- changes behind the application are found --------------------------------------------

# (raw SQL, expected (entity, entity id or None for an import's range, column, problem, audited, current))
Case = Callable[[Store], tuple[str, dict[str, Any], tuple[str, str | None, str | None, str, Any, Any]]]

CASES: dict[str, Case] = {
    "imported batch released": lambda st: (
        "UPDATE batch SET status = 'RELEASED' WHERE id = :i", {"i": st.imported_batch},
        ("batch", None, "status", "IMPORT_DIGEST", None, None)),
    "imported unit released": lambda st: (
        "UPDATE plasma_unit SET status = 'RELEASED' WHERE id = :i", {"i": st.imported_unit},
        ("plasma_unit", None, "status", "IMPORT_DIGEST", None, None)),
    "application batch released": lambda st: (
        "UPDATE batch SET status = 'RELEASED' WHERE id = :i", {"i": st.orm_batch},
        ("batch", str(st.orm_batch), "status", "VALUE_CHANGED", "IN_PROGRESS", "RELEASED")),
    "application unit released": lambda st: (
        "UPDATE plasma_unit SET status = 'RELEASED', weight_g = 640.0 WHERE id = :i", {"i": st.orm_unit},
        ("plasma_unit", str(st.orm_unit), "status", "VALUE_CHANGED", "QUARANTINED", "RELEASED")),
    "batch inserted without an event": lambda st: (
        "INSERT INTO batch (id, batch_number, product, status) VALUES (:i, 'B-FORGED', 'Human Albumin 20%', "
        "'RELEASED')", {"i": st.orm_batch + 100},
        ("batch", str(st.orm_batch + 100), None, "UNAUDITED_ROW", None, None)),
    "application unit deleted": lambda st: (
        "DELETE FROM plasma_unit WHERE id = :i", {"i": st.orm_unit},
        ("plasma_unit", str(st.orm_unit), None, "ROW_MISSING", None, None)),
    "imported unit deleted": lambda st: (
        "DELETE FROM plasma_unit WHERE id = :i", {"i": st.imported_unit},
        ("plasma_unit", None, None, "IMPORT_DIGEST", {"rows": SMALL.units}, {"rows": SMALL.units - 1})),
}


@pytest.mark.req("IT-54")
@pytest.mark.parametrize("case", list(CASES))
async def test_a_row_changed_behind_the_application_fails_verification(store: Store, case: str) -> None:
    stmt, params, (entity, entity_id, column, problem, audited, current) = CASES[case](store)
    await _sql(store.db, stmt, **params)
    assert await _chain_ok(store.db), "the chain itself is intact"

    code, out = await _cli(store.db.url)
    assert code == 1 and out["ok"] is False and out["stateOk"] is False and out["firstBrokenAt"] is None
    assert "audit trail" in out["problem"]
    hits = [m for m in out["mismatches"] if (m["entity"], m["column"], m["problem"]) == (entity, column, problem)]
    assert len(hits) == 1, out["mismatches"]
    if entity_id is not None:
        assert hits[0]["entityId"] == entity_id
    if audited is not None or current is not None:
        assert (hits[0]["audited"], hits[0]["current"]) == (audited, current)

    report = await _graphql(store)
    assert report["ok"] is False and report["stateOk"] is False and report["firstBrokenAt"] is None
    assert report["mismatchCount"] == out["mismatchCount"] >= 1
    got = [m for m in report["mismatches"] if (m["entity"], m["column"], m["problem"]) == (entity, column, problem)]
    assert [(m["entityId"], json.loads(m["audited"]), json.loads(m["current"])) for m in got] == [
        (h["entityId"], h["audited"], h["current"]) for h in hits]


@pytest.mark.req("IT-54")
async def test_a_direct_edit_after_an_audited_update_of_an_imported_row_is_found(store: Store) -> None:
    """The digest alone would pass (rolling back restores the import); the last UPDATE event does not."""
    async with store.db.write(ALICE) as s:
        (await s.get_one(PlasmaUnit, store.imported_unit)).status = "BLOCKED"
    await _sql(store.db, "UPDATE plasma_unit SET status = 'RELEASED' WHERE id = :i", i=store.imported_unit)
    report = await verify_store(store.db)
    assert report.chain.ok and not report.ok
    assert [(m.entity, m.entity_id, m.column, m.audited, m.current, m.problem) for m in report.state.mismatches] == [
        ("plasma_unit", str(store.imported_unit), "status", "BLOCKED", "RELEASED", "VALUE_CHANGED")]


@pytest.mark.req("IT-54")
async def test_a_row_put_back_after_its_audited_deletion_is_found(store: Store) -> None:
    async with store.db.write(ALICE) as s:
        await s.delete(await s.get_one(Batch, store.orm_batch))
    assert (await verify_store(store.db)).ok
    await _sql(store.db, "INSERT INTO batch (id, batch_number, product, status) VALUES "
                         "(:i, 'B-ORM-0001', 'Human Albumin 20%', 'RELEASED')", i=store.orm_batch)
    report = await verify_store(store.db)
    assert report.chain.ok and not report.ok
    assert [(m.entity, m.entity_id, m.problem) for m in report.state.mismatches] == [
        ("batch", str(store.orm_batch), "DELETED_ROW_PRESENT")]


@pytest.mark.req("IT-54")
async def test_a_column_added_by_a_migration_must_hold_its_server_default(db: Database) -> None:
    """Rows made before a migration added a NOT NULL column with a server default (sensor alarm rules,
    0015) have CREATE events without it: the default is accepted, anything else is not."""
    await add_tiny_plant(db)
    async with db.engine.begin() as conn:
        room = (await conn.execute(select(Room.id))).scalars().first()
        sid = (await conn.execute(insert(Sensor).values(tag="OLD-TT-1", name="Old", kind="temperature", unit="C",
                                                        room_id=room).returning(Sensor.id))).scalar_one()
        old = {"id": sid, "tag": "OLD-TT-1", "name": "Old", "kind": "temperature", "unit": "C", "room_id": room}
        await conn.run_sync(lambda c: append(c, AuditContext("system", reason="before 0015"), [
            PendingEvent("CREATE", "sensor", str(sid), {k: [None, v] for k, v in old.items()})]))
    assert (await verify_store(db)).ok
    await _sql(db, "UPDATE sensor SET alarm_priority = 'LOW' WHERE id = :i", i=sid)
    report = await verify_store(db)
    assert report.chain.ok and [(m.entity, m.column, m.audited, m.current) for m in report.state.mismatches] == [
        ("sensor", "alarm_priority", "MEDIUM", "LOW")]


async def test_row_differences_are_for_the_audit_administrator_and_qa_only(store: Store) -> None:
    await _sql(store.db, "UPDATE batch SET status = 'RELEASED' WHERE id = :i", i=store.orm_batch)
    anonymous = await GQL(store.gql.client)(VERIFY)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    operator = await GQL(store.gql.client).sign_in("op.one")
    assert (await operator(VERIFY))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    qa = await GQL(store.gql.client).sign_in("qa.one")
    assert (await qa(VERIFY))["data"]["verifyAuditChain"]["mismatchCount"] == 1
    bad = await store.gql("{verifyAuditChain{mismatches(first: -1){entity}}}")
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


# --- the digest --------------------------------------------------------------------------

def test_the_import_digest_is_sha256_of_the_canonical_json_of_the_rows() -> None:
    rows = [{"id": 1, "status": "RELEASED", "weight_g": 612.3, "note": None},
            {"id": 2, "status": "BLOCKED", "weight_g": 600.0, "note": "é\n\u2028"}]
    d = TableDigest(["id", "status", "weight_g", "note"])
    for r in rows:
        d.add(r)
    got = d.result()
    assert got["rows"] == 2
    assert got["sha256"] == hashlib.sha256(rfc8785.dumps(rows)).hexdigest()
    assert got["columns"]["status"] == hashlib.sha256(rfc8785.dumps(["RELEASED", "BLOCKED"])).hexdigest()
    assert TableDigest(["id"]).result()["sha256"] == hashlib.sha256(b"[]").hexdigest()



async def test_a_field_refused_on_every_object_is_audited_once_per_request(gql: GQL, app_db: Database) -> None:
    """An operator may read alarms but not plasma units: asking each alarm's affected units is one
    denial in the audit trail per request, not one per alarm (an attacker could flood the chain)."""
    async with app_db.write(AuditContext("system", reason="test alarms")) as s:
        from records.alarms import Alarm
        from records.base import utcnow

        now = utcnow()
        for i in range(5):
            s.add(Alarm(tag=f"T-{i}", source="LIMIT", condition="HIGH", priority="HIGH",
                        state="ACTIVE", message="test", began_at=now, raised_at=now))
    op = await gql.sign_in("op.one")

    async def denials() -> int:
        async with app_db.read() as s:
            return int((await s.execute(select(func.count()).select_from(AuditEventModel).where(
                AuditEventModel.action == "ACCESS_DENIED"))).scalar_one())

    before = await denials()
    body = await op("{alarms{edges{node{tag affectedUnits}}}}")
    assert len(body["data"]["alarms"]["edges"]) == 5
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"} and len(body["errors"]) == 5
    assert await denials() == before + 1
