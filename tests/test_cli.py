"""The `plasmatwin` command against a real PostgreSQL: migrate, create-admin, serve, audit verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests import services

PW = "a strong admin password"


def _cli(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, check=False)


@pytest.mark.req("IT-40")
def test_production_serve_on_postgres(pg_url: str) -> None:
    env = {"PLASMATWIN_DATABASE_URL": pg_url}
    assert _cli("migrate", env=env).returncode == 0
    r = _cli("create-admin", "root.admin", env=env, stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    assert _cli("create-admin", "root.admin", env=env, stdin=PW + "\n").returncode == 1
    assert _cli("create-admin", "weak", env=env, stdin="short\n").returncode == 2
    port = services.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve"],
                            env={**os.environ, **env, "PLASMATWIN_PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        services.wait_port(port, 30)
        base = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{base}/health").json()
        assert health["status"] == "ok" and health["database"] == "postgresql"
        body = httpx.post(f"{base}/graphql", json={
            "query": "mutation($u:String!,$p:String!){signIn(username:$u,password:$p){token}}",
            "variables": {"u": "root.admin", "p": PW}}).json()
        token = body["data"]["signIn"]["token"]
        viewer = httpx.post(f"{base}/graphql", json={"query": "{viewer{roles}}"},
                            headers={"authorization": f"Bearer {token}"}).json()
        assert viewer == {"data": {"viewer": {"roles": ["system_admin"]}}}
    finally:
        proc.terminate()
        proc.wait(10)
    out = _cli("audit", "verify", env=env)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 0 and report["ok"] and report["checked"] >= 14


def test_bad_port_setting_is_a_clear_error() -> None:
    r = _cli("serve", env={"PLASMATWIN_PORT": "eighty"})
    assert r.returncode != 0 and "PLASMATWIN_PORT must be an integer" in r.stderr


def test_help_lists_the_commands() -> None:
    out = _cli("--help").stdout
    for command in ("demo", "serve", "migrate", "audit", "pki", "create-admin"):
        assert command in out

