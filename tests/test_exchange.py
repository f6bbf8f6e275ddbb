"""Appendix B data exchange and the whole batch record: datasets under their short field names with
values in the listed types, JSON or CSV, every export audited; batches found by number, product and
production date; the eBR exported as JSON and PDF by authorised roles only."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from records.audit import AuditEvent
from records.base import utcnow
from records.execution import PhaseRun
from records.plasma import Batch
from resolvers.appendix_b import DATASETS
from tests.attack.signed_cases.base import World
from tests.conftest import GQL
from tests.test_batch_review import _produced
from tests.test_scoped_tokens import _issue
from tests.test_weighing import _on_scale, _plant, _received, _send, _weigh

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "datasets.json"
EXPORT = """query($d: String!, $f: DatasetFilter, $fmt: DatasetFormat!) {
  exportDataset(dataset: $d, filter: $f, format: $fmt) { dataset title format count filename contentType data } }"""
RECORD = """query($b: String!, $fmt: RecordFormat!) {
  exportBatchRecord(batchNumber: $b, format: $fmt) { batchNumber format filename contentType data } }"""
DATE, DATETIME = re.compile(r"^\d{8}$"), re.compile(r"^\d{8}T\d{6}$")


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _export(w: World, dataset: str, batch: str | None = "EX-1", fmt: str = "JSON", who: str = "qa.sig") -> Any:
    me = await w.gql.sign_in(who)
    return await me(EXPORT, {"d": dataset, "f": {"batchNumber": batch} if batch else None, "fmt": fmt})


def _typed(dataset: str, rows: list[dict[str, Any]]) -> None:
    """Every field of the dataset present, in order, each value in its Appendix B type."""
    fields = DATASETS[dataset].fields
    for r in rows:
        assert list(r) == [f.short for f in fields], r
        for f in fields:
            v = r[f.short]
            if v == "":
                continue
            if f.type == "date":
                assert DATE.fullmatch(v), (f.short, v)
            elif f.type == "datetime":
                assert DATETIME.fullmatch(v), (f.short, v)
            elif f.type == "float":
                assert isinstance(v, float), (f.short, v)
            else:
                assert isinstance(v, str), (f.short, v)


def test_the_datasets_are_the_guidelines_where_the_specification_is_at_hand() -> None:
    if not SPEC.exists():
        pytest.skip(f"the specification ({SPEC}) is not beside this checkout: nothing to compare the copy with")
    spec = {d["table"]: d for d in json.loads(SPEC.read_text())["datasets"]}
    assert set(spec) == set(DATASETS)
    for table, d in spec.items():
        assert [(f["short"], f["name_en"], f.get("type") or "string") for f in d["fields"]] == [
            (f.short, f.name_en, f.type) for f in DATASETS[table].fields], table


@pytest.mark.req("PR-52", "PR-53", "PR-58", "PR-42", "PR-43", "PR-47")
async def test_a_batch_record_is_exported_as_appendix_b_datasets_and_as_a_whole(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _produced(w)
    await w.call("op.one", "raiseDeviation", {"title": "Door left open", "description": "filling room door",
                                              "batchNumber": "EX-1", "emergencyMeasures": "door closed, area wiped",
                                              "occurredAt": (utcnow() - timedelta(hours=1)).isoformat()})
    await w.call("op.one", "recordLineClearance", {
        "roomCode": "R1", "batchNumber": "EX-1", "processStep": "fill",
        "checklist": [{"item": "No material left", "result": "PASS"}, {"item": "Line clean", "result": "PASS"}]},
        second=("sup.rsa", "VERIFIED"))

    b6 = (await _export(w, "B.6"))["data"]["exportDataset"]
    rows = json.loads(b6["data"])
    assert (b6["count"], b6["contentType"], b6["filename"]) == (2, "application/json", "B6-EX-1.json")
    _typed("B.6", rows)
    mix, fill = rows
    assert (mix["CPPH"], mix["SCGX"], mix["SBBH"], mix["CZR"], mix["GXWLPH"]) == ("EX-1", "Mix", "EQ-1", "op.one",
                                                                                   "98 %")
    assert mix["GJGYCS"].startswith("Temperature min 5.0 max 5.0") and "(TWIN)" in mix["GJGYCS"]
    assert fill["RGCZJL"] == "Fill volume 11 mL (MANUAL by op.one)" and fill["FHR"] == "qp.qa"
    assert DATETIME.fullmatch(fill["SCJSSJ"]) and mix["ZJKZJG"] == "pH 7 pH (MANUAL by op.one)"
    # PR-42: the header; PR-43: production and phase times as the server stamped them.
    assert (mix["CPBM"], mix["CPMC"], mix["PL"]) == ("EXEC-MR", "Human Albumin 20%", "100 L")
    async with db.read() as s:
        started = (await s.execute(select(Batch.started_at).where(Batch.batch_number == "EX-1"))).scalar_one()
        runs = (await s.execute(select(PhaseRun).order_by(PhaseRun.id))).scalars().all()
    assert mix["SCKSSJ"] == started.strftime("%Y%m%dT%H%M%S") and fill["SCJSSJ"] == fill["GXJSSJ"]
    assert [(r["GXKSSJ"], r["GXJSSJ"]) for r in rows] == [
        (x.started_at.strftime("%Y%m%dT%H%M%S"), x.completed_at.strftime("%Y%m%dT%H%M%S")) for x in runs]

    b7 = json.loads((await _export(w, "B.7"))["data"]["exportDataset"]["data"])
    _typed("B.7", b7)
    assert [(r["JJCLCS"], r["PCJLR"], r["SYXCPPH"]) for r in b7] == [
        ("", "op.one", "EX-1"), ("door closed, area wiped", "op.one", "EX-1")]
    b8 = (await _export(w, "B.8", fmt="CSV"))["data"]["exportDataset"]
    table = list(csv.reader(io.StringIO(b8["data"])))
    assert table[0] == [f.short for f in DATASETS["B.8"].fields] and b8["contentType"] == "text/csv"
    assert table[1][5:9] == ["No material left; Line clean", "PASS; PASS", "op.one", "sup.rsa"]
    b2 = json.loads((await _export(w, "B.2"))["data"]["exportDataset"]["data"])
    _typed("B.2", b2)
    assert [r["SBBH"] for r in b2] == ["EQ-1", "EQ-3"]  # the equipment the batch used

    whole = (await (await gql.sign_in("qp.sig"))(RECORD, {"b": "EX-1", "fmt": "JSON"}))["data"]["exportBatchRecord"]
    record = json.loads(whole["data"])
    assert {k: len(v) for k, v in record["sections"].items()} == {"B.6": 2, "B.4": 0, "B.8": 1, "B.7": 2}
    assert {x["operation"] for x in record["signatures"]} >= {"createBatch", "startPhase", "completePhase",
                                                              "recordLineClearance"}
    assert len(record["exceptions"]) >= 4 and record["review"] is None
    # PR-47: each phase's equipment with its status and the validity of its care records when used.
    assert [(u["phase"], u["code"], u["status"]) for u in record["equipmentUsed"]] == [("MIX", "EQ-1", "IDLE"),
                                                                                         ("FILL", "EQ-3", "IDLE")]
    assert set(record["equipmentUsed"][0]) >= {"cleaning", "sterilization", "calibration", "name"}
    pdf = (await (await gql.sign_in("qa.sig"))(RECORD, {"b": "EX-1", "fmt": "PDF"}))["data"]["exportBatchRecord"]
    assert base64.b64decode(pdf["data"]).startswith(b"%PDF") and pdf["filename"] == "eBR-EX-1.pdf"

    async with db.read() as s:
        exported = list((await s.execute(select(AuditEvent).where(AuditEvent.action == "EXPORTED")
                                         .order_by(AuditEvent.id))).scalars())
    assert [(e.entity, e.entity_id, e.actor) for e in exported] == [
        ("dataset", "B.6", "qa.sig"), ("dataset", "B.7", "qa.sig"), ("dataset", "B.8", "qa.sig"),
        ("dataset", "B.2", "qa.sig"), ("batch_record", "EX-1", "qp.sig"), ("batch_record", "EX-1", "qa.sig")]
    assert exported[0].changes["count"] == 2 and exported[0].changes["format"] == "JSON"


@pytest.mark.req("PR-53")
async def test_exports_are_refused_to_the_unauthorised_and_outside_a_scoped_tokens_batches(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _plant(w)
    lot = await _received(w, "ETH-96", "E-1")
    _on_scale(w, 22.5)
    assert "errors" not in await _send(w, "op.one", "weighMaterial", _weigh(lot), verifier="sup.rsa")
    b4 = json.loads((await _export(w, "B.4", "W-1"))["data"]["exportDataset"]["data"])
    _typed("B.4", b4)
    assert [(r["CJBH"], r["CJJD"], r["WLPH"], r["CLZL"], r["CLR"]) for r in b4] == [
        ("SC-1", "0.01 kg", "E-1", "20 kg", "op.one")]
    b3 = json.loads((await _export(w, "B.3", "W-1"))["data"]["exportDataset"]["data"])
    _typed("B.3", b3)
    assert {r["XJBH"] for r in b3 if r["XJBH"]} == {"SC-OLD1", "SC-OLD2"} and b3[-1]["WLBM"] == "ETH-96"

    for dataset, code in (("B.1", "VALIDATION_FAILED"), ("B.16", "VALIDATION_FAILED")):
        assert _code(await _export(w, dataset, "W-1")) == code
    assert _code(await _export(w, "B.6", "NOPE")) == "NOT_FOUND"
    assert _code(await _export(w, "B.6", "W-1", fmt="XML")) == "VALIDATION_FAILED"  # not an enum value
    assert _code(await _export(w, "B.6", "W-1", who="op.one")) == "FORBIDDEN"
    me = await gql.sign_in("op.one")
    assert _code(await me(RECORD, {"b": "W-1", "fmt": "JSON"})) == "FORBIDDEN"

    token = (await _issue(env, batchNumbers=["W-1"]))["data"]["issueScopedToken"]["token"]
    regulator = GQL(gql.client, token)
    assert "errors" not in await regulator(EXPORT, {"d": "B.4", "f": {"batchNumber": "W-1"}, "fmt": "JSON"})
    for dataset, f in (("B.3", {"batchNumber": "W-1"}), ("B.4", None)):
        assert _code(await regulator(EXPORT, {"d": dataset, "f": f, "fmt": "JSON"})) == "OUT_OF_SCOPE"


@pytest.mark.req("PR-52")
async def test_batches_are_found_by_number_product_and_production_date(env: Any) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    await _produced(w)
    qa = await gql.sign_in("qa.sig")
    q = "query($f: BatchFilter) { batches(filter: $f) { edges { node { batchNumber } } } }"
    now = utcnow()

    async def found(**f: Any) -> list[str]:
        body = await qa(q, {"f": f})
        return [e["node"]["batchNumber"] for e in body["data"]["batches"]["edges"]]

    assert await found(batchNumber="EX") == ["EX-1"]
    assert await found(batchNumber="EX-2") == []
    assert await found(batchNumber="%") == []  # a pattern character is taken literally
    assert await found(product="Human Albumin 20%", startedFrom=(now - timedelta(hours=1)).isoformat()) == ["EX-1"]
    assert await found(startedTo=(now - timedelta(hours=1)).isoformat()) == []
    assert await found(product="IVIG") == []
