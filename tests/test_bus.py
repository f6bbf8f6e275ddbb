"""The in-process bus: keyed delivery, a slow subscriber coalesces and never stalls the publisher,
lossless subscribers never lose an event, listeners run in the publisher's turn."""

from __future__ import annotations

import asyncio

from subscriptions.bus import Bus


async def test_keyed_subscribers_get_only_their_keys_and_unkeyed_get_all() -> None:
    bus = Bus()
    async with bus.subscribe("sensor", keys=frozenset({"A"})) as a, bus.subscribe("sensor") as every:
        assert bus.subscriber_count("sensor") == 2 and bus.subscriber_count() == 2
        for key, value in (("A", 1), ("B", 2), ("A", 3), (None, 4)):
            bus.publish("sensor", value, key=key)
        assert [await anext(a), await anext(a)] == [1, 3]
        assert [await anext(every) for _ in range(4)] == [1, 2, 3, 4]
    assert bus.subscriber_count() == 0 and not bus._keyed and not bus._subs


async def test_a_slow_subscriber_coalesces_and_a_lossless_one_keeps_everything() -> None:
    bus = Bus(queue_size=10)
    async with bus.subscribe("sensor") as slow, bus.subscribe("alarm", lossless=True) as alarms:
        for i in range(1000):  # nobody reads meanwhile: the publisher never waits
            bus.publish("sensor", i)
            bus.publish("alarm", i)
        assert bus.dropped_total == 990
        assert [await anext(slow) for _ in range(10)] == list(range(990, 1000))  # the newest values
        assert [await asyncio.wait_for(anext(alarms), 1) for _ in range(1000)] == list(range(1000))


async def test_listeners_run_in_the_publishers_turn() -> None:
    bus = Bus()
    got: list[int] = []
    with bus.listen("equipment", got.append, accept=lambda m: m % 2 == 0):
        for i in range(6):
            bus.publish("equipment", i)
    bus.publish("equipment", 8)
    assert got == [0, 2, 4]
