"""Backup and verified restore (issue 14): a store copied while it runs (SQLite online backup, pg_dump on a
shared snapshot), restored into an empty store and compared table by table; a changed file, a changed
manifest or a non-empty target is refused, and both runs are in the audit trail."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from api import cli
from demo import ca as demo_ca
from demo import population
from demo.seed import seed_stations
from records.audit import AuditEvent
from records.base import Base
from records.db import Database
from records.migrate import upgrade
from resolvers.backup import BackupError, backup, restore
from tests import services
from tests.test_release import _release, rel  # noqa: F401 - a store with signed records


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


async def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    import records.models  # noqa: F401

    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.read() as s:
        for name, table in sorted(Base.metadata.tables.items()):
            out[name] = [tuple(r) for r in (await s.execute(select(table).order_by(*table.primary_key.columns))).all()]
    return out


async def _same_after_restore(before: dict[str, list[tuple[Any, ...]]], restored: Database) -> None:
    after = await _rows(restored)
    assert after.keys() == before.keys()
    for name in before:
        expected = before[name]
        got = after[name][:-1] if name == "audit_event" else after[name]  # + the RESTORED event
        assert got == expected, name
    assert "RESTORED" in after["audit_event"][-1]


@pytest.mark.req("IT-35", "IT-36")
async def test_a_sqlite_store_restores_into_an_empty_one_table_for_table(rel: dict[str, Any],  # noqa: F811
                                                                         tmp_path: Path) -> None:
    await _release(rel)  # signatures, a PAdES document, a released batch
    db = rel["db"]
    before = await _rows(db)
    assert before["e_signature"] and before["audit_event"]
    manifest_path = await backup(_url(db), tmp_path / "backups", actor="backup.operator")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["kind"] == "sqlite" and manifest["auditHead"]["id"] == before["audit_event"][-1][0]
    assert manifest["tables"]["e_signature"] == len(before["e_signature"])
    async with db.read() as s:  # the run is in the source's trail
        logged = (await s.execute(select(AuditEvent).where(AuditEvent.action == "BACKUP"))).scalar_one()
    assert logged.actor == "backup:backup.operator" and logged.changes["sha256"] == manifest["sha256"]
    assert (logged.changes["scope"], logged.changes["result"]) == ("every table", "complete") and logged.occurred_at

    target = Database(f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}")
    try:
        report = await restore(manifest_path, _url(target), actor="restore.operator")
        assert report.ok, report.problems
        assert report.signatures == len(before["e_signature"]) and report.rows > 0
        await _same_after_restore(before, target)
    finally:
        await target.dispose()


@pytest.mark.req("IT-35")
async def test_a_changed_copy_a_changed_manifest_or_a_full_target_is_refused(sqlite_db: Database, pki_dir: Path,
                                                                            tmp_path: Path) -> None:
    org = demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]
    await seed_stations(sqlite_db)
    manifest_path = await backup(_url(sqlite_db), tmp_path / "b", key_pem=org.key_pem, cert_pem=org.cert_pem)
    manifest = json.loads(manifest_path.read_text())
    assert manifest["signature"]["algorithm"] == "ES256"
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"

    # Not empty: refused before anything is written.
    with pytest.raises(BackupError, match="not empty"):
        await restore(manifest_path, _url(sqlite_db))
    # The manifest edited: its signature no longer verifies.
    forged = tmp_path / "b" / "forged.manifest.json"
    forged.write_text(json.dumps(manifest | {"tables": manifest["tables"] | {"plasma_station": 99}}))
    with pytest.raises(BackupError, match="signature"):
        await restore(forged, empty, cert_pem=org.cert_pem)
    # The copy changed: its SHA-256 is not the manifest's.
    copy = tmp_path / "b" / manifest["file"]
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="SHA-256"):
        await restore(manifest_path, empty, cert_pem=org.cert_pem)
    assert not (tmp_path / "empty.db").exists() or (tmp_path / "empty.db").stat().st_size == 0


@pytest.mark.req("IT-35")
async def test_a_postgresql_store_restores_through_pg_dump_on_one_snapshot(pg_server: services.Postgres,
                                                                          tmp_path: Path) -> None:
    source_url = pg_server.create_database("backup_source")
    await asyncio.to_thread(upgrade, source_url)
    source = Database(source_url)
    target = Database(pg_server.create_database("backup_target"))
    try:
        await seed_stations(source)
        await population.generate(source, population.Population(donors=20, units=60, pools=2, cases_per_lot=1,
                                                                 cartons_per_case=1, units_per_carton=2))
        before = await _rows(source)
        manifest_path = await backup(source_url, tmp_path / "pg", pg_bin=pg_server.bindir)
        assert json.loads(manifest_path.read_text())["kind"] == "postgresql"
        report = await restore(manifest_path, _url(target), pg_bin=pg_server.bindir)
        assert report.ok, report.problems
        await _same_after_restore(before, target)
        async with target.engine.connect() as conn:  # the append-only triggers came back with the schema
            triggers = (await conn.execute(text(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit_%' AND NOT tgisinternal"))).scalar_one()
        assert triggers >= 4
    finally:
        await source.dispose()
        await target.dispose()


def test_the_command_line_backs_up_and_restores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'plant.db'}"
    upgrade(url)

    async def seed() -> None:
        db = Database(url)
        await seed_stations(db)
        await db.dispose()

    asyncio.run(seed())
    assert cli.main(["backup", "--database-url", url, "--out", str(tmp_path / "b")]) == 0
    manifest = json.loads(capsys.readouterr().out)["manifest"]
    restored = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    assert cli.main(["restore", manifest, "--database-url", restored]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["problems"] == [] and out["tables"] > 30
    assert cli.main(["restore", manifest, "--database-url", restored]) == 1  # not empty any more
    assert "not empty" in json.loads(capsys.readouterr().out)["problems"][0]
