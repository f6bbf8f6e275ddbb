"""Security finding 8: documents that cost the server far more than they cost the attacker.

Each attack is refused with VALIDATION_FAILED by the limits checked before graphql-core validates
(schema/limits.py), and the refusal names the limit: that is what shows the expensive validation
never ran. A normal request of the same kind still works.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from graphql import parse, specified_rules, validate

from schema.limits import Limits, check_request, limits_rule_for
from schema.root import build_schema
from tests.conftest import GQL

RESP = "application/graphql-response+json"


def chain(k: int) -> str:
    """k fragments, each spreading the next one twice: 2**k fields to a walk without memory."""
    frags = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(k - 1)]
    return "query { ...F0 } " + " ".join(frags) + f" fragment F{k - 1} on Query {{ viewer {{ username }} }}"


def refusal(r: httpx.Response) -> list[str]:
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert errors and all(e["extensions"]["code"] == "VALIDATION_FAILED" for e in errors), errors
    return [e["message"] for e in errors]


async def viewer_works(gql: GQL) -> None:
    me = await gql.sign_in("qa.one")
    assert await me("{viewer{username}}") == {"data": {"viewer": {"username": "qa.one"}}}


async def test_a_chain_of_fragments_is_refused_by_the_spread_depth_limit(gql: GQL) -> None:
    assert refusal(await gql.post(chain(17))) == ["fragment spreads nest 17 levels deep; the limit is 8"]
    assert (await gql.post(chain(4))).json() == {"data": {"viewer": None}}
    await viewer_works(gql)


async def test_a_root_field_repeated_300_times_never_reaches_validation(gql: GQL) -> None:
    messages = refusal(await gql.post("{" + "viewer { username displayName roles } " * 300 + "}"))
    assert "operation anonymous selects 300 root fields; the limit is 50" in messages
    assert any("fields again under a response name" in m and "the limit is 30" in m for m in messages)
    assert (await gql.post("{ viewer { username } viewer { roles } }")).json() == {"data": {"viewer": None}}
    await viewer_works(gql)


async def test_aliases_of_a_heavy_resolver_are_refused_by_the_weighted_cost(gql: GQL) -> None:
    me = await gql.sign_in("qa.one")
    thousand = "{" + " ".join(f'a{i}: traceForward(code: "D1") {{ truncated }}' for i in range(1000)) + "}"
    assert any("the limit is" in m for m in refusal(await me.post(thousand)))
    # Twenty are within every limit on the document's size, but not within the cost of the work.
    twenty = "{" + " ".join(f'a{i}: traceForward(code: "D1") {{ truncated }}' for i in range(20)) + "}"
    [message] = refusal(await me.post(twenty))
    assert "would cost about 200020" in message and "the limit is 100000" in message
    many_cheap = "{ viewer { " + " ".join(f"a{i}: username" for i in range(150)) + " } }"
    assert refusal(await me.post(many_cheap)) == ["the document uses 150 aliases; the limit is 100"]
    one = (await me.post('{ traceForward(code: "D1") { truncated } }')).json()
    assert all(e["extensions"]["code"] != "VALIDATION_FAILED" for e in one.get("errors", [])), one
    await viewer_works(gql)


async def test_variables_nested_too_deep_are_refused_before_coercion(gql: GQL) -> None:
    query = "query($f: AuditFilter) { auditTrail(filter: $f) { totalCount } }"

    def body(depth: int) -> bytes:
        return json.dumps({"query": query}).encode()[:-1] + b', "variables": {"f": ' + \
            b'{"x":' * depth + b"1" + b"}" * depth + b"}}"

    headers = {"content-type": "application/json", "accept": RESP}
    r = await gql.client.post("/graphql", content=body(100_000), headers=headers)
    assert refusal(r) == ["the body nests JSON too deeply to decode"]
    r = await gql.client.post("/graphql", content=body(100), headers=headers)
    assert refusal(r) == ["variable $f is nested 100 levels deep; the limit is 64"]
    deep_list = '{"f":' + "[" * 5000 + "]" * 5000 + "}"
    r = await gql.client.get("/graphql", headers={"accept": RESP},
                             params={"query": "query($f: AuditFilter) { viewer { username } }", "variables": deep_list})
    assert refusal(r) == ["variables nests JSON too deeply to decode"]
    auditor = await gql.sign_in("audit.one")
    ok = await auditor(query, {"f": {"actor": "qa.one"}})
    assert "errors" not in ok and ok["data"]["auditTrail"]["totalCount"] >= 0


async def test_a_long_query_is_refused_before_it_is_parsed(gql: GQL) -> None:
    assert refusal(await gql.post("{ viewer { username } } #" + "x" * 30_000)) == [
        "the query is 30025 characters long; the limit is 20000"]
    # The parser stops a little past the token limit; short of that, the refusal says what else is over.
    assert refusal(await gql.post("{ viewer { " + "a " * 6000 + "} }")) == [
        "the query has more than 5000 tokens; the limit is 2000"]
    messages = refusal(await gql.post("{ viewer { " + "a " * 3000 + "} }"))
    assert "the query has 3005 tokens; the limit is 2000" in messages


def test_the_limits_as_a_rule_stop_graphql_core_at_the_first_node() -> None:
    """Every transport validates with the limits as the first rule (api/engine/documents.py): a
    document over them gets the limits' errors only, before any other rule walks it."""
    schema = build_schema()._schema
    rules: list[Any] = [*specified_rules, limits_rule_for(Limits())]
    errors = validate(schema, parse("{" + "viewer { username } " * 300 + "}"), rules)
    assert [e.extensions for e in errors] == [{"code": "VALIDATION_FAILED"}] * 3
    assert validate(schema, parse(chain(4)), rules) == []


