"""Records whose retention has ended are destroyed only by a signed, approved destruction that leaves a
tombstone (IT-20, IT-21): all or none, refused while any record is still retained or referred to."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from records.audit import AuditContext, AuditEvent
from records.audit_state import verify_state
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, RetestResult
from records.retention import RecordDestruction
from resolvers.destruction import content_hash

DESTROY = """mutation($input: DestroyRecordsInput!, $sig: SignatureInput!, $ok: SignatureInput!) {
  destroyRecords(input: $input, signature: $sig, approval: $ok) {
    id table reason destroyedBy approvedBy tombstones { id retainedUntil contentHash } } }"""
LIST = "{ recordDestructions { table destroyedBy approvedBy tombstones { id } } }"
TODAY = datetime.now(UTC).date()


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _destroy(env: Any, table: str, ids: list[int], signer: str = "qa.sig", approver: str = "qp.sig",
                   reason: str = "retention ended") -> dict[str, Any]:
    gql, signers, _ = env
    inp = {"table": table, "ids": ids, "reason": reason}
    me = await gql.sign_in(signer)
    body: dict[str, Any] = await me(DESTROY, {"input": inp, "sig": signers.sign(signer, "destroyRecords", inp),
                                              "ok": signers.sign(approver, "destroyRecords", inp, "APPROVED")})
    return body


async def _units(db: Any, collected: list[date]) -> list[int]:
    """Plasma units collected on these days (a station and a donor made for them)."""
    async with db.write(AuditContext("system", reason="history")) as s:
        station = PlasmaStation(code="PS-OLD", name="Old station", province="Demo", licence_number="DEMO-OLD")
        s.add(station)
        await s.flush()
        donor = Donor(card_number="D-OLD", station_id=station.id, name="Synthetic Donor", blood_type="A")
        s.add(donor)
        await s.flush()
        units = [PlasmaUnit(donation_number=f"OLD-{i}", donor_id=donor.id, station_id=station.id, blood_type="A",
                            collected_on=day, weight_g=600, status="RELEASED") for i, day in enumerate(collected)]
        s.add_all(units)
        await s.flush()
        return [u.id for u in units]


async def _events(db: Any, action: str) -> list[AuditEvent]:
    async with db.read() as s:
        return list((await s.execute(select(AuditEvent).where(AuditEvent.action == action)
                                     .order_by(AuditEvent.id))).scalars())


@pytest.mark.req("IT-20")
async def test_plasma_records_go_after_ten_years_with_approval_and_a_tombstone(env: Any) -> None:
    gql, _, db = env
    old, young = await _units(db, [TODAY - timedelta(days=11 * 366), TODAY - timedelta(days=9 * 366)])
    async with db.read() as s:
        expected = content_hash((await s.execute(select(PlasmaUnit).where(PlasmaUnit.id == old))).scalar_one())

    # Under retention: refused whole, audited per record, nothing gone.
    body = await _destroy(env, "plasma_unit", [old, young])
    assert _code(body) == "CONFLICT" and body["errors"][0]["extensions"]["reason"] == "UNDER_RETENTION", body
    assert [r["id"] for r in body["errors"][0]["extensions"]["records"]] == [young]
    assert [e.entity_id for e in await _events(db, "DESTRUCTION_REFUSED")] == [str(young)]

    # The same person cannot approve, and an operator cannot destroy.
    assert _code(await _destroy(env, "plasma_unit", [old], approver="qa.sig")) == "SIGNATURE_INVALID"
    assert _code(await _destroy(env, "plasma_unit", [old], signer="op.one")) == "FORBIDDEN"
    assert _code(await _destroy(env, "plasma_unit", [old], reason=" ")) == "VALIDATION_FAILED"
    assert _code(await _destroy(env, "donor", [1])) == "VALIDATION_FAILED"
    assert _code(await _destroy(env, "plasma_unit", [old, 999_999])) == "NOT_FOUND"

    body = await _destroy(env, "plasma_unit", [old])
    assert "errors" not in body, body
    got = body["data"]["destroyRecords"]
    assert (got["destroyedBy"], got["approvedBy"], got["reason"]) == ("qa.sig", "qp.sig", "retention ended")
    assert got["tombstones"] == [{"id": old, "retainedUntil": got["tombstones"][0]["retainedUntil"],
                                  "contentHash": expected}]
    async with db.read() as s:
        left = set((await s.execute(select(PlasmaUnit.id))).scalars())
        assert left == {young}
        # The trail has the deletion with the record's last values, and still verifies against the rows.
        (gone,) = [e for e in await _events(db, "DELETE") if e.entity == "plasma_unit"]
        assert gone.entity_id == str(old) and gone.changes["donation_number"] == ["OLD-0", None]
        assert (await verify_state(s)).ok
    listed = (await (await gql.sign_in("qa.two"))(LIST))["data"]["recordDestructions"]
    assert listed == [{"table": "plasma_unit", "destroyedBy": "qa.sig", "approvedBy": "qp.sig",
                       "tombstones": [{"id": old}]}]


@pytest.mark.req("IT-21")
async def test_a_batch_record_goes_a_year_after_expiry_and_only_once_nothing_points_to_it(env: Any) -> None:
    _, _, db = env
    async with db.write(AuditContext("system", reason="history")) as s:
        expired = Batch(batch_number="B-OLD", product="Human Albumin 20%", status="RELEASED",
                        expiry_date=TODAY - timedelta(days=400))
        recent = Batch(batch_number="B-RECENT", product="Human Albumin 20%", status="RELEASED",
                       expiry_date=TODAY - timedelta(days=200))
        forever = Batch(batch_number="B-NODATE", product="Human Albumin 20%", status="RELEASED")
        s.add_all([expired, recent, forever])
        await s.flush()
        ids = expired.id, recent.id, forever.id
    (unit,) = await _units(db, [TODAY - timedelta(days=12 * 366)])
    async with db.write(AuditContext("system", reason="history")) as s:
        s.add(RetestResult(unit_id=unit, test="HBSAG", result="NEGATIVE", method="ELISA", kit_lot="K",
                           instrument="I", analyst="qc.sig", tested_at=datetime.now(UTC) - timedelta(days=12 * 366)))

    for batch_id in ids[1:]:
        body = await _destroy(env, "batch", [batch_id])
        assert body["errors"][0]["extensions"]["reason"] == "UNDER_RETENTION", body
    # Its retest results point to the unit: they go first.
    body = await _destroy(env, "plasma_unit", [unit])
    assert body["errors"][0]["extensions"]["reason"] == "HAS_DEPENDENT_RECORDS", body
    assert body["errors"][0]["extensions"]["dependents"] == {"retest_result.unit_id": 1}
    async with db.read() as s:
        retest = (await s.execute(select(RetestResult.id))).scalar_one()
    assert "errors" not in await _destroy(env, "retest_result", [retest])
    assert "errors" not in await _destroy(env, "plasma_unit", [unit])
    assert "errors" not in await _destroy(env, "batch", [ids[0]])
    async with db.read() as s:
        assert set((await s.execute(select(Batch.batch_number))).scalars()) == {"B-RECENT", "B-NODATE"}
        tables = [r.table_name for r in (await s.execute(select(RecordDestruction)
                                                         .order_by(RecordDestruction.id))).scalars()]
        assert tables == ["retest_result", "plasma_unit", "batch"]
        assert (await verify_state(s)).ok


@pytest.mark.req("IT-20")
async def test_the_tombstones_cannot_be_changed_or_removed(env: Any) -> None:
    _, _, db = env
    (unit,) = await _units(db, [TODAY - timedelta(days=11 * 366)])
    assert "errors" not in await _destroy(env, "plasma_unit", [unit])
    for statement in ("UPDATE record_destruction SET reason = 'x'", "DELETE FROM record_destruction"):
        with pytest.raises(Exception, match="append-only"):
            async with db.write(AuditContext("system", reason="tamper")) as s:
                await s.execute(text(statement))
