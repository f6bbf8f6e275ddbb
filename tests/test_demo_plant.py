"""The synthetic demo plant is a consistent floor plan: sizes, unique codes, geometry, limits, demo users."""

from __future__ import annotations

import csv
import dataclasses
from itertools import combinations
from pathlib import Path

import pytest

from demo.live import signals
from demo.plant import (
    DEMO_PLANT,
    DEMO_STATIONS,
    DEMO_USERS,
    GRADES,
    SENSOR_UNITS,
    RoomSpec,
    all_equipment,
    all_rooms,
    all_sensors,
)
from demo.signals import Plant

ROLES = (
    "operator", "production_supervisor", "plasma_logistics", "qc_analyst", "qc_reviewer", "qa_officer",
    "qualified_person", "station_partner", "distributor_partner", "regulator", "system_admin", "audit_admin",
    "device_bridge",
)
ADMIN_ROLES = {"system_admin", "audit_admin"}
ROLES_CSV = Path(__file__).resolve().parents[1] / "policies" / "roles.csv"

Box = tuple[float, float, float, float]


def _inside(x: float, y: float, polygon: tuple[tuple[float, float], ...]) -> bool:
    """Ray casting; points exactly on an edge do not count, equipment must sit clear of the walls."""
    hit = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (x1 == x2 and x == x1 and min(y1, y2) <= y <= max(y1, y2)) or (
                y1 == y2 and y == y1 and min(x1, x2) <= x <= max(x1, x2)):
            return False
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def _box(room: RoomSpec) -> Box:
    xs = [p[0] for p in room.polygon]
    ys = [p[1] for p in room.polygon]
    return min(xs), min(ys), max(xs), max(ys)


def _overlap(a: Box, b: Box) -> bool:
    # Shared walls are fine; any positive-area intersection is not.
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_inside_helper() -> None:
    ell = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (5.0, 10.0), (5.0, 5.0), (0.0, 5.0))
    assert _inside(2, 2, ell) and _inside(8, 8, ell)
    assert not _inside(2, 8, ell) and not _inside(11, 1, ell) and not _inside(0, 2, ell)
    assert _overlap((0, 0, 2, 2), (1, 1, 3, 3)) and not _overlap((0, 0, 2, 2), (2, 0, 4, 2))


def test_sizes() -> None:
    assert len(all_rooms(DEMO_PLANT)) >= 12
    assert len(all_equipment(DEMO_PLANT)) >= 40
    assert len(all_sensors(DEMO_PLANT)) >= 150
    assert 4 <= len(DEMO_STATIONS) <= 6


def test_codes_and_tags_are_unique() -> None:
    rooms = [r.code for r in all_rooms(DEMO_PLANT)]
    areas = [a.code for a in DEMO_PLANT.areas]
    equipment = [e.code for _, e in all_equipment(DEMO_PLANT)]
    tags = [s.tag for _, _, s in all_sensors(DEMO_PLANT)]
    stations = [s.code for s in DEMO_STATIONS]
    users = [u.username for u in DEMO_USERS]
    for codes in (rooms, areas, equipment, tags, stations, users):
        assert len(codes) == len(set(codes))
    assert len(set(rooms) | set(areas) | {DEMO_PLANT.code}) == len(rooms) + len(areas) + 1


def test_tags_name_their_room() -> None:
    for room, equipment, sensor in all_sensors(DEMO_PLANT):
        prefix, instrument, loop = sensor.tag.split("-")
        assert prefix == room.code and instrument.isalpha() and instrument.isupper() and len(loop) == 3
        if equipment is not None:
            assert equipment.code.startswith(f"EQ-{room.code}-")


def test_helpers_walk_the_whole_plant() -> None:
    sensors = all_sensors(DEMO_PLANT)
    room_level = sum(len(r.sensors) for r in all_rooms(DEMO_PLANT))
    assert sum(1 for _, e, _ in sensors if e is None) == room_level
    assert len(sensors) == room_level + sum(len(e.sensors) for _, e in all_equipment(DEMO_PLANT))
    for room, eq in all_equipment(DEMO_PLANT):
        assert eq in room.equipment


def test_rooms_are_rectilinear_inside_the_canvas_and_apart() -> None:
    rooms = all_rooms(DEMO_PLANT)
    for room in rooms:
        assert room.grade in GRADES
        assert len(room.polygon) in (4, 6)  # rectangle or L-shape
        for (x1, y1), (x2, y2) in zip(room.polygon, room.polygon[1:] + room.polygon[:1], strict=True):
            assert x1 == x2 or y1 == y2, f"{room.code}: edge not axis-aligned"
        x0, y0, x1, y1 = _box(room)
        assert 0 <= x0 < x1 <= DEMO_PLANT.width and 0 <= y0 < y1 <= DEMO_PLANT.height, room.code
    for a, b in combinations(rooms, 2):
        assert not _overlap(_box(a), _box(b)), f"{a.code} overlaps {b.code}"


def test_equipment_stands_inside_its_room() -> None:
    for room, eq in all_equipment(DEMO_PLANT):
        assert _inside(eq.x, eq.y, room.polygon), f"{eq.code} at ({eq.x}, {eq.y}) is outside {room.code}"


def test_limits_are_ordered_and_bracket_the_nominal() -> None:
    for _, _, s in all_sensors(DEMO_PLANT):
        assert s.unit == SENSOR_UNITS[s.kind], s.tag
        if s.low_limit is not None and s.high_limit is not None:
            assert s.low_limit < s.high_limit, s.tag
        if s.low_limit is not None:
            assert s.low_limit <= s.nominal, s.tag
        if s.high_limit is not None:
            assert s.nominal <= s.high_limit, s.tag