def test_one_call_checks_a_websocket_request() -> None:
    schema = build_schema()._schema
    deep = {"f": json.loads('{"x":' * 70 + "1" + "}" * 70)}
    assert check_request(schema, "{ viewer { username } }", None, Limits()) == []
    [error] = check_request(schema, "query($f: AuditFilter) { viewer { username } }", deep, Limits())
    assert error.message == "variable $f is nested 70 levels deep; the limit is 64"
    assert [e.message for e in check_request(schema, chain(17), {}, Limits())] == [
        "fragment spreads nest 17 levels deep; the limit is 8"]


async def test_the_websocket_applies_the_same_limits(signed_live: Any) -> None:
    """A subscribe message goes through the limits HTTP applies (the same engine), before anything runs."""
    from tests.attack.conftest import WS, code

    ws = await WS.open(signed_live.live.ws_url, await signed_live.token("op.one"))
    try:
        chain = "query { ...F0 } " + " ".join(
            f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(17)) + \
            " fragment F17 on Query { __typename }"
        body = await ws.request(chain, op_id="chain")
        assert code(body) == "VALIDATION_FAILED" and "fragment" in body["errors"][0]["message"]
        deep: Any = 1
        for _ in range(70):
            deep = [deep]
        body = await ws.request("query($v: JSON) { __typename }", {"v": deep}, op_id="deep")
        assert code(body) == "VALIDATION_FAILED" and "nested" in body["errors"][0]["message"]
        body = await ws.request("query($v: String) { __typename }", {"v": "\ud800"}, op_id="surrogate")
        assert code(body) == "VALIDATION_FAILED" and "surrogate" in body["errors"][0]["message"]
        body = await ws.request("{ __typename", op_id="syntax")
        assert code(body) == "VALIDATION_FAILED"
        assert (await ws.request("{ __typename }", op_id="fine"))["data"] == {"__typename": "Query"}
    finally:
        await ws.close()


async def test_lone_surrogates_in_variables_are_refused_before_anything_runs(gql: Any) -> None:
    me = await gql.sign_in("op.one")
    body = json.dumps({"query": "query($v: String!) { equipment(code: $v) { code } }", "variables": {"v": "EQ-\ud800"}})
    r = await me.client.post("/graphql", content=body.encode(), headers={
        "content-type": "application/json", "authorization": f"Bearer {me.token}"})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert "surrogate" in r.json()["errors"][0]["message"]
