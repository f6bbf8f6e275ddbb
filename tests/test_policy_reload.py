"""Policy files are reloadable only by a signed, audited change naming the exact version approved."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.app import build_services
from policies.policy_set import HERE, PolicySet
from policies.principal import Principal, RoleGrant
from records.audit import AuditEvent
from tests.conftest import make_settings

RELOAD = """mutation($input: ReloadPoliciesInput!, $sig: SignatureInput!, $ok: SignatureInput!){
  reloadPolicies(input: $input, signature: $sig, approval: $ok){ activeFingerprint onDiskFingerprint rules } }"""
STATUS = "{policyStatus{activeFingerprint onDiskFingerprint}}"


@pytest.fixture
def policy_dir(env: Any, tmp_path: Path) -> Path:
    d = tmp_path / "policies"
    d.mkdir()
    for name in ("model.conf", "policy.csv", "duties.conf", "duties.csv", "signing.csv", "roles.csv"):
        shutil.copy(HERE / name, d / name)
    env[0].client.app_services.policy = PolicySet.load(d)
    return d


async def _reload(env: Any, fingerprint: str, user: str = "adm.sig", approver: str = "qa.sig") -> dict[str, Any]:
    gql, signers, _ = env
    me = await gql.sign_in(user)
    inp = {"fingerprint": fingerprint, "reason": "grant operators the audit trail (CR-42)"}
    body: dict[str, Any] = await me(RELOAD, {"input": inp, "sig": signers.sign(user, "reloadPolicies", inp),
                                             "ok": signers.sign(approver, "reloadPolicies", inp, "APPROVED")})
    return body


@pytest.mark.req("IT-04", "IT-06", "IT-14")
async def test_edited_policy_takes_effect_only_after_a_signed_reload(env: Any, policy_dir: Path) -> None:
    gql, _, db = env
    admin = await gql.sign_in("adm.sig")
    before = (await admin(STATUS))["data"]["policyStatus"]
    assert before["activeFingerprint"] == before["onDiskFingerprint"]
    with (policy_dir / "policy.csv").open("a") as fh:
        fh.write("p, operator, *, audit:trail, read\n")
    op = await gql.sign_in("op.one")
    assert (await op("{auditTrail{totalCount}}"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    pending = (await admin(STATUS))["data"]["policyStatus"]
    assert pending["onDiskFingerprint"] != pending["activeFingerprint"]

    assert (await _reload(env, before["activeFingerprint"]))["errors"][0]["extensions"]["code"] == "CONFLICT"
    body = await _reload(env, pending["onDiskFingerprint"])
    assert body["data"]["reloadPolicies"]["activeFingerprint"] == pending["onDiskFingerprint"]
    assert "errors" not in await op("{auditTrail{totalCount}}")
    async with db.read() as s:
        ev = (await s.execute(select(AuditEvent).where(AuditEvent.action == "POLICY_RELOADED"))).scalar_one()
    assert ev.changes["added"] == [None, ["policy.csv: p, operator, *, audit:trail, read"]]
    assert ev.changes["fingerprint"] == [before["activeFingerprint"], pending["onDiskFingerprint"]]
    assert ev.actor == "adm.sig" and ev.reason == "grant operators the audit trail (CR-42)"
    # Another API process on the same database picks the approved version up, content and all.
    other = build_services(make_settings(db.url), db)
    assert other.policy.fingerprint == before["activeFingerprint"]
    await other.sync_policy(every=0)
    assert other.policy.fingerprint == pending["onDiskFingerprint"]
    assert other.authorizer.allows(Principal(1, "x", "X", (RoleGrant("operator"),), 1), "audit:trail", "read")


async def test_only_the_system_administrator_reloads(env: Any, policy_dir: Path) -> None:
    with (policy_dir / "policy.csv").open("a") as fh:
        fh.write("p, operator, *, audit:trail, read\n")
    from policies.policy_set import fingerprint

    body = await _reload(env, fingerprint(policy_dir), "qa.sig", "qa.two")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_broken_policy_files_never_replace_working_ones(env: Any, policy_dir: Path) -> None:
    gql, _, _ = env
    (policy_dir / "duties.conf").write_text("[request_definition]\nr = sub\n")
    from policies.policy_set import fingerprint

    body = await _reload(env, fingerprint(policy_dir))
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    op = await gql.sign_in("op.one")
    assert "errors" not in await op("{viewer{username}}")
    assert gql.client.app_services.policy.duties.allows("x", "read")
