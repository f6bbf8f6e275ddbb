"""Moving every record between stores (IT-25, IT-27, IT-32): SQLite to PostgreSQL and back, verified table by
table by row count and row digest, the audit chain intact, and the move in the audit trail with who, when,
what, why and where; a non-empty target or a missing reason is refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api import cli
from records.audit import AuditEvent
from records.audit_state import verify_store
from records.db import Database
from resolvers.backup import BackupError
from resolvers.migrate_data import digests, migrate
from tests import services
from tests.test_release import _release, rel  # noqa: F401 - a store with signed records


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


@pytest.mark.req("IT-25", "IT-32")
async def test_sqlite_to_postgresql_and_back_changes_nothing(rel: dict[str, Any],  # noqa: F811
                                                            pg_server: services.Postgres, tmp_path: Path) -> None:
    await _release(rel)  # signatures, a PAdES document, a released batch, its traceability delivery
    source = rel["db"]
    before = await digests(source)
    assert before["e_signature"][0] > 0 and before["audit_event"][0] > 0
    seen: list[tuple[str, int, int]] = []
    pg_url = pg_server.create_database("migrated")
    report = await migrate(_url(source), pg_url, reason="move to the production server", actor="it.admin",
                           progress=lambda t, done, total: seen.append((t, done, total)))
    assert report.ok, report.problems
    assert {t for t, _, _ in seen} == set(before) and all(done == total for t, done, total in seen
                                                         if (t, done) == (t, total))
    pg = Database(pg_url)
    try:
        after = await digests(pg)
        for name, (n, digest) in before.items():
            if name != "audit_event":
                assert after[name] == (n, digest), name
        assert after["audit_event"][0] == before["audit_event"][0] + 1  # the MIGRATED event
        async with pg.read() as s:
            moved = (await s.execute(select(AuditEvent).where(AuditEvent.action == "MIGRATED"))).scalar_one()
        assert moved.actor == "migration:it.admin" and moved.reason == "move to the production server"
        assert moved.changes["from"].startswith("sqlite") and moved.changes["to"].startswith("postgresql")
        assert moved.changes["tables"]["e_signature"]["rows"] == before["e_signature"][0]
        assert (await verify_store(pg)).ok
        # New records take ids after the copied ones (the sequences moved on).
        await pg.record(__import__("records.audit", fromlist=["AuditContext"]).AuditContext("t"),
                        __import__("records.audit", fromlist=["PendingEvent"]).PendingEvent("TEST", "x", "1", {}))
    finally:
        await pg.dispose()

    # And back into an empty SQLite file: the same rows again.
    back = f"sqlite+aiosqlite:///{tmp_path / 'back.db'}"
    again = await migrate(pg_url, back, reason="test the way back", actor="it.admin")
    assert again.ok, again.problems
    round_trip = Database(back)
    try:
        final = await digests(round_trip)
        for name, (n, digest) in before.items():
            if name != "audit_event":
                assert final[name] == (n, digest), name
        assert (await verify_store(round_trip)).ok
    finally:
        await round_trip.dispose()


async def test_a_non_empty_target_or_no_reason_is_refused(sqlite_db: Database, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="reason"):
        await migrate(_url(sqlite_db), f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", reason=" ")
    from demo.seed import seed_stations

    await seed_stations(sqlite_db)
    with pytest.raises(BackupError, match="not empty"):
        await migrate(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", _url(sqlite_db), reason="wrong way round")


def test_the_command_line_moves_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from demo.seed import seed_stations
    from records.migrate import upgrade

    src = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    upgrade(src)

    async def seed() -> None:
        db = Database(src)
        await seed_stations(db)
        await db.dispose()

    asyncio.run(seed())
    dst = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    assert cli.main(["migrate-data", "--from", src, "--to", dst, "--reason", "new disk"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] and "plasma_station: " in captured.err
    assert cli.main(["migrate-data", "--from", src, "--to", dst, "--reason", "again"]) == 1
