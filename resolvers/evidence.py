"""The audit-evidence package of a store (section 11, AU-…): what an inspector asks for, as files in one new
directory under a manifest of SHA-256 sums.

- audit-trail.jsonl: the newest audit events, each with its hash and the previous one's;
- audit-verification.json: the hash chain, every audited row against its last audited values, and the signed
  checkpoints of the chain's head when the organisation's certificate is given;
- permissions.md: who may do what (the policy files in force: the approved version in the store, or the files
  as shipped), which roles sign which operation with which meaning, and the separation-of-duties rules;
- signatures.md: every stored e-signature re-verified over its signed input and checked for its link to the
  record version in the audit trail, counted per operation, meaning and algorithm, problems listed;
- retention.md: per retention rule the records held, the oldest, how many are past their period, and the
  destructions made.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies import pki
from policies.policy_set import read_files
from records.audit import AuditEvent, iso, to_json_value
from records.audit_state import verify_store
from records.db import Database
from records.identity import Setting, UserCertificate
from records.plasma import Batch
from records.retention import RULES, RecordDestruction, later
from records.signature import ESignature
from resolvers.checkpoints import verify as verify_checkpoints
from resolvers.context import POLICY_KEY
from resolvers.destruction import model_of


@dataclass(frozen=True)
class Evidence:
    texts: dict[str, str]  # file name -> content
    ok: bool  # the chain, the rows, the checkpoints and every signature verified


async def collect(db: Database, *, events: int = 1000, org_cert: bytes | None = None,
                  checkpoint_file: Path | None = None) -> Evidence:
    report = await verify_store(db)
    marks = await verify_checkpoints(db, org_cert, checkpoint_file) if org_cert is not None else None
    async with db.read() as s:
        trail = await _trail(s, events)
        policy, policy_note = await _policy_files(s)
        signatures, signatures_ok = await _signatures(s)
        retention = await _retention(s)
    chain, state = report.chain, report.state
    verification = {
        "chainOk": chain.ok, "eventsChecked": chain.checked, "firstBrokenAt": chain.first_broken_at,
        "rowsChecked": state.rows_checked, "rowsOk": state.ok, "mismatches": state.mismatch_count,
        "problem": report.problem,
        "checkpoints": None if marks is None else {"checked": marks.checked, "newestHead": marks.newest_head,
                                                   "problems": marks.problems},
        "checkpointsNote": None if marks is not None else "no organisation certificate given: checkpoints not checked",
    }
    texts = {"audit-trail.jsonl": trail, "audit-verification.json": json.dumps(verification, indent=2) + "\n",
             "permissions.md": _permissions(policy, policy_note), "signatures.md": signatures,
             "retention.md": retention}
    return Evidence(texts, report.ok and (marks is None or marks.ok) and signatures_ok)


def save(evidence: Evidence, out: Path) -> dict[str, str]:
    """Write the package into `out` (new or empty) with manifest.json; returns file name -> SHA-256."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: the package goes into a new directory")
    out.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, text in evidence.texts.items():
        data = text.encode()
        (out / name).write_bytes(data)
        sums[name] = hashlib.sha256(data).hexdigest()
    (out / "manifest.json").write_text(json.dumps({
        "generatedAt": iso(datetime.now(UTC)), "plasmatwinVersion": version("plasmatwin"), "ok": evidence.ok,
        "files": sums}, indent=2) + "\n")
    return sums


async def _trail(s: AsyncSession, limit: int) -> str:
    rows = (await s.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))).scalars().all()
    return "".join(json.dumps({
        "id": e.id, "occurredAt": iso(e.occurred_at), "actor": e.actor, "action": e.action, "entity": e.entity,
        "entityId": e.entity_id, "changes": e.changes, "reason": e.reason, "clientAddress": e.client_address,
        "prevHash": e.prev_hash, "hash": e.hash}, ensure_ascii=False) + "\n" for e in reversed(rows))


async def _policy_files(s: AsyncSession) -> tuple[dict[str, str], str]:
    row = await s.get(Setting, POLICY_KEY)
    if row is not None and isinstance(row.value, dict) and isinstance(row.value.get("files"), dict):
        fp = row.value.get("fingerprint")
        approved = (await s.execute(select(ESignature.id).where(
            ESignature.entity == "policy", ESignature.entity_id == str(fp), ESignature.operation == "reloadPolicies",
            ESignature.meaning == "APPROVED").limit(1))).first()
        if approved is not None:
            return dict(row.value["files"]), f"the approved version {fp} in the store"
    return read_files(), "the files as shipped (no version was approved in this store)"


