"""`plasmatwin serve` with PLASMATWIN_BRIDGE_CONFIG runs a device bridge in its own process: readings
of a real OPC UA server reach the twin and its subscribers without a separate bridge; a broken file
stops the start with the file and key named."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from api.seed import seed_roles
from demo.signals import Signal
from demo.simulator import Simulator
from records.audit import AuditContext
from records.db import Database
from records.migrate import upgrade
from records.plant import Room, Sensor
from tests import services
from tests.conftest import add_users, make_settings, start_live_server, token_at
from tests.signing_env import add_tiny_plant

TAG = "R1-TT-301"


async def _seed(url: str) -> None:
    db = Database(url)
    await seed_roles(db)
    await add_users(db)
    await add_tiny_plant(db)
    async with db.write(AuditContext("system", reason="test sensor")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        s.add(Sensor(tag=TAG, name="Room temperature", kind="temperature", unit="°C", room_id=room.id))
    await db.dispose()


async def test_a_configured_bridge_feeds_the_twin_of_its_process(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'core.db'}"
    await asyncio.to_thread(upgrade, url)
    await _seed(url)
    sim = Simulator([Signal(TAG, "temperature", 21, 18, 24)], interval=0.1, seed=1,
                    opcua_endpoint=f"opc.tcp://127.0.0.1:{services.free_port()}/plasmatwin/test")
    await sim.start()
    config = tmp_path / "bridge.toml"
    config.write_text(f"""
[bridge]
name = "in-process-test"
buffer = "bridge-buffer.db"
[[opcua]]
endpoint = "{sim.opcua_endpoint}"
publishing_interval_ms = 100
[[opcua.tags]]
node = "{sim.node_id(TAG)}"
tag = "{TAG}"
""")
    live = await asyncio.to_thread(start_live_server, replace(make_settings(url), bridge_config=config))
    try:
        token = await token_at(live.url, "op.one")
        deadline = time.monotonic() + 20
        value = None
        async with httpx.AsyncClient(base_url=live.url, headers={"authorization": f"Bearer {token}"}) as c:
            while value is None and time.monotonic() < deadline:
                body = (await c.post("/graphql", json={"query": "{plants{rooms{sensors{tag value}}}}"})).json()
                sensors = [s for p in body["data"]["plants"] for r in p["rooms"] for s in r["sensors"]]
                value = next(s["value"] for s in sensors if s["tag"] == TAG)
                await asyncio.sleep(0.2)
            metrics = (await c.get("/metrics")).text
        assert value is not None and 17 <= value <= 25
        assert 'plasmatwin_bridge_buffer_depth{bridge="in-process-test"}' in metrics
    finally:
        live.server.should_exit = True
        await asyncio.to_thread(live.thread.join, 10)
        await sim.stop()


async def test_a_broken_bridge_file_stops_the_start_with_its_reason(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'core.db'}"
    await asyncio.to_thread(upgrade, url)
    config = tmp_path / "bridge.toml"
    config.write_text('[bridge]\nname = "x"\nbogus_key = 1\n')
    app = create_app(replace(make_settings(url), bridge_config=config))
    from device_bridge.config import ConfigError

    with pytest.raises(ConfigError, match="bogus_key"):
        async with app.router.lifespan_context(app):
            pass
