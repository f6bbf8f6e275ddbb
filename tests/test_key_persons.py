"""Key persons sign only with certificates from an accredited third-party CA (IT-48, the final version's Q&A).

The test PKI has two CAs, both trusted: the plant's in-house CA and a stand-in for an accredited third-party
CA (tests/signing_env.py). Key persons (QA officers and qualified persons, plus the roles a plant adds in
`signing.keyRoles`) hold certificates from the second; everyone else may sign with either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from demo import ca as demo_ca
from policies.signatures import TrustStore
from records.audit import AuditEvent
from records.identity import UserCertificate
from tests.signing_env import KEY_PERSONS
from tests.test_certificates import ENROL, EQUIPMENT, _enrol_vars
from tests.test_users import set_roles, set_setting


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def _issue(folder: Path, username: str) -> demo_ca.IssuedKey:
    return demo_ca.issue_user((folder / "ca-key.pem").read_bytes(), (folder / "ca.pem").read_bytes(), username,
                              username.title(), "ES256")


async def _rejections(db: Any, signer: str) -> list[dict[str, Any]]:
    async with db.read() as s:
        rows = (await s.execute(select(AuditEvent).where(AuditEvent.action == "SIGNATURE_REJECTED"))).scalars()
        return [e.changes for e in rows if e.changes.get("signer") == signer]


async def _certs(db: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(UserCertificate))).scalar_one())


@pytest.mark.req("IT-48")
async def test_a_key_person_enrols_and_signs_only_with_a_third_party_certificate(env: Any, pki_dir: Path) -> None:
    gql, _signers, db = env
    assert {"qa.sig", "qp.sig"} <= KEY_PERSONS
    qa = await gql.sign_in("qa.sig")
    before = await _certs(db)

    # An in-house certificate, trusted for everyone else, is refused for a QA officer, with the reason.
    in_house = _issue(pki_dir, "qa.sig")
    body = await qa(ENROL, _enrol_vars(in_house, "qa.sig"))
    assert _code(body) == "CERTIFICATE_UNTRUSTED", body
    message = body["errors"][0]["message"]
    assert "key person" in message and "qa_officer" in message and "third-party" in message, message
    assert await _certs(db) == before
    assert [r["code"] for r in await _rejections(db, "qa.sig")] == ["CERTIFICATE_UNTRUSTED"]

    # One from the third-party CA is accepted, and signs.
    outside = _issue(pki_dir / demo_ca.THIRD_PARTY, "qa.sig")
    body = await qa(ENROL, _enrol_vars(outside, "qa.sig"))
    assert "errors" not in body, body
    assert await _certs(db) == before + 1

    # Not a key person: an operator enrols an in-house certificate as before.
    op = await gql.sign_in("op.one")
    body = await op(ENROL, _enrol_vars(_issue(pki_dir, "op.one"), "op.one"))
    assert "errors" not in body, body

    # The key persons' seeded certificates approve for real: a QA approval of a role change goes through.
    body = await set_roles(env, {"username": "op.two", "roles": ["operator", "production_supervisor"],
                                 "reason": "promotion"}, approver="qa.two")
    assert body["data"]["setUserRoles"]["roles"] == ["operator", "production_supervisor"], body


@pytest.mark.req("IT-48")
async def test_becoming_a_key_person_retires_an_in_house_certificate(env: Any) -> None:
    """A person granted a key role, or holding a role the plant declares key, can no longer sign with the
    in-house certificate they had; taking the declaration back lets them sign again."""
    gql, signers, _db = env
    op = await gql.sign_in("op.two")
    states = iter(["RUNNING", "IDLE"] * 5)

    async def start() -> dict[str, Any]:
        """A status change signed by op.two (a refused one leaves the status as it was)."""
        status = {"code": "EQ-1", "status": next(states), "reason": "shift"}
        body = await op(EQUIPMENT, {"input": status, "sig": signers.sign("op.two", "setEquipmentStatus", status)})
        if "errors" in body:
            states.__next__()
        return body

    assert "errors" not in await start()
    body = await set_roles(env, {"username": "op.two", "roles": ["operator", "qualified_person"],
                                 "reason": "appointed qualified person"})
    assert "errors" not in body, body
    body = await start()
    assert _code(body) == "CERTIFICATE_UNTRUSTED" and "qualified_person" in body["errors"][0]["message"], body

    # A plant declares its production head's role key: the operator role here, for the test.
    body = await set_roles(env, {"username": "op.two", "roles": ["operator"], "reason": "appointment ended"},
                           approver=None)
    assert "errors" not in body, body
    assert "errors" not in await start()
    assert "errors" not in await set_setting(gql, signers, "signing.keyRoles", ["operator"], "head of production")
    body = await start()
    assert _code(body) == "CERTIFICATE_UNTRUSTED" and "operator" in body["errors"][0]["message"], body
    assert "errors" not in await set_setting(gql, signers, "signing.keyRoles", [], "declaration withdrawn")
    assert "errors" not in await start()

    body = await set_setting(gql, signers, "signing.keyRoles", "operator", "not a list")
    assert _code(body) == "VALIDATION_FAILED", body


@pytest.mark.req("IT-48")
def test_the_trust_store_keeps_the_two_classes_of_anchor(tmp_path: Path) -> None:
    keys = demo_ca.write_pki(tmp_path, [("qp.x", "QP", "ES256"), ("op.x", "Op", "ES256")], third_party={"qp.x"})
    outside = tmp_path / demo_ca.THIRD_PARTY / "ca.pem"
    both = TrustStore.from_files(tmp_path / "ca.pem", (), outside)
    assert both.issuer_of(keys["qp.x"].cert_pem) in both.third_party
    assert both.issuer_of(keys["op.x"].cert_pem) not in both.third_party
    # Without the third-party bundle configured, no certificate can serve a key person.
    only_ours = TrustStore.from_files(tmp_path / "ca.pem")
    assert only_ours.third_party == [] and only_ours.issuer_of(keys["qp.x"].cert_pem) is None
    # A revocation by the third-party CA goes into its own CRL.
    crl = demo_ca.revoke(tmp_path, "qp.x")
    assert crl == tmp_path / demo_ca.THIRD_PARTY / "crl.pem"


@pytest.mark.req("IT-48")
async def test_a_key_persons_document_signature_is_reserved_for_their_third_party_certificate(
        env: Any, pki_dir: Path) -> None:
    """PAdES documents (release, test reports) are signed with the certificate chosen here: for a QP holding a
    newer in-house certificate too, still the third-party one; with none, a clear refusal."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from records.audit import AuditContext
    from records.identity import User
    from resolvers.signed_documents import signer_certificate

    gql, signers, db = env
    trust = gql.client.app_services.trust
    async with db.write(AuditContext("system", reason="a second certificate")) as s:
        qp = (await s.execute(select(User).where(User.username == "qp.sig"))).scalar_one()
        newer = _issue(pki_dir, "qp.sig")
        now = datetime.now(UTC)
        s.add(UserCertificate(user_id=qp.id, fingerprint=newer.fingerprint, algorithm="ES256",
                              pem=newer.cert_pem.decode(), not_before=now - timedelta(minutes=5),
                              not_after=now + timedelta(days=30)))
        qp_id = qp.id
    async with db.read() as s:
        assert await signer_certificate(s, qp_id, trust) == signers.keys["qp.sig"].cert_pem.decode()
    async with db.write(AuditContext("system", reason="revoked")) as s:
        row = (await s.execute(select(UserCertificate).where(
            UserCertificate.fingerprint == signers.keys["qp.sig"].fingerprint))).scalar_one()
        row.revoked_at = datetime.now(UTC)
    async with db.read() as s:
        with pytest.raises(Exception, match="third-party CA") as caught:
            await signer_certificate(s, qp_id, trust)
    assert getattr(caught.value, "code", None) == "CERTIFICATE_UNTRUSTED"
