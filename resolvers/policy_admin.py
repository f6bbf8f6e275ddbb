"""Activating a new version of the policy files: a signed, audited change (issue: policies reloadable)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from graphql import GraphQLResolveInfo

from policies import signatures as sig
from policies.errors import AppError, ErrorCode
from policies.policy_set import PolicySet, fingerprint
from records import audit
from records.audit import PendingEvent
from records.identity import Setting
from resolvers.context import POLICY_KEY as ACTIVE_KEY
from resolvers.context import Context
from resolvers.signing import check_signature, store_signature


@dataclass(frozen=True)
class PolicyStatus:
    active: str
    on_disk: str
    loaded_at: str
    rules: int


def status(ctx: Context) -> PolicyStatus:
    p = ctx.services.policy
    return PolicyStatus(p.fingerprint, fingerprint(p.directory), audit.iso(p.loaded_at), len(p.lines))


async def reload(ctx: Context, info: GraphQLResolveInfo, expected: str, reason: str,
                 payload: sig.SignaturePayload | None, approval: sig.SignaturePayload | None) -> PolicyStatus:
    """The system administrator performs the change; a second person (QA) approves it with their
    own signature, so no one person decides who may do what."""
    if not reason.strip():
        raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
    current = ctx.services.policy
    try:
        candidate = PolicySet.load(current.directory)
    except Exception as exc:  # a broken file must never replace working policies
        raise AppError(ErrorCode.VALIDATION_FAILED, f"the policy files do not load: {exc}") from exc
    if candidate.fingerprint != expected:
        raise AppError(ErrorCode.CONFLICT, "the policy files on disk are not the version you approved",
                       onDisk=candidate.fingerprint)
    if candidate.fingerprint == current.fingerprint:
        raise AppError(ErrorCode.CONFLICT, "this policy version is already active")
    if approval is None:
        raise AppError(ErrorCode.SIGNATURE_REQUIRED, "a policy change needs QA's approval signature")
    by = await check_signature(ctx, info, "reloadPolicies", payload, meanings=("PERFORMED",))
    approver = await check_signature(ctx, info, "reloadPolicies", approval, second_person=True,
                                     meanings=("APPROVED",))
    added = sorted(candidate.lines - current.lines)
    removed = sorted(current.lines - candidate.lines)
    async with ctx.db.write(ctx.audit_context(reason.strip())) as s:
        content = {"fingerprint": candidate.fingerprint, "previous": current.fingerprint}
        await store_signature(s, by, "policy", candidate.fingerprint, content)
        await store_signature(s, approver, "policy", candidate.fingerprint, content)
        ev = PendingEvent("POLICY_RELOADED", "policy", candidate.fingerprint,
                          {"fingerprint": [current.fingerprint, candidate.fingerprint],
                           "added": [None, added], "removed": [removed, None]})
        await audit.add(s, ev)
        # The approved content itself, so every API process activates exactly this version.
        row = await s.get(Setting, ACTIVE_KEY)
        value = {"fingerprint": candidate.fingerprint, "files": candidate.files}
        if row is None:
            s.add(Setting(key=ACTIVE_KEY, value=value))
        else:
            row.value = value
    # Swapped only after the change and its audit event are committed.
    ctx.services.policy = candidate
    ctx.services.policy_checked = time.monotonic()
    return status(ctx)
