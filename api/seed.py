"""Seeding: roles from policies/roles.csv, the demo plant, stations and users with certificates.

Every write goes through the audited unit of work as the `system` actor, so a fresh demo's
audit trail starts with its own creation.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from sqlalchemy import func, select

from policies.authorize import load_roles
from records.audit import AuditContext
from records.db import Database
from records.identity import Role, User, UserCertificate, UserRole
from records.plant import Area, Equipment, Plant, Room, Sensor, Site
from records.plasma import PlasmaStation
from resolvers.identity import hash_password

if TYPE_CHECKING:
    from policies.demo_ca import IssuedKey
    from twin.demo_plant import PlantSpec, SensorSpec

SYSTEM = AuditContext(actor="system", reason="initial configuration")


async def seed_roles(db: Database) -> None:
    async with db.write(SYSTEM) as s:
        have = set((await s.execute(select(Role.name))).scalars())
        for info in load_roles().values():
            if info.name not in have:
                s.add(Role(name=info.name, kind=info.kind, description=info.description))


async def seed_plant(db: Database, spec: PlantSpec) -> bool:
    """Create the plant once; returns False when it already exists."""
    async with db.write(SYSTEM) as s:
        if (await s.execute(select(func.count()).select_from(Plant).where(Plant.code == spec.code))).scalar_one():
            return False
        site = (await s.execute(select(Site).where(Site.code == spec.site_code))).scalar_one_or_none()
        if site is None:
            site = Site(code=spec.site_code, name=spec.site_name)
        plant = Plant(site=site, code=spec.code, name=spec.name, width=spec.width, height=spec.height)
        for a in spec.areas:
            area = Area(plant=plant, code=a.code, name=a.name)
            for r in a.rooms:
                room = Room(area=area, code=r.code, name=r.name, grade=r.grade,
                            polygon=[list(p) for p in r.polygon])
                for sensor in r.sensors:
                    room.sensors.append(_sensor(sensor))
                for e in r.equipment:
                    eq = Equipment(
                        room=room, code=e.code, name=e.name, kind=e.kind, x=e.x, y=e.y, status="IDLE",
                        cleaning_status="CLEAN" if e.cleaning else None,
                        sterilization_status="STERILE" if e.sterilization else None,
                        calibration_status="CALIBRATED" if e.calibration else None,
                    )
                    for sensor in e.sensors:
                        ss = _sensor(sensor)
                        ss.room = room
                        eq.sensors.append(ss)
        # Added once the graph is built: SQLAlchemy 2 does not cascade backrefs into the session.
        s.add(plant)
        return True


def alarm_rule(kind: str, nominal: float, low: float | None, high: float | None) -> tuple[float, float, str]:
    """Demo alarm settings (on-delay s, deadband, priority). A plant sets validated values per tag (PR-76).
    Cold stores alarm at once so the floor plan reacts within a second; others wait out brief spikes."""
    limit = high if high is not None else low
    deadband = 1.0 if kind == "temperature" else round(0.02 * abs(limit or nominal), 6)
    if low is not None and high is not None:  # never wider than a tenth of the band between the limits
        deadband = min(deadband, round(0.1 * (high - low), 6))
    if kind == "temperature" and nominal <= -10:
        return 0.0, deadband, "HIGH"
    if kind in ("temperature", "differential_pressure"):
        return 10.0, deadband, "HIGH" if nominal >= 65 or kind == "differential_pressure" else "MEDIUM"
    return (30.0 if kind.startswith("particles") else 10.0), deadband, "MEDIUM"


def _sensor(spec: SensorSpec) -> Sensor:
    delay, deadband, priority = alarm_rule(spec.kind, spec.nominal, spec.low_limit, spec.high_limit)
    return Sensor(
        tag=spec.tag, name=spec.name, kind=spec.kind, unit=spec.unit, low_limit=spec.low_limit,
        high_limit=spec.high_limit, nominal=spec.nominal, alarm_delay_s=delay, alarm_deadband=deadband,
        alarm_priority=priority,
    )


async def seed_stations(db: Database) -> None:
    from twin.demo_plant import DEMO_STATIONS


    async with db.write(SYSTEM) as s:
        have = set((await s.execute(select(PlasmaStation.code))).scalars())
        for st in DEMO_STATIONS:
            if st.code not in have:
                s.add(PlasmaStation(code=st.code, name=st.name, province=st.province,
                                    licence_number=st.licence_number))


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    roles: tuple[str, ...]
    password: str
    key: IssuedKey | None = None
    organisation: str | None = None


def new_password() -> str:
    return secrets.token_urlsafe(12)


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
