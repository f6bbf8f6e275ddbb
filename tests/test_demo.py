"""`plasmatwin demo` as a new user runs it: a fresh directory, the printed URL, demo-users.json, sign-in."""

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


def _start(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    port = services.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "demo", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ.copy(),
    )
    services.wait_port(port, 60)
    return proc, f"http://127.0.0.1:{port}"


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=20)
    return out


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
    proc, base = _start(data)
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
        for _ in range(150):  # the demo's production: an albumin batch thawing, its temperature live
            phases = _gql(base, '{ batchPhases(batchNumber: "ALB-DEMO-01") { phaseCode status equipmentCode } }',
                          token=token)["data"]["batchPhases"]
            if phases:
                break
            time.sleep(0.2)
        assert phases == [{"phaseCode": "THAW", "status": "RUNNING", "equipmentCode": "EQ-THP-01"}], phases
        auditor = by_role["audit_admin"]
        atoken = _gql(base, SIGN_IN, {"u": auditor["username"], "p": auditor["password"]})["data"]["signIn"]["token"]
        chain = _gql(base, "{verifyAuditChain{ok checked}}", token=atoken)["data"]["verifyAuditChain"]
        assert chain["ok"] and chain["checked"] > 200
    finally:
        out = _stop(proc)
    assert "/graphql" in out and "demo-users.json" in out

    proc, base = _start(data)  # same directory: same data, same passwords
    try:
        again = json.loads((data / "demo-users.json").read_text())
        assert again == users
        token = _gql(base, SIGN_IN, {"u": op["username"], "p": op["password"]})["data"]["signIn"]["token"]
        plants2 = _gql(base, PLANTS, token=token)["data"]["plants"]
        assert [p["id"] for p in plants2] == [p["id"] for p in plants]
        assert sum(len(p["rooms"]) for p in plants2) == len(rooms)
    finally:
        _stop(proc)
