"""Writing and checking signed checkpoints of the audit chain's head (records/audit_checkpoint.py).

A checkpoint found in the database or in the file kept outside it must verify with the organisation's
certificate, and the chain must still hold its head: the event with that id, with that hash. An event
id beyond the store's newest means the newest events were cut or an older copy restored; another hash
means the chain was rewritten from there on.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from policies import pki
from records.audit import AuditContext, AuditEvent
from records.audit_checkpoint import AuditCheckpoint, as_line, head, signed_bytes
from records.base import utcnow
from records.db import Database

SYSTEM = AuditContext("system", reason="audit checkpoint")


@dataclass(frozen=True)
class Signer:
    key_pem: bytes
    cert_pem: bytes
    file: Path | None  # the copy kept outside the database; None: the database only


async def write(db: Database, signer: Signer, reason: str, *, unless_unchanged: bool = False) -> dict[str, Any] | None:
    """Sign the chain's head now, store it, append it to the file (flushed to disk); None when there is
    nothing to sign (no events, or no new event since the last checkpoint and `unless_unchanged`)."""
    algorithm = pki.algorithm_of(signer.cert_pem)
    async with db.write(SYSTEM) as s:
        top = await head(s)
        if top is None:
            return None
        if unless_unchanged:
            last = (await s.execute(select(func.max(AuditCheckpoint.head_id)))).scalar_one()
            if last == top[0]:
                return None
        now = utcnow()
        data = signed_bytes(top[0], top[1], now, reason[:200])
        row = AuditCheckpoint(head_id=top[0], head_hash=top[1], written_at=now, reason=reason[:200],
                              algorithm=algorithm, certificate_fingerprint=pki.fingerprint(signer.cert_pem),
                              signature=base64.b64encode(pki.sign_bytes(signer.key_pem, algorithm, data)).decode())
        s.add(row)
        await s.flush()
        line = as_line(row)
    if signer.file is not None:
        signer.file.parent.mkdir(parents=True, exist_ok=True)
        with signer.file.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
    return line


@dataclass
class CheckpointReport:
    checked: int = 0
    newest_head: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _lines(file: Path | None, report: CheckpointReport) -> list[dict[str, Any]]:
    if file is None or not file.exists():
        return []
    found = []
    for n, text in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            found.append(json.loads(text) | {"source": f"{file.name}:{n}"})
        except json.JSONDecodeError:
            report.problems.append(f"{file.name} line {n} is not a checkpoint")
    return found


def _signature_ok(c: dict[str, Any], cert_pem: bytes) -> bool:
    try:
        raw = base64.b64decode(c["signature"], validate=True)
        data = signed_bytes(int(c["headId"]), str(c["headHash"]), str(c["writtenAt"]), str(c["reason"]))
        return c.get("certificateFingerprint") == pki.fingerprint(cert_pem) and pki.verify_bytes(
            cert_pem, str(c["algorithm"]), data, raw)
    except (KeyError, ValueError, TypeError, binascii.Error):
        return False


async def verify(db: Database, cert_pem: bytes, file: Path | None) -> CheckpointReport:
    """Every checkpoint of the database and the file against the organisation's certificate and the chain."""
    report = CheckpointReport()
    async with db.read() as s:
        stored = [as_line(c) | {"source": f"database checkpoint {c.id}"} for c in
                  (await s.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id))).scalars()]
        top = await head(s)
        outside = _lines(file, report)
        ids = {int(c["headId"]) for c in stored + outside if str(c.get("headId", "")).isdigit()}
        hashes = dict((await s.execute(select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.id.in_(ids)))).all())
    newest = top[0] if top else 0
    in_db = {(c["headId"], c["headHash"], c["writtenAt"]) for c in stored}
    for c in stored + outside:
        report.checked += 1
        where = c["source"]
        if not _signature_ok(c, cert_pem):
            report.problems.append(f"{where}: its signature does not verify with the organisation's certificate")
            continue
        head_id = int(c["headId"])
        report.newest_head = max(report.newest_head or 0, head_id)
        if head_id > newest:
            report.problems.append(f"{where}: signed head event {head_id} at {c['writtenAt']}, but the newest event "
                                   f"is {newest}: events were cut from the end or an older copy was restored")
        elif hashes.get(head_id) != c["headHash"]:
            report.problems.append(f"{where}: event {head_id} no longer has the hash signed at {c['writtenAt']}: "
                                   "the chain was rewritten")
        if where.startswith(file.name if file else "\0") and (c["headId"], c["headHash"], c["writtenAt"]) not in in_db:
            report.problems.append(f"{where}: this checkpoint is missing from the database")
    return report
