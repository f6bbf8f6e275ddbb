"""Signed checkpoints of the audit chain's head (IT-03): the complete trail is kept, and a cut that the hash
chain alone cannot see (the newest events deleted, the whole chain recomputed, an older copy restored) is
found by `audit verify` against checkpoints in the database and in the file kept outside it."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from api import cli
from demo import ca as demo_ca
from records.audit import AuditContext, AuditEvent, PendingEvent, event_hash, verify_chain
from records.audit_checkpoint import AuditCheckpoint
from records.db import Database
from records.migrate import upgrade
from resolvers import checkpoints
from resolvers.checkpoints import Signer
from tests.test_release import _release, rel  # noqa: F401 - the batch ready for release

CTX = AuditContext("tester", reason="test events")


@pytest.fixture
def org(pki_dir: Path) -> Any:
    return demo_ca.write_pki(pki_dir, [("organisation", "Demo Biologics (synthetic)", "ES256")])["organisation"]


async def _events(db: Database, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        await db.record(CTX, PendingEvent("TEST", "thing", str(i), {"n": i}))


async def _unguard(db: Database) -> None:
    """What an attacker with the database's owner rights does first: switch the append-only triggers off."""
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            await conn.execute(text("DROP TRIGGER audit_event_no_update"))
            await conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            await conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))


@pytest.mark.req("IT-03")
async def test_a_cut_tail_passes_the_chain_but_not_the_checkpoints(db: Database, org: Any, tmp_path: Path) -> None:
    signer = Signer(org.key_pem, org.cert_pem, tmp_path / "checkpoints.jsonl")
    await _events(db, 5)
    line = await checkpoints.write(db, signer, "scheduled")
    assert line is not None and line["reason"] == "scheduled"
    assert await checkpoints.write(db, signer, "scheduled", unless_unchanged=True) is None  # nothing new
    good = await checkpoints.verify(db, org.cert_pem, signer.file)
    assert good.ok and good.checked == 2  # the row and its outside copy

    await _unguard(db)
    async with db.engine.begin() as conn:
        newest = (await conn.execute(text("SELECT max(id) FROM audit_event"))).scalar_one()
        await conn.execute(text("DELETE FROM audit_event WHERE id > :k"), {"k": newest - 2})
    async with db.read() as s:
        assert (await verify_chain(s)).ok  # the chain alone cannot tell
    cut = await checkpoints.verify(db, org.cert_pem, signer.file)
    assert not cut.ok and len(cut.problems) == 2
    assert all(f"signed head event {newest}" in p and f"newest event is {newest - 2}" in p for p in cut.problems)


@pytest.mark.req("IT-03")
async def test_a_recomputed_chain_does_not_match_its_signed_head(db: Database, org: Any, tmp_path: Path) -> None:
    signer = Signer(org.key_pem, org.cert_pem, tmp_path / "checkpoints.jsonl")
    await _events(db, 4)
    await checkpoints.write(db, signer, "release of batch B-1")
    await _unguard(db)
    # Change one event and recompute every hash after it, so that the chain verifies again.
    async with db.engine.begin() as conn:
        first = (await conn.execute(text("SELECT min(id) FROM audit_event WHERE action = 'TEST'"))).scalar_one()
        await conn.execute(text("UPDATE audit_event SET reason = 'nothing happened' WHERE id = :i"), {"i": first})
    async with db.write(AuditContext("system")) as s:
        rows = (await s.execute(select(AuditEvent).where(AuditEvent.id >= first).order_by(AuditEvent.id))).scalars()
        prev = (await s.execute(select(AuditEvent.hash).where(AuditEvent.id == first - 1))).scalar_one()
        fixed = []
        for r in rows:
            h = event_hash(id=r.id, occurred_at=r.occurred_at, actor=r.actor, actor_id=r.actor_id, action=r.action,
                           entity=r.entity, entity_id=r.entity_id, changes=r.changes, reason=r.reason,
                           client_address=r.client_address, prev_hash=prev)
            fixed.append((r.id, prev, h))
            prev = h
    async with db.engine.begin() as conn:
        for i, p, h in fixed:
            await conn.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :i"),
                               {"p": p, "h": h, "i": i})
    async with db.read() as s:
        assert (await verify_chain(s)).ok
    report = await checkpoints.verify(db, org.cert_pem, signer.file)
    assert not report.ok and all("the chain was rewritten" in p for p in report.problems)


