"""Deviations: whoever raised one cannot alone approve its closure (separation of duties)."""

from __future__ import annotations

from typing import Any

import pytest

RAISE = """mutation($input: RaiseDeviationInput!, $sig: SignatureInput!){
  raiseDeviation(input:$input, signature:$sig){ number status raisedBy } }"""
APPROVE = """mutation($input: ApproveDeviationClosureInput!, $sig: SignatureInput!){
  approveDeviationClosure(input:$input, signature:$sig){ number status closedAt } }"""


async def _raise(env: Any, user: str) -> str:
    gql, signers, _ = env
    me = await gql.sign_in(user)
    inp = {"title": "Cold store door left open", "description": "CS1 door open 6 minutes during picking"}
    body = await me(RAISE, {"input": inp, "sig": signers.sign(user, "raiseDeviation", inp)})
    return str(body["data"]["raiseDeviation"]["number"])


async def _approve(env: Any, user: str, number: str) -> dict[str, Any]:
    gql, signers, _ = env
    me = await gql.sign_in(user)
    inp = {"number": number}
    body: dict[str, Any] = await me(APPROVE, {"input": inp, "sig": signers.sign(user, "approveDeviationClosure",
                                                                                 inp, "APPROVED")})
    return body


@pytest.mark.req("IT-23")
async def test_raiser_cannot_alone_approve_closure(env: Any) -> None:
    number = await _raise(env, "qa.sig")
    body = await _approve(env, "qa.sig", number)
    assert body["errors"][0]["extensions"]["code"] == "SOD_VIOLATION"
    closed = (await _approve(env, "qa.two", number))["data"]["approveDeviationClosure"]
    assert closed["status"] == "CLOSED" and closed["closedAt"]
    assert (await _approve(env, "qa.sig", number))["errors"][0]["extensions"]["code"] == "CONFLICT"


@pytest.mark.req("PR-50")
async def test_deviation_raised_by_an_operator_is_closed_by_qa(env: Any) -> None:
    number = await _raise(env, "op.one")
    assert (await _approve(env, "op.two", number))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await _approve(env, "qa.sig", number))["data"]["approveDeviationClosure"]["status"] == "CLOSED"


async def test_raising_needs_a_title_and_a_signature(env: Any) -> None:
    gql, signers, _ = env
    me = await gql.sign_in("op.one")
    inp = {"title": " ", "description": "x"}
    body = await me(RAISE, {"input": inp, "sig": signers.sign("op.one", "raiseDeviation", inp)})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_concurrent_deviations_get_distinct_numbers_and_none_is_refused(db: Any) -> None:
    """Numbers come from a counter row every writer queues on (before, concurrent writers on PostgreSQL
    counted the same rows and all but one were refused as written concurrently)."""
    import asyncio
    from datetime import UTC, datetime

    from records.audit import AuditContext
    from resolvers.deviations import opened

    async def one(i: int) -> str:
        async with db.write(AuditContext("op.one", reason="race")) as s:
            return (await opened(s, f"race {i}", "at once", None, "op.one")).number

    numbers = await asyncio.gather(*(one(i) for i in range(12)))
    year = datetime.now(UTC).year
    assert sorted(numbers) == [f"DEV-{year}-{n:05d}" for n in range(1, 13)]
