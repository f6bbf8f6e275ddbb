"""The product app in-process over ASGI on a fresh SQLite store, with the test users and their keys and
the tiny test plant: what a benchmark measures requests against."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from records.db import Database


@dataclass
class InProcess:
    client: httpx.AsyncClient
    db: Database
    signers: Any
    app: Any = None  # the ASGI app itself, for callers that measure without a client
    services: Any = None

    async def token(self, user: str) -> dict[str, str]:
        """The authorization header of `user` signed in with the test password."""
        from tests.conftest import PASSWORD

        r = await self.client.post("/graphql", json={
            "query": "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}",
            "variables": {"u": user, "p": PASSWORD}})
        return {"authorization": "Bearer " + r.json()["data"]["signIn"]["token"]}


@asynccontextmanager
async def in_process(prepare: Callable[[Database], Awaitable[None]] | None = None,
                     url: str | None = None) -> AsyncIterator[InProcess]:
    """The app on a fresh store: a SQLite file in a temporary directory, or the empty database `url`."""
    from api.app import build_services, create_app
    from api.seed import seed_roles
    from api.settings import Settings
    from records.migrate import upgrade
    from tests.conftest import PASSWORD, add_users
    from tests.signing_env import add_signers, add_tiny_plant, make_signers

    with tempfile.TemporaryDirectory() as d:
        url = url or f"sqlite+aiosqlite:///{d}/bench.db"
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        await seed_roles(db)
        signers = make_signers(Path(d) / "pki", Path(d) / "crl.pem")
        await add_signers(db, signers, PASSWORD)
        await add_users(db)
        await add_tiny_plant(db)
        if prepare is not None:
            await prepare(db)
        settings = replace(Settings(), database_url=url, **signers.trust)
        svc = build_services(settings, db)
        app = create_app(settings, svc)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as c:
                yield InProcess(c, db, signers, app, svc)
        finally:
            await db.dispose()
