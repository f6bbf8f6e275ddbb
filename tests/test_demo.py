"""`plasmatwin demo` as a new user runs it: a fresh directory, the printed URL, demo-users.json, sign-in,
and the demo's batches made by its people through the API (at the fast pace: PLASMATWIN_DEMO_PACE)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from tests import services

SIGN_IN = "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}"
PLANTS = "{plants{id name width height rooms{id code name grade polygon equipment{code name status x y " \
         "sensors{tag unit value}} sensors{tag}}}}"


PLANTS_LIVE = "{plants{rooms{sensors{tag value quality}}}}"
ALARMS = "{alarms(active:true){edges{node{tag condition state}}}}"
MADE = "demo production: done: ALB-DEMO-01 IN_PROGRESS; IVIG-DEMO-01 COMPLETED; FVIII-DEMO-01 RELEASED"
BATCH = """query($b: String!) { batch(batchNumber: $b) { status poolCodes recipeCode }
  batchPhases(batchNumber: $b) { phaseCode status equipmentCode startedBy completedBy verifiedBy exception }
  batchWeighings(batchNumber: $b) { phaseCode materialCode scaleCode source gross tare net target weighedBy
                                    verifiedBy scaleCalibration }
  batchReview(batchNumber: $b) { total unreviewed conclusion { concludedBy } }
  releaseDocument(batchNumber: $b) { status signatures { signer intact trusted } } }"""


def _start(data_dir: Path) -> tuple[subprocess.Popen[str], str, Path]:
    port = services.free_port()
    log = data_dir.parent / f"demo-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "demo", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=out, stderr=subprocess.STDOUT, text=True,
            # as a user runs it: the demo's people give their passwords again at signing (resolvers/reauth.py)
            env={**os.environ, "PLASMATWIN_DEMO_PACE": "fast", "PLASMATWIN_SIGNING_REAUTHENTICATION": "true"},
        )
    services.wait_port(port, 60)
    return proc, f"http://127.0.0.1:{port}", log


def _stop(proc: subprocess.Popen[str], log: Path) -> str:
    proc.terminate()
    proc.wait(timeout=20)
    return log.read_text()


def _made(log: Path, timeout: float = 150) -> str:
    """The demo's production log once it has made its batches."""
    deadline = time.monotonic() + timeout
    while MADE not in (text := log.read_text()) and "demo production stopped" not in text:
        assert time.monotonic() < deadline, text[-3000:]
        time.sleep(0.5)
    return text


def _batches_made_through_the_api(base: str, token: str) -> dict[str, Any]:
    """ALB-DEMO-01 past Fraction I with its ethanol weighed on the floor scale and Fraction V running;
    IVIG-DEMO-01 complete and waiting for QA's review; FVIII-DEMO-01 reviewed by QA, released by the QP."""
    made = {b: _gql(base, BATCH, {"b": b}, token)["data"] for b in ("ALB-DEMO-01", "IVIG-DEMO-01", "FVIII-DEMO-01")}
    alb, ivig, f8 = made["ALB-DEMO-01"], made["IVIG-DEMO-01"], made["FVIII-DEMO-01"]
    assert alb["batch"]["status"] == "IN_PROGRESS" and alb["batch"]["poolCodes"] == ["PL-DEMO-01"]
    picked = _gql(base, '{ pickingLists(status: CLOSED) { poolCode picked requested createdBy } }', None,
                  token)["data"]["pickingLists"]  # the plasma of each pool was picked by scan (PR-34)
    assert sorted((x["poolCode"], x["picked"] == x["requested"], x["createdBy"]) for x in picked) == sorted(
        (made[b]["batch"]["poolCodes"][0], True, "log.sun") for b in made)
    phases = {p["phaseCode"]: p for p in alb["batchPhases"]}
    assert [(p["phaseCode"], p["status"]) for p in alb["batchPhases"]] == [
        ("THAW", "COMPLETED"), ("FRAC-I", "COMPLETED"), ("FRAC-V", "RUNNING")]
    assert phases["THAW"]["exception"]  # the injected excursion
    assert phases["FRAC-I"]["completedBy"] == "op.chen" and phases["FRAC-I"]["verifiedBy"] == "sup.zhao"
    assert not phases["FRAC-I"]["exception"] and phases["FRAC-V"]["equipmentCode"] == "EQ-FRC-04"
    frac_i = next(w for w in alb["batchWeighings"] if w["phaseCode"] == "FRAC-I")
    assert frac_i["scaleCode"] == "EQ-FRC-07" and frac_i["source"] == "TWIN" and frac_i["materialCode"] == "ETH-96"
    assert abs(frac_i["net"] - 190) <= 190 * 0.02 and frac_i["gross"] - frac_i["tare"] == frac_i["net"]
    assert (frac_i["weighedBy"], frac_i["verifiedBy"]) == ("op.chen", "sup.zhao")
    assert frac_i["scaleCalibration"].startswith("CALIBRATED, valid until")

    assert ivig["batch"]["status"] == "COMPLETED" and ivig["batch"]["recipeCode"] == "IVIG-10"
    assert len(ivig["batchPhases"]) == 8 and all(p["status"] == "COMPLETED" for p in ivig["batchPhases"])
    assert [w["phaseCode"] for w in ivig["batchWeighings"]] == ["FRAC-II"]
    assert ivig["batchReview"]["unreviewed"] > 0 and ivig["batchReview"]["conclusion"] is None

    assert f8["batch"]["status"] == "RELEASED" and all(p["status"] == "COMPLETED" for p in f8["batchPhases"])
    assert f8["batchReview"]["unreviewed"] == 0 and f8["batchReview"]["conclusion"]["concludedBy"] == "qa.li"
    document = f8["releaseDocument"]
    assert document["status"] == "RELEASED" and "qualified person" in document["signatures"][-1]["signer"]
    assert all(s["intact"] and s["trusted"] for s in document["signatures"])
    return made


