"""Shared fixtures: databases (SQLite and a real PostgreSQL), the app, signed-in clients."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import build_services, create_app
from api.seed import NewUser, seed_roles, seed_users
from api.settings import Settings
from records.db import Database
from records.migrate import upgrade
from resolvers import identity
from tests import services

# Cheap Argon2 for suites that create many users. Also in the environment: the command line applies
# PLASMATWIN_ARGON2_*, so a test calling `cli.main` in this process (and every server the tests start)
# would otherwise hash at the production cost, 0.3 s a password, for the rest of the session.
_CHEAP_ARGON2 = {"PLASMATWIN_ARGON2_TIME_COST": "1", "PLASMATWIN_ARGON2_MEMORY_KIB": "1024",
                 "PLASMATWIN_ARGON2_PARALLELISM": "1"}
for _key, _value in _CHEAP_ARGON2.items():
    os.environ.setdefault(_key, _value)
identity.configure_hashing(time_cost=1, memory_kib=1024, parallelism=1)

PASSWORD = "correct horse battery staple"


def _unavailable(reason: str) -> None:
    if services.REQUIRE:
        pytest.fail(f"required service missing (PLASMATWIN_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    from tests.ui_server import check_chromium

    try:
        return check_chromium()
    except services.ServiceUnavailable as e:
        _unavailable(str(e))
        raise


_DEMO: list[Any] = []  # the running `plasmatwin demo` of this test process, if any


@pytest.fixture
def demo(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`plasmatwin demo` for the browser tests, shared by every test that asks for it: each start makes the
    demo's production again (minutes of CPU), and the tests name their own records. Their modules run as one
    xdist unit (below), and the server stops as soon as the next test is outside them: a demo running in the
    background would slow every other test of the process."""
    from tests.ui_server import ensure_frontend, start_demo

    if not _DEMO:
        try:
            ensure_frontend()
        except services.ServiceUnavailable as e:
            _unavailable(str(e))
        _DEMO.append(start_demo(tmp_path_factory.mktemp("ui-demo")))
    return _DEMO[0]


# The modules whose tests use `demo`: under xdist they are one unit of work, so one process runs them one
# after another on one demo server while the other takes the rest (tests/conftest.py `demo`). A module
# missing here still works; it only starts a demo of its own.
DEMO_MODULES = ("tests/test_ui", "tests/test_label_lines.py")


def _in_demo_modules(nodeid: str) -> bool:
    return nodeid.split("::", 1)[0].startswith(DEMO_MODULES)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    if config.getvalue("dist") != "load":
        return None

    class DemoTogether(LoadScopeScheduling):
        """`load`, except that the demo's tests are one scope (xdist's own loadgroup no longer moves a test
        into its group under pytest 9: it renames `_nodeid`, which pytest 9 no longer reads)."""

        def _split_scope(self, nodeid: str) -> str:
            return "demo" if _in_demo_modules(nodeid) else nodeid

    return DemoTogether(config, log)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # Kept across the demo modules' tests that do not use it (a catalogue check between two browser tests).
    if _DEMO and (nextitem is None or not _in_demo_modules(nextitem.nodeid)):
        _DEMO.pop().stop()


def pytest_sessionfinish() -> None:
    while _DEMO:  # an interrupted run
        _DEMO.pop().stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[services.Postgres]:
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        _unavailable(str(e))
    yield pg
    pg.stop()


@pytest.fixture
def redis_server() -> Iterator[services.Process]:
    """A fresh Redis on 127.0.0.1 per test (no persistence); `.port`."""
    try:
        r = services.start_redis()
    except services.ServiceUnavailable as e:
        _unavailable(str(e))
    yield r
    r.stop()


@pytest.fixture
def mosquitto_server() -> Iterator[services.Process]:
    """A fresh Mosquitto broker on 127.0.0.1 per test (anonymous, no persistence); `.port`, `.stop()`
    and `services.start_mosquitto(port)` to bring it back on the same port after an outage."""
    try:
        m = services.start_mosquitto()
    except services.ServiceUnavailable as e:
        _unavailable(str(e))
    yield m
    m.stop()


_counter = iter(range(1_000_000))


@pytest.fixture
def pg_url(pg_server: services.Postgres) -> str:
    return pg_server.create_database(f"t{os.getpid()}_{next(_counter)}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store migrated to the head once per session; each test's store is a copy of it (the migrations
    themselves are tested in tests/test_migrations.py), which saves a second of CPU per test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def migrated(url: str, template: Path) -> None:
    """A new SQLite store at the head revision: the template copied into place."""
    shutil.copyfile(template, url.removeprefix("sqlite+aiosqlite:///"))


@pytest.fixture(scope="session")
def pg_template(pg_server: services.Postgres) -> str:
    """A PostgreSQL database migrated to the head once per session, the template of each test's `db`."""
    name = f"head{os.getpid()}"
    url = pg_server.create_database(name)
    with ThreadPoolExecutor(1) as pool:  # first asked for inside a running event loop: migrate beside it
        pool.submit(upgrade, url).result()
    return name


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("pg_url"))



