"""What every resolver gets: the services of the process and the caller of this request."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from policies.authorize import Authorizer
from policies.errors import AppError, ErrorCode
from policies.policy_set import PolicySet
from policies.principal import Principal
from policies.signatures import TrustStore
from records.audit import AuditContext, PendingEvent
from records.db import Database
from records.identity import Setting
from records.signature import ESignature
from resolvers.checkpoints import Signer
from resolvers.identity import Lockout
from resolvers.trace import TraceScope
from subscriptions.bus import Bus

if TYPE_CHECKING:  # the twin reaches resolvers through the Services the composition root builds
    from resolvers.loaders import Loaders
    from twin.alarm_service import AlarmService
    from twin.state import PlantState

POLICY_KEY = "policy.active"
log = logging.getLogger("plasmatwin.policy")

# What a scoped (partner or regulator) token can reach at all; plant and live data are outside.
SCOPED_AREAS = frozenset({"plasma", "trace", "batch"})
# Reads outside those areas a scoped token may still make, each kept by its resolver to the records the
# scope names (resolvers/audit.py: the audit trail of its batches and plasma units); roles still decide.
SCOPED_READS = frozenset({("audit:trail", "read")})


def in_reach(p: Principal, obj: str, act: str) -> bool:
    """Whether a scoped principal's token reaches obj/act at all: its areas, or a scoped read when the
    scope names a station, product or batch (a regulator signed in without a token names none)."""
    if obj.split(":")[0] in SCOPED_AREAS:
        return True
    scope = p.scope or {}
    return (obj, act) in SCOPED_READS and any(scope.get(k) for k in ("stations", "products", "batchNumbers"))


@dataclass
class Services:
    db: Database
    policy: PolicySet
    bus: Bus
    twin: PlantState
    alarms: AlarmService
    token_ttl: timedelta
    lockout: Lockout
    trust: TrustStore = field(default_factory=lambda: TrustStore([]))
    signature_window: int = 300
    # Signers give their password again at signing (resolvers/reauth.py) unless the plant's setting
    # `signing.reauthentication` says otherwise.
    reauthentication: bool = True
    plant_state_interval: float = 0.25
    # The plantState channels (resolvers.live.PlantStateHub), made on first use.
    live: Any = None
    # Buffer depth each device bridge last reported with its readings, by bridge name.
    bridges: dict[str, int] = field(default_factory=dict)
    # When the approved policy version in the database was last compared with ours (monotonic s).
    policy_checked: float = float("-inf")
    # The organisation's PAdES key and certificate (PEM), when release documents are enabled.
    org_key: bytes | None = None
    org_cert: bytes | None = None
    # Who signs the audit chain's checkpoints and where their outside copy goes (with the organisation's key).
    checkpoints: Signer | None = None

    async def sync_policy(self, every: float = 5.0) -> None:
        """Activate the approved policy version recorded in the database when another process
        reloaded it; compared at most every `every` seconds."""
        now = time.monotonic()
        if now - self.policy_checked < every:
            return
        self.policy_checked = now
        async with self.db.read() as s:
            row = await s.get(Setting, POLICY_KEY)
        if row is None or not isinstance(row.value, dict) or row.value.get("fingerprint") == self.policy.fingerprint:
            return
        fp = row.value.get("fingerprint")
        async with self.db.read() as s:
            # Only a version approved through reloadPolicies' signatures is activated: the settings
            # row alone (written behind the application's back) grants nothing.
            signed = (await s.execute(select(ESignature.id).where(
                ESignature.entity == "policy", ESignature.entity_id == str(fp),
                ESignature.operation == "reloadPolicies", ESignature.meaning == "APPROVED").limit(1))).first()
        if signed is None:
            log.error("policy version %s in the database has no approval signature; keeping %s",
                      fp, self.policy.fingerprint)
            return
        loaded = PolicySet.load(self.policy.directory, row.value["files"])
        if loaded.fingerprint == fp:
            self.policy = loaded
        else:
            log.error("the approved policy content does not match its fingerprint; keeping %s",
                      self.policy.fingerprint)

    @property
    def authorizer(self) -> Authorizer:
        return self.policy.authorizer

    @property
    def meanings(self) -> dict[str, dict[str, frozenset[str]]]:
        """operation -> meaning -> roles allowed to sign it (policies/signing.csv)."""
        return self.policy.meanings


@dataclass
class Context:
    services: Services
    principal: Principal | None = None
    client: str | None = None
    # Each mutation field's `input` exactly as the request carried it (by response key), or a
    # policies.signatures.RawInput marker: what a signature covers (design.md).
    raw_inputs: dict[str, Any] = field(default_factory=dict)
    connection_params: dict[str, Any] | None = None
    # Denials already audited in this request: a field refused on each of 50 objects is one event.
    denied: set[tuple[str, str]] = field(default_factory=set)

    @property
    def db(self) -> Database:
        return self.services.db

    @cached_property
    def loaders(self) -> Loaders:
        """This request's DataLoaders, made on first use."""
        from resolvers.loaders import Loaders  # here: the loaders' batch functions import this module

        return Loaders(self.db)

    async def settle(self) -> None:
        """At the end of a request: nothing it started keeps running (DataLoader batches)."""
        if "loaders" in self.__dict__:
            await self.loaders.settle()

    def audit_context(self, reason: str | None = None) -> AuditContext:
        p = self.principal
        return AuditContext(p.username if p else "anonymous", p.user_id if p else None, reason, self.client)

    def scope(self) -> TraceScope:
        """The data scope of a partner's or regulator's token; unrestricted for session tokens."""
        p = self.signed_in()
        return TraceScope.of(p.scope) if p.is_scoped else TraceScope()

    def signed_in(self) -> Principal:
        if self.principal is None:
            raise AppError(ErrorCode.UNAUTHENTICATED, "sign in first")
        return self.principal

    async def require(self, obj: str, act: str, site: str = "*") -> Principal:
        """The enforcement point: unauthenticated or denied requests are refused and denials audited."""
        self.signed_in()
        assert self.principal is not None
        await self.services.sync_policy()
        if self.principal.is_scoped and not in_reach(self.principal, obj, act):
            await self._deny(obj, act, {"reason": "out of scope"})
            raise _audited(AppError(ErrorCode.OUT_OF_SCOPE, "this token's scope does not cover that data"))
        if not self.services.authorizer.allows(self.principal, obj, act, site):
            await self._deny(obj, act, {"roles": self.principal.roles})
            raise _audited(AppError(ErrorCode.FORBIDDEN, f"your roles do not allow {act} on {obj}"))
        return self.principal

    async def _deny(self, obj: str, act: str, why: dict[str, Any]) -> None:
        """Audit a denial once per request and object/action, however many objects asked for it."""
        if (obj, act) in self.denied:
            return
        self.denied.add((obj, act))
        await self.db.record(self.audit_context(), PendingEvent(
            "ACCESS_DENIED", obj.split(":")[0], None, {"object": obj, "action": act, **why}))

    async def require_duty(self, action: str, entity: str, entity_id: str, message: str, *,
                           subject: str | None = None, **record: Any) -> None:
        """Dynamic separation of duties (policies/duties.csv) for one record; a refusal is audited.

        The subject is the caller unless another person acts (a co-signing verifier)."""
        p = self.signed_in()
        if self.services.policy.duties.allows(subject or p.username, action, **record):
            return
        await self.db.record(self.audit_context(), PendingEvent(
            "SOD_VIOLATION", entity, entity_id, {"action": action, "rule": message,
                                                 **{k: _plain(v) for k, v in record.items()}}))
        raise _audited(AppError(ErrorCode.SOD_VIOLATION, message))


def _audited(e: AppError) -> AppError:
    e.audited = True
    return e


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, set, frozenset)) else value
