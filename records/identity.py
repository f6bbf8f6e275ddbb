"""People and their credentials: users, roles, bearer tokens, registered certificates, settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from records.base import Base, BigId, utcnow


class Role(Base):
    __tablename__ = "role"
    __audited__ = True
    __audit_reason_required__ = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(300))
    # business, admin, audit or partner: drives the static separation-of-duties rules.
    kind: Mapped[str] = mapped_column(String(16))


class User(Base):
    __tablename__ = "app_user"
    __audited__ = True
    __audit_reason_required__ = False
    __audit_redact__ = frozenset({"password_hash"})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Usernames are never reused (IT-40): accounts are deactivated, not deleted.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Partner accounts belong to an organisation: a plasma station or distributor code.
    organisation: Mapped[str | None] = mapped_column(String(32))
    locked_until: Mapped[datetime | None]
    # A one-time password set by the server at creation: nothing but changePassword until replaced.
    password_change_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> list[str]:
        return sorted(r.role.name for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_role"
    __audited__ = True
    __audit_reason_required__ = False
    __table_args__ = (UniqueConstraint("user_id", "role_id", "site_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    # Casbin domain: the site the role holds in, "*" for every site.
    site_code: Mapped[str] = mapped_column(String(32), default="*")
    user: Mapped[User] = relationship(back_populates="roles")
    role: Mapped[Role] = relationship(lazy="joined")


class ApiToken(Base):
    """An opaque bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="session")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Scoped tokens for partners and regulators: who issued it, why, and from when it holds.
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    purpose: Mapped[str | None] = mapped_column(String(300))
    valid_from: Mapped[datetime | None]
    user: Mapped[User] = relationship(lazy="joined", foreign_keys=[user_id])


class UserCertificate(Base):
    """The X.509 certificate a user signs with, bound to the account."""

    __tablename__ = "user_certificate"
    __audited__ = True
    __audit_reason_required__ = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    pem: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class Setting(Base):
    __tablename__ = "setting"
    __audited__ = True

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class SigningSession(Base):
    """A signer's password given again at signing (21 CFR 11.200(a)(1)), on one bearer token.

    The signer's own session (`second_person` false) holds while they keep signing on that token with
    no pause longer than the continuous period; a second person's confirmation (true) allows that one
    person one signature on the caller's token, within minutes. Security state, not a GMP record: the
    confirmations themselves are in the audit trail (REAUTHENTICATED, REAUTHENTICATION_FAILED)."""

    __tablename__ = "signing_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    second_person: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    active_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
