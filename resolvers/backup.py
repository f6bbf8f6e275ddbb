"""Backup and verified restore of a whole store (issue 14).

SQLite: the online backup API copies a consistent snapshot while the plant runs. PostgreSQL: `pg_dump -Fc`
inside a REPEATABLE READ transaction whose snapshot it shares (`--snapshot`), so the row counts and the audit
head written into the manifest are those of the dump itself. A logical dump rather than a base backup: it
restores into any server of the same or a newer major version and into an empty database that is checked
table by table; point-in-time recovery (base backup plus WAL archive) is the database administrator's
complement, docs/operations.md.

A restore refuses a non-empty target and a file whose SHA-256 differs from its manifest, and reports success
only when every table's row count and the audit head equal the manifest's, the audit chain and every audited
row verify, and every e-signature still has the audit event that binds it to its record.
"""

from __future__ import annotations

import asyncio
import base64
import getpass
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from policies import pki
from records.audit import AuditContext, AuditEvent, PendingEvent, iso
from records.audit_state import verify_store
from records.base import Base, utcnow
from records.db import Database
from records.signature import ESignature

FORMAT = "plasmatwin-backup/1"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


def _tables() -> list[str]:
    import records.models  # noqa: F401 - every table on the metadata

    return [*sorted(Base.metadata.tables), "alembic_version"]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("a SQLite store on a file is needed")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URL for pg_dump/pg_restore (password in the environment, never on the command line)."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    plain = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _tool(name: str, pg_bin: Path | None) -> str:
    found = str(pg_bin / name) if pg_bin else shutil.which(name)
    if not found or not Path(found).exists():
        raise BackupError(f"{name} is needed for PostgreSQL (install postgresql-client or pass --pg-bin)")
    return found


def _sqlite_state(path: Path) -> tuple[dict[str, int], dict[str, Any] | None, str | None]:
    with sqlite3.connect(path) as c:
        present = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        counts = {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables() if t in present}  # noqa: S608 - names from our metadata
        top = c.execute("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1").fetchone() \
            if "audit_event" in present else None
        rev = c.execute("SELECT version_num FROM alembic_version").fetchone() if "alembic_version" in present else None
    return counts, {"id": top[0], "hash": top[1]} if top else None, rev[0] if rev else None


async def _run(*argv: str, env: dict[str, str] | None = None) -> None:
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {err.decode(errors='replace').strip()[:500]}")


def sign_manifest(manifest: dict[str, Any], key_pem: bytes | None, cert_pem: bytes | None) -> dict[str, Any]:
    if key_pem is None or cert_pem is None:
        return manifest
    algorithm = pki.algorithm_of(cert_pem)
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return manifest | {"signature": {"algorithm": algorithm, "certificateFingerprint": pki.fingerprint(cert_pem),
                                     "value": base64.b64encode(pki.sign_bytes(key_pem, algorithm, body)).decode()}}


def manifest_signed(manifest: dict[str, Any], cert_pem: bytes) -> bool:
    """The manifest's signature verifies with the organisation's certificate over the rest of it."""
    sig = manifest.get("signature")
    if not isinstance(sig, dict):
        return False
    body = json.dumps({k: v for k, v in manifest.items() if k != "signature"}, sort_keys=True,
                      separators=(",", ":")).encode()
    try:
        return pki.verify_bytes(cert_pem, str(sig["algorithm"]), body, base64.b64decode(str(sig["value"])))
    except (KeyError, ValueError):
        return False


