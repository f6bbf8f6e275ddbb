"""Viewer.permissions: what the caller's roles and token scope allow, as the enforcement point decides
it, so the interface shows each role only its own actions (issue 15)."""

from __future__ import annotations

from typing import Any

from tests.conftest import GQL
from tests.signing_env import issue_token

PERMS = "{viewer{username permissions}}"


async def _perms(client: GQL) -> set[str]:
    body = await client(PERMS)
    return set(body["data"]["viewer"]["permissions"])


async def test_an_operator_acknowledges_alarms_but_does_not_trace(gql: GQL) -> None:
    perms = await _perms(await gql.sign_in("op.one"))
    assert {"plant:alarm:acknowledge", "plant:alarm:read", "plant:task:read", "equipment:status:write"} <= perms
    assert "trace:graph:read" not in perms
    assert not {p for p in perms if p.startswith(("audit:", "user:"))}


async def test_a_qa_officer_reads_the_audit_trail_and_traces(gql: GQL) -> None:
    perms = await _perms(await gql.sign_in("qa.one"))
    assert {"audit:trail:read", "trace:graph:read", "plant:alarm:acknowledge", "batch:record:read"} <= perms
    assert "user:account:write" not in perms and "demo:simulate:write" not in perms


async def test_a_regulators_scoped_token_lists_only_reads_in_its_scope(env: Any) -> None:
    gql, signers, _ = env
    regulator = await issue_token(gql, signers, "reg.one", products=["Human Albumin 20%"])
    perms = await _perms(regulator)
    assert {"trace:graph:read", "batch:record:read", "batch:record:export"} <= perms
    # Plant data are outside any scope, the audit trail only its records' (issue 15), and a read-only
    # token writes nothing.
    assert not {p for p in perms if p.split(":")[0] not in ("plasma", "trace", "batch")} - {"audit:trail:read"}, perms
    assert all(p.rsplit(":", 1)[1] in ("read", "export") for p in perms), perms
    assert "plant:alarm:acknowledge" not in perms and "audit:chain:read" not in perms


async def test_every_listed_permission_is_one_the_server_grants(gql: GQL) -> None:
    """The list agrees with enforcement: the operator's alarms query answers, the trace is refused."""
    op = await gql.sign_in("op.one")
    assert "errors" not in await op("{alarms(first:1){totalCount}}")
    refused = await op('{traceBackward(code:"X"){nodes{id}}}')
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_no_viewer_without_a_token(gql: GQL) -> None:
    assert (await gql(PERMS))["data"]["viewer"] is None
