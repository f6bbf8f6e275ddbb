"""OPC UA connector: one asyncua Client, one data-change subscription over the configured nodes.

The reconnect loop is ours (asyncua's auto_reconnect is off) so the status can show each state.
Loss is noticed three ways: asyncua's watchdog (a periodic read of the server state) firing
connection_lost_callback, a bad subscription status change, or our own read of the server state
node when nothing has arrived for `probe_interval` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.subscription import DataChangeEvent, OverflowPolicy, StatusChangeEvent, Subscription
from asyncua.ua.attribute_ids import AttributeIds

from device_bridge.backoff import Backoff
from device_bridge.connector import ConnectionLost, Connector, Emit
from device_bridge.model import Reading, make_reading

log = logging.getLogger(__name__)


def quality_of(status: ua.StatusCode | None) -> str:
    if status is None or status.is_good():
        return "GOOD"
    if status.is_uncertain():
        return "UNCERTAIN"
    return "BAD"


class OpcuaConnector(Connector):
    kind = "opcua"

    def __init__(self, endpoint: str, tags: Mapping[str, str], emit: Emit, *, publishing_interval_ms: float = 500,
                 queue_size: int = 10, probe_interval: float = 2.0, request_timeout: float = 4.0,
                 stale_after: float | None = None, backoff: Backoff | None = None, name: str | None = None) -> None:
        """`tags` maps node ids ("ns=2;s=CR-01.TT-01") to tag names."""
        super().__init__(name or endpoint, emit, stale_after=stale_after, backoff=backoff)
        if not tags:
            raise ValueError("an OPC UA connector needs at least one node")
        self.endpoint = endpoint
        self.tags = dict(tags)
        self.nodes = {ua.NodeId.from_string(node): tag for node, tag in self.tags.items()}
        self.publishing_interval_ms = publishing_interval_ms
        # Samples between two publishes queue on the server (a GMP record wants each sample).
        self.queue_size = queue_size
        self.probe_interval = probe_interval
        self.request_timeout = request_timeout
        self.bad_nodes: dict[str, str] = {}
        if self.watch is not None:
            self.watch.expect(self.tags.values())

    async def _session(self) -> None:
        client = Client(self.endpoint, timeout=self.request_timeout, watchdog_intervall=self.probe_interval)
        lost: asyncio.Queue[str] = asyncio.Queue()

        async def on_lost(exc: Exception) -> None:
            lost.put_nowait(f"{type(exc).__name__}: {exc}")

        client.connection_lost_callback = on_lost
        # Orphaned sessions (we never reactivate: each connection opens a fresh one) expire in a minute.
        client.session_timeout = 60_000
        await client.connect()
        try:
            sub = await client.create_subscription(self._subscription_params(), handler=None,
                                                   queue_maxsize=100_000, overflow=OverflowPolicy.WARN)
            handles = await self._monitor(sub)
            self.connected()
            await self._pump(client, sub, handles, lost)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout=self.request_timeout)

    def _subscription_params(self) -> ua.CreateSubscriptionParameters:
        params = ua.CreateSubscriptionParameters()
        params.RequestedPublishingInterval = self.publishing_interval_ms
        # keep-alives at least every probe_interval, so a silent server is told from a dead one
        keepalive = max(1, math.ceil(self.probe_interval * 1000 / self.publishing_interval_ms))
        params.RequestedMaxKeepAliveCount = keepalive
        params.RequestedLifetimeCount = keepalive * 10
        params.MaxNotificationsPerPublish = 10_000
        params.PublishingEnabled = True
        params.Priority = 0
        return params

    async def _monitor(self, sub: Subscription) -> dict[int, str]:
        """Create one monitored item per node, triggering on value, status AND source timestamp: a
        repeated identical value is a new sample (a stuck sensor must show as such, not go silent)."""
        requests, handles = [], {}
        for handle, (node_id, tag) in enumerate(self.nodes.items(), start=1):
            item = ua.ReadValueId()
            item.NodeId = node_id
            item.AttributeId = AttributeIds.Value
            params = ua.MonitoringParameters()
            params.ClientHandle = handle
            params.SamplingInterval = 0  # the server samples as fast as it updates
            params.QueueSize = self.queue_size
            params.DiscardOldest = True
            params.Filter = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
            request = ua.MonitoredItemCreateRequest()
            request.ItemToMonitor = item
            request.MonitoringMode = ua.MonitoringMode.Reporting
            request.RequestedParameters = params
            requests.append(request)
            handles[handle] = tag
        results = await sub.create_monitored_items(requests)
        self.bad_nodes = {}
        for tag, result in zip(handles.values(), results, strict=True):
            if isinstance(result, ua.StatusCode):
                self.bad_nodes[tag] = result.name
        if self.bad_nodes:
            log.error("opcua %s: nodes not monitored: %s", self.name, self.bad_nodes)
            if len(self.bad_nodes) == len(handles):
                raise ConnectionLost(f"no configured node could be monitored: {self.bad_nodes}")
        return handles

    async def _pump(self, client: Client, sub: Subscription, handles: dict[int, str], lost: asyncio.Queue[str]) -> None:
        last_activity = time.monotonic()
        while True:
            if not lost.empty():
                raise ConnectionLost(lost.get_nowait())
            if self.stopping.is_set():
                await self._drain(sub, handles)
                return
            event = await sub.next_event(timeout=0.2)
            if event is not None:
                last_activity = time.monotonic()
                self._handle(event, handles)
            elif time.monotonic() - last_activity > self.probe_interval:
                try:
                    await asyncio.wait_for(client.nodes.server_state.read_value(), timeout=self.request_timeout)
                except Exception as e:
                    raise ConnectionLost(f"server state read failed: {type(e).__name__}: {e}") from e
                last_activity = time.monotonic()

    async def _drain(self, sub: Subscription, handles: dict[int, str]) -> None:
        while (event := await sub.next_event(timeout=0.01)) is not None:
            self._handle(event, handles)

    def _handle(self, event: Any, handles: dict[int, str]) -> None:
        if isinstance(event, StatusChangeEvent):
            status = event.notification.Status
            if status is not None and not status.is_good():
                raise ConnectionLost(f"subscription status {status.name}")
            return
        if not isinstance(event, DataChangeEvent):
            return
        item = event.data.monitored_item
        tag = handles.get(item.ClientHandle)
        if tag is None:
            return
        reading = self.to_reading(tag, item.Value)
        if reading is not None:
            self.deliver([reading])

    def to_reading(self, tag: str, dv: ua.DataValue | None) -> Reading | None:
        # SourceTimestamp is when the device measured; ServerTimestamp when the server saw it; the
        # bridge's receive time is the last resort (the device gave no time at all).
        moment: datetime | None = None
        if dv is not None:
            moment = dv.SourceTimestamp or dv.ServerTimestamp
        if moment is None:
            moment = self.clock.stamp(tag)
        raw = dv.Value.Value if dv is not None and dv.Value is not None else None
        quality = quality_of(dv.StatusCode if dv is not None else None)
        try:
            return make_reading(tag, raw, quality, moment)
        except ValueError as e:
            self.reject(f"{tag}: {e}")
            return None

    def status(self) -> dict[str, Any]:
        return {**super().status(), "endpoint": self.endpoint, "nodes": len(self.nodes),
                "badNodes": dict(self.bad_nodes)}
