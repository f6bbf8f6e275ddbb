"""Automatic persisted queries (Apollo's APQ convention, issue 12) on POST and GET: a hash the server
does not know is answered PERSISTED_QUERY_NOT_FOUND (HTTP 200) until the client sends the query with
it; a hash that is not the query's is refused; the store is bounded; everything else (limits,
validation, authentication, GET for queries only) is as for a query sent in full."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from api.engine.persisted import PersistedQueries
from tests.conftest import GQL

QUERY = "query Me { viewer { username } }"


def ext(query: str, version: Any = 1, sha: str | None = None) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha or hashlib.sha256(query.encode()).hexdigest()}}


async def _post(gql: GQL, body: dict[str, Any], token: str | None = None, **headers: str) -> httpx.Response:
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await gql.client.post("/graphql", json=body, headers=headers)


async def _get(gql: GQL, params: dict[str, Any], token: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    flat = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await gql.client.get("/graphql", params=flat, headers=headers)


def _code(r: httpx.Response) -> str:
    return str(r.json()["errors"][0]["extensions"]["code"])


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_an_unknown_hash_is_not_found_until_the_query_is_sent_with_it(gql: GQL, accept: str) -> None:
    me = await gql.sign_in("op.one")
    miss = await _post(gql, {"extensions": ext(QUERY)}, me.token, accept=accept)
    assert miss.status_code == 200 and _code(miss) == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    full = await _post(gql, {"query": QUERY, "extensions": ext(QUERY)}, me.token, accept=accept)
    assert full.json() == {"data": {"viewer": {"username": "op.one"}}}
    by_hash = await _post(gql, {"extensions": ext(QUERY)}, me.token, accept=accept)
    assert by_hash.status_code == 200 and by_hash.json() == full.json()


async def test_get_sends_the_hash_alone_and_registers_with_the_query(gql: GQL) -> None:
    me = await gql.sign_in("op.one")
    assert _code(await _get(gql, {"extensions": ext(QUERY)}, me.token)) == "PERSISTED_QUERY_NOT_FOUND"
    registered = await _get(gql, {"query": QUERY, "extensions": ext(QUERY)}, me.token)
    assert registered.json() == {"data": {"viewer": {"username": "op.one"}}}
    hit = await _get(gql, {"extensions": ext(QUERY), "operationName": "Me"}, me.token)
    assert hit.status_code == 200 and hit.json() == registered.json()


async def test_a_hash_that_is_not_the_querys_is_refused_and_nothing_is_stored(gql: GQL) -> None:
    other = "{ __typename }"
    r = await _post(gql, {"query": other, "extensions": ext(QUERY)})
    assert r.status_code == 400 and _code(r) == "VALIDATION_FAILED"
    assert "provided sha does not match query" in r.json()["errors"][0]["message"]
    assert _code(await _post(gql, {"extensions": ext(QUERY)})) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(("extensions", "words"), [
    ({"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}, "unsupported persisted query version"),
    ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "64 hexadecimal digits"),
    ({"persistedQuery": {"version": 1}}, "64 hexadecimal digits"),
    ({"persistedQuery": "yes"}, "must be an object"),
])
async def test_a_malformed_persisted_query_extension_is_refused(gql: GQL, extensions: dict[str, Any],
                                                                words: str) -> None:
    r = await _post(gql, {"extensions": extensions})
    assert r.status_code == 400 and _code(r) == "VALIDATION_FAILED" and words in r.json()["errors"][0]["message"]


async def test_only_documents_that_validate_are_kept(gql: GQL) -> None:
    bad = "{ noSuchField }"
    r = await _post(gql, {"query": bad, "extensions": ext(bad)})
    assert _code(r) == "VALIDATION_FAILED"
    assert _code(await _post(gql, {"extensions": ext(bad)})) == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_persisted_query_is_refused_exactly_as_the_same_query_sent_in_full(gql: GQL) -> None:
    """No token, a bad token, a mutation by GET: the hash changes nothing of who may run what."""
    auditor = await gql.sign_in("audit.one")
    secret = "{ auditTrail { totalCount } }"
    assert "errors" not in (await _post(gql, {"query": secret, "extensions": ext(secret)}, auditor.token)).json()
    for token in (None, "forged"):
        by_hash = await _post(gql, {"extensions": ext(secret)}, token)
        in_full = await _post(gql, {"query": secret}, token)
        assert (by_hash.status_code, by_hash.json()) == (in_full.status_code, in_full.json())
        assert "errors" in by_hash.json()
    sign_out = "mutation Out { signOut }"
    me = await gql.sign_in("op.one")
    assert (await _post(gql, {"query": sign_out, "extensions": ext(sign_out)}, me.token)).json()["data"] == \
        {"signOut": True}
    again = await gql.sign_in("op.one")
    by_get = await _get(gql, {"extensions": ext(sign_out)}, again.token)
    assert by_get.status_code == 405


async def test_the_store_keeps_the_most_recently_used_and_checks_what_redis_gives_back() -> None:
    store = PersistedQueries(size=2)
    for q in ("a", "b"):
        await store.put(hashlib.sha256(q.encode()).hexdigest(), q)
    assert await store.get(hashlib.sha256(b"a").hexdigest()) == "a"  # now the most recent
    await store.put(hashlib.sha256(b"c").hexdigest(), "c")
    assert await store.get(hashlib.sha256(b"b").hexdigest()) is None
    assert await store.get(hashlib.sha256(b"a").hexdigest()) == "a"

    class FakeRedis:
        def __init__(self) -> None:
            self.kv: dict[str, bytes] = {}

        async def get(self, key: str) -> bytes | None:
            return self.kv.get(key)

        async def set(self, key: str, value: bytes, ex: int) -> None:
            self.kv[key] = value

    shared = FakeRedis()
    node_a, node_b = PersistedQueries(10, shared), PersistedQueries(10, shared)
    sha = hashlib.sha256(b"{ __typename }").hexdigest()
    await node_a.put(sha, "{ __typename }")
    assert await node_b.get(sha) == "{ __typename }"
    forged = hashlib.sha256(b"{ viewer { username } }").hexdigest()
    shared.kv["plasmatwin:apq:" + forged] = b"{ auditTrail { totalCount } }"  # a text that is not its hash's
    assert await node_b.get(forged) is None
