"""GP-09: informatisation based on quality risk management and easy to maintain. Every system function is in the
risk assessment (docs/risk-assessment.md) with its hazard, risk, controls and the tests that verify them, every
GraphQL mutation under exactly one function; and a running server reports what it runs for maintenance."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from policies.policy_set import fingerprint
from records.migrate import config
from schema.root import build_schema
from tests.conftest import GQL

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "risk-assessment.md"


def _rows() -> list[list[str]]:
    lines = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| function | hazard")
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[1:]]


@pytest.mark.req("GP-09")
def test_every_function_and_every_mutation_is_risk_assessed() -> None:
    rows = _rows()
    mutation = build_schema()._schema.mutation_type
    assert mutation is not None
    listed = Counter(m.strip() for row in rows for m in row[5].split(","))
    assert set(listed) == set(mutation.fields), (set(mutation.fields) - set(listed), set(listed) - set(mutation.fields))
    assert [m for m, n in listed.items() if n > 1] == []
    for function, hazard, risk, controls, tests, _ in rows:
        assert hazard and controls and risk in {"high", "medium", "low"}, function
        files = re.findall(r"tests/[\w/]+\.py", tests)
        assert files and all((ROOT / f).exists() for f in files), (function, files)


@pytest.mark.req("GP-09")
async def test_a_running_server_reports_its_version_schema_and_policies(gql: GQL) -> None:
    body = (await gql.client.get("/health")).json()
    assert body["status"] == "ok" and re.fullmatch(r"\d+\.\d+\.\d+.*", body["version"])
    head = ScriptDirectory.from_config(config("sqlite://")).get_current_head()
    assert body["schemaRevision"] == head and body["policyFingerprint"] == fingerprint()
