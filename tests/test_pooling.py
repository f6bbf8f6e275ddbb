"""Pooling: only QA-released units, a retained sample of each, signed and verified by two people."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select

from demo import population
from demo.seed import seed_stations
from records.audit import AuditContext, AuditEvent
from records.genealogy import FinalLot, Intermediate
from records.plant import Area, Room, Sensor
from records.plasma import Batch, PlasmaUnit, Pool, Sample, batch_pool
from twin.recorder import Recorder
from twin.state import Quality

Q = """mutation($input: ChargePoolInput!, $sig: SignatureInput!, $ver: SignatureInput!){
  chargePool(input:$input, signature:$sig, verification:$ver){ code status units } }"""


@pytest_asyncio.fixture
async def pl(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    async with db.write(AuditContext("system", reason="test cold stores")) as s:
        area = (await s.execute(select(Area))).scalars().first()
        assert area is not None
        for code in ("CS1", "CS2", "CS3"):
            room = Room(area_id=area.id, code=code, name=code, grade="CNC", polygon=[[0, 0], [1, 0], [1, 1]])
            s.add(room)
            await s.flush()
            s.add(Sensor(tag=f"{code}-TT-101", name="Air", kind="temperature", unit="°C", room_id=room.id,
                         high_limit=-25.0))
    await population.generate(db, population.Population(donors=40, units=160, pools=2, cases_per_lot=1,
                                                        cartons_per_case=1, units_per_carton=1))
    async with db.read() as s:
        released = (await s.execute(select(PlasmaUnit.donation_number).where(PlasmaUnit.status == "RELEASED")
                                    .order_by(PlasmaUnit.id))).scalars().all()
        held = (await s.execute(select(PlasmaUnit.donation_number).where(PlasmaUnit.status == "QUARANTINED")
                                )).scalars().first()
    return {"gql": gql, "signers": signers, "db": db, "released": list(released[:4]), "held": held}


async def _charge(pl: dict[str, Any], units: list[str], verifier: str = "sup.rsa", code: str = "PL-T-1") -> Any:
    inp = {"poolCode": code, "product": "Human Albumin 20%", "donationNumbers": units}
    me = await pl["gql"].sign_in("log.sig")
    return await me(Q, {"input": inp, "sig": pl["signers"].sign("log.sig", "chargePool", inp),
                        "ver": pl["signers"].sign(verifier, "chargePool", inp, "VERIFIED")})


@pytest.mark.req("PR-36", "PL-18")
async def test_released_units_are_pooled_with_retained_samples(pl: dict[str, Any]) -> None:
    body = await _charge(pl, pl["released"])
    assert body["data"]["chargePool"] == {"code": "PL-T-1", "status": "CLOSED", "units": 4}
    async with pl["db"].read() as s:
        statuses = set((await s.execute(select(PlasmaUnit.status).where(
            PlasmaUnit.donation_number.in_(pl["released"])))).scalars())
        samples = (await s.execute(select(Sample).where(Sample.kind == "RETAINED"))).scalars().all()
    assert statuses == {"POOLED"} and len(samples) == 4
    again = await _charge(pl, pl["released"][:2], code="PL-T-2")
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


@pytest.mark.req("PR-31")
async def test_unreleased_units_are_refused_and_nothing_is_pooled(pl: dict[str, Any]) -> None:
    body = await _charge(pl, [*pl["released"][:2], pl["held"]])
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert body["errors"][0]["extensions"]["units"] == [pl["held"]]
    async with pl["db"].read() as s:
        assert not (await s.execute(select(Sample))).scalars().all()


async def test_pooling_needs_an_independent_verifier(pl: dict[str, Any]) -> None:
    body = await _charge(pl, pl["released"], verifier="op.two")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.req("PR-32", "PL-10")
async def test_units_without_a_complete_in_range_temperature_record_are_refused(pl: dict[str, Any]) -> None:
    moved, warm = pl["released"][0], pl["released"][1]
    async with pl["db"].write(AuditContext("system", reason="test: moved to the unmonitored store")) as s:
        u = (await s.execute(select(PlasmaUnit).where(PlasmaUnit.donation_number == moved))).scalar_one()
        u.storage_location = "CS3-R01-P01"
        room = (await s.execute(select(PlasmaUnit.storage_location).where(PlasmaUnit.donation_number == warm))
                ).scalar_one()
    rec = Recorder(pl["db"])
    await rec.start()
    twin = pl["gql"].client.app_services.twin
    twin.store = rec.record
    twin.ingest(f"{room.split('-')[0]}-TT-101", -12.0, Quality.GOOD)  # the store of the other unit warms up
    await rec.stop()
    body = await _charge(pl, pl["released"])
    err = body["errors"][0]
    assert err["extensions"]["code"] == "CONFLICT" and set(err["extensions"]["units"]) >= {moved, warm}
    assert "temperature record of CS3 incomplete" in err["message"] and "above -25.0" in err["message"]
    async with pl["db"].read() as s:
        assert not (await s.execute(select(Sample))).scalars().all()


SAMPLE_Q = "query($c:String!){sample(code:$c){code kind status retainUntil retentionBasis}}"
DESTROY = """mutation($input: DestroySampleInput!, $sig: SignatureInput!){
  destroySample(input:$input, signature:$sig){ code status } }"""


async def _batch(db: Any, number: str, pool_code: str, batch_expiry: date | None, lot_expiry: date | None) -> None:
    async with db.write(AuditContext("system", reason="test batch from the pool")) as s:
        pool = (await s.execute(select(Pool).where(Pool.code == pool_code))).scalar_one()
        b = Batch(batch_number=number, product="Human Albumin 20%", status="RELEASED", expiry_date=batch_expiry)
        s.add(b)
        await s.flush()
        await s.execute(insert(batch_pool), [{"batch_id": b.id, "pool_id": pool.id}])
        i = Intermediate(code=f"I-{number}", batch_id=b.id, kind="Fraction V")
        s.add(i)
        await s.flush()
        s.add(FinalLot(lot_number=f"L-{number}", intermediate_id=i.id, product="Human Albumin 20%",
                       expiry_date=lot_expiry, status="RELEASED"))


@pytest.mark.req("PR-33")
async def test_retained_samples_are_kept_a_year_past_the_latest_product_expiry(pl: dict[str, Any]) -> None:
    assert "errors" not in await _charge(pl, pl["released"])
    async with pl["db"].read() as s:
        code = (await s.execute(select(Sample.code).where(Sample.kind == "RETAINED"))).scalars().first()
    qa = await pl["gql"].sign_in("qa.sig")
    info = (await qa(SAMPLE_Q, {"c": code}))["data"]["sample"]
    assert info["retainUntil"] is None and "no batch" in info["retentionBasis"]
    await _batch(pl["db"], "B-RS-1", "PL-T-1", date(2029, 1, 31), date(2029, 6, 30))
    assert (await qa(SAMPLE_Q, {"c": code}))["data"]["sample"]["retainUntil"] == "2030-06-30"
    await _batch(pl["db"], "B-RS-2", "PL-T-1", date(2030, 3, 31), None)  # a later batch from the same pool
    assert (await qa(SAMPLE_Q, {"c": code}))["data"]["sample"]["retainUntil"] == "2031-03-31"

    inp = {"code": code, "reason": "shelf space"}
    refused = await qa(DESTROY, {"input": inp, "sig": pl["signers"].sign("qa.sig", "destroySample", inp)})
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT" and "2031-03-31" in refused["errors"][0]["message"]
    async with pl["db"].read() as s:
        status = (await s.execute(select(Sample.status).where(Sample.code == code))).scalar_one()
        audited = (await s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "DESTRUCTION_REFUSED"))).scalar_one()
    assert status == "RETAINED" and audited == 1


async def test_a_retained_sample_past_its_date_may_be_destroyed_with_a_signature(pl: dict[str, Any]) -> None:
    assert "errors" not in await _charge(pl, pl["released"])
    await _batch(pl["db"], "B-OLD", "PL-T-1", date(2020, 1, 31), date(2020, 6, 30))
    async with pl["db"].read() as s:
        code = (await s.execute(select(Sample.code).where(Sample.kind == "RETAINED"))).scalars().first()
    qc = await pl["gql"].sign_in("qc.sig")
    inp = {"code": code, "reason": "retention period over (SOP-QC-021)"}
    unsigned = await qc("mutation($input: DestroySampleInput!){destroySample(input:$input){status}}", {"input": inp})
    assert unsigned["errors"][0]["extensions"]["code"] == "SIGNATURE_REQUIRED"
    done = await qc(DESTROY, {"input": inp, "sig": pl["signers"].sign("qc.sig", "destroySample", inp)})
    assert done["data"]["destroySample"] == {"code": code, "status": "DESTROYED"}
    again = await qc(DESTROY, {"input": inp, "sig": pl["signers"].sign("qc.sig", "destroySample", inp)})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


@pytest.mark.req("PR-37")
async def test_a_pool_short_of_the_products_configured_units_is_refused(pl: dict[str, Any]) -> None:
    from tests.attack.signed_cases.base import World

    w = World(pl["gql"], pl["signers"], pl["db"])
    await w.call("adm.sig", "setSetting", {"key": "pooling.minUnits", "value": {"Human Albumin 20%": 5},
                                           "reason": "albumin batch size needs 5 units in the test plant"})
    body = await _charge(pl, pl["released"])  # 4 released units
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", body
    assert "Human Albumin 20% needs at least 5 units per pool" in body["errors"][0]["message"]
    async with pl["db"].read() as s:
        assert (await s.execute(select(func.count()).select_from(Pool).where(Pool.code == "PL-T-1"))).scalar_one() == 0
    await w.call("adm.sig", "setSetting", {"key": "pooling.minUnits", "value": {"Human Albumin 20%": 4},
                                           "reason": "back to 4"})
    assert "errors" not in await _charge(pl, pl["released"])
