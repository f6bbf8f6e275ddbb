"""Activating a new version of the policy files: a signed, audited change (issue: policies reloadable)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from policies.policy_set import PolicySet, fingerprint
from records import audit
from records.audit import PendingEvent
from records.identity import Setting
from resolvers.context import POLICY_KEY as ACTIVE_KEY
from resolvers.context import Context
from resolvers.signed import Second, Signatures, SignedRequest, perform


@dataclass(frozen=True)
class PolicyStatus:
    active: str
    on_disk: str
    loaded_at: str
    rules: int


def status(ctx: Context) -> PolicyStatus:
    p = ctx.services.policy
    return PolicyStatus(p.fingerprint, fingerprint(p.directory), audit.iso(p.loaded_at), len(p.lines))


async def reload(ctx: Context, req: SignedRequest, expected: str, reason: str) -> PolicyStatus:
    """The system administrator performs the change; a second person (QA) approves it with their
    own signature, so no one person decides who may do what."""
    current = ctx.services.policy

    async def clean() -> PolicySet:
        if not reason.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
        try:
            candidate = PolicySet.load(current.directory)
        except Exception as exc:  # a broken file must never replace working policies
            raise AppError(ErrorCode.VALIDATION_FAILED, f"the policy files do not load: {exc}") from exc
        if candidate.fingerprint != expected:
            raise AppError(ErrorCode.CONFLICT, "the policy files on disk are not the version you approved",
                           onDisk=candidate.fingerprint)
        if candidate.fingerprint == current.fingerprint:
            raise AppError(ErrorCode.CONFLICT, "this policy version is already active")
        return candidate

    async def save(s: AsyncSession, candidate: PolicySet, signatures: Signatures[PolicySet]) -> PolicySet:
        await signatures.bind(s, "policy", candidate.fingerprint,
                              {"fingerprint": candidate.fingerprint, "previous": current.fingerprint})
        ev = PendingEvent("POLICY_RELOADED", "policy", candidate.fingerprint,
                          {"fingerprint": [current.fingerprint, candidate.fingerprint],
                           "added": [None, sorted(candidate.lines - current.lines)],
                           "removed": [sorted(current.lines - candidate.lines), None]})
        await audit.add(s, ev)
        # The approved content itself, so every API process activates exactly this version.
        row = await s.get(Setting, ACTIVE_KEY)
        value = {"fingerprint": candidate.fingerprint, "files": candidate.files}
        if row is None:
            s.add(Setting(key=ACTIVE_KEY, value=value))
        else:
            row.value = value
        return candidate

    def activate(candidate: PolicySet) -> None:
        # Swapped only after the change and its audit event are committed.
        ctx.services.policy = candidate
        ctx.services.policy_checked = time.monotonic()

    await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, publish=activate,
                  second=Second(("APPROVED",), "QA's approval signature"))
    return status(ctx)
