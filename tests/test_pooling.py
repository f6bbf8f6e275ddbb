"""Pooling: only QA-released units, a retained sample of each, signed and verified by two people."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from api.seed import seed_stations
from records import synthetic
from records.plasma import PlasmaUnit, Sample

Q = """mutation($input: ChargePoolInput!, $sig: SignatureInput!, $ver: SignatureInput!){
  chargePool(input:$input, signature:$sig, verification:$ver){ code status units } }"""


@pytest_asyncio.fixture
async def pl(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    await synthetic.generate(db, synthetic.Population(donors=40, units=160, pools=2, cases_per_lot=1,
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


async def test_unreleased_units_are_refused_and_nothing_is_pooled(pl: dict[str, Any]) -> None:
    body = await _charge(pl, [*pl["released"][:2], pl["held"]])
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert body["errors"][0]["extensions"]["units"] == [pl["held"]]
    async with pl["db"].read() as s:
        assert not (await s.execute(select(Sample))).scalars().all()


async def test_pooling_needs_an_independent_verifier(pl: dict[str, Any]) -> None:
    body = await _charge(pl, pl["released"], verifier="op.two")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