def _gql(base: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{base}/graphql", json={"query": query, "variables": variables or {}}, headers=headers,
                      timeout=30).json()


def _live_plant(base: str, token: str, data: Path, op: dict[str, Any]) -> None:
    """The simulator feeds every tag through the bridge; an injected cold-store excursion alarms."""
    for _ in range(150):
        rooms = [r for p in _gql(base, PLANTS_LIVE, token=token)["data"]["plants"] for r in p["rooms"]]
        live = [s for r in rooms for s in r["sensors"] if s["value"] is not None]
        if len(live) >= 150:
            break
        time.sleep(0.1)
    assert len(live) >= 150 and all(s["quality"] in ("GOOD", "UNCERTAIN") for s in live)
    auth = {"authorization": f"Bearer {token}"}
    key = httpx.get(f"{base}/demo/key", headers=auth).json()
    assert key["privateKey"] == (data / op["privateKey"]).read_text() and key["algorithm"] == op["algorithm"]
    assert httpx.get(f"{base}/demo/key").status_code == 401
    bad = httpx.post(f"{base}/demo/simulate", headers=auth, json={"tag": "NOPE"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    r = httpx.post(f"{base}/demo/simulate", headers=auth, json={"tag": "CS1-TT-101", "delta": 25, "seconds": 20})
    assert r.status_code == 200
    for _ in range(100):
        alarms = _gql(base, ALARMS, token=token)["data"]["alarms"]["edges"]
        if any(a["node"]["tag"] == "CS1-TT-101" for a in alarms):
            break
        time.sleep(0.1)
    assert [a["node"]["condition"] for a in alarms if a["node"]["tag"] == "CS1-TT-101"] == ["HIGH"]


def test_demo_from_an_empty_directory_then_again(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    proc, base, log = _start(data)
    try:
        users = json.loads((data / "demo-users.json").read_text())
        by_role: dict[str, dict[str, Any]] = {}
        for u in users:
            assert set(u) >= {"username", "password", "roles", "privateKey", "certificate", "algorithm"}
            for role in u["roles"]:
                by_role.setdefault(role, u)
        assert len(by_role) >= 12
        ca = x509.load_pem_x509_certificate((data / "pki" / "ca.pem").read_bytes())
        op = by_role["operator"]
        cert = x509.load_pem_x509_certificate((data / op["certificate"]).read_bytes())
        assert cert.issuer == ca.subject
        assert b"PRIVATE KEY" in (data / op["privateKey"]).read_bytes()
        token = _gql(base, SIGN_IN, {"u": op["username"], "p": op["password"]})["data"]["signIn"]["token"]
        plants = _gql(base, PLANTS, token=token)["data"]["plants"]
        rooms = [r for p in plants for r in p["rooms"]]
        equipment = [e for r in rooms for e in r["equipment"]]
        tags = {s["tag"] for r in rooms for s in r["sensors"]}
        assert len(rooms) >= 12 and len(equipment) >= 40 and len(tags) >= 150
        assert all(len(r["polygon"]) >= 3 for r in rooms)
        _live_plant(base, token, data, op)
        recipes = _gql(base, "{ recipes { code version status approvedBy } }", token=token)["data"]["recipes"]
        assert sorted((r["code"], r["status"]) for r in recipes) == [  # made through the API by demo users
            ("ALB-20", "APPROVED"), ("FVIII-500", "APPROVED"), ("IVIG-10", "APPROVED")]
        assert "demo production stopped" not in _made(log)
        qa = by_role["qa_officer"]
        made = _batches_made_through_the_api(base, _gql(base, SIGN_IN, {"u": qa["username"], "p": qa["password"]})[
            "data"]["signIn"]["token"])
        auditor = by_role["audit_admin"]
        atoken = _gql(base, SIGN_IN, {"u": auditor["username"], "p": auditor["password"]})["data"]["signIn"]["token"]
        chain = _gql(base, "{verifyAuditChain{ok checked}}", token=atoken)["data"]["verifyAuditChain"]
        assert chain["ok"] and chain["checked"] > 200
    finally:
        out = _stop(proc, log)
    assert "/graphql" in out and "demo-users.json" in out

    proc, base, log = _start(data)  # same directory: same data, same passwords, the batches left as they are
    try:
        again = json.loads((data / "demo-users.json").read_text())
        assert again == users
        token = _gql(base, SIGN_IN, {"u": op["username"], "p": op["password"]})["data"]["signIn"]["token"]
        plants2 = _gql(base, PLANTS, token=token)["data"]["plants"]
        assert [p["id"] for p in plants2] == [p["id"] for p in plants]
        assert sum(len(p["rooms"]) for p in plants2) == len(rooms)
        again_made = _made(log)
        assert not [line for line in again_made.splitlines() if "demo production:" in line and MADE not in line]
        qa_token = _gql(base, SIGN_IN, {"u": qa["username"], "p": qa["password"]})["data"]["signIn"]["token"]
        again = _batches_made_through_the_api(base, qa_token)
        assert {b: (x["batch"], x["batchPhases"], x["batchWeighings"]) for b, x in again.items()} == {
            b: (x["batch"], x["batchPhases"], x["batchWeighings"]) for b, x in made.items()}
    finally:
        _stop(proc, log)
