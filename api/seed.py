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
    """Create missing users with their roles and certificate; returns the usernames created. A user who
    exists gets the given certificate registered when it is not yet (a store seeded by an older demo
    whose key persons' certificates are now from the third-party CA)."""
    created: list[str] = []
    async with db.write(SYSTEM) as s:
        roles = {r.name: r for r in (await s.execute(select(Role))).scalars()}
        have = {u.username: u for u in (await s.execute(select(User))).scalars()}
        known = set((await s.execute(select(UserCertificate.fingerprint))).scalars())
        for u in users:
            if u.username in have:
                if u.key is not None and u.key.fingerprint not in known:
                    s.add(_certificate(have[u.username], u.key))
                continue
            user = User(username=u.username, display_name=u.display_name,
                        password_hash=hash_password(u.password), active=True, failed_attempts=0,
                        organisation=u.organisation)
            for name in u.roles:
                user.roles.append(UserRole(role=roles[name], site_code="*"))
            s.add(user)
            if u.key is not None:
                s.add(_certificate(user, u.key))
            created.append(u.username)
    return created


def _certificate(user: User, key: UserKey) -> UserCertificate:
    cert = x509.load_pem_x509_certificate(key.cert_pem)
    return UserCertificate(user=user, fingerprint=key.fingerprint, algorithm=key.algorithm, pem=key.cert_pem.decode(),
                           not_before=_aware(cert.not_valid_before_utc), not_after=_aware(cert.not_valid_after_utc))


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
