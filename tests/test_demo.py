"""`plasmatwin demo` as a new user runs it: a fresh directory, the printed URL, demo-users.json, sign-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from tests import services

SIGN_IN = "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}"
PLANTS = "{plants{id name width height rooms{id code name grade polygon equipment{code name status x y " \
         "sensors{tag unit value}} sensors{tag}}}}"


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