@pytest.mark.req("IT-03")
async def test_an_older_copy_restored_is_found_by_the_file_kept_outside(org: Any, tmp_path: Path) -> None:
    path = tmp_path / "plant.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    signer = Signer(org.key_pem, org.cert_pem, tmp_path / "outside" / "checkpoints.jsonl")
    db = Database(url)
    await _events(db, 3)
    await checkpoints.write(db, signer, "scheduled")
    await db.dispose()
    shutil.copy(path, tmp_path / "old.db")  # yesterday's copy
    db = Database(url)
    await _events(db, 3, start=3)
    await checkpoints.write(db, signer, "release of batch B-2")
    await db.dispose()
    shutil.copy(tmp_path / "old.db", path)  # restored over today's
    db = Database(url)
    try:
        report = await checkpoints.verify(db, org.cert_pem, signer.file)
    finally:
        await db.dispose()
    assert not report.ok
    assert any("checkpoints.jsonl:2" in p and "older copy was restored" in p for p in report.problems)
    assert any("checkpoints.jsonl:2" in p and "missing from the database" in p for p in report.problems)


async def test_forged_checkpoints_and_changed_rows_are_refused(db: Database, org: Any, pki_dir: Path,
                                                              tmp_path: Path) -> None:
    signer = Signer(org.key_pem, org.cert_pem, tmp_path / "checkpoints.jsonl")
    await _events(db, 2)
    line = await checkpoints.write(db, signer, "scheduled")
    assert line is not None
    forged = line | {"headId": line["headId"] - 1}
    with signer.file.open("a") as f:  # type: ignore[union-attr]
        f.write(json.dumps(forged) + "\n")
    other = demo_ca.write_pki(pki_dir / "other", [("organisation", "Someone else", "ES256")])["organisation"]
    report = await checkpoints.verify(db, org.cert_pem, signer.file)
    assert report.problems == ["checkpoints.jsonl:2: its signature does not verify with the organisation's "
                               "certificate"]
    assert len((await checkpoints.verify(db, other.cert_pem, signer.file)).problems) == 3  # not ours at all
    # The checkpoints in the database are append-only like the trail.
    with pytest.raises(DBAPIError):
        async with db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_checkpoint"))
    async with db.read() as s:
        assert len((await s.execute(select(AuditCheckpoint))).scalars().all()) == 1


def test_the_command_line_writes_and_verifies_checkpoints(org: Any, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    (tmp_path / "org.key").write_bytes(org.key_pem)
    (tmp_path / "org.crt").write_bytes(org.cert_pem)
    files = ["--org-cert", str(tmp_path / "org.crt"), "--checkpoints", str(tmp_path / "cp.jsonl")]
    async def some() -> None:
        db = Database(url)
        await _events(db, 3)
        await db.dispose()

    asyncio.run(some())
    assert cli.main(["audit", "checkpoint", "--database-url", url, "--org-key", str(tmp_path / "org.key"),
                     *files, "--reason", "before inspection"]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "before inspection"
    assert cli.main(["audit", "verify", "--database-url", url, *files]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["checkpoints"]["checked"] == 2 and out["checkpoints"]["problems"] == []
    (tmp_path / "cp.jsonl").write_text((tmp_path / "cp.jsonl").read_text().replace('"headId": ', '"headId": 1'))
    assert cli.main(["audit", "verify", "--database-url", url, *files]) == 1
    assert not json.loads(capsys.readouterr().out)["ok"]


@pytest.mark.req("IT-03")
async def test_every_release_signs_the_head_it_leaves(rel: dict[str, Any], org: Any, tmp_path: Path) -> None:  # noqa: F811
    services = rel["gql"].client.app_services
    services.checkpoints = Signer(org.key_pem, org.cert_pem, tmp_path / "checkpoints.jsonl")
    _, body = await _release(rel)
    assert body["data"]["completeRelease"]["status"] == "RELEASED"
    async with rel["db"].read() as s:
        mark = (await s.execute(select(AuditCheckpoint))).scalar_one()
        newest = (await s.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))).scalar_one()
    assert mark.reason == f"release of batch {rel['batch']}" and mark.head_id == newest
    assert (await checkpoints.verify(rel["db"], org.cert_pem, services.checkpoints.file)).ok
