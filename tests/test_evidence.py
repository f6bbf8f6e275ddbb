"""The audit-evidence package (section 11): trail extract, its verification, the permissions in force, every
signature re-verified and retention status, from a SQLite and a PostgreSQL store, with a manifest; a tampered
signature or row shows in it."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from api import cli
from records.db import Database
from resolvers.evidence import collect, save
from resolvers.migrate_data import migrate
from tests import services
from tests.test_release import _release, rel  # noqa: F401 - a store with signed records


def _url(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def _check(out: Path, ok: bool) -> dict[str, str]:
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ok"] is ok
    texts = {}
    for name, digest in manifest["files"].items():
        data = (out / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        texts[name] = data.decode()
    assert set(texts) == {"audit-trail.jsonl", "audit-verification.json", "permissions.md", "signatures.md",
                          "retention.md"}
    return texts


@pytest.mark.req("AU-01")
async def test_the_package_of_a_store_on_sqlite_and_postgresql(rel: dict[str, Any],  # noqa: F811
                                                               pg_server: services.Postgres, tmp_path: Path) -> None:
    await _release(rel)  # signatures, a PAdES document, a released batch
    source: Database = rel["db"]
    pg_url = pg_server.create_database("evidence")
    assert (await migrate(_url(source), pg_url, reason="evidence on both stores", actor="it.admin")).ok
    pg = Database(pg_url)
    try:
        for name, db in (("sqlite", source), ("postgres", pg)):
            evidence = await collect(db, events=50)
            save(evidence, tmp_path / name)
            texts = _check(tmp_path / name, True)
            trail = [json.loads(line) for line in texts["audit-trail.jsonl"].splitlines()]
            assert len(trail) == 50 and all(a["prevHash"] == b["hash"] for b, a in itertools.pairwise(trail))
            assert json.loads(texts["audit-verification.json"])["chainOk"] is True
            assert "| releasePlasma | RELEASED | qa_officer |" in texts["permissions.md"], name
            assert "files as shipped" in texts["permissions.md"]
            assert "| completeRelease | RELEASED | ES256 | 1 |" in texts["signatures.md"], texts["signatures.md"]
            assert "## Problems" not in texts["signatures.md"]
            assert "| plasma_unit | 10 years | collection date |" in texts["retention.md"]
    finally:
        await pg.dispose()

    # A signature changed behind the application's back (its trigger dropped first): the package says so.
    async with source.write_engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER e_signature_no_update"))
        await conn.execute(text("UPDATE e_signature SET value = 'AAAA' WHERE id = (SELECT min(id) FROM e_signature)"))
    evidence = await collect(source, events=10)
    save(evidence, tmp_path / "tampered")
    texts = _check(tmp_path / "tampered", False)
    assert "## Problems" in texts["signatures.md"] and "value does not verify" in texts["signatures.md"]
    with pytest.raises(FileExistsError):
        save(evidence, tmp_path / "tampered")


def test_the_command_line_writes_a_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    assert cli.main(["migrate", "--database-url", url]) == 0
    capsys.readouterr()
    assert cli.main(["audit", "evidence", "--database-url", url, "--out", str(tmp_path / "pkg")]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["ok"] is True and "permissions.md" in line["files"]
    _check(tmp_path / "pkg", True)
    assert cli.main(["audit", "evidence", "--database-url", url, "--out", str(tmp_path / "pkg")]) == 1
