"""A long-lived subscription keeps no objects per event (graphql-core 3.3's shared per-event memo)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from resolvers import identity
from resolvers.context import Context
from schema.root import build_schema
from twin.state import Quality

SUB = "subscription { sensorUpdates { tag value quality sourceTime receivedAt } }"


async def _deliver(stream: Any, svc: Any, n: int) -> None:
    for i in range(n):
        svc.twin.ingest("R1-TT-101", float(i), Quality.GOOD)
        result = await anext(stream)
        assert result.errors is None and result.data["sensorUpdates"]["value"] == float(i)


async def test_objects_stay_flat_over_many_events(env: Any) -> None:
    gql, _, db = env
    svc = gql.client.app_services
    me = await gql.sign_in("op.one")
    principal = await identity.principal_for(db, me.token)
    stream = await build_schema().subscribe(SUB, context_value=Context(svc, principal, "127.0.0.1"))
    first = asyncio.ensure_future(anext(stream))
    for _ in range(500):  # the generator subscribes when first iterated
        if svc.bus.subscriber_count():
            break
        await asyncio.sleep(0.01)
    svc.twin.ingest("R1-TT-101", -1.0, Quality.GOOD)
    assert (await first).data["sensorUpdates"]["value"] == -1.0
    try:
        await _deliver(stream, svc, 200)  # warm caches
        gc.collect()
        before = len(gc.get_objects())
        await _deliver(stream, svc, 2000)
        gc.collect()
        grown = len(gc.get_objects()) - before
    finally:
        await stream.aclose()
    assert grown < 200, f"{grown} objects left behind by 2000 events"