@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, sqlite_template: Path) -> AsyncIterator[Database]:
    """A store at the head revision on SQLite and on PostgreSQL, each a copy of its template."""
    if getattr(request, "param", "sqlite") == "sqlite":
        url = f"sqlite+aiosqlite:///{request.getfixturevalue('tmp_path') / 'test.db'}"
        migrated(url, sqlite_template)
    else:
        server: services.Postgres = request.getfixturevalue("pg_server")
        template = request.getfixturevalue("pg_template")
        url = server.create_database(f"t{os.getpid()}_{next(_counter)}", template=template)
    database = Database(url)
    await seed_roles(database)
    yield database
    await database.dispose()


@pytest_asyncio.fixture
async def sqlite_db(sqlite_url: str, sqlite_template: Path) -> AsyncIterator[Database]:
    migrated(sqlite_url, sqlite_template)
    database = Database(sqlite_url)
    await seed_roles(database)
    yield database
    await database.dispose()


STANDARD_USERS = {
    "op.one": ("operator",),
    "qa.one": ("qa_officer",),
    "audit.one": ("audit_admin",),
    "admin.one": ("system_admin",),
    "reg.one": ("regulator",),
    "st.one": ("station_partner",),
    "dist.one": ("distributor_partner",),
    "bridge.one": ("device_bridge",),
}


async def add_users(db: Database, users: Mapping[str, tuple[str, ...]] = STANDARD_USERS) -> None:
    await seed_users(db, [NewUser(u, u.replace(".", " ").title(), roles, PASSWORD) for u, roles in users.items()])


async def token_at(base_url: str, user: str, password: str = PASSWORD) -> str:
    """Sign in over real HTTP (a live server, another process) and return the bearer token."""
    async with httpx.AsyncClient(base_url=base_url) as c:
        r = await c.post("/graphql", json={
            "query": "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}",
            "variables": {"u": user, "p": password}})
    return str(r.json()["data"]["signIn"]["token"])


class GQL:
    """A GraphQL client over httpx (ASGI transport or a live URL) that can sign in."""

    def __init__(self, client: httpx.AsyncClient, token: str | None = None) -> None:
        self.client = client
        self.token = token

    async def post(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        h = {"accept": "application/graphql-response+json", **headers}
        if self.token:
            h.setdefault("authorization", f"Bearer {self.token}")
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=h)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await self.post(query, variables)
        body: dict[str, Any] = r.json()
        return body

    async def sign_in(self, username: str, password: str = PASSWORD) -> GQL:
        body = await self(
            "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token expiresAt}}",
            {"u": username, "p": password},
        )
        assert "errors" not in body, body
        return GQL(self.client, body["data"]["signIn"]["token"])


# Re-authentication at signing (resolvers/reauth.py) is on in the product; tests/test_reauth.py proves it
# and the demo's own production and browser tests run with it. The other tests sign without it, as a
# plant that turned the setting off, so each need not give passwords to the server first.
os.environ.setdefault("PLASMATWIN_SIGNING_REAUTHENTICATION", "false")


def make_settings(url: str, **overrides: Any) -> Settings:
    return replace(Settings(), database_url=url, **{"signing_reauthentication": False, **overrides})


@pytest_asyncio.fixture
async def app_db(sqlite_db: Database) -> Database:
    await add_users(sqlite_db)
    return sqlite_db


@pytest_asyncio.fixture
async def gql(app_db: Database) -> AsyncIterator[GQL]:
    settings = make_settings(app_db.url)
    app = create_app(settings, build_services(settings, app_db))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield GQL(client)


class LiveServer:
    def __init__(self, url: str, server: Any, thread: threading.Thread, app: Any) -> None:
        self.url = url
        self.server = server
        self.thread = thread
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def call(self, fn: Any, *args: Any) -> None:
        """Run a plain function on the server's event loop (the bus is not thread-safe)."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(fn, *args)


def start_live_server(settings: Settings, port: int | None = None) -> LiveServer:
    """Uvicorn in a thread on 127.0.0.1, a free port unless given (for WebSocket and cross-process clients)."""
    import uvicorn

    from api.cli import server_options

    port = port or services.free_port()
    holder: list[LiveServer] = []

    async def capture_loop() -> None:
        holder[0].loop = asyncio.get_running_loop()

    app = create_app(settings, on_startup=[capture_loop])
    options = {**server_options(settings), "host": "127.0.0.1", "port": port, "log_level": "warning"}
    config = uvicorn.Config(app, lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    holder.append(LiveServer(f"http://127.0.0.1:{port}", server, thread, app))
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    return holder[0]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    upgrade(url)

    async def seed() -> None:
        database = Database(url)
        await seed_roles(database)
        await add_users(database)
        await database.dispose()

    asyncio.run(seed())
    live = start_live_server(make_settings(url))
    yield live
    live.server.should_exit = True
    live.thread.join(10)


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest_asyncio.fixture
async def env(sqlite_db: Database, tmp_path: Path, pki_dir: Path) -> AsyncIterator[tuple[GQL, Any, Database]]:
    """An app with trusted signers (tests/signing_env.py), the standard users and a tiny plant."""
    from tests.signing_env import add_signers, add_tiny_plant, make_signers

    signers = make_signers(pki_dir, tmp_path / "crl.pem")
    await add_signers(sqlite_db, signers, PASSWORD)
    await add_users(sqlite_db)
    await add_tiny_plant(sqlite_db)
    settings = replace(make_settings(sqlite_db.url), **signers.trust)
    services = build_services(settings, sqlite_db)
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.app_services = services  # type: ignore[attr-defined]
        yield GQL(client), signers, sqlite_db
