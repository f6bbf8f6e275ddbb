"""The demo plant (imported as a layout, like any plant) and plasma stations as records.

Written through the audited unit of work as the `system` actor (api.seed.SYSTEM), like the roles
and users, so a fresh demo's audit trail starts with its own creation.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from api.seed import SYSTEM
from demo.plant import DEMO_STATIONS, PlantSpec, all_equipment, all_sensors
from records.db import Database
from records.plant import Equipment, Plant, Sensor
from records.plasma import PlasmaStation
from resolvers import layout


async def seed_plant(db: Database, spec: PlantSpec) -> bool:
    """Import the demo layout once, through the same checks and rows as importPlantLayout, then set
    what only the demo has: the simulator's nominal values and the equipment's starting state;
    returns False when it already exists."""
    layout.check(spec)
    async with db.write(SYSTEM) as s:
        if (await s.execute(select(func.count()).select_from(Plant).where(Plant.code == spec.code))).scalar_one():
            return False
        await layout.create(s, spec)
        nominal = {x.tag: x.nominal for _, _, x in all_sensors(spec)}
        for sensor in (await s.execute(select(Sensor))).scalars():
            sensor.nominal = nominal.get(sensor.tag, sensor.nominal)
        qualified = {e.code: e for _, e in all_equipment(spec)}
        for eq in (await s.execute(select(Equipment))).scalars():
            if (e := qualified.get(eq.code)) is not None:
                eq.cleaning_status = "CLEAN" if e.cleaning else None
                eq.sterilization_status = "STERILE" if e.sterilization else None
                eq.calibration_status = "CALIBRATED" if e.calibration else None
        return True


async def seed_stations(db: Database) -> None:
    async with db.write(SYSTEM) as s:
        have = set((await s.execute(select(PlasmaStation.code))).scalars())
        for st in DEMO_STATIONS:
            if st.code not in have:
                s.add(PlasmaStation(code=st.code, name=st.name, province=st.province,
                                    licence_number=st.licence_number))


def new_password() -> str:
    return secrets.token_urlsafe(12)
