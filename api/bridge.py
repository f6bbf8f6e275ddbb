"""A device bridge inside the API process (`PLASMATWIN_BRIDGE_CONFIG`, and the demo's plant).

The bridge's connectors read OPC UA servers and MQTT brokers and hand readings straight to this
node's twin: the same path a separate `plasmatwin bridge` takes over HTTP, buffer included.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from device_bridge.config import load_config
from device_bridge.runner import Bridge
from device_bridge.sink import CallableSink
from resolvers.context import Services
from twin.ingest import take

log = logging.getLogger("plasmatwin.bridge")


def sink(svc: Services, name: str) -> CallableSink:
    """Readings into this node's twin; a rejected reading is logged (bad tag or value), never lost silently."""
    async def ingest(readings: list[Any]) -> None:
        result = await take(svc.twin, readings)  # Busy: the bridge keeps its copy and retries
        if result.rejected:
            log.warning("bridge %s: readings rejected: %s", name, result.rejected[:3])

    return CallableSink(ingest)


async def start_configured(svc: Services, path: Path) -> Bridge:
    """The bridge a TOML file describes (ConfigError names the file and key of a mistake)."""
    config = load_config(path)
    bridge = Bridge.from_config(config, sink(svc, config.name))
    await bridge.start()
    log.info("in-process bridge %s started from %s", config.name, path)
    return bridge
