"""The demo plant (imported as a layout, like any plant) and plasma stations as records.

Written through the audited unit of work as the `system` actor (api.seed.SYSTEM), like the roles
and users, so a fresh demo's audit trail starts with its own creation.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.seed import SYSTEM
from demo.plant import DEMO_STATIONS, EquipmentSpec, PlantSpec, all_equipment, all_sensors
from records.db import Database
from records.plant import Equipment, EquipmentStatus, Plant, Room, Sensor
from records.plasma import PlasmaStation
from resolvers import layout


async def seed_plant(db: Database, spec: PlantSpec) -> bool:
    """Import the demo layout once, through the same checks and rows as importPlantLayout, then set
    what only the demo has: the simulator's nominal values and the equipment's starting state;
    returns False when it already exists (then only equipment the layout gained since is added)."""
    layout.check(spec)
    async with db.write(SYSTEM) as s:
        if (await s.execute(select(func.count()).select_from(Plant).where(Plant.code == spec.code))).scalar_one():
            await _add_new_equipment(s, spec)
            return False
        await layout.create(s, spec)
        nominal = {x.tag: x.nominal for _, _, x in all_sensors(spec)}
        for sensor in (await s.execute(select(Sensor))).scalars():
            sensor.nominal = nominal.get(sensor.tag, sensor.nominal)
        qualified = {e.code: e for _, e in all_equipment(spec)}
        for eq in (await s.execute(select(Equipment))).scalars():
            if (e := qualified.get(eq.code)) is not None:
                _starting_state(eq, e)
        return True


def _starting_state(eq: Equipment, e: EquipmentSpec) -> None:
    eq.cleaning_status = "CLEAN" if e.cleaning else None
    eq.sterilization_status = "STERILE" if e.sterilization else None
    eq.calibration_status = "CALIBRATED" if e.calibration else None


async def _add_new_equipment(s: AsyncSession, spec: PlantSpec) -> None:
    """A data directory made before the demo layout gained equipment (the ethanol dispensing scale) gets
    it with its sensors, so the demo's production can use it; equipment whose code or tags are taken is
    left out."""
    have = set((await s.execute(select(Equipment.code))).scalars())
    tags = set((await s.execute(select(Sensor.tag))).scalars())
    rooms = {r.code: r for r in (await s.execute(select(Room))).scalars()}
    nominal = {x.tag: x.nominal for _, _, x in all_sensors(spec)}
    for room, e in all_equipment(spec):
        if e.code in have or room.code not in rooms or any(x.tag in tags for x in e.sensors):
            continue
        eq = Equipment(room=rooms[room.code], code=e.code, name=e.name, kind=e.kind, x=e.x, y=e.y,
                       status=EquipmentStatus.IDLE.value, precision=e.precision)
        _starting_state(eq, e)
        s.add(eq)
        for x in e.sensors:
            s.add(Sensor(tag=x.tag, name=x.name, kind=x.kind, unit=x.unit, room=rooms[room.code], equipment=eq,
                         low_limit=x.low_limit, high_limit=x.high_limit, nominal=nominal.get(x.tag),
                         alarm_delay_s=x.alarm_delay_s, alarm_deadband=x.alarm_deadband,
                         alarm_priority=x.alarm_priority.value))


async def seed_stations(db: Database) -> None:
    async with db.write(SYSTEM) as s:
        have = set((await s.execute(select(PlasmaStation.code))).scalars())
        for st in DEMO_STATIONS:
            if st.code not in have:
                s.add(PlasmaStation(code=st.code, name=st.name, province=st.province,
                                    licence_number=st.licence_number))


def new_password() -> str:
    return secrets.token_urlsafe(12)