def test_environmental_monitoring_by_grade() -> None:
    for room in all_rooms(DEMO_PLANT):
        kinds = {s.kind for s in room.sensors}
        assert {"temperature", "humidity"} <= kinds, room.code
        if room.grade in ("A", "B", "C"):
            assert {"differential_pressure", "particles_0_5", "particles_5_0"} <= kinds, room.code
    grades = {r.grade for r in all_rooms(DEMO_PLANT)}
    assert {"A", "B", "C", "D", "CNC"} <= grades


def test_process_values_are_plausible() -> None:
    by_kind: dict[str, list[tuple[RoomSpec, str]]] = {}
    for room, eq in all_equipment(DEMO_PLANT):
        by_kind.setdefault(eq.kind, []).append((room, eq.code))
    for kind in ("freezer", "cold_room_unit", "thawing_tank", "pooling_tank", "fractionation_tank", "centrifuge",
                 "filter_press", "chromatography_skid", "uf_skid", "inactivation_tank", "filling_line",
                 "lyophilizer", "inspection_machine", "labeller", "wfi_loop", "pw_generator", "still",
                 "pure_steam_generator", "air_compressor", "ahu", "incubator", "balance", "biosafety_cabinet",
                 "hplc", "scale"):
        assert kind in by_kind, kind
    cold_stores = [r for r in all_rooms(DEMO_PLANT) if r.code in ("CS1", "CS2")]
    assert len(cold_stores) == 2
    for room in cold_stores:
        temps = [s for s in room.sensors if s.kind == "temperature"]
        # Plasma must stay at or below -20 °C; the alarm fires earlier.
        assert temps and all(s.nominal <= -30 and s.high_limit == -25 for s in temps)
    equipment = {e.kind: e for _, e in all_equipment(DEMO_PLANT)}
    wfi = {s.kind: s for s in equipment["wfi_loop"].sensors}
    assert wfi["temperature"].nominal == 80 and wfi["temperature"].low_limit == 70
    assert wfi["conductivity"].high_limit == 1.3 and wfi["toc"].high_limit == 500
    frac = [s for _, e in all_equipment(DEMO_PLANT) if e.kind == "fractionation_tank" for s in e.sensors]
    assert all(-8 < s.nominal < 0 for s in frac if s.kind == "temperature")
    inactivation = {s.nominal for _, e in all_equipment(DEMO_PLANT) if e.kind == "inactivation_tank"
                    for s in e.sensors if s.kind == "temperature"}
    assert inactivation == {60.0, 25.0}
    assert {s.kind: s.nominal for s in equipment["air_compressor"].sensors}["pressure"] == 7
    assert {s.kind: s.nominal for s in equipment["pure_steam_generator"].sensors}["pressure"] == 3


def test_the_dispensing_floor_scale_weighs_ethanol_within_the_recipes_tolerance() -> None:
    """A drum of ethanol (about 215 kg gross) and an IBC placed on the Cohn room's floor scale read within
    1 kg of their load: gross minus tare stays well inside ALB-20's 2 % on the 190 kg of Fraction I."""
    (room, scale), = [(r, e) for r, e in all_equipment(DEMO_PLANT) if e.kind == "scale"]
    assert room.code == "FRC" and scale.precision == "0.2 kg" and scale.calibration
    weight = scale.sensors[0]
    assert (weight.kind, weight.unit, weight.nominal, weight.profile) == ("weight", "kg", 215, "load")
    plant = Plant([s for s in signals() if s.tag in (weight.tag, "FRC-TT-201")], seed=7)

    def read(seconds: int) -> list[float]:
        return [smp.value for _ in range(seconds) for smp in plant.step(1.0) if smp.tag == weight.tag]

    assert all(abs(v - 25 - 190) < 1 for v in read(600))
    plant.place(weight.tag, 785.0)  # an IBC: 720 kg for Fraction V and its 65 kg
    assert all(abs(v - 785) < 1 for v in read(60))
    plant.place(weight.tag, None)
    assert abs(read(1)[0] - 215) < 1
    with pytest.raises(ValueError, match="not a scale"):
        plant.place("FRC-TT-201", 1.0)


def test_specs_are_frozen() -> None:
    room = all_rooms(DEMO_PLANT)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        room.code = "X"  # type: ignore[misc]


def test_every_role_has_a_demo_user() -> None:
    covered = {role for u in DEMO_USERS for role in u.roles}
    assert set(ROLES) <= covered
    with ROLES_CSV.open(encoding="utf-8") as f:
        configured = {row["role"] for row in csv.DictReader(f)}
    assert configured == set(ROLES)
    assert covered <= configured


def test_separation_of_duties_demo_users() -> None:
    def holders(role: str) -> int:
        return sum(1 for u in DEMO_USERS if role in u.roles)

    assert holders("operator") >= 2 and holders("qa_officer") >= 2
    for u in DEMO_USERS:
        if set(u.roles) & ADMIN_ROLES:
            assert len(u.roles) == 1, f"{u.username} combines an admin role with {u.roles}"
        assert u.username == u.username.lower() and " " not in u.username


def test_signature_algorithms() -> None:
    algorithms = {u.username: u.algorithm for u in DEMO_USERS}
    rsa = [u for u in DEMO_USERS if u.algorithm == "RS256"]
    sm2 = [u for u in DEMO_USERS if u.algorithm == "SM2_SM3"]
    assert len(rsa) == 1 and rsa[0].roles == ("qc_analyst",)
    assert len(sm2) == 1 and sm2[0].roles == ("qa_officer",)
    assert sum(1 for a in algorithms.values() if a == "ES256") == len(DEMO_USERS) - 2
