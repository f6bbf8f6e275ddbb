"""The npm graphql-http server audit against a live server: every MUST and every SHOULD passes."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer, _unavailable
from tests.graphql_http_audit.runner import ensure_installed, run_audit


@pytest.fixture(scope="module")
def audit_tool() -> None:
    reason = ensure_installed()
    if reason:
        _unavailable(f"graphql-http audit needs node and npm: {reason}")


def test_graphql_over_http_audit(audit_tool: None, live_server: LiveServer) -> None:
    results = run_audit(f"{live_server.url}/graphql")
    assert len(results) >= 50
    failed = [f"{r['name']}: {r['reason']}" for r in results
              if r["name"].startswith(("MUST", "SHOULD")) and r["status"] != "ok"]
    assert failed == []
    musts = [r for r in results if r["name"].startswith("MUST")]
    assert musts and all(r["status"] == "ok" for r in musts)
