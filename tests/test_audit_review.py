"""Reviews of the audit trail (IT-07..IT-10): a batch's trail is reviewed with its review by exception before
release; the system's trail (sign-ins, accounts, settings, policies) is reviewed for a period by the audit
administrator or QA with a signed conclusion, due every audit.review.days; an issue found opens a deviation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from records.audit_review import AuditReview
from records.quality import Deviation
from tests.attack.signed_cases.base import World
from tests.attack.signed_cases.floor import _batch
from tests.test_release import PREPARE, rel  # noqa: F401 - a batch whose review QA concluded

CONCLUDE = """mutation($input: ConcludeAuditReviewInput!, $sig: SignatureInput!) {
  concludeAuditReview(input: $input, signature: $sig) { id context scope reviewer department events
    counts { what count } conclusion findings deviationNumber } }"""
DUE = "{ auditReviewDue { everyDays lastPeriodTo dueAt overdue } }"
SUMMARY = ("query($f: DateTime!, $t: DateTime!) { systemTrailSummary(periodFrom: $f, periodTo: $t) { events "
           "counts { what count } } }")


def _code(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["extensions"]["code"])


async def _conclude(w: World, inp: dict[str, Any], user: str = "qa.sig") -> dict[str, Any]:
    me = await w.gql.sign_in(user)
    return await me(CONCLUDE, {"input": inp, "sig": w.signers.sign(user, "concludeAuditReview", inp, "REVIEWED")})


@pytest.mark.req("IT-08", "IT-09", "IT-10")
async def test_the_system_trail_is_reviewed_on_schedule_and_a_finding_opens_a_deviation(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    start = datetime.now(UTC) - timedelta(hours=1)
    bad = await gql.client.post("/graphql", json={"query": 'mutation { signIn(username: "qa.sig", password: "nope") '
                                                           "{ token } }"})
    assert bad.status_code == 200
    qa = await gql.sign_in("qa.sig")
    end = datetime.now(UTC)
    summary = (await qa(SUMMARY, {"f": start.isoformat(), "t": end.isoformat()}))["data"]["systemTrailSummary"]
    counts = {c["what"]: c["count"] for c in summary["counts"]}
    assert counts["app_user SIGN_IN_FAILED"] == 1 and counts["app_user SIGN_IN"] >= 1
    # Never reviewed: due now, every 30 days unless audit.review.days says otherwise.
    assert (await qa(DUE))["data"]["auditReviewDue"] == {"everyDays": 30, "lastPeriodTo": None, "dueAt": None,
                                                         "overdue": True}
    period = {"context": "PERIODIC", "periodFrom": start.isoformat(), "periodTo": end.isoformat(), "department": "QA"}
    # An issue without findings, a batch's trail through this path, a future period: refused, nothing written.
    assert _code(await _conclude(w, period | {"conclusion": "ISSUE_FOUND"})) == "VALIDATION_FAILED"
    assert _code(await _conclude(w, period | {"context": "RELEASE", "conclusion": "NO_ISSUE"})) == "VALIDATION_FAILED"
    later = period | {"periodTo": (end + timedelta(days=1)).isoformat(), "conclusion": "NO_ISSUE"}
    assert _code(await _conclude(w, later)) == "VALIDATION_FAILED"
    op = await gql.sign_in("op.one")
    assert _code(await op(DUE)) == "FORBIDDEN"
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(AuditReview))).scalar_one() == 0

    done = (await _conclude(w, period | {"conclusion": "NO_ISSUE"}))["data"]["concludeAuditReview"]
    assert (done["reviewer"], done["department"], done["context"], done["scope"]) == ("qa.sig", "QA", "PERIODIC",
                                                                                     "system")
    assert {"what": "app_user SIGN_IN_FAILED", "count": 1} in done["counts"] and done["deviationNumber"] is None
    due = (await qa(DUE))["data"]["auditReviewDue"]
    assert due["overdue"] is False and due["dueAt"] > due["lastPeriodTo"]

    # A finding opens a deviation in the same signed write (IT-10).
    found = (await _conclude(w, period | {"context": "SELF_INSPECTION", "conclusion": "ISSUE_FOUND",
                                          "findings": "three failed sign-ins on one account at night"})
             )["data"]["concludeAuditReview"]
    assert found["deviationNumber"]
    async with db.read() as s:
        dev = (await s.execute(select(Deviation).where(Deviation.number == found["deviationNumber"]))).scalar_one()
    assert dev.status == "OPEN" and "three failed sign-ins" in dev.description and dev.raised_by == "qa.sig"


@pytest.mark.req("IT-07")
async def test_a_batch_is_released_only_after_its_trail_is_reviewed(rel: dict[str, Any]) -> None:  # noqa: F811
    w = World(rel["gql"], rel["signers"], rel["db"])
    async with rel["db"].read() as s:
        review = (await s.execute(select(AuditReview).where(AuditReview.scope == f"batch:{rel['batch']}"))
                  ).scalar_one()
    assert (review.context, review.department, review.reviewer, review.conclusion) == ("RELEASE", "QA", "qa.sig",
                                                                                      "NO_ISSUE")
    # A batch whose review (and with it its trail's) is not concluded cannot be released.
    await _batch(w, "B-NOT-REVIEWED", "UNDER_REVIEW")
    qp = await rel["gql"].sign_in("qp.sig")
    body = await qp(PREPARE, {"b": "B-NOT-REVIEWED"})
    assert _code(body) == "CONFLICT" and "not concluded the review" in body["errors"][0]["message"]
