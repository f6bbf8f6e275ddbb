"""Casbin's decisions are remembered per role, site, object and action, and forgotten on a reload."""

from __future__ import annotations

import shutil
from pathlib import Path

from policies.authorize import HERE, Authorizer
from policies.principal import Principal, RoleGrant


def test_decisions_are_remembered_until_the_policy_reloads(tmp_path: Path) -> None:
    policy = tmp_path / "policy.csv"
    shutil.copy(HERE / "policy.csv", policy)
    authorizer = Authorizer(HERE / "model.conf", policy)
    op = Principal(1, "op.one", "Op One", (RoleGrant("operator", "*"),), 1)
    calls = []
    real = authorizer.enforcer.enforce

    def counted(*args: str) -> bool:
        calls.append(args)
        return bool(real(*args))

    authorizer.enforcer.enforce = counted  # type: ignore[method-assign]
    assert all(authorizer.allows(op, "plant:layout", "read") for _ in range(3))
    assert not any(authorizer.allows(op, "plant:layout", "write") for _ in range(3))
    assert len(calls) == 2
    policy.write_text("\n".join(line for line in policy.read_text().splitlines()
                                if not line.startswith("p, operator, *, plant:*, read")) + "\n")
    authorizer.reload()
    assert not authorizer.allows(op, "plant:layout", "read")
