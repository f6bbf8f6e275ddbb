"""GraphQL over HTTP: media types, status codes, limits and error codes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from records.audit import AuditEvent
from records.db import Database
from tests.conftest import GQL, STANDARD_USERS, LiveServer, token_at

RESP = "application/graphql-response+json"

SDL = Path(__file__).resolve().parents[1] / "frontend" / "schema.graphql"


async def _audit_count(db: Database) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(AuditEvent))).scalar_one())


async def test_get_query_and_post_query(gql: GQL) -> None:
    r = await gql.client.get("/graphql", params={"query": "{viewer{username}}"}, headers={"accept": RESP})
    assert r.status_code == 200 and r.headers["content-type"].startswith(RESP)
    assert r.json() == {"data": {"viewer": None}}
    r = await gql.post("{viewer{username}}")
    assert r.status_code == 200 and r.json() == {"data": {"viewer": None}}


async def test_mutation_over_get_is_405(gql: GQL) -> None:
    r = await gql.client.get("/graphql", params={"query": "mutation{signOut}"}, headers={"accept": RESP})
    assert r.status_code == 405


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1,2]", "application/json", 400),
        (b'{"query": 5}', "application/json", 400),
        (b'{"query": "{viewer{username}}", "variables": [1]}', "application/json", 400),
        (b"query=x", "application/x-www-form-urlencoded", 415),
    ],
)
async def test_malformed_requests_get_a_status_and_a_code(gql: GQL, app_db: Database, body: bytes, ctype: str,
                                                          status: int) -> None:
    before = await _audit_count(app_db)
    r = await gql.client.post("/graphql", content=body, headers={"content-type": ctype, "accept": RESP})
    assert r.status_code == status
    assert r.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert await _audit_count(app_db) == before


async def test_syntax_and_validation_errors_are_400_with_graphql_response(gql: GQL) -> None:
    for query in ("{viewer{", "{nope}", "query($x:Int){viewer{username}}"):
        r = await gql.post(query)
        assert r.status_code == 400, query
        assert r.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    r = await gql.client.post("/graphql", json={"query": "{nope}"}, headers={"accept": "application/json"})
    assert r.status_code == 200 and "errors" in r.json()


async def test_bad_variable_is_400(gql: GQL) -> None:
    r = await gql.post("query($id:ID!){plant(id:$id){name}}", {"id": None})
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_unacceptable_media_type_is_406(gql: GQL) -> None:
    r = await gql.client.get("/graphql", params={"query": "{viewer{username}}"}, headers={"accept": "text/html"})
    assert r.status_code == 406


async def test_too_deep_and_too_costly_queries_are_refused(gql: GQL) -> None:
    deep = "{plants{rooms{equipment{sensors{" + "tag" + "}}}}}"
    assert (await gql.post(deep)).status_code == 200
    nested = "fragment F on Query { viewer { username } } " + "{" + "plants{areas{name}} " * 1 + "...F}"
    assert (await gql.post(nested)).status_code == 200
    cyclic = "{" + " ".join(f"a{i}: plants{{rooms{{equipment{{sensors{{tag}}}}}}}}" for i in range(300)) + "}"
    r = await gql.post(cyclic)
    assert r.status_code == 400 and "cost" in r.json()["errors"][0]["message"]


async def test_depth_limit(gql: GQL) -> None:
    deep = "{plants{rooms{equipment{sensors{tag}}}}}"
    assert (await gql.post(deep)).status_code == 200
    too_deep = "{plants" + "{rooms" * 12 + "}" * 13  # measured before validation: refused for its depth
    r = await gql.post(too_deep)
    assert r.status_code == 400 and "levels deep" in r.json()["errors"][0]["message"]


async def test_the_standard_introspection_queries_pass_the_depth_limit(gql: GQL) -> None:
    """graphql-js's getIntrospectionQuery (15 levels deep) and graphql-core's with every option: developers' tools
    load the schema. Introspection has its own bound, and a document deeper than that is still refused."""
    from graphql import get_introspection_query

    me = await gql.sign_in("op.one")
    for options in ({}, {"descriptions": True, "specified_by_url": True, "directive_is_repeatable": True,
                         "schema_description": True, "input_value_deprecation": True}):
        body = await me(get_introspection_query(**options))
        assert "errors" not in body and body["data"]["__schema"]["queryType"]["name"] == "Query", body
    endless = "{__schema{types{fields{type" + "{ofType" * 30 + "{name" + "}" * 35
    r = await me.post(endless)
    assert r.status_code == 400 and "levels deep" in r.json()["errors"][0]["message"]


def test_graphql_js_and_python_gql_load_the_schema_from_a_live_server(live_server: LiveServer) -> None:
    """Over real HTTP: graphql-js's getIntrospectionQuery() and Python gql's default (gql is not a dependency:
    its query is graphql-core's with gql's defaults, gql.utilities.get_introspection_query_ast: descriptions,
    input value deprecation, 7 levels of ofType), each giving a schema a client can build."""
    from graphql import build_client_schema, get_introspection_query

    token = asyncio.run(token_at(live_server.url, "op.one"))
    gql_default = get_introspection_query(descriptions=True, specified_by_url=False, directive_is_repeatable=False,
                                          schema_description=False, input_value_deprecation=True, type_depth=7)
    for query in (get_introspection_query(), gql_default):
        r = httpx.post(f"{live_server.url}/graphql", json={"query": query}, timeout=30,
                       headers={"authorization": f"Bearer {token}", "accept": RESP})
        body = r.json()
        assert r.status_code == 200 and "errors" not in body, body
        schema = build_client_schema(body["data"])
        assert schema.query_type is not None and "node" in schema.query_type.fields


async def test_oversize_body_is_413(gql: GQL) -> None:
    big = json.dumps({"query": "{viewer{username}}", "variables": {"x": "a" * 1_100_000}})
    r = await gql.client.post("/graphql", content=big, headers={"content-type": "application/json", "accept": RESP})
    assert r.status_code == 413


async def test_unauthenticated_field_has_code(gql: GQL) -> None:
    body = await gql("{plants{name}}")
    assert body["data"] == {"plants": None}  # nullable on the wire, @semanticNonNull (schema/nullability.py)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.req("IT-11", "IT-02")
async def test_denied_read_is_forbidden_and_audited(gql: GQL, app_db: Database) -> None:
    op = await gql.sign_in("op.one")
    body = await op("{verifyAuditChain{ok}}")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with app_db.read() as s:
        ev = (await s.execute(select(AuditEvent).where(AuditEvent.action == "ACCESS_DENIED"))).scalar_one()
    assert ev.actor == "op.one" and ev.changes["object"] == "audit:chain"


@pytest.mark.req("IT-03")
async def test_verify_audit_chain_for_audit_admin_and_qa(gql: GQL) -> None:
    for user in ("audit.one", "qa.one"):
        signed = await gql.sign_in(user)
        body = await signed("{verifyAuditChain{ok checked firstBrokenAt}}")
        report = body["data"]["verifyAuditChain"]
        assert report["ok"] is True and report["checked"] > 0 and report["firstBrokenAt"] is None


async def test_audit_trail_pages_and_filters(gql: GQL) -> None:
    auditor = await gql.sign_in("audit.one")
    for _ in range(3):
        await gql.sign_in("op.one")
    q = """query($f:AuditFilter,$first:Int,$after:String){auditTrail(filter:$f,first:$first,after:$after){
             totalCount edges{cursor node{id actor action entity}} pageInfo{hasNextPage endCursor}}}"""
    first = (await auditor(q, {"f": {"action": "SIGN_IN", "actor": "op.one"}, "first": 2}))["data"]["auditTrail"]
    assert first["totalCount"] == 3 and len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    assert all(e["node"]["actor"] == "op.one" for e in first["edges"])
    rest = (await auditor(q, {"f": {"action": "SIGN_IN", "actor": "op.one"}, "first": 2,
                              "after": first["pageInfo"]["endCursor"]}))["data"]["auditTrail"]
    assert len(rest["edges"]) == 1 and not rest["pageInfo"]["hasNextPage"]
    ids = [int(e["node"]["id"]) for e in first["edges"] + rest["edges"]]
    assert ids == sorted(ids, reverse=True)
    bad = await auditor(q, {"after": "not-a-cursor"})
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    users = (await auditor(q, {"f": {"entity": "app_user", "action": "CREATE"}}))["data"]["auditTrail"]
    assert users["totalCount"] == len(STANDARD_USERS)


async def test_signed_in_developers_download_the_schema_as_sdl(gql: GQL) -> None:
    r = await gql.client.get("/schema.graphql")
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    r = await gql.client.get("/schema.graphql", headers={"authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    me = await gql.sign_in("op.one")
    r = await gql.client.get("/schema.graphql", headers={"authorization": f"Bearer {me.token}"})
    committed = SDL.read_text(encoding="utf-8")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain") and r.text == committed
