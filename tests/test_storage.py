"""A unit's storage: location, its cold store's temperature while stored, excursions, time limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from demo.seed import seed_stations
from records.audit import AuditContext
from records.plant import Area, Room, Sensor
from records.plasma import Donor, PlasmaStation, PlasmaUnit
from twin.recorder import Recorder
from twin.state import PlantState, Quality

Q = """query($d:String!){plasmaUnit(donationNumber:$d){storage{location roomCode sensorTag excursions conforming
  reasons temperatures(maxPoints:50){value}}}}"""


@pytest.mark.req("PL-10", "PL-11")
async def test_storage_temperature_and_excursions(env: Any) -> None:
    gql, _, db = env
    await seed_stations(db)
    now = datetime.now(UTC)
    async with db.write(AuditContext("system", reason="test cold store")) as s:
        area = (await s.execute(select(Area))).scalars().first()
        assert area is not None
        room = Room(area_id=area.id, code="CS9", name="Cold store 9", grade="CNC",
                    polygon=[[0, 0], [1, 0], [1, 1], [0, 1]])
        s.add(room)
        await s.flush()
        s.add(Sensor(tag="CS9-TT-101", name="Air temperature", kind="temperature", unit="°C", room_id=room.id,
                     low_limit=None, high_limit=-25.0, nominal=-32.0))
        st = (await s.execute(select(PlasmaStation).where(PlasmaStation.code == "PS-N1"))).scalar_one()
        donor = Donor(card_number="ST-1", station_id=st.id, name="x", blood_type="A", status="ACTIVE")
        s.add(donor)
        await s.flush()
        s.add(PlasmaUnit(donation_number="ST-U1", donor_id=donor.id, station_id=st.id, blood_type="A",
                         collected_on=(now - timedelta(days=30)).date(), weight_g=600, status="QUARANTINED",
                         received_at=now - timedelta(hours=2), storage_location="CS9-R01-P05", material_code=None))
    rec = Recorder(db)
    await rec.start()
    twin = PlantState(gql.client.app_services.bus)
    twin.store = rec.record
    for i in range(100):
        value = -18.0 if i == 50 else -31.5  # the door stood open once
        twin.ingest("CS9-TT-101", value, Quality.GOOD, now - timedelta(hours=1) + timedelta(seconds=30 * i))
    twin.ingest("CS9-TT-101", -10.0, Quality.GOOD, now - timedelta(hours=3))  # before the unit arrived
    await rec.stop()
    me = await gql.sign_in("qa.one")
    out = (await me(Q, {"d": "ST-U1"}))["data"]["plasmaUnit"]["storage"]
    assert out["roomCode"] == "CS9" and out["sensorTag"] == "CS9-TT-101"
    assert out["excursions"] == 1 and out["conforming"] is False and "above -25.0" in out["reasons"][0]
    assert 0 < len(out["temperatures"]) <= 100
