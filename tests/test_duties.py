"""Golden tests: one per separation-of-duties rule in policies/duties.csv, both outcomes."""

from __future__ import annotations

import pytest

from policies.authorize import load_roles
from policies.duties import Duties, check_role_set
from policies.errors import AppError

D = Duties()


@pytest.mark.req("IT-12", "IT-13")
@pytest.mark.parametrize(("roles", "ok"), [
    (["operator", "production_supervisor"], True),
    (["system_admin"], True),
    (["audit_admin"], True),
    (["system_admin", "operator"], False),
    (["system_admin", "audit_admin"], False),
    (["audit_admin", "qa_officer"], False),
    (["regulator", "qa_officer"], False),
])
def test_static_role_sets(roles: list[str], ok: bool) -> None:
    if ok:
        assert check_role_set(roles, load_roles(), D) == sorted(roles)
    else:
        with pytest.raises(AppError) as e:
            check_role_set(roles, load_roles(), D)
        assert e.value.code == "SOD_VIOLATION"


@pytest.mark.req("IT-23")
@pytest.mark.parametrize("action", ["verify", "review"])
def test_performer_cannot_verify_or_review(action: str) -> None:
    assert not D.allows("ann", action, performed_by="ann")
    assert D.allows("bob", action, performed_by="ann")


def test_production_signer_cannot_release() -> None:
    assert not D.allows("ann", "release", production_signers=("ann", "cai"))
    assert D.allows("qp.dai", "release", production_signers=("ann", "cai"))


def test_deviation_raiser_cannot_alone_approve_closure() -> None:
    assert not D.allows("ann", "approve_closure", raised_by="ann", other_approvals=0)
    assert D.allows("ann", "approve_closure", raised_by="ann", other_approvals=1)
    assert D.allows("bob", "approve_closure", raised_by="ann", other_approvals=0)


def test_actions_without_rules_are_not_restricted() -> None:
    assert D.allows("ann", "read")


def test_nobody_grants_roles_to_their_own_account() -> None:
    assert not D.allows("adm.lin", "grant_roles", target="adm.lin")
    assert D.allows("adm.lin", "grant_roles", target="qc.new")
