"""The demo plant and plasma stations as records, with the demo's alarm settings.

Written through the audited unit of work as the `system` actor (api.seed.SYSTEM), like the roles
and users, so a fresh demo's audit trail starts with its own creation.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from api.seed import SYSTEM
from demo.plant import DEMO_STATIONS, PlantSpec, SensorSpec
from records.db import Database
from records.plant import Area, Equipment, Plant, Room, Sensor, Site
from records.plasma import PlasmaStation


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
    async with db.write(SYSTEM) as s:
        have = set((await s.execute(select(PlasmaStation.code))).scalars())
        for st in DEMO_STATIONS:
            if st.code not in have:
                s.add(PlasmaStation(code=st.code, name=st.name, province=st.province,
                                    licence_number=st.licence_number))


def new_password() -> str:
    return secrets.token_urlsafe(12)
