"""Reads compiled to one SQL statement (api/engine/compiled/) answer exactly what the normal path
answers, field for field, on SQLite and PostgreSQL: aliases, nulls, empty lists, order, live values
from the twin, and the refusals of unauthorised and out-of-scope callers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import get_operation_ast, parse
from sqlalchemy import select, update

from api.app import build_services, create_app
from api.engine import compiled
from api.engine.execution import Engine
from demo import population
from demo.plant import DEMO_PLANT
from demo.seed import seed_plant, seed_stations
from records import reader as driver
from records.audit import AuditContext
from records.db import Database
from records.plant import Area, Equipment, Plant, Room, Sensor
from records.plasma import Batch
from records.readings import Quality, Reading
from records.recipe import Recipe
from resolvers.compiled_reads import CATALOG
from resolvers.sql_catalog import Python, Twin
from schema.root import build_schema
from tests.conftest import GQL, PASSWORD, add_users, make_settings
from tests.signing_env import add_signers, issue_token, make_signers

SENSOR_ALL = "tag name kind unit lowLimit highLimit roomCode equipmentCode value quality sourceTime"
EQUIPMENT_ALL = """code name kind x y status roomCode cleaningStatus cleanedAt cleaningValidUntil sterilizationStatus
  sterilizedAt sterilizationValidUntil calibrationStatus calibratedOn calibrationValidUntil"""
PLANT_ALL = ("{ plants { __typename id code name width height areas { id code name roomCodes } rooms { id code name "
             f"grade areaCode polygon equipment {{ {EQUIPMENT_ALL} sensors {{ {SENSOR_ALL} }} }} "
             f"sensors {{ {SENSOR_ALL} }} }} }} }}")
PLANT_CONTRACT = "{ plants { id name rooms { id name equipment { code name status sensors { tag unit value } } } } }"
EQUIPMENT = "query($c: String!) { equipment(code: $c) { code name kind status } }"
BATCH = """query($n: String!) { batch(batchNumber: $n) { __typename batchNumber product status startedAt expiryDate
  poolCodes recipeCode recipeVersion } }"""


def where(a: Any, b: Any, path: str = "") -> str:
    """The first place two answers differ, for the assertion's message."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        return next((w for k in a if (w := where(a[k], b[k], f"{path}.{k}"))), "")
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        return next((w for i, (x, y) in enumerate(zip(a, b, strict=True)) if (w := where(x, y, f"{path}[{i}]"))), "")
    return "" if a == b and type(a) in (type(b), int, float) else f"{path}: {a!r} != {b!r}"


@dataclass
class World:
    client: httpx.AsyncClient
    engine: Engine
    db: Database
    services: Any
    signers: Any
    calls: list[str]

    async def both(self, gql: GQL, query: str, variables: dict[str, Any] | None = None) -> tuple[Any, Any]:
        """The compiled answer (asserted to come from the statement) and the normal path's."""
        self.engine.catalog = CATALOG
        before = len(self.calls)
        fast = await gql.post(query, variables)
        assert len(self.calls) == before + 1, "not compiled: " + query
        self.engine.catalog = None
        slow = await gql.post(query, variables)
        self.engine.catalog = CATALOG
        assert fast.status_code == slow.status_code
        return json.loads(fast.content), slow.json()


@pytest_asyncio.fixture
async def world(db: Database, tmp_path: Path, pki_dir: Path,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    signers = make_signers(pki_dir, tmp_path / "crl.pem")
    await add_signers(db, signers, PASSWORD)
    await add_users(db)
    await seed_plant(db, DEMO_PLANT)
    await seed_stations(db)
    await population.generate(db, population.Population(donors=20, units=60, pools=4, lots_per_batch=1,
                                                        cases_per_lot=1, cartons_per_case=1, units_per_carton=1))
    await _edge_cases(db)
    settings = replace(make_settings(db.url, max_query_cost=1_000_000), **signers.trust)
    services = build_services(settings, db)
    _readings(services.twin, await _tags(db))
    app = create_app(settings, services)
    engine = app.router.routes[0].app.http.engine  # type: ignore[attr-defined]
    calls: list[str] = []
    real = compiled.execute

    async def counted(*args: Any) -> Any:
        answer = await real(*args)
        if answer is not None:
            calls.append(args[1].op.name.value if args[1].op.name else "")
        return answer

    monkeypatch.setattr(compiled, "execute", counted)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 1)),
                                 base_url="http://t") as c:
        yield World(c, engine, db, services, signers, calls)


async def _tags(db: Database) -> list[str]:
    async with db.read() as s:
        return list((await s.execute(select(Sensor.tag).order_by(Sensor.id))).scalars())


