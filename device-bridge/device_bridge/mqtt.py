"""MQTT connector: QoS 1 subscription on a unified-namespace topic tree.

Topics are `site/area/room/equipment/tag` (`site/area/room/_/tag` for room sensors). A payload is
one JSON object `{"value": .., "unit": .., "timestamp": RFC 3339, "quality": ..}` or a list of such
objects (samples of the same tag batched into one message: the Python client, not the broker,
limits throughput to a few thousand messages a second).

The session is persistent (clean_session False, stable client id): while the bridge is briefly
away the broker keeps its subscription and queues QoS 1 messages for it. The broker acknowledges a
message once it reaches the client library, so on stop we hand over everything already received
before disconnecting. A message redelivered after a reconnect gives the same (tag, sourceTime) and
the core stores it once; a sample without a timestamp gets the receive time, which makes such a
redelivery a second reading - devices should send timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import aiomqtt

from device_bridge.backoff import Backoff
from device_bridge.connector import ConnectionLost, Connector, Emit
from device_bridge.model import QUALITIES, Reading, make_reading, parse_time

MAX_PAYLOAD = 1_000_000


class MqttConnector(Connector):
    kind = "mqtt"

    def __init__(self, url: str, topic: str, client_id: str, emit: Emit, *, tags: Mapping[str, str] | None = None,
                 keepalive: int = 10, stale_after: float | None = None, backoff: Backoff | None = None,
                 name: str | None = None) -> None:
        """`tags` maps a full topic to a tag name; unmapped topics use their last level as the tag."""
        super().__init__(name or f"{url} {topic}", emit, stale_after=stale_after, backoff=backoff)
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
            raise ValueError(f"MQTT url must look like mqtt://host:1883, not {url!r}")
        if not client_id:
            raise ValueError("a stable MQTT client_id is required (the broker keeps the session under it)")
        self.url = url
        self.host = parsed.hostname
        self.port = parsed.port or 1883
        self.topic = topic
        self.client_id = client_id
        self.tags = dict(tags or {})
        self.keepalive = keepalive
        self.messages = 0

    def tag_for(self, topic: str) -> str:
        return self.tags.get(topic) or topic.rsplit("/", 1)[-1]

    async def _session(self) -> None:
        client = aiomqtt.Client(self.host, self.port, identifier=self.client_id, clean_session=False,
                                keepalive=self.keepalive, timeout=10)
        try:
            async with client:
                await client.subscribe(self.topic, qos=1)
                self.connected()
                await self._pump(client)
        except aiomqtt.MqttError as e:
            raise ConnectionLost(str(e)) from e
        finally:
            # Messages the library already took (and the broker counts as delivered) are not dropped.
            self._drain(client)

    async def _pump(self, client: aiomqtt.Client) -> None:
        stop = asyncio.ensure_future(self.stopping.wait())
        messages = client.messages
        try:
            while True:
                nxt = asyncio.ensure_future(anext(messages))
                done, _ = await asyncio.wait({nxt, stop}, return_when=asyncio.FIRST_COMPLETED)
                if nxt not in done:
                    nxt.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        msg = await nxt  # it may have completed before the cancel landed
                        self.handle(str(msg.topic), msg.payload)
                    return
                msg = nxt.result()  # raises MqttError when the connection is lost
                self.handle(str(msg.topic), msg.payload)
                self._drain(client)  # whatever else is queued, without a task per message
        finally:
            stop.cancel()

    def _drain(self, client: aiomqtt.Client) -> None:
        queue = client._queue  # aiomqtt has no public non-blocking read
        while not queue.empty():
            msg = queue.get_nowait()
            self.handle(str(msg.topic), msg.payload)

    def handle(self, topic: str, payload: Any) -> None:
        """Turn one message into readings; anything malformed is counted, logged and skipped."""
        self.messages += 1
        tag = self.tag_for(topic)
        if not isinstance(payload, bytes | bytearray | str) or len(payload) > MAX_PAYLOAD:
            self.reject(f"{topic}: payload missing or larger than {MAX_PAYLOAD} bytes")
            return
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
            self.reject(f"{topic}: not JSON: {type(e).__name__}: {str(e)[:100]}")
            return
        items = data if isinstance(data, list) else [data]
        readings, problems = [], []
        for i, item in enumerate(items):
            try:
                readings.append(self.to_reading(tag, item))
            except (ValueError, TypeError) as e:
                problems.append(f"[{i}] {e}" if isinstance(data, list) else str(e))
        if problems or not items:
            self.reject(f"{topic}: " + ("; ".join(problems[:3]) if problems else "empty list"))
        self.deliver(readings)

    def to_reading(self, tag: str, item: Any) -> Reading:
        if not isinstance(item, dict):
            raise ValueError("sample is not a JSON object")
        if "value" not in item:
            raise ValueError("sample has no 'value'")
        quality = item.get("quality", "GOOD")
        if not isinstance(quality, str) or quality.upper() not in QUALITIES:
            raise ValueError(f"unknown quality {quality!r}")
        stamp = item.get("timestamp")
        # no device timestamp: the bridge's receive time stands in for it
        moment = parse_time(stamp) if stamp is not None else self.clock.stamp(tag)
        return make_reading(tag, item["value"], quality.upper(), moment)

    def status(self) -> dict[str, Any]:
        return {**super().status(), "url": self.url, "topic": self.topic, "clientId": self.client_id,
                "messages": self.messages}
