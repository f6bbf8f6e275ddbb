"""Signed-mutation cases: plasma stations, receipt, retest and release, lookback, pooling, packaging.

The units a case acts on are declared, received, tested and released through the API by the
people who do that in the plant (tests/test_receipt.py, test_retest.py, test_pooling.py); a
station's own mutations are called with the station's scoped token (tests/test_lookback.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from demo.seed import seed_stations
from records.audit import AuditContext
from records.genealogy import FinalLot, Intermediate, PackagingUnit
from records.plant import Area, Room, Sensor
from records.plasma import Batch
from tests.attack.signed_cases.base import Case, World
from tests.conftest import GQL
from tests.signing_env import issue_token

STATION = "PS-N1"
DONOR = "SC-DONOR-1"
STORE = "CS1-R01-P01"  # a cold store with its air-temperature sensor (`cold_store`)


def _unit(number: str, days_ago: int = 10) -> dict[str, Any]:
    collected = datetime.now(UTC).date() - timedelta(days=days_ago)
    return {"donationNumber": number, "donorCardNumber": DONOR, "bloodType": "O",
            "collectedOn": collected.isoformat(), "weightG": 600.0}


def _panel() -> list[dict[str, Any]]:
    return [{"test": t, "result": "NEGATIVE", "method": "ELISA", "kitLot": "K-2611", "instrument": "EL-01",
             **({"value": 18.0} if t == "ALT" else {})} for t in ("HBSAG", "ANTI_HCV", "ANTI_HIV", "SYPHILIS", "ALT")]


async def _declared(w: World, units: dict[str, int], shipment: str = "SH-C") -> None:
    """The units (donation number: days since collection) declared by logistics in one shipment."""
    await seed_stations(w.db)
    await w.call("log.sig", "submitPlasmaShipment", {
        "stationCode": STATION, "shipmentCode": shipment, "units": [_unit(n, d) for n, d in units.items()]})


def _receipt(number: str, shipment: str = "SH-C") -> dict[str, Any]:
    return {"stationCode": STATION, "shipmentCode": shipment, "scannedCode": number, "weightG": 598.0,
            "storageLocation": STORE}


async def _received(w: World, units: dict[str, int]) -> None:
    await _declared(w, units)
    for n in units:
        await w.call("log.sig", "receivePlasmaUnit", _receipt(n))


async def _tested(w: World, number: str) -> None:
    """Retested negative by an analyst and reviewed by another person."""
    await w.call("qc.sig", "recordRetest", {"donationNumber": number, "tests": _panel()})
    await w.call("qcr.sig", "reviewRetest", {"donationNumber": number}, "REVIEWED")


async def _eligible(w: World, *numbers: str) -> None:
    """Units past their quarantine, retested negative, with a later donation of the donor negative too."""
    await _received(w, {**dict.fromkeys(numbers, 70), "SC-LATER": 5})
    for n in (*numbers, "SC-LATER"):
        await _tested(w, n)


async def cold_store(w: World, code: str = "CS1") -> None:
    """A cold store of the tiny plant with its air-temperature sensor (high limit -25 °C)."""
    async with w.db.write(AuditContext("test", reason="test cold store")) as s:
        area = (await s.execute(select(Area))).scalars().first()
        assert area is not None
        room = Room(area_id=area.id, code=code, name=f"Cold store {code}", grade="CNC",
                    polygon=[[0, 0], [1, 0], [1, 1]])
        s.add(room)
        await s.flush()
        s.add(Sensor(tag=f"{code}-TT-101", name="Air", kind="temperature", unit="°C", room_id=room.id,
                     high_limit=-25.0))


async def _station(w: World) -> GQL:
    """The station system's client: a scoped token of the station partner for its own station."""
    client: GQL = await issue_token(w.gql, w.signers, "st.sig", readOnly=False, stations=[STATION])
    return client


# --- cases -----------------------------------------------------------------------------------------

async def _shipment(w: World) -> dict[str, Any]:
    await seed_stations(w.db)
    return {"stationCode": STATION, "shipmentCode": "SH-NEW", "units": [_unit("SC-U1"), _unit("SC-U2")]}


async def _shipment_file(w: World) -> dict[str, Any]:
    await seed_stations(w.db)
    day = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    content = ("donation_number,donor_card_number,blood_type,collected_on,weight_g\n"
               f"SC-F1,{DONOR},O,{day},600\nSC-F2,{DONOR},O,{day},610.5\n")
    return {"stationCode": STATION, "shipmentCode": "SH-FILE", "format": "CSV", "content": content}


async def _receive(w: World) -> dict[str, Any]:
    await _declared(w, {"SC-U1": 10, "SC-U2": 10})
    return _receipt("SC-U1")


async def _close(w: World) -> dict[str, Any]:
    """One unit of the shipment received, the other missing."""
    await _declared(w, {"SC-U1": 10, "SC-U2": 10})
    await w.call("log.sig", "receivePlasmaUnit", _receipt("SC-U1"))
    return {"stationCode": STATION, "shipmentCode": "SH-C"}


async def _retest(w: World) -> dict[str, Any]:
    await _received(w, {"SC-U1": 10})
    return {"donationNumber": "SC-U1", "tests": _panel()}


async def _review(w: World) -> dict[str, Any]:
    await _received(w, {"SC-U1": 10})
    await w.call("qc.sig", "recordRetest", {"donationNumber": "SC-U1", "tests": _panel()})
    return {"donationNumber": "SC-U1"}


async def _release(w: World) -> dict[str, Any]:
    await _eligible(w, "SC-OLD")
    return {"donationNumbers": ["SC-OLD"], "reason": "quarantine over, follow-up negative"}


