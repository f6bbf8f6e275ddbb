"""Re-authentication at signing (resolvers/reauth.py): a stored key alone does not sign.

The signer gives their password again for the first signature on a session and after a pause longer
than the continuous period; a second person at someone else's device gives theirs for every signature.
Every refusal writes nothing but its audit event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select, update

from records.audit import AuditContext, AuditEvent
from records.base import utcnow
from records.identity import Setting, SigningSession, User
from records.plant import Equipment
from records.plasma import Batch
from records.signature import ESignature
from tests.conftest import PASSWORD

SET = """mutation($input: SetEquipmentStatusInput!, $sig: SignatureInput!) {
  setEquipmentStatus(input: $input, signature: $sig) { equipment { code status } } }"""
CLEAR = """mutation($input: RecordLineClearanceInput!, $sig: SignatureInput!, $ver: SignatureInput!){
  recordLineClearance(input:$input, signature:$sig, verification:$ver){ operator reviewer } }"""
REAUTH = """mutation($p: String!, $s: String) {
  reauthenticate(password: $p, signer: $s) { signer secondPerson validUntil } }"""


def _status(code: str, status: str) -> dict[str, Any]:
    return {"code": code, "status": status, "reason": "re-authentication test"}


def _clearance(batch: str) -> dict[str, Any]:
    return {"roomCode": "R1", "batchNumber": batch, "processStep": "filling",
            "checklist": [{"item": "Line and equipment clean", "result": "PASS"}]}


@pytest_asyncio.fixture
async def on(env: Any) -> Any:
    """The standard signing app with re-authentication on, as the product ships."""
    gql, _signers, db = env
    gql.client.app_services.reauthentication = True
    async with db.write(AuditContext("system", reason="test batches")) as s:
        for n in (1, 2):
            s.add(Batch(batch_number=f"B-RA-{n}", product="Human Albumin 20%", status="IN_PROGRESS"))
    return env


async def _count(db: Any, model: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def _actions(db: Any, *names: str) -> list[dict[str, Any]]:
    async with db.read() as s:
        rows = (await s.execute(select(AuditEvent).where(AuditEvent.action.in_(names))
                                .order_by(AuditEvent.id))).scalars()
        return [{"action": r.action, **r.changes} for r in rows]


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    return dict(body["errors"][0]["extensions"])


@pytest.mark.req("IT-44", "IT-57")
async def test_the_first_signature_of_a_session_needs_the_password_again(on: Any) -> None:
    gql, signers, db = on
    me = await gql.sign_in("op.one")
    inp = _status("EQ-1", "MAINTENANCE")
    refused = _error(await me(SET, {"input": inp, "sig": signers.sign("op.one", "setEquipmentStatus", inp)}))
    assert refused == {"code": "REAUTHENTICATION_REQUIRED", "signer": "op.one", "secondPerson": False}
    assert await _count(db, ESignature) == 0
    assert (await _actions(db, "SIGNATURE_REJECTED"))[-1]["code"] == "REAUTHENTICATION_REQUIRED"

    wrong = await me(REAUTH, {"p": "not the password"})
    assert _error(wrong)["code"] == "REAUTHENTICATION_REQUIRED"  # not UNAUTHENTICATED: the session stands
    assert (await me("{ viewer { username } }"))["data"]["viewer"]["username"] == "op.one"
    assert (await _actions(db, "REAUTHENTICATION_FAILED"))[-1]["result"] == "wrong password"
    async with db.read() as s:
        assert (await s.execute(select(User.failed_attempts).where(User.username == "op.one"))).scalar_one() == 1

    ok = (await me(REAUTH, {"p": PASSWORD}))["data"]["reauthenticate"]
    assert ok["signer"] == "op.one" and ok["secondPerson"] is False
    async with db.read() as s:
        assert (await s.execute(select(User.failed_attempts).where(User.username == "op.one"))).scalar_one() == 0
    body = await me(SET, {"input": inp, "sig": signers.sign("op.one", "setEquipmentStatus", inp)})
    assert body["data"]["setEquipmentStatus"]["equipment"]["status"] == "MAINTENANCE"
    # Within the continuous period the next signature asks nothing more.
    back = _status("EQ-1", "IDLE")
    body = await me(SET, {"input": back, "sig": signers.sign("op.one", "setEquipmentStatus", back)})
    assert body["data"]["setEquipmentStatus"]["equipment"]["status"] == "IDLE"
    assert [e["action"] for e in await _actions(db, "REAUTHENTICATED")] == ["REAUTHENTICATED"]


@pytest.mark.req("IT-44", "IT-57")
async def test_a_pause_longer_than_the_continuous_period_asks_again(on: Any) -> None:
    gql, signers, db = on
    me = await gql.sign_in("op.one")
    await me(REAUTH, {"p": PASSWORD})
    async with db.write(AuditContext("system", reason="test: the period is 5 minutes")) as s:
        s.add(Setting(key="signing.continuousMinutes", value=5))
    async with db.write(AuditContext("system", reason="test: six minutes without signing")) as s:
        await s.execute(update(SigningSession).values(active_at=utcnow() - timedelta(minutes=6)))
    inp = _status("EQ-2", "MAINTENANCE")
    refused = await me(SET, {"input": inp, "sig": signers.sign("op.one", "setEquipmentStatus", inp)})
    assert _error(refused)["code"] == "REAUTHENTICATION_REQUIRED"
    async with db.read() as s:
        assert (await s.execute(select(Equipment.status).where(Equipment.code == "EQ-2"))).scalar_one() == "IDLE"
    await me(REAUTH, {"p": PASSWORD})
    body = await me(SET, {"input": inp, "sig": signers.sign("op.one", "setEquipmentStatus", inp)})
    assert body["data"]["setEquipmentStatus"]["equipment"]["status"] == "MAINTENANCE"


@pytest.mark.req("IT-44")
async def test_a_session_is_one_token_not_the_account(on: Any) -> None:
    gql, signers, _db = on
    tablet = await gql.sign_in("op.one")
    await tablet(REAUTH, {"p": PASSWORD})
    other = await gql.sign_in("op.one")  # the same person signed in elsewhere, nothing given there
    inp = _status("EQ-3", "MAINTENANCE")
    refused = await other(SET, {"input": inp, "sig": signers.sign("op.one", "setEquipmentStatus", inp)})
    assert _error(refused)["code"] == "REAUTHENTICATION_REQUIRED"


@pytest.mark.req("IT-44", "PR-57")
async def test_a_second_person_gives_their_password_for_each_signature(on: Any) -> None:
    gql, signers, db = on
    me = await gql.sign_in("op.one")
    await me(REAUTH, {"p": PASSWORD})
    first = _clearance("B-RA-1")
    sigs = {"input": first, "sig": signers.sign("op.one", "recordLineClearance", first),
            "ver": signers.sign("sup.rsa", "recordLineClearance", first, "VERIFIED")}
    refused = _error(await me(CLEAR, sigs))
    assert refused == {"code": "REAUTHENTICATION_REQUIRED", "signer": "sup.rsa", "secondPerson": True}
    assert await _count(db, ESignature) == 0

    confirmed = (await me(REAUTH, {"p": PASSWORD, "s": "sup.rsa"}))["data"]["reauthenticate"]
    assert confirmed["signer"] == "sup.rsa" and confirmed["secondPerson"] is True
    sigs = {"input": first, "sig": signers.sign("op.one", "recordLineClearance", first),
            "ver": signers.sign("sup.rsa", "recordLineClearance", first, "VERIFIED")}
    assert (await me(CLEAR, sigs))["data"]["recordLineClearance"] == {"operator": "op.one", "reviewer": "sup.rsa"}

    # Used up: the next clearance needs the reviewer's password again.
    second = _clearance("B-RA-2")
    again = {"input": second, "sig": signers.sign("op.one", "recordLineClearance", second),
             "ver": signers.sign("sup.rsa", "recordLineClearance", second, "VERIFIED")}
    assert _error(await me(CLEAR, again))["signer"] == "sup.rsa"
    assert await _count(db, ESignature) == 2
    events = await _actions(db, "REAUTHENTICATED")
    assert [(e["signer"], e["secondPerson"]) for e in events] == [("op.one", False), ("sup.rsa", True)]


@pytest.mark.req("IT-57")
async def test_wrong_passwords_at_signing_lock_the_account_as_at_sign_in(on: Any) -> None:
    gql, _signers, db = on
    me = await gql.sign_in("op.one")
    attempts = gql.client.app_services.lockout.attempts
    for _ in range(attempts):
        assert _error(await me(REAUTH, {"p": "guess"}))["code"] == "REAUTHENTICATION_REQUIRED"
    # Locked now: even the right password is refused, here and at sign-in.
    assert _error(await me(REAUTH, {"p": PASSWORD}))["code"] == "REAUTHENTICATION_REQUIRED"
    assert (await _actions(db, "REAUTHENTICATION_FAILED"))[-1]["result"] == "account locked"
    with pytest.raises(AssertionError):
        await gql.sign_in("op.one")


async def test_a_plant_that_turned_it_off_signs_with_the_key_alone(on: Any) -> None:
    gql, signers, db = on
    async with db.write(AuditContext("system", reason="test: re-authentication off")) as s:
        s.add(Setting(key="signing.reauthentication", value=False))
    me = await gql.sign_in("op.one")
    inp = _status("EQ-1", "MAINTENANCE")
    body = await me(SET, {"input": inp, "sig": signers.sign("op.one", "setEquipmentStatus", inp)})
    assert body["data"]["setEquipmentStatus"]["equipment"]["status"] == "MAINTENANCE"