def _readings(twin: Any, tags: list[str]) -> None:
    """Live values for some tags (none for the others): a value, a BAD one without value, whole seconds."""
    for i, tag in enumerate(tags[: len(tags) // 2]):
        at = datetime(2026, 5, 1, 8, 0, i % 60, 0 if i % 3 else 250_000, tzinfo=UTC)
        value = None if i % 5 == 0 else 20.0 + i / 8
        twin.observe(Reading(tag, value, Quality.BAD if value is None else Quality.GOOD, at, at))


async def _edge_cases(db: Database) -> None:
    """What the demo data lacks: care dates with and without microseconds, a room without equipment,
    an empty area and plant, a batch made by a recipe and one with no pools."""
    async with db.write(AuditContext("system", reason="compiled read tests")) as s:
        eqs = (await s.execute(select(Equipment).order_by(Equipment.id))).scalars().all()
        eqs[0].cleaned_at = datetime(2026, 4, 2, 10, 30, 0, tzinfo=UTC)
        eqs[0].cleaning_valid_until = date(2026, 4, 9)
        eqs[1].sterilized_at = datetime(2026, 4, 3, 7, 5, 9, 120_000, tzinfo=UTC)
        eqs[1].calibrated_on = date(2026, 1, 31)
        eqs[1].status = "MAINTENANCE"
        plant = (await s.execute(select(Plant))).scalars().first()
        assert plant is not None
        area = Area(plant_id=plant.id, code="AX", name="Empty wing")
        s.add(area)
        await s.flush()
        s.add(Room(area_id=area.id, code="RX", name="Bare room", grade="D", polygon=[[0, 0], [1.5, 0], [1, 2]]))
        s.add(Plant(site_id=plant.site_id, code="P-EMPTY", name="No areas yet", width=1, height=2.5))
        recipe = Recipe(code="MR-T", version=2, product="Albumin", name="t", change_note="t", batch_size=1.0,
                        batch_unit="L", procedure=[], drafted_by="t", drafted_at=datetime(2026, 1, 1, tzinfo=UTC))
        s.add(recipe)
        await s.flush()
        first = (await s.execute(select(Batch).order_by(Batch.id))).scalars().first()
        assert first is not None
        first.recipe_id = recipe.id
        first.started_at = datetime(2026, 4, 1, 6, 0, 0, 500_000, tzinfo=UTC)
        first.expiry_date = date(2029, 4, 1)
        s.add(Batch(batch_number="B-NO-POOLS", product="Albumin", status="PLANNED"))


async def _batch_numbers(db: Database) -> list[str]:
    async with db.read() as s:
        return list((await s.execute(select(Batch.batch_number).order_by(Batch.id))).scalars())


async def test_plant_graph_equals_the_normal_path(world: World) -> None:
    me = await GQL(world.client).sign_in("op.one")
    for query in (PLANT_ALL, PLANT_CONTRACT):
        fast, slow = await world.both(me, query)
        assert fast == slow, where(fast, slow)
        assert "errors" not in fast
    plants = fast["data"]["plants"]
    assert len(plants) == 2 and plants[1]["rooms"] == []
    rooms = plants[0]["rooms"]
    assert any(r["equipment"] == [] for r in rooms)
    sensors = [x for r in rooms for e in r["equipment"] for x in e["sensors"]]
    assert any(x["value"] is not None for x in sensors) and any(x["value"] is None for x in sensors)


async def test_aliases_typename_and_repeated_fields(world: World) -> None:
    me = await GQL(world.client).sign_in("qa.one")
    q = """{ site: plants { n: name name __typename k: __typename
              rooms { c: code code equipment { s: sensors { live: value v2: value q: quality t: sourceTime tag }
                                               st: status } } a: areas { r: roomCodes } } }"""
    fast, slow = await world.both(me, q)
    assert fast == slow, where(fast, slow)
    assert list(fast["data"]["site"][0]) == ["n", "name", "__typename", "k", "rooms", "a"]


async def test_one_plant_by_id(world: World) -> None:
    me = await GQL(world.client).sign_in("op.one")
    async with world.db.read() as s:
        ids = list((await s.execute(select(Plant.id).order_by(Plant.id))).scalars())
    q = "query($id: ID!) { plant(id: $id) { id name areas { code roomCodes } rooms { code equipment { code } } } }"
    for pid in [*map(str, ids), "999999", "abc"]:
        fast, slow = await world.both(me, q, {"id": pid})
        assert fast == slow, (pid, where(fast, slow))
    assert fast["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    fast, slow = await world.both(me, '{ p: plant(id: "999999") { id } }')
    assert fast == slow == {"data": {"p": None}}


async def test_equipment_by_code(world: World) -> None:
    me = await GQL(world.client).sign_in("op.one")
    async with world.db.read() as s:
        codes = list((await s.execute(select(Equipment.code).order_by(Equipment.id).limit(3))).scalars())
    for code in [*codes, "NO-SUCH-EQUIPMENT"]:
        every = f"query($c: String!) {{ equipment(code: $c) {{ {EQUIPMENT_ALL} sensors {{ {SENSOR_ALL} }} }} }}"
        for q in (EQUIPMENT, every):
            fast, slow = await world.both(me, q, {"c": code})
            assert fast == slow, where(fast, slow)
            assert "errors" not in fast, code
    assert fast["data"]["equipment"] is None


async def test_batch_with_pools_and_recipe(world: World) -> None:
    me = await GQL(world.client).sign_in("qa.one")
    numbers = await _batch_numbers(world.db)
    for n in [*numbers, "NO-SUCH-BATCH"]:
        fast, slow = await world.both(me, BATCH, {"n": n})
        assert fast == slow, where(fast, slow)
        assert "errors" not in fast, n
    first, _ = await world.both(me, BATCH, {"n": numbers[0]})
    assert first["data"]["batch"]["recipeCode"] == "MR-T" and first["data"]["batch"]["poolCodes"]
    assert first["data"]["batch"]["startedAt"] == "2026-04-01T06:00:00.500000+00:00"
    empty, _ = await world.both(me, BATCH, {"n": "B-NO-POOLS"})
    assert empty["data"]["batch"]["poolCodes"] == [] and empty["data"]["batch"]["recipeCode"] is None


async def test_unauthorised_callers_get_what_the_normal_path_gives(world: World) -> None:
    numbers = await _batch_numbers(world.db)
    cases = [("bridge.one", PLANT_CONTRACT, None, "FORBIDDEN"), ("bridge.one", EQUIPMENT, {"c": "X"}, "FORBIDDEN"),
             ("audit.one", BATCH, {"n": numbers[0]}, "FORBIDDEN"), ("st.one", PLANT_CONTRACT, None, "OUT_OF_SCOPE"),
             ("dist.one", BATCH, {"n": "NO-SUCH-BATCH"}, None)]
    for who, q, variables, code in cases:
        me = await GQL(world.client).sign_in(who)
        fast, slow = await world.both(me, q, variables)
        assert fast == slow, where(fast, slow)
        assert fast["errors"][0]["extensions"]["code"] == (code or slow["errors"][0]["extensions"]["code"]), who
    fast, slow = await world.both(GQL(world.client), PLANT_CONTRACT)
    assert fast == slow, where(fast, slow)
    assert fast["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_scoped_tokens_see_only_their_batches(world: World) -> None:
    numbers = await _batch_numbers(world.db)
    async with world.db.read() as s:
        products = dict((await s.execute(select(Batch.batch_number, Batch.product))).all())
    by_product = await issue_token(GQL(world.client), world.signers, "reg.one", products=[products[numbers[0]]])
    by_number = await issue_token(GQL(world.client), world.signers, "reg.one", batchNumbers=[numbers[1], "B-X"])
    nothing = await issue_token(GQL(world.client), world.signers, "reg.one", stations=["NO-STATION"])
    seen = 0
    for token in (by_product, by_number, nothing):
        for n in [*numbers, "NO-SUCH-BATCH"]:
            fast, slow = await world.both(token, BATCH, {"n": n})
            assert fast == slow, (n, where(fast, slow))
            if "errors" in fast:
                assert fast["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE" and fast["data"] == {"batch": None}
            else:
                seen += 1
        fast, slow = await world.both(token, PLANT_CONTRACT)
        assert fast == slow, where(fast, slow)
        assert fast["errors"][0]["extensions"]["code"] == "OUT_OF_SCOPE"
    assert 2 <= seen < 2 * len(numbers)


def test_what_is_compiled_and_what_falls_back() -> None:
    schema = build_schema()._schema
    for text, planned in [
        (PLANT_ALL, True),
        ("{ equipment(code: \"x\") { code sensors { value } } }", True),
        ("{ plants { id } viewer { username } }", False),  # a root field outside the catalog
        ("{ plants { id } batches { totalCount } }", True),  # several root fields
        ("{ plants { ...F } } fragment F on Plant { id }", True),  # fragments
        ("{ plants { ...F } } fragment F on Plant { id label }", False),  # not a field of Plant: invalid
        ("{ plants { rooms @include(if: true) { sensors { tag } } } }", True),  # directives
        ("{ plants { rooms @defer { code } } }", False),  # another directive
        ("{ plants { id } } query Other { plants { name } }", True),
        ("mutation { signIn(username: \"a\", password: \"b\") { token } }", False),
        ("{ batches { edges { node { batchNumber } } } }", True),
        ("{ coldRoomChecks { edges { node { id } } } }", True),
        ("{ videoClips { edges { node { id } } } }", False),  # not (yet) in the catalog
        ("{ plants { rooms { code code } } }", True),
    ]:
        doc = parse(text)
        op = get_operation_ast(doc, None if "Other" not in text else "Other")
        assert op is not None
        assert (compiled.plan(schema, doc, op, CATALOG) is not None) == planned, text


def test_the_catalog_covers_every_field_of_its_types() -> None:
    """A field added to a compiled type without its SQL would send every query selecting it the
    normal way: keep the catalog complete, and SQL only where the schema has no resolver (a field
    with one is the twin's or marked computed in Python)."""
    schema = build_schema()._schema
    for name, hows in CATALOG.types.items():
        gtype = schema.type_map[name]
        assert set(gtype.fields) == set(hows), name  # type: ignore[attr-defined]
        for fname, how in hows.items():
            definition = gtype.fields[fname].extensions["strawberry-definition"]  # type: ignore[attr-defined]
            if isinstance(how, Twin):
                assert definition.base_resolver is not None, (name, fname)
            elif definition.base_resolver is not None:
                assert isinstance(how, Python), (name, fname)


async def test_statements_are_made_once_and_bound(world: World) -> None:
    me = await GQL(world.client).sign_in("qa.one")
    numbers = await _batch_numbers(world.db)
    for n in numbers[:3]:
        await world.both(me, BATCH, {"n": n})
    planned = world.engine._compiled(BATCH, None, CATALOG).query(compiled.NO_VARIABLES).roots[0]
    assert len(planned.statements) == 1
    (stmt,) = planned.statements.values()
    assert all(n not in stmt.sql for n in numbers) and stmt.names == ("batch_number",)


async def test_sql_injection_in_arguments_is_data(world: World) -> None:
    me = await GQL(world.client).sign_in("qa.one")
    for evil in ("' OR 1=1 --", "x'); DROP TABLE batch; --"):
        fast, slow = await world.both(me, BATCH, {"n": evil})
        assert fast == slow == {"data": {"batch": None}}
    async with world.db.read() as s:
        assert (await s.execute(select(Batch.id))).first() is not None


async def test_a_changed_row_is_read_fresh(world: World) -> None:
    me = await GQL(world.client).sign_in("op.one")
    async with world.db.read() as s:
        code = (await s.execute(select(Equipment.code).order_by(Equipment.id))).scalars().first()
    before, _ = await world.both(me, EQUIPMENT, {"c": code})
    async with world.db.write(AuditContext("system", reason="t")) as s:
        await s.execute(update(Equipment).where(Equipment.code == code).values(status="FAULT"))
    after, slow = await world.both(me, EQUIPMENT, {"c": code})
    assert after == slow and after["data"]["equipment"]["status"] == "FAULT" != before["data"]["equipment"]["status"]


async def test_an_unexpected_exception_is_masked_as_on_the_normal_path(world: World,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import resolvers.plant

    async def broken(*_: Any) -> Any:
        raise RuntimeError("secret detail of a bug")

    def no_statement(*_: Any) -> Any:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr(resolvers.plant, "read_plants", broken)
    monkeypatch.setattr("api.engine.compiled.run.statement_for", no_statement)  # where execution looks it up
    me = await GQL(world.client).sign_in("op.one")
    fast, slow = await world.both(me, "{ plants { id } }")
    assert fast == slow == {"data": {"plants": None}, "errors": [{
        "message": "internal server error", "locations": [{"line": 1, "column": 3}], "path": ["plants"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}


async def test_the_driver_runs_the_statement_and_sqlalchemy_when_it_cannot(world: World,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    me = await GQL(world.client).sign_in("op.one")
    real, run = driver.reader, driver.reader(world.db)
    assert run is not None  # a file or a server: the driver's own connections
    on_driver, _ = await world.both(me, PLANT_CONTRACT)
    monkeypatch.setattr(driver, "reader", lambda _db: None)  # an in-memory database
    on_sqlalchemy, slow = await world.both(me, PLANT_CONTRACT)
    assert on_driver == on_sqlalchemy == slow
    await world.db.engine.dispose()  # closes the driver's connections; they reopen on the next read
    assert getattr(run, "pool", None) is None and not getattr(run, "opened", None)
    monkeypatch.setattr(driver, "reader", real)
    again, _ = await world.both(me, PLANT_CONTRACT)
    assert again == on_driver
