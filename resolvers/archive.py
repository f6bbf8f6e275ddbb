"""Archives of GMP records (IT-33, issue 14): every audited record with its whole audit trail and its
e-signatures, one JSON line per record and one file per table, under a manifest of SHA-256 sums signed with
the organisation's key. Files are written once and made read-only; `verify` finds a changed, missing or extra
file and a manifest that is not the organisation's. Archiving deletes nothing: the records stay readable
through the API, and the database refuses their deletion within retention (records/retention.py).
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select

from records.audit import AuditContext, AuditEvent, PendingEvent, iso
from records.audit_checkpoint import head
from records.audit_state import audited_tables
from records.base import utcnow
from records.db import Database
from records.signature import ESignature
from resolvers.backup import BackupError, manifest_signed, sign_manifest
from resolvers.migrate_data import plain

FORMAT = "plasmatwin-archive/1"
MANIFEST = "manifest.json"


def _event(e: AuditEvent) -> dict[str, Any]:
    return {"id": e.id, "at": iso(e.occurred_at), "actor": e.actor, "action": e.action, "changes": e.changes,
            "reason": e.reason, "hash": e.hash}


def _signature(x: ESignature) -> dict[str, Any]:
    return {"id": x.id, "operation": x.operation, "meaning": x.meaning, "signer": x.signer,
            "printedName": x.printed_name, "signedAt": x.signed_at, "recordHash": x.record_hash,
            "algorithm": x.algorithm, "certificate": x.certificate_fingerprint, "value": x.value}


def _write_once(path: Path, lines: list[str]) -> tuple[int, str]:
    with path.open("x", encoding="utf-8") as f:  # never over an existing file
        for line in lines:
            f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    path.chmod(0o444)
    return len(lines), hashlib.sha256(path.read_bytes()).hexdigest()


async def export(db: Database, out: Path, *, tables: list[str] | None = None, actor: str | None = None,
                 key_pem: bytes | None = None, cert_pem: bytes | None = None) -> Path:
    """Write the archive into `out` (new or empty) and return its manifest's path; audited as ARCHIVED."""
    if await asyncio.to_thread(lambda: out.exists() and any(out.iterdir())):
        raise BackupError(f"{out} is not empty: an archive is written once, into a new directory")
    chosen = [t for t in audited_tables() if tables is None or t.name in tables]
    if tables is not None and len(chosen) != len(set(tables)):
        raise BackupError(f"not audited tables: {', '.join(sorted(set(tables) - {t.name for t in chosen}))}")
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    async with db.read() as s:
        top = await head(s)
        for t in chosen:
            events: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for e in (await s.execute(select(AuditEvent).where(AuditEvent.entity == t.name)
                                      .order_by(AuditEvent.id))).scalars():
                events[e.entity_id or ""].append(_event(e))
            sigs: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for x in (await s.execute(select(ESignature).where(ESignature.entity == t.name)
                                      .order_by(ESignature.id))).scalars():
                sigs[x.entity_id].append(_signature(x))
            lines = []
            for row in (await s.execute(select(t.table).order_by(*t.pk))).all():
                values = row._mapping
                rid = "/".join(str(values[c.name]) for c in t.pk)
                lines.append(json.dumps({"id": rid, "row": {k: plain(v) for k, v in values.items()},
                                         "events": events.get(rid, []), "signatures": sigs.get(rid, [])},
                                        sort_keys=True, ensure_ascii=False, default=str))
            n, digest = await asyncio.to_thread(_write_once, out / f"{t.name}.jsonl", lines)
            files[t.name] = {"file": f"{t.name}.jsonl", "rows": n, "sha256": digest}
    manifest = sign_manifest({"format": FORMAT, "createdAt": iso(utcnow()), "createdBy": actor or getpass.getuser(),
                              "auditHead": {"id": top[0], "hash": top[1]} if top else None, "tables": files},
                             key_pem, cert_pem)
    path = out / MANIFEST
    await asyncio.to_thread(_write_once, path, [json.dumps(manifest, indent=1, sort_keys=True)])
    await db.record(AuditContext(f"archive:{manifest['createdBy']}", reason="archive"), PendingEvent(
        "ARCHIVED", "store", "archive", {"destination": str(out), "tables": {k: v["rows"] for k, v in files.items()},
                                         "manifestSha256": hashlib.sha256(path.read_bytes()).hexdigest()}))
    return path


def verify(directory: Path, cert_pem: bytes | None) -> list[str]:
    """What differs from the archive as it was written: an empty list when nothing does."""
    path = directory / MANIFEST
    if not path.exists():
        return [f"{MANIFEST} is missing"]
    manifest = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    if cert_pem is None:
        problems.append("no organisation certificate given: the manifest's signature is not checked")
    elif not manifest_signed(manifest, cert_pem):
        problems.append("the manifest's signature does not verify with the organisation's certificate")
    for name, f in manifest.get("tables", {}).items():
        p = directory / f["file"]
        if not p.exists():
            problems.append(f"{f['file']} ({name}) is missing")
            continue
        data = p.read_bytes()
        if hashlib.sha256(data).hexdigest() != f["sha256"]:
            problems.append(f"{f['file']} ({name}) changed since it was archived")
        elif data.count(b"\n") != f["rows"]:
            problems.append(f"{f['file']} ({name}) does not hold {f['rows']} records")
    listed = {f["file"] for f in manifest.get("tables", {}).values()} | {MANIFEST}
    problems += [f"{p.name} is not in the manifest" for p in sorted(directory.iterdir()) if p.name not in listed]
    return problems
