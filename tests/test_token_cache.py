"""The verified-token cache (issue 12): a signed-in request asks the database for its principal once,
then not again for a few seconds; whatever ends or changes a session (sign-out, a revoked scoped token,
a deactivated account, changed roles, a changed password) stops the cached principal at once.

The app runs with its lifespan (the cache is used only while it hears the session topic) and a cache
of a minute, so a refusal within the test can only come from the invalidation, never from the TTL.
tests/test_two_nodes.py has the same across two nodes on one Redis bus.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import build_services, create_app
from api.auth import PrincipalCache, authenticate
from policies.errors import AppError
from policies.principal import Principal
from records.base import utcnow
from records.db import Database
from resolvers import identity
from subscriptions.bus import Bus
from subscriptions.topics import SESSION_TOPIC
from tests.conftest import GQL, PASSWORD, add_users, make_settings
from tests.signing_env import add_signers, add_tiny_plant, issue_token, make_signers
from tests.test_users import create, new_user, set_roles

VIEWER = "{viewer{username roles passwordChangeRequired}}"


@dataclass
class Node:
    gql: GQL
    signers: Any
    db: Database
    lookups: list[str]  # the tokens whose principal was read from the database, in order

    async def viewer(self, token: str) -> httpx.Response:
        return await GQL(self.gql.client, token).post(VIEWER)


@pytest_asyncio.fixture
async def node(sqlite_db: Database, tmp_path: Path, pki_dir: Path,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Node]:
    signers = make_signers(pki_dir, tmp_path / "crl.pem")
    await add_signers(sqlite_db, signers, PASSWORD)
    await add_users(sqlite_db)
    await add_tiny_plant(sqlite_db)
    settings = replace(make_settings(sqlite_db.url), **signers.trust,
                       token_cache_seconds=60)
    app = create_app(settings, build_services(settings, sqlite_db))
    lookups: list[str] = []
    real = identity.principal_for

    async def counted(db: Database, token: str) -> Principal | None:
        lookups.append(token)
        return await real(db, token)

    monkeypatch.setattr(identity, "principal_for", counted)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Node(GQL(client), signers, sqlite_db, lookups)


async def _warm(node: Node, token: str) -> None:
    """Two requests: the first reads the principal, the second is served from the cache."""
    for _ in range(2):
        assert (await node.viewer(token)).status_code == 200
    assert node.lookups.count(token) == 1


def _refused(r: httpx.Response) -> bool:
    return r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_verified_token_is_read_from_the_database_once(node: Node) -> None:
    me = await node.gql.sign_in("op.one")
    for _ in range(20):
        body = (await node.viewer(str(me.token))).json()
        assert body["data"]["viewer"]["username"] == "op.one"
    assert node.lookups.count(str(me.token)) == 1


@pytest.mark.req("IT-57")
async def test_sign_out_stops_the_cached_token_at_once(node: Node) -> None:
    me = await node.gql.sign_in("op.one")
    await _warm(node, str(me.token))
    assert (await me("mutation{signOut}"))["data"] == {"signOut": True}
    assert _refused(await node.viewer(str(me.token)))


@pytest.mark.req("IT-40")
async def test_deactivation_stops_the_accounts_cached_tokens(node: Node) -> None:
    op = await node.gql.sign_in("op.two")
    await _warm(node, str(op.token))
    admin = await node.gql.sign_in("adm.sig")
    body = await admin('mutation{deactivateUser(username:"op.two",reason:"left the company"){active}}')
    assert body["data"]["deactivateUser"]["active"] is False
    assert _refused(await node.viewer(str(op.token)))


async def test_changed_roles_are_never_served_from_the_cache(node: Node) -> None:
    op = await node.gql.sign_in("op.two")
    await _warm(node, str(op.token))
    env = (node.gql, node.signers, node.db)
    body = await set_roles(env, {"username": "op.two", "roles": ["operator", "production_supervisor"],
                                 "reason": "promotion"})
    assert "errors" not in body, body
    after = (await node.viewer(str(op.token))).json()
    assert after["data"]["viewer"]["roles"] == ["operator", "production_supervisor"]
    assert node.lookups.count(str(op.token)) == 2


async def test_a_changed_password_ends_the_other_sessions_and_frees_this_one(node: Node) -> None:
    made = (await create((node.gql, node.signers, node.db), new_user("qc.new", ["qc_analyst"])))["data"]["createUser"]
    first = await node.gql.sign_in("qc.new", made["initialPassword"])
    other = await node.gql.sign_in("qc.new", made["initialPassword"])
    await _warm(node, str(first.token))
    await _warm(node, str(other.token))
    held = (await first("{policyStatus{rules}}"))["errors"][0]
    assert held["extensions"]["code"] == "FORBIDDEN" and "one-time password" in held["message"]
    change = "mutation($c:String!,$n:String!){changePassword(current:$c,new:$n)}"
    body = await first(change, {"c": made["initialPassword"], "n": "quartz lantern meadow 1987"})
    assert body["data"]["changePassword"] is True
    # The session that changed it goes on, no longer held to the one-time password; the other ends.
    assert (await node.viewer(str(first.token))).json()["data"]["viewer"]["passwordChangeRequired"] is False
    assert "one-time password" not in str(await first("{policyStatus{rules}}"))
    assert _refused(await node.viewer(str(other.token)))


@pytest.mark.req("IT-55")
async def test_a_revoked_scoped_token_stops_at_once(node: Node) -> None:
    scoped = await issue_token(node.gql, node.signers, "reg.one", products=["Human Albumin 20%"])
    await _warm(node, str(scoped.token))
    qa = await node.gql.sign_in("qa.sig")
    listing = await qa("{scopedTokens{id holder}}")
    token_id = next(t["id"] for t in listing["data"]["scopedTokens"] if t["holder"] == "reg.one")
    body = await qa('mutation($id:ID!){revokeScopedToken(id:$id,reason:"inspection over"){revokedAt}}',
                    {"id": token_id})
    assert body["data"]["revokeScopedToken"]["revokedAt"], body
    assert _refused(await node.viewer(str(scoped.token)))


async def test_a_refusal_is_never_cached(node: Node) -> None:
    """A token the database does not know (yet) is asked about again on every request."""
    from records.audit import AuditContext
    from records.identity import ApiToken, User

    assert _refused(await node.viewer("not-yet-a-token"))
    async with node.db.write(AuditContext("test", reason="a token appearing later")) as s:
        from sqlalchemy import select

        uid = (await s.execute(select(User.id).where(User.username == "op.one"))).scalar_one()
        s.add(ApiToken(token_hash=identity.token_digest("not-yet-a-token"), user_id=uid,
                       expires_at=utcnow() + timedelta(hours=1)))
    assert (await node.viewer("not-yet-a-token")).json()["data"]["viewer"]["username"] == "op.one"
    assert node.lookups.count("not-yet-a-token") == 2


# --- the cache itself ----------------------------------------------------------------------------

def _principal(token_id: int = 1, user_id: int = 1, expires_in: float = 3600) -> Principal:
    return Principal(user_id=user_id, username="u", display_name="U", grants=(), token_id=token_id,
                     expires_at=utcnow() + timedelta(seconds=expires_in))


def test_an_invalidation_during_a_lookup_voids_its_answer() -> None:
    """A principal read before a revocation arrived is not stored after it."""
    cache = PrincipalCache(ttl=60)
    before = cache.generation
    cache.on_event({"tokens": [99], "users": [], "code": 4401, "reason": "signed out"})
    cache.put("digest", _principal(), before)
    assert cache.get("digest") is None
    cache.put("digest", _principal(), cache.generation)
    assert cache.get("digest") is not None


def test_entries_end_with_the_ttl_or_the_tokens_expiry_and_the_size_is_bounded() -> None:
    cache = PrincipalCache(ttl=60, size=2)
    cache.put("expired", _principal(expires_in=-1), cache.generation)
    assert cache.get("expired") is None
    for i in range(3):
        cache.put(f"t{i}", _principal(token_id=i), cache.generation)
    assert list(cache.entries) == ["t1", "t2"]
    short = PrincipalCache(ttl=0.05)
    short.put("t", _principal(), short.generation)
    assert short.get("t") is not None
    time.sleep(0.06)
    assert short.get("t") is None


def test_what_an_invalidation_names_is_dropped_and_garbage_drops_everything() -> None:
    cache = PrincipalCache(ttl=60)
    for digest, token, user in (("a", 1, 10), ("b", 2, 10), ("c", 3, 20), ("d", 4, 30)):
        cache.put(digest, _principal(token, user), cache.generation)
    cache.on_event({"tokens": [3], "users": [], "refresh": []})
    assert set(cache.entries) == {"a", "b", "d"}
    cache.on_event({"tokens": [], "users": [], "refresh": [10]})
    assert set(cache.entries) == {"d"}
    cache.on_event({"tokens": ["not a number"]})
    assert cache.entries == {}


class _Bus(Bus):
    connected = True


async def test_the_cache_is_used_only_while_it_hears_a_connected_bus(sqlite_db: Database) -> None:
    await add_users(sqlite_db)
    token = (await identity.sign_in(sqlite_db, "op.one", PASSWORD, ttl=timedelta(hours=1),
                                    lockout=identity.Lockout(5, 60), client=None)).token
    bus = _Bus()
    cache = PrincipalCache(ttl=60, bus=bus)
    await authenticate(sqlite_db, f"Bearer {token}", None, cache)
    assert cache.entries == {}  # not listening: nothing kept
    with cache.listening_to(bus):
        await authenticate(sqlite_db, f"Bearer {token}", None, cache)
        assert len(cache.entries) == 1
        bus.publish(SESSION_TOPIC, {"tokens": [], "users": [], "refresh": []})  # heard: a new generation
        bus.connected = False  # a Redis bus that lost Redis: invalidations may be missed
        assert not cache.usable() and cache.entries == {}
        bus.connected = True
    assert not cache.listening and cache.entries == {}
    with pytest.raises(AppError):
        await authenticate(sqlite_db, "Bearer unknown", None, cache)