async def _station_results(w: World) -> dict[str, Any]:
    await _declared(w, {"SC-U1": 10})
    return {"donationNumber": "SC-U1", "tests": _panel()}


async def _deferral(w: World) -> dict[str, Any]:
    await _declared(w, {"SC-U1": 10})
    return {"cardNumber": DONOR, "status": "DEFERRED", "reason": "anti-HCV reactive at a later donation"}


async def _status_report(w: World) -> dict[str, Any]:
    await _declared(w, {"SC-U1": 10})
    return {"cardNumber": DONOR, "status": "PERMANENTLY_DEFERRED", "reason": "confirmed HIV-1 positive"}


async def _pool(w: World) -> dict[str, Any]:
    await cold_store(w)
    await _eligible(w, "SC-OLD1", "SC-OLD2")
    await w.call("qa.sig", "releasePlasma", {"donationNumbers": ["SC-OLD1", "SC-OLD2"]}, "RELEASED")
    return {"poolCode": "PL-SC-1", "product": "Human Albumin 20%", "donationNumbers": ["SC-OLD1", "SC-OLD2"]}


async def _picking(w: World) -> dict[str, Any]:
    """Two released units in a monitored cold store, for a picking list."""
    await cold_store(w)
    await _eligible(w, "SC-OLD1", "SC-OLD2")
    await w.call("qa.sig", "releasePlasma", {"donationNumbers": ["SC-OLD1", "SC-OLD2"]}, "RELEASED")
    return {"product": "Human Albumin 20%", "units": 2}


async def _picking_list(w: World) -> str:
    from records.picking import PickingList

    await w.call("log.sig", "createPickingList", await _picking(w))
    async with w.db.read() as s:
        return str((await s.execute(select(PickingList.code))).scalar_one())


async def _pick(w: World) -> dict[str, Any]:
    return {"listCode": await _picking_list(w), "donationNumber": "SC-OLD1", "scanned": True}


async def _cancel_picking(w: World) -> dict[str, Any]:
    return {"code": await _picking_list(w), "reason": "pool postponed"}


def _plate() -> str:
    """The synthetic plate export of tests/data with one sample well, SC-U1, base64."""
    import base64
    from pathlib import Path

    plate = (Path(__file__).parents[2] / "data" / "elisa_plate.csv").read_bytes()
    plate = plate.replace(b"IT-U1,IT-U2,IT-U3,IT-U4,PL-IT-1", b"SC-U1,,,,")
    return base64.b64encode(plate).decode()


async def _instrument_run(w: World) -> dict[str, Any]:
    await _received(w, {"SC-U1": 10})
    return {"instrumentId": "EL-01", "kind": "ELISA", "testItem": "HBSAG", "kitLot": "KIT-1", "filename": "p.csv",
            "data": _plate(), "parserVersion": "1"}


async def _imported_run(w: World) -> int:
    from records.instrument_run import InstrumentRun

    await w.call("qc.sig", "importInstrumentRun", await _instrument_run(w))
    async with w.db.read() as s:
        return int((await s.execute(select(InstrumentRun.id))).scalar_one())


async def _reprocess_run(w: World) -> dict[str, Any]:
    return {"runId": await _imported_run(w), "parserVersion": "2", "reason": "grey zone of the kit insert"}


async def _review_run(w: World) -> dict[str, Any]:
    return {"runId": await _imported_run(w), "comment": "controls valid"}


CARTON, LOOSE = "86123450000000000001", "86123450000000000002"


async def _aggregate(w: World) -> dict[str, Any]:
    """A carton and a unit code not yet packed, of one final lot."""
    async with w.db.write(AuditContext("test", reason="test packaging codes")) as s:
        b = Batch(batch_number="B-PK-1", product="Human Albumin 20%", status="RELEASED")
        s.add(b)
        await s.flush()
        i = Intermediate(code="I-PK-1", batch_id=b.id, kind="Albumin bulk")
        s.add(i)
        await s.flush()
        lot = FinalLot(lot_number="L-PK-1", intermediate_id=i.id, product=b.product, status="RELEASED")
        s.add(lot)
        await s.flush()
        s.add_all([PackagingUnit(code=CARTON, level="CARTON", final_lot_id=lot.id),
                   PackagingUnit(code=LOOSE, level="UNIT", final_lot_id=lot.id)])
    return {"parentCode": CARTON, "childCodes": [LOOSE]}


CASES: dict[str, Case] = {
    "submitPlasmaShipment": Case("log.sig", _shipment),
    "submitPlasmaShipmentFile": Case("st.sig", _shipment_file, client=_station),
    "receivePlasmaUnit": Case("log.sig", _receive),
    "closePlasmaReceipt": Case("log.sig", _close),
    "recordRetest": Case("qc.sig", _retest),
    "reviewRetest": Case("qcr.sig", _review, "REVIEWED"),
    "releasePlasma": Case("qa.sig", _release, "RELEASED"),
    "submitStationResults": Case("st.sig", _station_results, client=_station),
    "deferDonor": Case("qa.sig", _deferral, "APPROVED"),
    "reportDonorStatus": Case("st.sig", _status_report, client=_station),
    "chargePool": Case("log.sig", _pool, second=("sup.rsa", "VERIFIED")),
    "createPickingList": Case("log.sig", _picking),
    "pickPlasmaUnit": Case("log.sig", _pick),
    "cancelPickingList": Case("log.sig", _cancel_picking),
    "aggregatePackaging": Case("op.one", _aggregate),
    "importInstrumentRun": Case("qc.sig", _instrument_run),
    "reprocessInstrumentRun": Case("qc.sig", _reprocess_run),
    "reviewInstrumentRun": Case("qcr.sig", _review_run, "REVIEWED"),
}
