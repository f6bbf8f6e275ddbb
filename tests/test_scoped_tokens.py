"""Scoped tokens: issued with a signature by QA or the system administrator, read-only, access-logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditEvent
from tests.conftest import GQL

ISSUE = """mutation($input: IssueScopedTokenInput!, $sig: SignatureInput!) {
  issueScopedToken(input: $input, signature: $sig) { id token holder issuedBy scope expiresAt }
}"""
LIST = "{scopedTokens{id holder issuedBy purpose revokedAt lastUsedAt scope}}"


def _window(days: int = 30, start: int = -1) -> tuple[str, str]:
    now = datetime.now(UTC)
    return ((now + timedelta(days=start)).isoformat(), (now + timedelta(days=days)).isoformat())


def _input(holder: str = "reg.one", **kw: Any) -> dict[str, Any]:
    frm, until = _window()
    return {"holder": holder, "readOnly": True, "products": ["Human Albumin 20%"], "validFrom": frm,
            "validUntil": until, "purpose": "annual inspection", **kw}


async def _issue(env: Any, issuer: str = "qa.sig", **kw: Any) -> dict[str, Any]:
    gql, signers, _ = env
    me = await gql.sign_in(issuer)
    inp = _input(**kw)
    body: dict[str, Any] = await me(ISSUE, {"input": inp, "sig": signers.sign(issuer, "issueScopedToken", inp,
                                                                               "APPROVED")})
    return body


@pytest.mark.req("IT-55", "IT-11")
async def test_qa_issues_a_read_only_token_that_is_logged_on_every_use(env: Any) -> None:
    gql, _, db = env
    body = await _issue(env)
    tok = body["data"]["issueScopedToken"]
    assert tok["holder"] == "reg.one" and tok["issuedBy"] == "qa.sig" and tok["token"]
    assert tok["scope"] == {"readOnly": True, "stations": [], "products": ["Human Albumin 20%"], "batchNumbers": [],
                            "distributors": []}
    regulator = GQL(gql.client, tok["token"])
    assert (await regulator("{viewer{username roles}}"))["data"]["viewer"] == {
        "username": "reg.one", "roles": ["regulator"]}
    refused = await regulator.post("mutation{signOut}")
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    async with db.read() as s:
        access = list((await s.execute(select(AuditEvent).where(AuditEvent.action == "ACCESS")
                                       .order_by(AuditEvent.id))).scalars())
    assert [a.changes["operation"] for a in access] == ["query", "mutation"]
    assert access[0].actor == "reg.one" and access[0].changes["fields"] == ["viewer"]
    auditor = await gql.sign_in("audit.one")
    listed = (await auditor(LIST))["data"]["scopedTokens"]
    assert listed[0]["lastUsedAt"] is not None and listed[0]["purpose"] == "annual inspection"
    assert "token" not in listed[0]
    trail = await auditor('{auditTrail(filter:{action:"ACCESS"}){totalCount}}')
    assert trail["data"]["auditTrail"]["totalCount"] == 2


async def test_revoked_token_stops_working(env: Any) -> None:
    gql, _, _ = env
    tok = (await _issue(env))["data"]["issueScopedToken"]
    admin = await gql.sign_in("adm.sig")
    q = "mutation($id:ID!){revokeScopedToken(id:$id,reason:\"inspection over\"){revokedAt}}"
    assert (await admin(q, {"id": tok["id"]}))["data"]["revokeScopedToken"]["revokedAt"]
    assert (await GQL(gql.client, tok["token"]).post("{viewer{username}}")).status_code == 401
    again = await admin(q, {"id": tok["id"]})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_token_not_yet_valid_is_refused(env: Any) -> None:
    gql, _, _ = env
    frm, until = _window(days=30, start=2)
    tok = (await _issue(env, validFrom=frm, validUntil=until))["data"]["issueScopedToken"]
    assert (await GQL(gql.client, tok["token"]).post("{viewer{username}}")).status_code == 401


@pytest.mark.parametrize(("kw", "code"), [
    ({"holder": "op.one"}, "VALIDATION_FAILED"),
    ({"holder": "nobody"}, "NOT_FOUND"),
    ({"products": []}, "VALIDATION_FAILED"),
    ({"readOnly": False}, "VALIDATION_FAILED"),
    ({"purpose": " "}, "VALIDATION_FAILED"),
    ({"validFrom": "2026-01-01T00:00:00+00:00", "validUntil": "2028-01-01T00:00:00+00:00"}, "VALIDATION_FAILED"),
])
async def test_bad_token_requests_are_refused(env: Any, kw: dict[str, Any], code: str) -> None:
    body = await _issue(env, **kw)
    assert body["errors"][0]["extensions"]["code"] == code


async def test_only_qa_and_admin_may_issue(env: Any) -> None:
    body = await _issue(env, issuer="op.one")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_issuing_needs_a_valid_signature(env: Any) -> None:
    gql, signers, _ = env
    me = await gql.sign_in("qa.sig")
    inp = _input()
    sig = signers.sign("qa.sig", "issueScopedToken", {**inp, "products": ["Everything"]}, "APPROVED")
    body = await me(ISSUE, {"input": inp, "sig": sig})
    assert body["errors"][0]["extensions"]["code"] == "SIGNATURE_INVALID"
    listed = (await me(LIST))["data"]["scopedTokens"]
    assert listed == []
