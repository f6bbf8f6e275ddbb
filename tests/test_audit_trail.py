"""The audit trail: one event per change in the same transaction, reasons, append-only, hash chain."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from records.audit import AuditContext, AuditError, AuditEvent, verify_chain
from records.db import Database
from records.plasma import PlasmaStation

ALICE = AuditContext("alice", None, None, "10.1.2.3")


async def _events(db: Database, entity: str | None = None) -> list[AuditEvent]:
    async with db.read() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if entity:
            stmt = stmt.where(AuditEvent.entity == entity)
        return list((await s.execute(stmt)).scalars())


async def _station(db: Database, code: str = "PS-T1") -> int:
    async with db.write(ALICE) as s:
        st = PlasmaStation(code=code, name="Test station", province="Test", licence_number="L-1")
        s.add(st)
        await s.flush()
        return st.id


@pytest.mark.req("IT-01", "IT-05")
async def test_create_update_delete_each_write_an_event_with_old_and_new(db: Database) -> None:
    sid = await _station(db)
    async with db.write(AuditContext("bob", None, "name was misspelt", "10.1.2.4")) as s:
        st = await s.get(PlasmaStation, sid)
        assert st is not None
        st.name = "Test station A"
    async with db.write(AuditContext("carol", None, "registered twice", None)) as s:
        st = await s.get(PlasmaStation, sid)
        await s.delete(st)
    create, update, delete = await _events(db, "plasma_station")
    assert (create.action, create.actor, create.entity_id) == ("CREATE", "alice", str(sid))
    assert create.changes["name"] == [None, "Test station"]
    assert create.client_address == "10.1.2.3"
    assert (update.action, update.actor, update.reason) == ("UPDATE", "bob", "name was misspelt")
    assert update.changes == {"name": ["Test station", "Test station A"]}
    assert (delete.action, delete.reason) == ("DELETE", "registered twice")
    assert delete.changes["code"] == ["PS-T1", None]
    assert create.occurred_at.tzinfo is not None


@pytest.mark.req("IT-01", "IT-22")
async def test_update_without_reason_is_refused_and_nothing_is_written(db: Database) -> None:
    sid = await _station(db)
    before = len(await _events(db))
    with pytest.raises(AuditError):
        async with db.write(AuditContext("bob")) as s:
            st = await s.get(PlasmaStation, sid)
            assert st is not None
            st.name = "changed silently"
    async with db.read() as s:
        assert (await s.get(PlasmaStation, sid)).name == "Test station"  # type: ignore[union-attr]
    assert len(await _events(db)) == before


@pytest.mark.req("IT-03")
async def test_gmp_write_without_audit_context_is_refused(db: Database) -> None:
    async with db._write() as s:
        s.add(PlasmaStation(code="PS-X", name="x", province="x", licence_number="x"))
        with pytest.raises(AuditError):
            await s.flush()
        await s.rollback()


@pytest.mark.req("IT-03", "IT-33")
async def test_database_refuses_update_and_delete_of_audit_rows(db: Database) -> None:
    await _station(db)
    for stmt in ("UPDATE audit_event SET actor = 'mallory'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text(stmt))
    assert {e.actor for e in await _events(db)} == {"alice", "system"}


async def _tamper(db: Database, event_id: int) -> None:
    """What an attacker with database access does: drop the guard, edit a row."""
    async with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
        else:
            await conn.execute(text("DROP TRIGGER audit_event_no_update"))
        await conn.execute(text("UPDATE audit_event SET reason = 'nothing to see' WHERE id = :i"), {"i": event_id})


@pytest.mark.req("IT-54", "IT-03")
async def test_chain_verifies_then_detects_a_row_edited_behind_the_application(db: Database) -> None:
    for i in range(5):
        await _station(db, f"PS-{i}")
    events = await _events(db)
    async with db.read() as s:
        report = await verify_chain(s)
    assert report.ok and report.checked == len(events) and report.first_broken_at is None
    victim = events[len(events) // 2].id
    await _tamper(db, victim)
    async with db.read() as s:
        report = await verify_chain(s)
    assert not report.ok
    assert report.first_broken_at == victim


@pytest.mark.req("IT-54")
async def test_chain_detects_a_deleted_event(db: Database) -> None:
    for i in range(3):
        await _station(db, f"PS-{i}")
    events = await _events(db)
    async with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
        else:
            await conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        await conn.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": events[1].id})
    async with db.read() as s:
        report = await verify_chain(s)
    assert not report.ok and report.first_broken_at == events[2].id


async def test_concurrent_writers_keep_one_linear_chain(db: Database) -> None:
    await asyncio.gather(*(_station(db, f"PS-C{i}") for i in range(12)))
    async with db.read() as s:
        report = await verify_chain(s)
    assert report.ok, report
    assert len({e.prev_hash for e in await _events(db)}) == report.checked


async def test_duplicate_code_conflict_writes_no_event(db: Database) -> None:
    await _station(db, "PS-D")
    before = len(await _events(db))
    with pytest.raises(IntegrityError):
        await _station(db, "PS-D")
    assert len(await _events(db)) == before


@pytest.mark.req("IT-54")
def test_cli_audit_verify_reports_ok_then_broken(sqlite_url: str) -> None:
    async def setup() -> int:
        from records.migrate import upgrade

        await asyncio.to_thread(upgrade, sqlite_url)
        database = Database(sqlite_url)
        for i in range(3):
            await _station(database, f"PS-{i}")
        first = (await _events(database))[0].id
        await database.dispose()
        return first

    first = asyncio.run(setup())
    cmd = [sys.executable, "-m", "api.cli", "audit", "verify", "--database-url", sqlite_url]
    ok = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout.strip().splitlines()[-1]) == {
        "ok": True, "checked": 3, "firstBrokenAt": None, "problem": None,
        "rowsChecked": 3, "stateOk": True, "mismatchCount": 0, "mismatches": [],
        "checkpoints": {"checked": 0, "newestHead": None, "problems": [],
                        "note": "no organisation certificate: checkpoints not checked, a cut tail cannot be seen"}}

    async def tamper() -> None:
        database = Database(sqlite_url)
        await _tamper(database, first)
        await database.dispose()

    asyncio.run(tamper())
    broken = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert broken.returncode == 1
    out = json.loads(broken.stdout.strip().splitlines()[-1])
    assert out["ok"] is False and out["firstBrokenAt"] == first and out["checked"] == 1
