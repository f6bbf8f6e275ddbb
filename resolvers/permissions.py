"""What the caller may do, listed for the interface: every object/action the policy names or a field
declares, decided the way Context.require decides it (roles through Casbin, then the token's scope).

Nothing is refused here, so nothing is audited; the server still decides every request on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.principal import Principal
from resolvers.context import Context, in_reach

# What a read-only scope still does: it is refused every mutation (api/access.py), so it only reads.
READ_ACTIONS = frozenset({"read", "export"})


def candidates(policy: Iterable[list[str]], declared: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Concrete pairs: the policy's own (a wildcard grants, it names nothing) and the fields' `can(...)`."""
    named = {(row[2], row[3]) for row in policy if len(row) >= 4 and "*" not in row[2] and row[3] != "*"}
    return named | set(declared)


def _allowed(ctx: Context, p: Principal, obj: str, act: str) -> bool:
    if p.is_scoped and (not in_reach(p, obj, act)
                        or ((p.scope or {}).get("readOnly", True) and act not in READ_ACTIONS)):
        return False
    authz = ctx.services.authorizer
    # A grant held in one site shows its actions; the server checks the site of each request.
    return any(authz.allows(p, obj, act, site) for site in {"*", *(g.site for g in p.grants)})


def granted(ctx: Context, declared: Iterable[tuple[str, str]]) -> list[str]:
    """"object:action" for each pair the caller's roles and scope allow, sorted; none before a
    one-time password is replaced (only changePassword is open then)."""
    p = ctx.principal
    if p is None or p.password_change_required:
        return []
    pairs = candidates(ctx.services.authorizer.enforcer.get_policy(), declared)
    return sorted(f"{obj}:{act}" for obj, act in pairs if _allowed(ctx, p, obj, act))