def _rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in r] for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]


def _permissions(files: dict[str, str], note: str) -> str:
    grants: dict[str, set[str]] = defaultdict(set)
    for r in _rows(files["policy.csv"]):
        if r[0] == "p" and len(r) >= 5:
            grants[f"{r[3]} {r[4]}"].add(r[1] if r[2] == "*" else f"{r[1]} (site {r[2]})")
    lines = [f"# Permissions in force\n\nFrom {note}.\n", "## Who may do what (policy.csv)\n",
             "| object and action | roles |", "|---|---|"]
    lines += [f"| {k} | {', '.join(sorted(v))} |" for k, v in sorted(grants.items())]
    lines += ["\n## Who signs what (signing.csv)\n", "| operation | meaning | roles |", "|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2].replace('|', ', ')} |" for r in _rows(files["signing.csv"])[1:]
              if len(r) >= 3]
    lines += ["\n## Separation of duties (duties.csv)\n", "```"]
    lines += [", ".join(r) for r in _rows(files["duties.csv"])]
    lines += ["```", "\n## Roles (roles.csv)\n", "| role | kind | description |", "|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} |" for r in _rows(files["roles.csv"])[1:] if len(r) >= 3]
    return "\n".join(lines) + "\n"


async def _signatures(s: AsyncSession) -> tuple[str, bool]:
    certs = dict((await s.execute(select(UserCertificate.fingerprint, UserCertificate.pem))).all())
    links = {(e.entity, e.entity_id, e.changes.get("signature", [None, None])[1],
              e.changes.get("recordHash", [None, None])[1]) for e in (await s.execute(
                  select(AuditEvent).where(AuditEvent.action == "SIGN"))).scalars()}
    counts: Counter[tuple[str, str, str]] = Counter()
    problems = []
    total = 0
    for row in (await s.execute(select(ESignature).order_by(ESignature.id))).scalars():
        total += 1
        counts[(row.operation, row.meaning, row.algorithm)] += 1
        pem = certs.get(row.certificate_fingerprint)
        try:
            valid = pem is not None and pki.verify_bytes(pem.encode(), row.algorithm, row.signing_input.encode(),
                                                         base64.b64decode(row.value))
        except ValueError:
            valid = False
        bound = (row.entity, row.entity_id, row.id, row.record_hash) in links
        if not valid or not bound:
            problems.append(f"| {row.id} | {row.operation} | {row.signer} | "
                            f"{'value does not verify' if not valid else 'no audit event links it to its record'} |")
    lines = ["# Electronic signatures\n", f"{total} stored; {total - len(problems)} verify over their signed input "
             "and are linked to their record version in the audit trail.\n",
             "| operation | meaning | algorithm | signatures |", "|---|---|---|---|"]
    lines += [f"| {o} | {m} | {a} | {n} |" for (o, m, a), n in sorted(counts.items())]
    if problems:
        lines += ["\n## Problems\n", "| id | operation | signer | problem |", "|---|---|---|---|", *problems]
    return "\n".join(lines) + "\n", not problems


async def _retention(s: AsyncSession) -> str:
    now = datetime.now(UTC)
    destroyed = dict((await s.execute(select(RecordDestruction.table_name, func.count())
                                      .group_by(RecordDestruction.table_name))).all())
    lines = ["# Retention\n", f"As of {iso(now)}. The database refuses a DELETE before a record's period ends "
             "(triggers of migration 0044); `destroyRecords` removes records after it.\n",
             "| table | period | from | records | oldest | past their period | destructions |",
             "|---|---|---|---|---|---|---|"]
    for rule in RULES:
        model = model_of(rule.table)
        cutoff = cast(datetime, later(now, -rule.years))
        if rule.column == "batch_id":
            basis = Batch.expiry_date
            q = select(func.count(), func.min(basis), func.count().filter(basis <= cutoff.date())).select_from(
                model).outerjoin(Batch, Batch.id == model.batch_id) if rule.table != "batch" else None
        else:
            basis = getattr(model, rule.column)
            q = None
        if q is None:
            edge = cutoff.date() if rule.column in ("collected_on", "expiry_date") else cutoff
            q = select(func.count(), func.min(basis), func.count().filter(basis <= edge)).select_from(model)
        held, oldest, past = (await s.execute(q)).one()
        lines.append(f"| {rule.table} | {rule.period} | {rule.basis} | {held} | "
                     f"{to_json_value(oldest) if oldest is not None else '—'} | {past} | "
                     f"{destroyed.get(rule.table, 0)} |")
    return "\n".join(lines) + "\n"

