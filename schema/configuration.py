"""Configuration under change control: a tag's alarm rule changed with a signed reason and QA's approval, and
the configuration in force at any past moment, rebuilt from the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import configuration as res
from resolvers import destruction
from resolvers.context import Context
from schema.enums import Priority
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type
class AlarmRuleState:
    tag: str
    low_limit: float | None
    high_limit: float | None
    alarm_delay_s: float | None
    alarm_deadband: float | None
    alarm_priority: str | None


@strawberry.type
class VersionInForce:
    code: str
    version: int


@strawberry.type(description="The configuration in force at a moment, rebuilt from the audit trail")
class ConfigurationState:
    at: datetime
    settings: JSON = strawberry.field(description="Setting key to value")
    alarm_rules: list[AlarmRuleState]
    policy_fingerprint: str | None = strawberry.field(description="The approved policy version in force; null: the "
                                                                  "files as shipped, never reloaded before then")
    specifications: list[VersionInForce]
    recipes: list[VersionInForce]


@strawberry.type(description="How long a table's records are kept; the database refuses an earlier DELETE")
class RetentionRule:
    table: str
    basis: str
    period: str
    requirement: str


@strawberry.type(description="What a destruction left of one record: its id, when its retention ended and the "
                             "SHA-256 of its content (RFC 8785 JSON of its columns as the audit trail writes them)")
class Tombstone:
    id: int
    retained_until: str | None
    content_hash: str


@strawberry.type(description="A signed destruction of records whose retention had ended (IT-20, IT-21)")
class RecordDestruction:
    id: int
    table: str
    reason: str
    destroyed_by: str
    approved_by: str
    destroyed_at: datetime
    tombstones: list[Tombstone]


@strawberry.input
class DestroyRecordsInput:
    table: str = strawberry.field(description="A table of `retentionRules`")
    ids: list[int]
    reason: str


def _destruction(r: destruction.RecordDestruction) -> RecordDestruction:
    return RecordDestruction(id=r.id, table=r.table_name, reason=r.reason, destroyed_by=r.destroyed_by,
                             approved_by=r.approved_by, destroyed_at=r.destroyed_at,
                             tombstones=[Tombstone(id=t["id"], retained_until=t["retainedUntil"],
                                                   content_hash=t["contentHash"]) for t in r.tombstones])


@strawberry.input
class ChangeAlarmRuleInput:
    tag: str
    low_limit: float | None
    high_limit: float | None
    alarm_delay_s: float = 0.0
    alarm_deadband: float = 0.0
    alarm_priority: Priority = Priority.MEDIUM
    reason: str


@strawberry.type
class ConfigurationQuery:
    @strawberry.field(description="Settings, alarm rules, policy version, specifications and recipes in force at "
                                  "a past moment", extensions=can("audit:configuration", "read"))
    async def configuration_at(self, info: Info[Context, None], at: datetime) -> ConfigurationState:
        c = await res.at_time(info.context, at)
        return ConfigurationState(
            at=c.at, settings=cast(JSON, c.settings), policy_fingerprint=c.policy_fingerprint,
            alarm_rules=[AlarmRuleState(**r) for r in c.alarm_rules],
            specifications=[VersionInForce(code=k, version=v) for k, v in c.specifications],
            recipes=[VersionInForce(code=k, version=v) for k, v in c.recipes])


    @strawberry.field(description="Retention periods enforced by the database (IT-20, IT-21)",
                      extensions=can("audit:configuration", "read"))
    def retention_rules(self) -> list[RetentionRule]:
        return [RetentionRule(table=r.table, basis=r.basis, period=r.period, requirement=r.requirement)
                for r in res.RULES]

    @strawberry.field(description="Destructions of records after their retention, newest first (at most 500)",
                      extensions=can("audit:destruction", "read"))
    async def record_destructions(self, info: Info[Context, None], table: str | None = None,
                                  since: datetime | None = None) -> list[RecordDestruction]:
        return [_destruction(r) for r in await destruction.destructions(info.context, table, since)]


@strawberry.type
class ConfigurationMutation:
    @strawberry.mutation(description="Change a tag's alarm limits, on-delay, deadband and priority with a reason; "
                                     "signed PERFORMED, APPROVED by QA in the same request",
                         extensions=can("plant:alarm_rule", "write"))
    async def change_alarm_rule(self, info: Info[Context, None], input: ChangeAlarmRuleInput,
                                signature: SignatureInput, approval: SignatureInput) -> AlarmRuleState:
        row = await res.change_alarm_rule(info.context, signed(info, signature, approval), res.AlarmRule(
            input.tag.strip(), input.low_limit, input.high_limit, input.alarm_delay_s, input.alarm_deadband,
            input.alarm_priority.value), input.reason)
        return AlarmRuleState(tag=row.tag, low_limit=row.low_limit, high_limit=row.high_limit,
                              alarm_delay_s=row.alarm_delay_s, alarm_deadband=row.alarm_deadband,
                              alarm_priority=row.alarm_priority)

    @strawberry.mutation(description="Destroy records whose retention has ended, all or none, leaving a tombstone "
                                     "each; a record under retention or still referred to refuses it with CONFLICT "
                                     "(UNDER_RETENTION, HAS_DEPENDENT_RECORDS), audited. Signed PERFORMED by QA, "
                                     "APPROVED by a second person in the same request",
                         extensions=can("audit:destruction", "write"))
    async def destroy_records(self, info: Info[Context, None], input: DestroyRecordsInput,
                              signature: SignatureInput, approval: SignatureInput) -> RecordDestruction:
        return _destruction(await destruction.destroy(info.context, signed(info, signature, approval), input.table,
                                                      input.ids, input.reason))
