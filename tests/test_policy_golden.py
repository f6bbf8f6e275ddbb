"""Golden tests: every line of policies/policy.csv grants exactly what it says, and roles without a
line for an object are refused. The exported permission matrix equals the configured policy."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from policies.authorize import Authorizer, load_roles
from policies.principal import Principal, RoleGrant

POLICY = Path(__file__).resolve().parents[1] / "policies" / "policy.csv"
LINES = [tuple(x.strip() for x in row[1:]) for row in csv.reader(
    line for line in POLICY.read_text().splitlines() if line.strip() and not line.startswith("#"))]
A = Authorizer()


def _who(role: str) -> Principal:
    return Principal(1, "u", "U", (RoleGrant(role),), 1)


def _concrete(obj: str) -> str:
    return obj.replace("*", "anything")


@pytest.mark.req("IT-11", "IT-14")
@pytest.mark.parametrize(("role", "dom", "obj", "act"), LINES, ids=[" ".join(x) for x in LINES])
def test_each_policy_line_grants_its_permission(role: str, dom: str, obj: str, act: str) -> None:
    assert A.allows(_who(role), _concrete(obj), act if act != "*" else "write")
    holders = {r for r, _, o, a in LINES if A.enforcer.enforce(r, "*", _concrete(obj), act if act != "*" else "write")}
    for other in set(load_roles()) - holders:
        assert not A.allows(_who(other), _concrete(obj), act if act != "*" else "write"), other


@pytest.mark.req("IT-15")
def test_system_administrator_has_no_business_write() -> None:
    admin = _who("system_admin")
    for obj in ("equipment:status", "plasma:shipment", "batch:release", "quality:deviation", "sample:x"):
        assert not A.allows(admin, obj, "write"), obj


def test_matrix_equals_the_policy_file() -> None:
    assert sorted(tuple(p) for p in A.enforcer.get_policy()) == sorted(LINES)


def test_only_control_room_roles_inject_demo_faults() -> None:
    holders = {role for role in load_roles() if A.allows(_who(role), "demo:simulate", "write")}
    assert holders == {"operator", "production_supervisor"}
