"""Attack matrix, authentication: guessable passwords, what the time of a sign-in answer tells, and the
operations endpoint. Add a case here for every new way to set a password, sign in or reach an endpoint
outside GraphQL.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from api.app import build_services, create_app
from api.settings import Settings
from demo.seed import new_password
from policies.errors import AppError
from policies.passwords import check_password
from records.audit import AuditEvent
from records.db import Database
from records.identity import ApiToken, User
from resolvers import identity
from tests.conftest import GQL, PASSWORD, make_settings

SIGN_IN = "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}"

# --- the password policy (NIST SP 800-63B) -------------------------------------------------------------

WEAK = {
    "short pass": "12 to 256 characters",
    "x" * 257: "12 to 256 characters",
    "aaaaaaaaaaaa": "mostly one repeated character",
    "aaaaaaaBcdefg": "mostly one repeated character",
    "password1234": "too easy to guess",
    "Password123!": "too easy to guess",
    "constitution": "too easy to guess",  # one dictionary word
    "informationtechnology": "too easy to guess",
    "abcdefghijkl": "too easy to guess",  # a sequence
    "123456789012": "too easy to guess",
    "qwertyuiopas": "too easy to guess",  # a keyboard row
    "1qaz2wsx3edc4rfv": "too easy to guess",
    "abcabcabcabc": "too easy to guess",
    "sunshinesunshine": "too easy to guess",
    "Tr0ub4dor&3-qc.new": "contains the username",
    "QC.NEW and some more words": "contains the username",
}


@pytest.mark.req("IT-57")
@pytest.mark.parametrize("password", WEAK)
def test_the_password_policy_refuses_guessable_passwords(password: str) -> None:
    with pytest.raises(AppError) as refused:
        check_password(password, "qc.new")
    assert refused.value.code == "VALIDATION_FAILED" and WEAK[password] in refused.value.message
    assert password not in refused.value.message


@pytest.mark.req("IT-57")
def test_the_password_policy_accepts_passphrases_and_generated_passwords() -> None:
    for password in (PASSWORD, "a long enough password", "quartz lantern meadow 1987", "Grüße aus dem Kühlhaus 7",
                     "血浆分馏车间的夜班很安静", secrets.token_urlsafe(192)[:256]):
        check_password(password, "qc.new")
    for _ in range(200):  # the demo's and the seed's generated passwords (api/seed.py)
        check_password(new_password(), "qa.demo")


async def _set_password(gql: GQL, password: str) -> dict[str, Any]:
    """The holder sets their password with changePassword (accounts start with a one-time password
    made by the server); the policy applies."""
    me = await gql.sign_in("op.one")
    return await me("mutation($c:String!,$n:String!){changePassword(current:$c,new:$n)}",
                    {"c": PASSWORD, "n": password.format(user="op.one")})


@pytest.mark.req("IT-57")
@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "password1234", "constitution", "abcdefghijkl",
                                      "{user}.password!"])
async def test_a_guessable_password_is_not_set(gql: GQL, app_db: Database, password: str) -> None:
    async def accounts() -> tuple[list[tuple[str, str]], int]:
        """Every account's hash, and the audited changes of accounts."""
        async with app_db.read() as s:
            hashes = [(u, h) for u, h in (await s.execute(select(User.username, User.password_hash)))]
            changes = (await s.execute(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.entity == "app_user", AuditEvent.action.in_(("CREATE", "UPDATE", "PASSWORD_CHANGED"))))
                       ).scalar_one()
        return hashes, changes

    before = await accounts()
    body = await _set_password(gql, password)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", body
    assert "password refused" in body["errors"][0]["message"]
    assert await accounts() == before  # no new hash, no change of the account
    async with app_db.read() as s:
        refused = (await s.execute(select(AuditEvent.changes).where(
            AuditEvent.action == "PASSWORD_CHANGE_REFUSED"))).scalars().all()
    assert len(refused) == 1 and "password refused" in refused[0]["reason"]
    assert password.format(user="op.one") not in str(refused[0])  # the refused password is never stored


# --- sign-in: every answer costs the same password-hash work --------------------------------------------

