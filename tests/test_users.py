"""User management by the system administrator, with separation of duties and a full audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from records.audit import AuditEvent
from records.db import Database
from tests.conftest import GQL

CREATE = """mutation($i:CreateUserInput!,$r:String!){createUser(input:$i,reason:$r){username roles active}}"""
ROLES = """mutation($u:String!,$roles:[String!]!,$r:String!){setUserRoles(username:$u,roles:$roles,reason:$r){roles}}"""


def _new(username: str, roles: list[str], password: str = "a long enough password") -> dict[str, object]:
    return {"i": {"username": username, "displayName": "New Person", "password": password, "roles": roles},
            "r": "new hire"}


async def _events(db: Database, action: str) -> list[AuditEvent]:
    async with db.read() as s:
        return list((await s.execute(select(AuditEvent).where(AuditEvent.action == action)
                                     .order_by(AuditEvent.id))).scalars())


@pytest.mark.req("IT-04", "IT-11")
async def test_admin_creates_a_user_who_can_sign_in_and_it_is_audited(gql: GQL, app_db: Database) -> None:
    admin = await gql.sign_in("admin.one")
    body = await admin(CREATE, _new("qc.new", ["qc_analyst"]))
    assert body["data"]["createUser"] == {"username": "qc.new", "roles": ["qc_analyst"], "active": True}
    await gql.sign_in("qc.new", "a long enough password")
    creates = [e for e in await _events(app_db, "CREATE") if e.actor == "admin.one"]
    assert {e.entity for e in creates} == {"app_user", "user_role"}
    user_event = next(e for e in creates if e.entity == "app_user")
    assert user_event.changes["password_hash"] == ["***", "***"] and user_event.reason == "new hire"


@pytest.mark.req("IT-12", "IT-13")
@pytest.mark.parametrize("roles", [["system_admin", "operator"], ["audit_admin", "system_admin"],
                                   ["regulator", "qa_officer"]])
async def test_admin_role_with_business_role_is_a_sod_violation(gql: GQL, roles: list[str]) -> None:
    admin = await gql.sign_in("admin.one")
    body = await admin(CREATE, _new("mixed.one", roles))
    assert body["errors"][0]["extensions"]["code"] == "SOD_VIOLATION"
    body = await admin(ROLES, {"u": "op.one", "roles": roles, "r": "promotion"})
    assert body["errors"][0]["extensions"]["code"] == "SOD_VIOLATION"


@pytest.mark.req("IT-04")
async def test_role_change_records_old_and_new_roles(gql: GQL, app_db: Database) -> None:
    admin = await gql.sign_in("admin.one")
    body = await admin(ROLES, {"u": "op.one", "roles": ["operator", "production_supervisor"], "r": "promotion"})
    assert body["data"]["setUserRoles"]["roles"] == ["operator", "production_supervisor"]
    (ev,) = await _events(app_db, "ROLES_CHANGED")
    assert ev.changes == {"roles": [["operator"], ["operator", "production_supervisor"]]}
    assert ev.actor == "admin.one" and ev.reason == "promotion"


@pytest.mark.req("IT-15", "IT-11")
async def test_non_admin_cannot_manage_users(gql: GQL) -> None:
    qa = await gql.sign_in("qa.one")
    body = await qa(CREATE, _new("sneaky", ["qa_officer"]))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.req("IT-40")
async def test_usernames_are_never_reused_and_deactivation_revokes_tokens(gql: GQL) -> None:
    admin = await gql.sign_in("admin.one")
    op = await gql.sign_in("op.one")
    body = await admin("mutation{deactivateUser(username:\"op.one\",reason:\"left the company\"){active}}")
    assert body["data"]["deactivateUser"]["active"] is False
    assert (await op.post("{viewer{username}}")).status_code == 401
    body = await admin(CREATE, _new("op.one", ["operator"]))
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_bad_user_input_is_refused_with_validation_failed(gql: GQL, app_db: Database) -> None:
    admin = await gql.sign_in("admin.one")
    before = len(await _events(app_db, "CREATE"))
    for variables in (_new("x y", ["operator"]), _new("short.pw", ["operator"], "short"),
                      _new("norole", []), _new("ghost", ["wizard"]), {**_new("nor", ["operator"]), "r": " "}):
        body = await admin(CREATE, variables)
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", variables
    assert len(await _events(app_db, "CREATE")) == before


@pytest.mark.req("IT-04", "IT-06")
async def test_setting_changes_are_audited_with_old_and_new(gql: GQL, app_db: Database) -> None:
    admin = await gql.sign_in("admin.one")
    q = "mutation($v:JSON!,$r:String!){setSetting(key:\"audit.review.days\",value:$v,reason:$r)}"
    assert (await admin(q, {"v": 30, "r": "initial"}))["data"]["setSetting"] == 30
    assert (await admin(q, {"v": 14, "r": "tighter review"}))["data"]["setSetting"] == 14
    async with app_db.read() as s:
        evs = list((await s.execute(select(AuditEvent).where(AuditEvent.entity == "setting")
                                    .order_by(AuditEvent.id))).scalars())
    assert [e.action for e in evs] == ["CREATE", "UPDATE"]
    assert evs[1].changes == {"value": [30, 14]} and evs[1].reason == "tighter review"
