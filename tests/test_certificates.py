"""Certificate enrolment through the API: a person registers the certificate they sign with, proving
they hold its key; before this, only the demo seeder could register one, so a real install could sign
nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from demo import ca as demo_ca
from policies.signatures import make_payload
from records.audit import AuditEvent
from records.identity import User, UserCertificate
from records.signature import ESignature
from tests.signing_env import UNENROLLED

ENROL = """mutation($input: EnrolCertificateInput!, $sig: SignatureInput!) {
  enrolCertificate(input: $input, signature: $sig) { fingerprint algorithm notAfter } }"""
EQUIPMENT = """mutation($input: SetEquipmentStatusInput!, $sig: SignatureInput!) {
  setEquipmentStatus(input: $input, signature: $sig) { __typename } }"""


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def _issue(directory: Path, username: str, algorithm: str = "ES256") -> demo_ca.IssuedKey:
    """A certificate for `username` from the CA the server trusts (the test PKI's)."""
    return demo_ca.issue_user((directory / "ca-key.pem").read_bytes(), (directory / "ca.pem").read_bytes(),
                              username, username.title(), algorithm)


def _enrol_vars(key: demo_ca.IssuedKey, signer: str, cert_pem: bytes | None = None,
                in_payload: bool = True) -> dict[str, Any]:
    pem = (cert_pem or key.cert_pem).decode()
    inp = {"certificate": pem, "reason": "first certificate"}
    sig = make_payload(key.key_pem, key.algorithm, signer, "enrolCertificate", inp, "PERFORMED",
                       certificate=pem if in_payload else None)
    return {"input": inp, "sig": sig}


async def _count(db: Any, model: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def _refusals(db: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.in_(("SIGNATURE_REJECTED", "WRITE_REFUSED"))))).scalar_one())


@pytest.mark.req("IT-44", "IT-47")
async def test_a_person_enrols_their_certificate_and_then_signs_with_it(env: Any) -> None:
    gql, signers, db = env
    user = next(iter(UNENROLLED))
    key = signers.keys[user]
    me = await gql.sign_in(user)
    status = {"code": "EQ-1", "status": "RUNNING", "reason": "start"}
    # Before enrolment nothing can be signed.
    body = await me(EQUIPMENT, {"input": status, "sig": signers.sign(user, "setEquipmentStatus", status)})
    assert _code(body) == "CERTIFICATE_UNTRUSTED", body

    body = await me(ENROL, _enrol_vars(key, user, in_payload=False))
    assert "errors" not in body, body
    got = body["data"]["enrolCertificate"]
    assert got["algorithm"] == key.algorithm
    async with db.read() as s:
        row = (await s.execute(select(UserCertificate).join(User).where(User.username == user))).scalar_one()
        stored = (await s.execute(select(ESignature).where(ESignature.entity == "user_certificate",
                                                           ESignature.entity_id == str(row.id)))).scalar_one()
        created = (await s.execute(select(AuditEvent).where(AuditEvent.entity == "user_certificate",
                                                            AuditEvent.entity_id == str(row.id),
                                                            AuditEvent.action == "CREATE"))).scalar_one()
    assert row.fingerprint == got["fingerprint"] == stored.certificate_fingerprint
    assert stored.signer == user and stored.meaning == "PERFORMED"
    assert created.actor == user

    # Now the person signs GMP records with it.
    body = await me(EQUIPMENT, {"input": status, "sig": signers.sign(user, "setEquipmentStatus", status)})
    assert "errors" not in body, body
    listed = await me("{ myCertificates { fingerprint revokedAt } }")
    assert listed["data"]["myCertificates"] == [{"fingerprint": row.fingerprint, "revokedAt": None}]


@pytest.mark.req("IT-44")
async def test_enrolment_needs_the_key_of_the_certificate_and_a_certificate_issued_to_the_caller(
        env: Any, pki_dir: Path, tmp_path: Path) -> None:
    gql, signers, db = env
    user = next(iter(UNENROLLED))
    me = await gql.sign_in(user)
    before, refused = await _count(db, UserCertificate), await _refusals(db)

    # Someone else's certificate (issued to op.one), signed with its key: not issued to the caller.
    other = signers.keys["op.one"]
    body = await me(ENROL, _enrol_vars(other, user))
    assert _code(body) == "VALIDATION_FAILED" and "issued to op.one" in body["errors"][0]["message"], body

    # The caller's new certificate, but the enrolment signed with another key (no proof of possession).
    mine = _issue(pki_dir, user)
    body = await me(ENROL, _enrol_vars(other, user, cert_pem=mine.cert_pem))
    assert _code(body) == "SIGNATURE_INVALID", body

    # A certificate from a CA the plant does not trust.
    foreign = demo_ca.write_pki(tmp_path / "other-ca", [(user, "Impostor", "ES256")])[user]
    body = await me(ENROL, _enrol_vars(foreign, user))
    assert _code(body) == "CERTIFICATE_UNTRUSTED", body

    # Not a certificate at all.
    inp = {"certificate": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----", "reason": "x"}
    body = await me(ENROL, {"input": inp, "sig": make_payload(mine.key_pem, "ES256", user, "enrolCertificate",
                                                              inp, "PERFORMED")})
    assert _code(body) == "VALIDATION_FAILED", body

    assert await _count(db, UserCertificate) == before
    assert await _refusals(db) == refused + 4


async def test_a_certificate_is_registered_once_and_a_second_one_names_itself(env: Any, pki_dir: Path) -> None:
    gql, signers, _db = env
    user = next(iter(UNENROLLED))
    me = await gql.sign_in(user)
    assert "errors" not in await me(ENROL, _enrol_vars(signers.keys[user], user))
    again = await me(ENROL, _enrol_vars(signers.keys[user], user))
    assert _code(again) == "CONFLICT", again

    # A renewal before the first expires: the signature must carry the new certificate.
    renewed = _issue(pki_dir, user)
    body = await me(ENROL, _enrol_vars(renewed, user, in_payload=False))
    assert _code(body) == "SIGNATURE_INVALID", body
    body = await me(ENROL, _enrol_vars(renewed, user))
    assert "errors" not in body, body
    assert len((await me("{ myCertificates { fingerprint } }"))["data"]["myCertificates"]) == 2


async def test_a_revoked_certificate_cannot_be_enrolled(env: Any, pki_dir: Path) -> None:
    gql, signers, _db = env
    user = next(iter(UNENROLLED))
    me = await gql.sign_in(user)
    signers.revoke(user)
    body = await me(ENROL, _enrol_vars(signers.keys[user], user))
    assert _code(body) == "CERTIFICATE_UNTRUSTED" and "revoked" in body["errors"][0]["message"], body