class CountingHasher:
    """The Argon2 hasher, counting verifications."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verified = 0

    def verify(self, stored: str, password: str) -> bool:
        self.verified += 1
        return bool(self.inner.verify(stored, password))

    def hash(self, password: str) -> str:
        return str(self.inner.hash(password))


@pytest.mark.req("IT-57")
async def test_every_sign_in_answer_costs_one_hash_verification(gql: GQL, app_db: Database,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(5):  # the lockout threshold (Settings.lockout_attempts)
        await gql(SIGN_IN, {"u": "qa.one", "p": "wrong password"})
    async with app_db.write_engine.begin() as conn:
        await conn.execute(update(User).where(User.username == "reg.one").values(active=False))
    hasher = CountingHasher(identity._hasher)
    monkeypatch.setattr(identity, "_hasher", hasher)
    failures = {"unknown user": ("no.such.user", PASSWORD), "wrong password": ("op.one", "wrong password"),
                "account locked": ("qa.one", PASSWORD), "account deactivated": ("reg.one", PASSWORD)}
    answers = set()
    for result, (user, password) in failures.items():
        before = hasher.verified
        body = await gql(SIGN_IN, {"u": user, "p": password})
        assert hasher.verified - before == 1, result
        err = body["errors"][0]
        answers.add((err["message"], err["extensions"]["code"]))
        async with app_db.read() as s:
            last = (await s.execute(select(AuditEvent).where(AuditEvent.action == "SIGN_IN_FAILED")
                                    .order_by(AuditEvent.id.desc()).limit(1))).scalar_one()
        assert (last.actor, last.changes["result"]) == (user, result)
    assert answers == {("sign-in failed: wrong username or password, or account locked", "UNAUTHENTICATED")}
    before = hasher.verified
    await gql.sign_in("op.one")
    assert hasher.verified - before == 1


async def test_a_lone_surrogate_signs_in_nobody(gql: GQL, app_db: Database) -> None:
    """Not text: the request is refused before it runs (no user could have such a name or password)."""
    for user, password in (("op.one\ud800", PASSWORD), ("op.one", "correct horse\udfff")):
        r = await gql.client.post("/graphql", content=json.dumps(
            {"query": SIGN_IN, "variables": {"u": user, "p": password}}).encode(),
            headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", r.text
    async with app_db.read() as s:
        assert (await s.execute(select(func.count()).select_from(ApiToken))).scalar_one() == 0
        user = (await s.execute(select(User).where(User.username == "op.one"))).scalar_one()
    assert user.failed_attempts == 0


# --- /metrics: a bearer token of its own, or this host only --------------------------------------------

@asynccontextmanager
async def _client(db: Database, host: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(db.url, **overrides)
    app = create_app(settings, build_services(settings, db))
    transport = httpx.ASGITransport(app=app, client=(host, 50000))  # no packet leaves the process
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
async def test_metrics_without_a_token_answer_loopback_clients(app_db: Database, host: str) -> None:
    async with _client(app_db, host) as c:
        r = await c.get("/metrics")
    assert r.status_code == 200 and "plasmatwin_readings_ingested_total" in r.text


@pytest.mark.parametrize("host", ["192.0.2.10", "2001:db8::1", "testclient"])
async def test_metrics_without_a_token_refuse_other_clients(app_db: Database, host: str) -> None:
    async with _client(app_db, host) as c:
        r = await c.get("/metrics")
    assert r.status_code == 403 and r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "plasmatwin_" not in r.text


async def test_metrics_with_a_token_need_it_from_everywhere(app_db: Database) -> None:
    token = secrets.token_hex(32)
    for host in ("192.0.2.10", "127.0.0.1"):
        async with _client(app_db, host, metrics_token=token) as c:
            for header in (None, "Bearer wrong", f"Basic {token}", f"Bearer {token}x", "Bearer "):
                r = await c.get("/metrics", headers={"authorization": header} if header else {})
                assert r.status_code == 401, (host, header)
                assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                assert r.headers["www-authenticate"].startswith("Bearer")
            r = await c.get("/metrics", headers={"authorization": f"Bearer {token}"})
            assert r.status_code == 200 and "plasmatwin_readings_ingested_total" in r.text


def test_the_metrics_token_is_read_from_the_environment_and_never_shown() -> None:
    settings = Settings.from_env({"PLASMATWIN_METRICS_TOKEN": "s3cret-token"})
    assert settings.metrics_token == "s3cret-token" and "s3cret-token" not in repr(settings)
    assert Settings.from_env({"PLASMATWIN_METRICS_TOKEN": ""}).metrics_token is None
