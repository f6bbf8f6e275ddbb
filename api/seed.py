"""Seeding: roles from policies/roles.csv, and users with their certificates.

Every write goes through the audited unit of work as the `system` actor, so a new installation's
audit trail starts with its own creation. The demo's plant and stations: demo/seed.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography import x509
from sqlalchemy import select

from policies.authorize import load_roles
from records.audit import AuditContext
from records.db import Database
from records.identity import Role, User, UserCertificate, UserRole
from resolvers.identity import hash_password

SYSTEM = AuditContext(actor="system", reason="initial configuration")


async def seed_roles(db: Database) -> None:
    async with db.write(SYSTEM) as s:
        have = set((await s.execute(select(Role.name))).scalars())
        for info in load_roles().values():
            if info.name not in have:
                s.add(Role(name=info.name, kind=info.kind, description=info.description))


class UserKey(Protocol):
    """A user's certificate as seeding stores it (demo.ca.IssuedKey is one)."""

    @property
    def algorithm(self) -> str: ...
    @property
    def cert_pem(self) -> bytes: ...
    @property
    def fingerprint(self) -> str: ...


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    roles: tuple[str, ...]
    password: str
    key: UserKey | None = None
    organisation: str | None = None


async def seed_users(db: Database, users: Iterable[NewUser]) -> list[str]:
    """Create missing users with their roles and certificate; returns the usernames created."""
    created: list[str] = []
    async with db.write(SYSTEM) as s:
        roles = {r.name: r for r in (await s.execute(select(Role))).scalars()}
        have = set((await s.execute(select(User.username))).scalars())
        for u in users:
            if u.username in have:
                continue
            user = User(username=u.username, display_name=u.display_name,
                        password_hash=hash_password(u.password), active=True, failed_attempts=0,
                        organisation=u.organisation)
            for name in u.roles:
                user.roles.append(UserRole(role=roles[name], site_code="*"))
            s.add(user)
            if u.key is not None:
                cert = x509.load_pem_x509_certificate(u.key.cert_pem)
                s.add(UserCertificate(
                    user=user, fingerprint=u.key.fingerprint, algorithm=u.key.algorithm,
                    pem=u.key.cert_pem.decode(), not_before=_aware(cert.not_valid_before_utc),
                    not_after=_aware(cert.not_valid_after_utc),
                ))
            created.append(u.username)
    return created


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
