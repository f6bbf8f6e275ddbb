"""Plasma testing managed as work (QC-13): a received donation needs its retest items and a received
production-pool sample the pool's items, each due within 72 hours; results kept with the unit or the pool
close them, and open ones past their due time are flagged OVERDUE."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.test_instrument_import import UNITS, _import, _input, lab  # noqa: F401 - received units, pool PL-IT-1
from tests.test_sample_life import RECORD, STEP

TASKS = """query($open: Boolean!, $at: DateTime) { plasmaTestTasks(openOnly: $open, at: $at) { subjectKind subject
  sampleCode test receivedAt dueAt status doneAt result } }"""


async def _signed(lab: dict[str, Any], doc: str, op: str, inp: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    me = await lab["gql"].sign_in("qc.sig")
    body: dict[str, Any] = await me(doc, {"input": inp, "sig": lab["signers"].sign("qc.sig", op, inp)})
    assert "errors" not in body, body
    return body


@pytest.mark.req("QC-13")
async def test_received_plasma_and_pool_samples_become_tests_due_and_results_close_them(
        lab: dict[str, Any]) -> None:  # noqa: F811
    qc = await lab["gql"].sign_in("qc.sig")
    first = (await qc(TASKS, {"open": True}))["data"]["plasmaTestTasks"]
    assert {(t["subjectKind"], t["status"]) for t in first} == {("UNIT", "OPEN")}
    assert {t["subject"] for t in first} == set(UNITS) and len(first) == len(UNITS) * 5  # the retest items

    # A sample of production pool PL-IT-1, taken and received in the laboratory: the pool's items fall due.
    taken = await _signed(lab, RECORD, "recordSample", {"sourceCode": "PL-IT-1", "kind": "RETEST"})
    code = taken["data"]["recordSample"]["code"]
    await _signed(lab, STEP["receiveSample"], "receiveSample", {"code": code, "quantity": 5, "unit": "mL",
                                                                "condition": "frozen, intact"})
    pool = [t for t in (await qc(TASKS, {"open": True}))["data"]["plasmaTestTasks"] if t["subjectKind"] == "POOL"]
    assert sorted(t["test"] for t in pool) == ["ANTI_HCV", "ANTI_HIV", "HBSAG", "NAT"]
    assert {t["sampleCode"] for t in pool} == {code}
    received = datetime.fromisoformat(pool[0]["receivedAt"])
    assert datetime.fromisoformat(pool[0]["dueAt"]) == received + timedelta(hours=72)

    # The HBsAg plate tests four units and the pool: their HBsAg tasks are done, with the result kept.
    assert "errors" not in await _import(lab, _input())
    every = (await qc(TASKS, {"open": False}))["data"]["plasmaTestTasks"]
    hbsag = {t["subject"]: t for t in every if t["test"] == "HBSAG"}
    tested = {"IT-U1", "IT-U2", "IT-U3", "IT-U4", "PL-IT-1"}
    assert all(hbsag[x]["status"] == "DONE" and hbsag[x]["doneAt"] for x in tested)
    assert (hbsag["IT-U2"]["result"], hbsag["PL-IT-1"]["result"], hbsag["IT-U1"]["result"]) == (
        "REACTIVE", "REACTIVE", "NEGATIVE")
    left = (await qc(TASKS, {"open": True}))["data"]["plasmaTestTasks"]
    assert {t["subject"] for t in left if t["test"] == "HBSAG"} == set(UNITS) - tested  # not on the plate
    # Three days later nothing else was tested: every open task is overdue.
    later = (received + timedelta(hours=73)).isoformat()
    late = (await qc(TASKS, {"open": True, "at": later}))["data"]["plasmaTestTasks"]
    assert late and {t["status"] for t in late} == {"OVERDUE"}
    op = await lab["gql"].sign_in("op.one")
    assert (await op(TASKS, {"open": True}))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
