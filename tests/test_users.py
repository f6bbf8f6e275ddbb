"""User management by the system administrator, with separation of duties and a full audit trail.

Account creation and role changes are signed by the administrator; a GMP role needs a QA officer's
approval as well (tests/attack/test_duties.py has the refusals of one-person administration).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditEvent
from records.db import Database
from tests.conftest import GQL

CREATE = """mutation($input:CreateUserInput!,$sig:SignatureInput!,$ok:SignatureInput){
  createUser(input:$input,signature:$sig,approval:$ok){ user{username roles active passwordChangeRequired}
  initialPassword } }"""
ROLES = """mutation($input:SetUserRolesInput!,$sig:SignatureInput!,$ok:SignatureInput){
  setUserRoles(input:$input,signature:$sig,approval:$ok){roles} }"""


def new_user(username: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    return {"username": username, "displayName": "New Person", "roles": roles, "reason": "new hire", **extra}


async def _admin(env: Any, query: str, operation: str, inp: dict[str, Any], approver: str | None,
                 admin: str) -> dict[str, Any]:
    """A user-management mutation signed by `admin`, approved by `approver` when given."""
    gql, signers, _ = env
    me = await gql.sign_in(admin)
    ok = signers.sign(approver, operation, inp, "APPROVED") if approver else None
    body: dict[str, Any] = await me(query, {"input": inp, "sig": signers.sign(admin, operation, inp), "ok": ok})
    return body


async def create(env: Any, inp: dict[str, Any], approver: str | None = "qa.sig",
                 admin: str = "adm.sig") -> dict[str, Any]:
    return await _admin(env, CREATE, "createUser", inp, approver, admin)


async def set_roles(env: Any, inp: dict[str, Any], approver: str | None = "qa.sig",
                    admin: str = "adm.sig") -> dict[str, Any]:
    return await _admin(env, ROLES, "setUserRoles", inp, approver, admin)


SET_SETTING = """mutation($input: SetSettingInput!, $sig: SignatureInput!){
  setSetting(input: $input, signature: $sig) }"""


async def set_setting(gql: GQL, signers: Any, key: str, value: Any, reason: str = "configuration",
                      admin: str = "adm.sig") -> dict[str, Any]:
    """setSetting, signed by the system administrator."""
    me = await gql.sign_in(admin)
    inp = {"key": key, "value": value, "reason": reason}
    body: dict[str, Any] = await me(SET_SETTING, {"input": inp, "sig": signers.sign(admin, "setSetting", inp)})
    return body


async def _events(db: Database, action: str) -> list[AuditEvent]:
    async with db.read() as s:
        return list((await s.execute(select(AuditEvent).where(AuditEvent.action == action)
                                     .order_by(AuditEvent.id))).scalars())


@pytest.mark.req("IT-04", "IT-11", "IT-40")
async def test_admin_creates_a_user_with_a_one_time_password_and_it_is_audited(env: Any) -> None:
    gql, _, db = env
    body = await create(env, new_user("qc.new", ["qc_analyst"]))
    made = body["data"]["createUser"]
    assert made["user"] == {"username": "qc.new", "roles": ["qc_analyst"], "active": True,
                            "passwordChangeRequired": True}
    newbie = await gql.sign_in("qc.new", made["initialPassword"])
    assert (await newbie("{viewer{passwordChangeRequired}}"))["data"]["viewer"]["passwordChangeRequired"] is True
    # Nothing else until the one-time password is replaced.
    assert (await newbie("{policyStatus{rules}}"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    change = "mutation($c:String!,$n:String!){changePassword(current:$c,new:$n)}"
    body = await newbie(change, {"c": made["initialPassword"], "n": "quartz lantern meadow 1987"})
    assert body["data"]["changePassword"] is True
    again = await gql.sign_in("qc.new", "quartz lantern meadow 1987")
    assert (await again("{viewer{passwordChangeRequired}}"))["data"]["viewer"]["passwordChangeRequired"] is False
    creates = [e for e in await _events(db, "CREATE") if e.actor == "adm.sig"]
    assert {e.entity for e in creates} == {"app_user", "user_role"}
    user_event = next(e for e in creates if e.entity == "app_user")
    assert user_event.changes["password_hash"] == ["***", "***"] and user_event.reason == "new hire"
    signs = [e for e in await _events(db, "SIGN") if e.entity == "app_user"]
    assert sorted(e.changes["meaning"][1] for e in signs) == ["APPROVED", "PERFORMED"]
    assert len(await _events(db, "PASSWORD_CHANGED")) == 1


@pytest.mark.req("IT-12", "IT-13")
@pytest.mark.parametrize("roles", [["system_admin", "operator"], ["audit_admin", "system_admin"],
                                   ["regulator", "qa_officer"]])
async def test_admin_role_with_business_role_is_a_sod_violation(env: Any, roles: list[str]) -> None:
    body = await create(env, new_user("mixed.one", roles))
    assert body["errors"][0]["extensions"]["code"] == "SOD_VIOLATION"
    body = await set_roles(env, {"username": "op.one", "roles": roles, "reason": "promotion"})
    assert body["errors"][0]["extensions"]["code"] == "SOD_VIOLATION"


@pytest.mark.req("IT-04")
async def test_role_change_records_old_and_new_roles(env: Any) -> None:
    _, _, db = env
    body = await set_roles(env, {"username": "op.two", "roles": ["operator", "production_supervisor"],
                                 "reason": "promotion"})
    assert body["data"]["setUserRoles"]["roles"] == ["operator", "production_supervisor"]
    (ev,) = await _events(db, "ROLES_CHANGED")
    assert ev.changes == {"roles": [["operator"], ["operator", "production_supervisor"]]}
    assert ev.actor == "adm.sig" and ev.reason == "promotion"


async def test_removing_a_role_needs_no_approval(env: Any) -> None:
    _, _, db = env
    body = await set_roles(env, {"username": "qc.both", "roles": ["qc_analyst"], "reason": "moved to testing"},
                           approver=None)
    assert body["data"]["setUserRoles"]["roles"] == ["qc_analyst"]
    # The removed grant is an audited deletion, so the audited state still matches the rows.
    assert [e.entity for e in await _events(db, "DELETE")] == ["user_role"]
    from records.audit_state import verify_state

    async with db.read() as s:
        report = await verify_state(s)
    assert report.ok, report


@pytest.mark.req("IT-15", "IT-11")
async def test_non_admin_cannot_manage_users(env: Any) -> None:
    body = await create(env, new_user("sneaky", ["qa_officer"]), admin="qa.sig", approver="qa.two")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.req("IT-40")
async def test_usernames_are_never_reused_and_deactivation_revokes_tokens(env: Any) -> None:
    gql = env[0]
    admin = await gql.sign_in("adm.sig")
    op = await gql.sign_in("op.two")
    body = await admin("mutation{deactivateUser(username:\"op.two\",reason:\"left the company\"){active}}")
    assert body["data"]["deactivateUser"]["active"] is False
    assert (await op.post("{viewer{username}}")).status_code == 401
    body = await create(env, new_user("op.two", ["operator"]))
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_bad_user_input_is_refused_with_validation_failed(env: Any) -> None:
    _, _, db = env
    before = len(await _events(db, "CREATE"))
    for inp in (new_user("x y", ["operator"]), new_user("norole", []), new_user("ghost", ["wizard"]),
                {**new_user("nor", ["operator"]), "reason": " "},
                new_user("org.op", ["operator"], organisation="PS-N1"),
                new_user("bad.org", ["station_partner"], organisation="<script>")):
        body = await create(env, inp)
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", inp
    assert len(await _events(db, "CREATE")) == before


@pytest.mark.req("IT-04", "IT-06")
async def test_setting_changes_are_signed_and_audited_with_old_and_new(env: Any) -> None:
    gql, signers, db = env
    body = await set_setting(gql, signers, "audit.review.days", 30, "initial")
    assert body["data"]["setSetting"] == 30
    assert (await set_setting(gql, signers, "audit.review.days", 14, "tighter review"))["data"]["setSetting"] == 14
    async with db.read() as s:
        evs = list((await s.execute(select(AuditEvent).where(AuditEvent.entity == "setting")
                                    .order_by(AuditEvent.id))).scalars())
    assert [e.action for e in evs if e.action != "SIGN"] == ["CREATE", "UPDATE"]
    assert next(e for e in evs if e.action == "UPDATE").changes == {"value": [30, 14]}
    assert evs[-1].reason == "tighter review"
    assert [e.changes["meaning"][1] for e in evs if e.action == "SIGN"] == ["PERFORMED", "PERFORMED"]
    # Unsigned, it is not even a valid request.
    admin = await gql.sign_in("adm.sig")
    body = await admin("mutation{setSetting(input:{key:\"audit.review.days\",value:7,reason:\"x\"})}")
    assert body["errors"][0]["extensions"]["code"] == "SIGNATURE_REQUIRED"


async def test_unknown_and_malformed_settings_are_refused_and_audited(env: Any) -> None:
    gql, signers, db = env
    for key, value in (("no.such.setting", 1), ("quarantine.days", 10), ("pooling.minUnits", {"IVIG": 0}),
                       ("audit.review.days", "30")):
        body = await set_setting(gql, signers, key, value, "try")
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", key
    assert len(await _events(db, "WRITE_REFUSED")) == 4
