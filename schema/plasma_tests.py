"""Plasma testing as work to be done (QC-13): the retest items of every received donation and the items of
every received production-pool sample, each with its due time and whether it is done, open or overdue."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types import Info

from resolvers import plasma_tests as res
from resolvers.context import Context
from schema.permissions import can


@strawberry.type(description="One plasma test to be done: a donation's retest item or a pool sample's item")
class PlasmaTestTask:
    subject_kind: str = strawberry.field(description="UNIT (a donation) or POOL (a production pool)")
    subject: str = strawberry.field(description="The donation number or the pool code")
    sample_code: str | None
    test: str
    received_at: datetime
    due_at: datetime
    status: str = strawberry.field(description="DONE, OPEN or OVERDUE (open past its due time)")
    done_at: datetime | None
    result: str | None


@strawberry.type
class PlasmaTestQuery:
    @strawberry.field(description="Plasma test tasks, oldest due first; openOnly leaves done ones out; `at` "
                                  "judges overdue as of that time (now by default)",
                      extensions=can("plasma:test_task", "read"))
    async def plasma_test_tasks(self, info: Info[Context, None], open_only: bool = True,
                                at: datetime | None = None) -> list[PlasmaTestTask]:
        found = await res.tasks(info.context, at, open_only)
        when = at or datetime.now(UTC)
        return [PlasmaTestTask(subject_kind=t.subject_kind, subject=t.subject, sample_code=t.sample_code, test=t.test,
                               received_at=t.received_at, due_at=t.due_at, status=t.status(when), done_at=t.done_at,
                               result=t.result) for t in found]
