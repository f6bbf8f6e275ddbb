"""The one enforcement point: Casbin decides whether a principal may act on an object."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import casbin

from policies.errors import AppError, ErrorCode
from policies.principal import Principal

HERE = Path(__file__).resolve().parent
DECISIONS = 10_000  # remembered decisions; objects, actions and sites are the code's own, so few


@dataclass(frozen=True)
class RoleInfo:
    name: str
    kind: str
    description: str


def load_roles(path: Path = HERE / "roles.csv") -> dict[str, RoleInfo]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["role"]: RoleInfo(row["role"], row["kind"], row["description"]) for row in csv.DictReader(fh)}


class Authorizer:
    def __init__(self, model: Path = HERE / "model.conf", policy: Path = HERE / "policy.csv") -> None:
        self.model_path = model
        self.policy_path = policy
        self.enforcer = casbin.Enforcer(str(model), str(policy))
        # Casbin's decisions per (role, site, object, action): enforce() evaluates the matcher anew on
        # every call (about 0.4 ms on a read), while the answers change only when the policy does.
        self._decided: dict[tuple[str, str, str, str], bool] = {}

    def reload(self) -> None:
        self.enforcer.load_policy()
        self._decided = {}

    def allows(self, principal: Principal, obj: str, act: str, site: str = "*") -> bool:
        for grant in principal.grants:
            if grant.site not in ("*", site):
                continue
            key = (grant.role, site, obj, act)
            decided = self._decided.get(key)
            if decided is None:
                if len(self._decided) >= DECISIONS:
                    self._decided = {}
                decided = self._decided[key] = bool(self.enforcer.enforce(grant.role, site, obj, act))
            if decided:
                return True
        return False

    def require(self, principal: Principal | None, obj: str, act: str, site: str = "*") -> Principal:
        if principal is None:
            raise AppError(ErrorCode.UNAUTHENTICATED, "sign in first")
        if not self.allows(principal, obj, act, site):
            raise AppError(ErrorCode.FORBIDDEN, f"{act} on {obj} is not allowed for your roles")
        return principal
