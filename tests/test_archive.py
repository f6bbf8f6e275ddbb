"""Archives of GMP records (IT-33): every audited record with its audit trail and its e-signatures, written
once into read-only files under a manifest of SHA-256 sums signed by the organisation; verification reports
no drift on the archive as written and names every changed, missing or extra file; the records stay in the
store and readable, and the database still refuses their deletion within retention."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api import cli
from demo import ca as demo_ca
from records.audit import AuditEvent
from resolvers.archive import export, verify
from resolvers.backup import BackupError
from tests.test_release import _release, rel  # noqa: F401 - a released batch: signatures, a PAdES document
from tests.test_retention import _refused


@pytest.mark.req("IT-33")
async def test_an_archive_is_written_once_signed_and_verified(rel: dict[str, Any], pki_dir: Path,  # noqa: F811
                                                              tmp_path: Path) -> None:
    await _release(rel)
    db = rel["db"]
    org = demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]
    out = tmp_path / "archive-2026"
    manifest_path = await export(db, out, actor="archivist", key_pem=org.key_pem, cert_pem=org.cert_pem)
    manifest = json.loads(manifest_path.read_text())
    assert verify(out, org.cert_pem) == []
    # Each batch record carries its audit trail and its signatures.
    batches = [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]
    released = next(b for b in batches if b["row"]["batch_number"] == rel["batch"])
    assert released["row"]["status"] == "RELEASED"
    assert any(e["action"] == "UPDATE" and "status" in e["changes"] for e in released["events"])
    assert {x["meaning"] for x in released["signatures"]} >= {"RELEASED"}
    assert manifest["tables"]["batch"]["rows"] == len(batches)
    # Written once: read-only files, and a second export into the same place is refused.
    assert not (out / "batch.jsonl").stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with pytest.raises(BackupError, match="not empty"):
        await export(db, out)
    async with db.read() as s:
        logged = (await s.execute(select(AuditEvent).where(AuditEvent.action == "ARCHIVED"))).scalar_one()
    assert logged.actor == "archive:archivist" and logged.changes["tables"]["batch"] == len(batches)

    # Any change is found: a record edited, a file removed, a file added, the manifest not the organisation's.
    edited = out / "batch.jsonl"
    edited.chmod(0o644)
    edited.write_text(edited.read_text().replace('"RELEASED"', '"REJECTED"', 1))
    (out / "plasma_unit.jsonl").unlink()
    (out / "extra.jsonl").write_text("{}\n")
    other = demo_ca.write_pki(pki_dir / "other", [("organisation", "Someone else", "ES256")])["organisation"]
    problems = verify(out, other.cert_pem)
    assert problems[0] == "the manifest's signature does not verify with the organisation's certificate"
    assert "batch.jsonl (batch) changed since it was archived" in problems
    assert "plasma_unit.jsonl (plasma_unit) is missing" in problems and "extra.jsonl is not in the manifest" in problems
    # Archiving deleted nothing, and the store still refuses to delete a record within its retention.
    async with db.read() as s:
        from records.plasma import Batch

        batch_id = (await s.execute(select(Batch.id).where(Batch.batch_number == rel["batch"]))).scalar_one()
    assert "kept 1 year past the expiry date" in await _refused(db, "batch", batch_id)


def test_the_command_line_archives_and_verifies(tmp_path: Path, pki_dir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from demo.seed import seed_stations
    from records.db import Database
    from records.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    upgrade(url)

    async def seed() -> None:
        db = Database(url)
        await seed_stations(db)
        await db.dispose()

    asyncio.run(seed())
    org = demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]
    (tmp_path / "org.crt").write_bytes(org.cert_pem)
    out = tmp_path / "arch"
    assert cli.main(["archive", "export", "--database-url", url, "--out", str(out), "--table", "plasma_station"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "plasma_station.jsonl"]
    # Unsigned (no organisation key in this environment): verification says so and fails.
    assert cli.main(["archive", "verify", str(out), "--org-cert", str(tmp_path / "org.crt")]) == 1
    assert "signature" in json.loads(capsys.readouterr().out)["problems"][0]


@pytest.mark.req("IT-33")
async def test_a_postgresql_store_archives_the_same_records(rel: dict[str, Any], pki_dir: Path,  # noqa: F811
                                                            pg_server: Any, tmp_path: Path) -> None:
    """The same store on PostgreSQL (moved there with migrate-data) archives the same records, trails and
    signatures, and its archive verifies."""
    from records.db import Database
    from resolvers.migrate_data import migrate

    await _release(rel)
    source = rel["db"]
    org = demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]
    url = pg_server.create_database("archived")
    assert (await migrate(source.engine.url.render_as_string(hide_password=False), url, reason="archive on both",
                          actor="it.admin")).ok
    pg = Database(url)
    try:
        tables = ["batch", "release_document", "plasma_unit"]
        for name, db in (("sqlite", source), ("postgres", pg)):
            await export(db, tmp_path / name, tables=tables, actor="archivist", key_pem=org.key_pem,
                         cert_pem=org.cert_pem)
            assert verify(tmp_path / name, org.cert_pem) == [], name
    finally:
        await pg.dispose()
    for table in tables:
        lines = [[json.loads(x) for x in (tmp_path / n / f"{table}.jsonl").read_text().splitlines()]
                 for n in ("sqlite", "postgres")]
        assert [r["row"] for r in lines[0]] == [r["row"] for r in lines[1]], table
        assert [r["signatures"] for r in lines[0]] == [r["signatures"] for r in lines[1]], table
        assert [[e["hash"] for e in r["events"]] for r in lines[0]] == \
            [[e["hash"] for e in r["events"]] for r in lines[1]], table
