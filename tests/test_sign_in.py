"""Sign-in, tokens, lockout and sign-out, with every attempt audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from records.audit import AuditEvent
from records.base import utcnow
from records.db import Database
from records.identity import ApiToken, User
from tests.conftest import GQL, PASSWORD

SIGN_IN = "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token expiresAt}}"
VIEWER = "{viewer{username displayName roles}}"


async def _actions(db: Database) -> list[tuple[str, str]]:
    async with db.read() as s:
        rows = (await s.execute(select(AuditEvent.action, AuditEvent.actor).order_by(AuditEvent.id))).all()
    return [(a, b) for a, b in rows]


@pytest.mark.req("IT-40", "IT-57")
async def test_sign_in_returns_a_token_that_is_stored_hashed(gql: GQL, app_db: Database) -> None:
    signed = await gql.sign_in("op.one")
    body = await signed(VIEWER)
    assert body["data"]["viewer"] == {"username": "op.one", "displayName": "Op One", "roles": ["operator"]}
    async with app_db.read() as s:
        hashes = list((await s.execute(select(ApiToken.token_hash))).scalars())
    assert signed.token not in hashes and len(hashes) == 1 and len(hashes[0]) == 64
    assert ("SIGN_IN", "op.one") in await _actions(app_db)


async def test_anonymous_viewer_is_null(gql: GQL) -> None:
    assert (await gql(VIEWER))["data"]["viewer"] is None


@pytest.mark.req("IT-02")
async def test_failed_sign_in_is_refused_and_audited(gql: GQL, app_db: Database) -> None:
    for user in ("op.one", "nobody"):
        body = await gql(SIGN_IN, {"u": user, "p": "wrong"})
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    actions = await _actions(app_db)
    assert ("SIGN_IN_FAILED", "op.one") in actions and ("SIGN_IN_FAILED", "nobody") in actions


@pytest.mark.req("IT-57")
async def test_lockout_after_repeated_failures_even_with_the_right_password(gql: GQL, app_db: Database) -> None:
    for _ in range(5):
        await gql(SIGN_IN, {"u": "qa.one", "p": "wrong"})
    body = await gql(SIGN_IN, {"u": "qa.one", "p": PASSWORD})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with app_db.read() as s:
        user = (await s.execute(select(User).where(User.username == "qa.one"))).scalar_one()
    assert user.locked_until is not None and user.locked_until > utcnow() + timedelta(minutes=10)
    async with app_db.read() as s:
        ev = (await s.execute(select(AuditEvent).where(AuditEvent.action == "SIGN_IN_FAILED")
                              .order_by(AuditEvent.id.desc()).limit(1))).scalar_one()
    assert ev.changes == {"result": "account locked"}


@pytest.mark.req("IT-57")
async def test_sign_out_revokes_the_token(gql: GQL, app_db: Database) -> None:
    signed = await gql.sign_in("op.one")
    assert (await signed("mutation{signOut}"))["data"] == {"signOut": True}
    r = await signed.post(VIEWER)
    assert r.status_code == 401
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    actions = await _actions(app_db)
    assert ("SIGN_OUT", "op.one") in actions and ("ACCESS_DENIED", "anonymous") in actions


async def test_expired_token_is_refused(gql: GQL, app_db: Database) -> None:
    signed = await gql.sign_in("op.one")
    async with app_db.engine.begin() as conn:
        await conn.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = await signed.post(VIEWER)
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_malformed_authorization_header_is_refused(gql: GQL) -> None:
    r = await gql.post(VIEWER, authorization="Basic abc")
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_sign_out_needs_a_session(gql: GQL) -> None:
    body = await gql("mutation{signOut}")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_flood_of_bad_tokens_is_audited_once_per_window(gql: GQL, app_db: Database) -> None:
    bad = GQL(gql.client, "flood-token")
    for _ in range(20):
        assert (await bad.post(VIEWER)).status_code == 401
    async with app_db.read() as s:
        events = (await s.execute(select(AuditEvent).where(AuditEvent.action == "ACCESS_DENIED"))).scalars().all()
    assert len(events) == 1 and events[0].changes["attempts"] == 1