async def backup(url: str, out_dir: Path, *, actor: str | None = None, pg_bin: Path | None = None,
                 key_pem: bytes | None = None, cert_pem: bytes | None = None) -> Path:
    """Write the store's copy and its manifest into out_dir; logged in the store's audit trail. Returns the
    manifest's path."""
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    db = Database(url)
    try:
        if db.is_sqlite:
            target = out_dir / f"plasmatwin-{stamp}.sqlite"
            source = _sqlite_file(url)

            def copy() -> None:
                with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
                    src.backup(dst)
                dst.close()

            await asyncio.to_thread(copy)
            counts, top, revision = await asyncio.to_thread(_sqlite_state, target)
            kind = "sqlite"
        else:
            target = out_dir / f"plasmatwin-{stamp}.dump"
            libpq, env = _libpq(url)
            async with db.engine.connect() as conn:
                await conn.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin():
                    snapshot = (await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
                    present = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
                    counts = {t: (await conn.execute(text(f'SELECT count(*) FROM "{t}"'))).scalar_one()  # noqa: S608
                              for t in _tables() if t in present}
                    row = (await conn.execute(select(AuditEvent.id, AuditEvent.hash).order_by(
                        AuditEvent.id.desc()).limit(1))).first()
                    top = {"id": row[0], "hash": row[1]} if row else None
                    revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
                    await _run(_tool("pg_dump", pg_bin), "-Fc", f"--snapshot={snapshot}", "--no-owner",
                               "-f", str(target), "-d", libpq, env=env)
            kind = "postgresql"
        manifest = {"format": FORMAT, "kind": kind, "createdAt": iso(utcnow()), "createdBy": actor or getpass.getuser(),
                    "source": redacted(url), "file": target.name, "bytes": target.stat().st_size,
                    "sha256": await asyncio.to_thread(_sha256, target), "revision": revision, "auditHead": top,
                    "tables": counts}
        manifest = sign_manifest(manifest, key_pem, cert_pem)
        path = out_dir / f"plasmatwin-{stamp}.manifest.json"
        await asyncio.to_thread(path.write_text, json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        await db.record(AuditContext(f"backup:{manifest['createdBy']}", reason="backup"), PendingEvent(
            "BACKUP", "store", kind, {"scope": "every table", "result": "complete", "file": target.name,
                                      "sha256": manifest["sha256"], "bytes": manifest["bytes"],
                                      "destination": str(out_dir), "rows": sum(counts.values()),
                                      "auditHead": top["id"] if top else None}))
        return path
    finally:
        await db.dispose()


@dataclass
class RestoreReport:
    ok: bool = False
    problems: list[str] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    signatures: int = 0


async def _target_empty(db: Database) -> None:
    async with db.engine.connect() as conn:
        present = await conn.run_sync(lambda c: inspect(c).get_table_names())
    if present:
        raise BackupError(f"the target store is not empty ({len(present)} tables): restore only into an empty one")


async def signature_links(db: Database) -> tuple[int, list[str]]:
    """Every e-signature verifies over its signed input and has the SIGN event binding it to its record."""
    from records.identity import UserCertificate

    problems: list[str] = []
    async with db.read() as s:
        sigs = (await s.execute(select(ESignature))).scalars().all()
        pems = dict((await s.execute(select(UserCertificate.fingerprint, UserCertificate.pem))).all())
        links = {(e["signature"][1], e["recordHash"][1]) for e in (await s.execute(
            select(AuditEvent.changes).where(AuditEvent.action == "SIGN"))).scalars() if "signature" in e}
    for sig in sigs:
        pem = pems.get(sig.certificate_fingerprint)
        try:
            valid = pem is not None and pki.verify_bytes(pem.encode(), sig.algorithm, sig.signing_input.encode(),
                                                         base64.b64decode(sig.value))
        except ValueError:
            valid = False
        if not valid:
            problems.append(f"signature {sig.id} does not verify over its signed input")
        if (sig.id, sig.record_hash) not in links:
            problems.append(f"signature {sig.id} has no audit event binding it to its record")
    return len(sigs), problems


async def restore(manifest_path: Path, url: str, *, actor: str | None = None, pg_bin: Path | None = None,
                  cert_pem: bytes | None = None) -> RestoreReport:
    manifest = json.loads(await asyncio.to_thread(manifest_path.read_text, encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{manifest_path.name} is not a PlasmaTwin backup manifest")
    if "signature" in manifest and cert_pem is not None and not manifest_signed(manifest, cert_pem):
        raise BackupError("the manifest's signature does not verify with the organisation's certificate")
    copy = manifest_path.parent / manifest["file"]
    if not copy.exists():
        raise BackupError(f"the backup file {copy.name} is missing")
    if await asyncio.to_thread(_sha256, copy) != manifest["sha256"]:
        raise BackupError(f"{copy.name} does not have the SHA-256 of its manifest: it changed since the backup")
    db = Database(url)
    try:
        await _target_empty(db)
        if manifest["kind"] == "sqlite":
            if not db.is_sqlite:
                raise BackupError("a SQLite backup restores into a SQLite store (migrate-data moves between kinds)")
            target = _sqlite_file(url)
            await db.dispose()

            def put() -> None:
                with sqlite3.connect(copy) as src, sqlite3.connect(target) as dst:
                    src.backup(dst)
                dst.close()

            await asyncio.to_thread(put)
            db = Database(url)
        else:
            if db.is_sqlite:
                raise BackupError("a PostgreSQL backup restores into a PostgreSQL store")
            libpq, env = _libpq(url)
            await _run(_tool("pg_restore", pg_bin), "--no-owner", "--exit-on-error", "-d", libpq, str(copy), env=env)
        report = await _check(db, manifest)
        if report.ok:
            await db.record(AuditContext(f"restore:{actor or getpass.getuser()}", reason="restore"), PendingEvent(
                "RESTORED", "store", manifest["kind"], {"file": manifest["file"], "sha256": manifest["sha256"],
                                                        "backupCreatedAt": manifest["createdAt"],
                                                        "source": manifest["source"]}))
        return report
    finally:
        await db.dispose()


async def _check(db: Database, manifest: dict[str, Any]) -> RestoreReport:
    report = RestoreReport()
    async with db.engine.connect() as conn:
        present = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        counts = {t: (await conn.execute(text(f'SELECT count(*) FROM "{t}"'))).scalar_one()  # noqa: S608
                  for t in manifest["tables"] if t in present}
        row = (await conn.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
               ).first()
    for t, n in manifest["tables"].items():
        if counts.get(t) != n:
            report.problems.append(f"table {t}: {counts.get(t)} rows restored, {n} in the backup")
    head = {"id": row[0], "hash": row[1]} if row else None
    if head != manifest["auditHead"]:
        report.problems.append(f"audit head {head} is not the backup's {manifest['auditHead']}")
    store = await verify_store(db, keep=10)
    if not store.ok:
        report.problems.append(f"audit verification failed: {store.problem or 'audited rows differ from the trail'}")
    report.signatures, sig_problems = await signature_links(db)
    report.problems += sig_problems[:20]
    report.tables, report.rows = len(counts), sum(counts.values())
    report.ok = not report.problems
    return report
