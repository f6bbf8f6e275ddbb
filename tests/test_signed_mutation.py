"""setEquipmentStatus, the first signed mutation: every check of the contract, good and bad.

Each refusal leaves the equipment and the signature table unchanged and writes an audit event.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from records.audit import AuditEvent
from records.db import Database
from records.plant import Equipment
from records.signature import ESignature
from tests.signing_env import foreign_key

SET = """mutation($input: SetEquipmentStatusInput!, $sig: SignatureInput!) {
  setEquipmentStatus(input: $input, signature: $sig) {
    equipment { code status } previousStatus
    signature { signer printedName meaning signedAt algorithm recordHash }
  }
}"""
OP = "setEquipmentStatus"


def _input(code: str = "EQ-1", status: str = "MAINTENANCE") -> dict[str, Any]:
    return {"code": code, "status": status, "reason": "scheduled maintenance"}


async def _state(db: Database) -> tuple[str, int]:
    async with db.read() as s:
        status = (await s.execute(select(Equipment.status).where(Equipment.code == "EQ-1"))).scalar_one()
        sigs = (await s.execute(select(func.count()).select_from(ESignature))).scalar_one()
    return status, int(sigs)


async def _rejections(db: Database) -> list[dict[str, Any]]:
    async with db.read() as s:
        rows = (await s.execute(select(AuditEvent).where(AuditEvent.action == "SIGNATURE_REJECTED")
                                .order_by(AuditEvent.id))).scalars()
        return [r.changes for r in rows]


def _code(body: dict[str, Any]) -> str:
    assert body.get("data") is None or body["data"].get(OP) is None, body
    return str(body["errors"][0]["extensions"]["code"])


@pytest.mark.req("IT-44", "IT-42", "IT-49")
@pytest.mark.parametrize("user", ["op.one", "sup.rsa", "op.sm2"])
async def test_valid_signature_changes_status_and_stores_the_signature(env: Any, user: str) -> None:
    gql, signers, db = env
    me = await gql.sign_in(user)
    inp = _input()
    body = await me(SET, {"input": inp, "sig": signers.sign(user, OP, inp)})
    out = body["data"][OP]
    assert out["equipment"] == {"code": "EQ-1", "status": "MAINTENANCE"} and out["previousStatus"] == "IDLE"
    assert out["signature"]["signer"] == user and out["signature"]["meaning"] == "PERFORMED"
    assert out["signature"]["printedName"] == user.replace(".", " ").title()
    assert await _state(db) == ("MAINTENANCE", 1)
    async with db.read() as s:
        actions = [a for (a,) in (await s.execute(select(AuditEvent.action).where(AuditEvent.entity == "equipment")))]
    assert "UPDATE" in actions and "SIGN" in actions


@pytest.mark.req("IT-41", "IT-44")
async def test_forged_signature_is_invalid(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    inp = _input()
    forged = signers.sign("op.two", OP, inp)  # right shape, someone else's key
    forged["signer"] = "op.one"
    assert _code(await me(SET, {"input": inp, "sig": forged})) == "SIGNATURE_INVALID"
    assert await _state(db) == ("IDLE", 0)
    assert (await _rejections(db))[-1]["code"] == "SIGNATURE_INVALID"


@pytest.mark.req("IT-43", "IT-41")
async def test_tampered_input_does_not_verify(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    sig = signers.sign("op.one", OP, _input(status="RUNNING"))
    assert _code(await me(SET, {"input": _input(status="OUT_OF_SERVICE"), "sig": sig})) == "SIGNATURE_INVALID"
    assert await _state(db) == ("IDLE", 0)


@pytest.mark.req("IT-41")
async def test_replayed_nonce_is_refused(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    inp = _input()
    sig = signers.sign("op.one", OP, inp)
    assert "errors" not in await me(SET, {"input": inp, "sig": sig})
    back = _input(status="IDLE")
    again = signers.sign("op.one", OP, back, nonce=sig["nonce"])
    assert _code(await me(SET, {"input": back, "sig": again})) == "SIGNATURE_REPLAYED"
    assert await _state(db) == ("MAINTENANCE", 1)
    assert (await _rejections(db))[-1]["code"] == "SIGNATURE_REPLAYED"


async def test_racing_requests_with_one_nonce_cannot_both_win(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    a, b = _input("EQ-2"), _input("EQ-3")
    sa = signers.sign("op.one", OP, a, nonce="same-nonce")
    sb = signers.sign("op.one", OP, b, nonce="same-nonce")
    results = await asyncio.gather(me(SET, {"input": a, "sig": sa}), me(SET, {"input": b, "sig": sb}))
    ok = [r for r in results if "errors" not in r]
    refused = [r for r in results if "errors" in r]
    assert len(ok) == 1 and len(refused) == 1 and _code(refused[0]) == "SIGNATURE_REPLAYED"
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(ESignature))).scalar_one() == 1


@pytest.mark.req("IT-41")
@pytest.mark.parametrize("offset", [-120, 120])
async def test_signature_outside_the_window_is_expired(env: Any, offset: int) -> None:
    gql, signers, db = env
    gql.client.app_services.signature_window = 60  # type: ignore[attr-defined]
    me = await gql.sign_in("op.one")
    inp = _input()
    stamp = (datetime.now(UTC) + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _code(await me(SET, {"input": inp, "sig": signers.sign("op.one", OP, inp, signed_at=stamp)})) \
        == "SIGNATURE_EXPIRED"
    assert await _state(db) == ("IDLE", 0)


@pytest.mark.req("IT-44")
async def test_signing_for_someone_else_is_refused(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    inp = _input()
    assert _code(await me(SET, {"input": inp, "sig": signers.sign("op.two", OP, inp)})) == "SIGNATURE_INVALID"
    assert await _state(db) == ("IDLE", 0)


@pytest.mark.req("IT-47")
async def test_certificate_from_an_untrusted_ca_is_refused(env: Any, tmp_path: Path) -> None:
    gql, _, db = env
    me = await gql.sign_in("op.one")
    inp = _input()
    impostor = foreign_key(tmp_path / "other-ca", "op.one")
    from policies.signatures import make_payload

    sig = make_payload(impostor.key_pem, "ES256", "op.one", OP, inp, "PERFORMED",
                       certificate=impostor.cert_pem.decode())
    assert _code(await me(SET, {"input": inp, "sig": sig})) == "CERTIFICATE_UNTRUSTED"
    assert await _state(db) == ("IDLE", 0)


async def test_revoked_certificate_is_refused(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    first = _input(status="RUNNING")
    assert "errors" not in await me(SET, {"input": first, "sig": signers.sign("op.one", OP, first)})
    signers.revoke("op.one")  # a new CRL on disk takes effect without a restart
    inp = _input()
    assert _code(await me(SET, {"input": inp, "sig": signers.sign("op.one", OP, inp)})) == "CERTIFICATE_UNTRUSTED"
    assert await _state(db) == ("RUNNING", 1)


async def test_missing_signature_is_signature_required(env: Any) -> None:
    gql, _, db = env
    me = await gql.sign_in("op.one")
    q = "mutation($input: SetEquipmentStatusInput!){setEquipmentStatus(input:$input){equipment{status}}}"
    r = await me.post(q, {"input": _input()})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "SIGNATURE_REQUIRED"
    assert await _state(db) == ("IDLE", 0)


async def test_inline_input_cannot_be_signed(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    inp = _input()
    q = """mutation($sig: SignatureInput!){setEquipmentStatus(
        input:{code:"EQ-1",status:MAINTENANCE,reason:"scheduled maintenance"}, signature:$sig){equipment{status}}}"""
    assert _code(await me(q, {"sig": signers.sign("op.one", OP, inp)})) == "VALIDATION_FAILED"
    assert await _state(db) == ("IDLE", 0)


@pytest.mark.req("IT-11")
async def test_meaning_not_allowed_for_the_role_is_forbidden(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    inp = _input()
    assert _code(await me(SET, {"input": inp, "sig": signers.sign("op.one", OP, inp, "VERIFIED")})) == "FORBIDDEN"
    assert await _state(db) == ("IDLE", 0)


@pytest.mark.req("IT-46", "IT-45")
async def test_a_later_change_is_signed_anew_and_the_first_signature_stays(env: Any) -> None:
    gql, signers, db = env
    for user, status in (("op.one", "MAINTENANCE"), ("op.two", "IDLE")):
        me = await gql.sign_in(user)
        inp = _input(status=status)
        assert "errors" not in await me(SET, {"input": inp, "sig": signers.sign(user, OP, inp)})
    reader = await gql.sign_in("op.one")
    async with db.read() as s:
        eid = (await s.execute(select(Equipment.id).where(Equipment.code == "EQ-1"))).scalar_one()
    sigs = (await reader('query($e:String!){signatures(entity:"equipment",entityId:$e){signer meaning recordHash}}',
                         {"e": str(eid)}))["data"]["signatures"]
    assert [s["signer"] for s in sigs] == ["op.one", "op.two"]
    assert sigs[0]["recordHash"] != sigs[1]["recordHash"]


@pytest.mark.req("IT-43")
async def test_signature_rows_cannot_be_edited_or_deleted(env: Any) -> None:
    gql, signers, db = env
    me = await gql.sign_in("op.one")
    inp = _input()
    await me(SET, {"input": inp, "sig": signers.sign("op.one", OP, inp)})
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    for stmt in ("UPDATE e_signature SET entity_id = '999'", "DELETE FROM e_signature"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text(stmt))


async def test_cli_sign_output_is_accepted_by_the_server(env: Any, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    gql, signers, db = env
    inp = _input()
    (tmp_path / "input.json").write_text(json.dumps(inp))
    key = signers.directory / "users" / "op.sm2.key.pem"
    out = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "api.cli", "sign", "--user", "op.sm2", "--operation", OP, "--input",
        str(tmp_path / "input.json"), "--key", str(key), "--algorithm", "SM2_SM3"],
        capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    sig = json.loads(out.stdout)
    me = await gql.sign_in("op.sm2")
    body = await me(SET, {"input": inp, "sig": sig})
    assert body["data"][OP]["signature"]["algorithm"] == "SM2_SM3"
    assert await _state(db) == ("MAINTENANCE", 1)


VERIFY = """mutation($input: VerifyEquipmentStatusChangeInput!, $sig: SignatureInput!) {
  verifyEquipmentStatusChange(input: $input, signature: $sig) { signer meaning recordHash } }"""


async def _perform(env: Any, user: str) -> str:
    gql, signers, _ = env
    me = await gql.sign_in(user)
    inp = _input()
    q = SET.replace("signature { signer", "signature { id signer")
    body = await me(q, {"input": inp, "sig": signers.sign(user, OP, inp)})
    return str(body["data"][OP]["signature"]["id"])


@pytest.mark.req("IT-23")
async def test_second_person_verifies_a_change(env: Any) -> None:
    gql, signers, _ = env
    sid = await _perform(env, "op.one")
    sup = await gql.sign_in("sup.rsa")
    inp = {"signatureId": sid}
    body = await sup(VERIFY, {"input": inp, "sig": signers.sign("sup.rsa", "verifyEquipmentStatusChange", inp,
                                                                 "VERIFIED")})
    out = body["data"]["verifyEquipmentStatusChange"]
    assert out["signer"] == "sup.rsa" and out["meaning"] == "VERIFIED"


@pytest.mark.req("IT-23", "IT-11")
async def test_performer_cannot_verify_own_change_sod(env: Any) -> None:
    gql, signers, db = env
    sid = await _perform(env, "sup.rsa")
    sup = await gql.sign_in("sup.rsa")
    inp = {"signatureId": sid}
    body = await sup(VERIFY, {"input": inp, "sig": signers.sign("sup.rsa", "verifyEquipmentStatusChange", inp,
                                                                 "VERIFIED")})
    assert body["errors"][0]["extensions"]["code"] == "SOD_VIOLATION"
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(ESignature))).scalar_one() == 1
        ev = (await s.execute(select(AuditEvent).where(AuditEvent.action == "SOD_VIOLATION"))).scalar_one()
    assert ev.actor == "sup.rsa" and ev.changes["performed_by"] == "sup.rsa"


async def test_operator_cannot_verify(env: Any) -> None:
    gql, signers, _ = env
    sid = await _perform(env, "op.one")
    other = await gql.sign_in("op.two")
    inp = {"signatureId": sid}
    body = await other(VERIFY, {"input": inp, "sig": signers.sign("op.two", "verifyEquipmentStatusChange", inp,
                                                                   "VERIFIED")})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.req("IT-43", "IT-45")
async def test_stored_signature_reverifies_and_a_moved_copy_does_not(env: Any) -> None:
    gql, _, db = env
    sid = await _perform(env, "op.one")
    me = await gql.sign_in("op.one")
    q = "query($id:ID!){verifySignature(id:$id){valid bound auditEventId problem}}"
    ok = (await me(q, {"id": sid}))["data"]["verifySignature"]
    assert ok["valid"] and ok["bound"] and ok["auditEventId"] and ok["problem"] is None
    from sqlalchemy import text

    async with db.engine.begin() as conn:  # someone copies the row onto another equipment item
        await conn.execute(text(
            "INSERT INTO e_signature (entity, entity_id, record_hash, operation, meaning, signer_id, signer, "
            "printed_name, signed_at, recorded_at, algorithm, certificate_fingerprint, nonce, signing_input, value) "
            "SELECT entity, '3', record_hash, operation, meaning, signer_id, signer, printed_name, signed_at, "
            "recorded_at, algorithm, certificate_fingerprint, 'copied', signing_input, value "
            "FROM e_signature WHERE id = :i"), {"i": int(sid)})
        copy = (await conn.execute(text("SELECT id FROM e_signature WHERE nonce = 'copied'"))).scalar_one()
    bad = (await me(q, {"id": str(copy)}))["data"]["verifySignature"]
    assert bad["valid"] and not bad["bound"] and "no audit event" in bad["problem"]
