"""Attack matrix, separation of duties: no one person decides who may do what, signs a change as its
own verifier, or releases a batch they helped make.

Add a case here for every new operation that grants rights or that a second person must check.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select

from policies import pki
from policies.policy_set import PolicySet
from records.audit import AuditContext, AuditEvent
from records.identity import Setting, User
from records.plasma import Batch
from resolvers.context import POLICY_KEY
from tests.attack.conftest import code, count_events
from tests.test_users import create, new_user, set_roles, set_setting

RELOAD = """mutation($input: ReloadPoliciesInput!, $sig: SignatureInput!, $ok: SignatureInput!){
  reloadPolicies(input: $input, signature: $sig, approval: $ok){ activeFingerprint } }"""
RELOAD_ALONE = """mutation($input: ReloadPoliciesInput!, $sig: SignatureInput!){
  reloadPolicies(input: $input, signature: $sig){ activeFingerprint } }"""


async def _roles(db: Any, username: str) -> list[str]:
    async with db.read() as s:
        user = (await s.execute(select(User).where(User.username == username))).scalar_one()
        return user.role_names


async def _users(db: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(User))).scalar_one())


@pytest.mark.req("IT-15", "IT-12")
async def test_an_administrator_cannot_change_their_own_roles(env: Any) -> None:
    _, _, db = env
    sod = await count_events(db.url, "SOD_VIOLATION")
    for roles in (["qualified_person"], ["system_admin", "qualified_person"], ["audit_admin"]):
        body = await set_roles(env, {"username": "adm.sig", "roles": roles, "reason": "self-service"})
        assert code(body) == "SOD_VIOLATION", roles
    assert await _roles(db, "adm.sig") == ["system_admin"]
    assert await count_events(db.url, "SOD_VIOLATION") >= sod + 2  # the static rule answers the mixed set first


@pytest.mark.req("IT-15")
async def test_a_key_person_account_needs_a_second_persons_approval(env: Any) -> None:
    _, _, db = env
    inp = new_user("qp.new", ["qa_officer", "qualified_person"])
    before = await _users(db)
    assert code(await create(env, inp, approver=None)) == "SIGNATURE_REQUIRED"
    assert code(await create(env, inp, approver="adm.sig")) == "SIGNATURE_INVALID"  # the admin approving alone
    assert code(await create(env, inp, approver="adm.two")) == "FORBIDDEN"  # another admin is not QA
    assert await _users(db) == before
    body = await create(env, inp)
    assert body["data"]["createUser"]["user"]["roles"] == ["qa_officer", "qualified_person"]
    # The administrator chose no password: the server's one-time password must be replaced first.
    assert body["data"]["createUser"]["user"]["passwordChangeRequired"] is True


@pytest.mark.req("IT-15")
async def test_nobody_approves_a_grant_to_themself(env: Any) -> None:
    _, _, db = env
    inp = {"username": "qa.two", "roles": ["qa_officer", "qualified_person"], "reason": "promotion"}
    assert code(await set_roles(env, inp, approver="qa.two")) == "SOD_VIOLATION"
    assert await _roles(db, "qa.two") == ["qa_officer"]
    assert "errors" not in await set_roles(env, inp, approver="qa.sig")


@pytest.mark.req("IT-15")
async def test_one_administrator_cannot_activate_a_policy_change_alone(env: Any, tmp_path: Any) -> None:
    gql, signers, _ = env
    services = gql.client.app_services
    from tests.test_policy_reload import HERE

    d = tmp_path / "policies"
    d.mkdir()
    for name in ("model.conf", "policy.csv", "duties.conf", "duties.csv", "signing.csv", "roles.csv"):
        (d / name).write_bytes((HERE / name).read_bytes())
    services.policy = PolicySet.load(d)
    with (d / "policy.csv").open("a") as fh:
        fh.write("p, system_admin, *, audit:trail, read\n")
    from policies.policy_set import fingerprint

    inp = {"fingerprint": fingerprint(d), "reason": "admins read the audit trail"}
    admin = await gql.sign_in("adm.sig")
    body = await admin(RELOAD_ALONE, {"input": inp, "sig": signers.sign("adm.sig", "reloadPolicies", inp)})
    assert code(body) == "SIGNATURE_REQUIRED"
    for approver, expected in (("adm.sig", "SIGNATURE_INVALID"), ("adm.two", "FORBIDDEN")):
        body = await admin(RELOAD, {"input": inp, "sig": signers.sign("adm.sig", "reloadPolicies", inp),
                                    "ok": signers.sign(approver, "reloadPolicies", inp, "APPROVED")})
        assert code(body) == expected, approver
    assert code(await admin("{auditTrail{totalCount}}")) == "FORBIDDEN"
    body = await admin(RELOAD, {"input": inp, "sig": signers.sign("adm.sig", "reloadPolicies", inp),
                                "ok": signers.sign("qa.sig", "reloadPolicies", inp, "APPROVED")})
    assert body["data"]["reloadPolicies"]["activeFingerprint"] == inp["fingerprint"]
    assert "errors" not in await admin("{auditTrail{totalCount}}")


@pytest.mark.req("IT-04", "IT-15")
async def test_set_setting_cannot_activate_policy_content(env: Any) -> None:
    gql, signers, db = env
    services = gql.client.app_services
    active = services.policy.fingerprint
    forged = PolicySet.load(services.policy.directory)
    files = dict(forged.files)
    files["policy.csv"] = files["policy.csv"] + "p, system_admin, *, audit:trail, read\n"
    forged = PolicySet.load(services.policy.directory, files)
    admin = await gql.sign_in("adm.sig")
    for key in (POLICY_KEY, "video.retention"):
        body = await set_setting(gql, signers, key, {"fingerprint": forged.fingerprint, "files": files},
                                 "grant myself")
        assert code(body) == "FORBIDDEN", key
    async with db.read() as s:
        assert await s.get(Setting, POLICY_KEY) is None
        refused = (await s.execute(select(AuditEvent).where(AuditEvent.action == "WRITE_REFUSED",
                                                            AuditEvent.entity_id == "setSetting"))).scalars().all()
    assert [e.changes["message"].split()[0] for e in refused] == [POLICY_KEY, "video.retention"]
    # Written behind the application's back, the row still grants nothing: no approval signature.
    async with db.write(AuditContext("intruder", reason="direct write")) as s:
        s.add(Setting(key=POLICY_KEY, value={"fingerprint": forged.fingerprint, "files": files}))
    await services.sync_policy(every=0)
    assert services.policy.fingerprint == active
    assert code(await admin("{auditTrail{totalCount}}")) == "FORBIDDEN"


SET = """mutation($input: SetEquipmentStatusInput!, $sig: SignatureInput!) {
  setEquipmentStatus(input: $input, signature: $sig) { equipment { status } } }"""


async def test_a_supervisor_cannot_sign_their_own_change_as_verified(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("sup.rsa")
    inp = {"code": "EQ-1", "status": "MAINTENANCE", "reason": "seal"}
    body = await me(SET, {"input": inp, "sig": signers.sign("sup.rsa", "setEquipmentStatus", inp, "VERIFIED")})
    assert code(body) == "FORBIDDEN"
    assert await count_events(db.url, "SIGNATURE_REJECTED") == 1


CLEAR = """mutation($input: RecordLineClearanceInput!, $sig: SignatureInput!, $ver: SignatureInput!){
  recordLineClearance(input:$input, signature:$sig, verification:$ver){ reviewer } }"""
PREPARE = "mutation($b:String!){prepareRelease(batchNumber:$b){documentId algorithm toSign}}"
COMPLETE = """mutation($input: CompleteReleaseInput!, $sig: SignatureInput!){
  completeRelease(input:$input, signature:$sig){ status } }"""


async def _clear(r: dict[str, Any], verifier: str) -> None:
    inp = {"roomCode": "R1", "batchNumber": r["batch"], "processStep": "filling",
           "checklist": [{"item": "Line clean", "result": "PASS"}]}
    op = await r["gql"].sign_in("op.one")
    body = await op(CLEAR, {"input": inp, "sig": r["signers"].sign("op.one", "recordLineClearance", inp),
                            "ver": r["signers"].sign(verifier, "recordLineClearance", inp, "VERIFIED")})
    assert body["data"]["recordLineClearance"]["reviewer"] == verifier, body


async def test_a_qp_who_verified_a_line_clearance_cannot_release_the_batch(rel: dict[str, Any]) -> None:
    r = rel
    await _clear(r, "qp.qa")
    qp = await r["gql"].sign_in("qp.qa")
    assert code(await qp(PREPARE, {"b": r["batch"]})) == "SOD_VIOLATION"


async def test_a_clearance_signed_after_preparing_stops_the_completion(rel: dict[str, Any]) -> None:
    r = rel
    qp = await r["gql"].sign_in("qp.qa")
    prepared = (await qp(PREPARE, {"b": r["batch"]}))["data"]["prepareRelease"]
    await _clear(r, "qp.qa")
    key = r["signers"].keys["qp.qa"]
    cms = base64.b64encode(pki.sign_bytes(key.key_pem, prepared["algorithm"],
                                          base64.b64decode(prepared["toSign"]))).decode()
    inp = {"documentId": prepared["documentId"], "cmsSignature": cms}
    body = await qp(COMPLETE, {"input": inp, "sig": r["signers"].sign("qp.qa", "completeRelease", inp, "RELEASED")})
    assert code(body) == "SOD_VIOLATION"
    async with r["db"].read() as s:
        status = (await s.execute(select(Batch.status).where(Batch.batch_number == r["batch"]))).scalar_one()
    assert status == "UNDER_REVIEW"
