"""The synthetic demo plasma fractionation plant: floor plan, equipment, sensors, stations and users.

Pure data, no database and no I/O: `demo.seed` turns `DEMO_PLANT` into records and `demo.setup`
issues keys for `DEMO_USERS`. Every name here is made up; the plant is a plausible layout, not a real site.

Coordinates are metres on a canvas of `width` x `height`. Sensor tags are ISA-style
`<room>-<instrument>-<loop>`: loops 1xx belong to the room itself, loops (n+1)xx to its n-th equipment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, cast

from policies.signatures import KEY_ROLES
from records.alarms import Priority
from resolvers.layout import AreaLayout, EquipmentLayout, PlantLayout, RoomGrade, RoomLayout, SensorLayout

__all__ = [
    "DEMO_PLANT",
    "DEMO_STATIONS",
    "DEMO_USERS",
    "GRADES",
    "SENSOR_UNITS",
    "AreaSpec",
    "EquipmentSpec",
    "PlantSpec",
    "RoomSpec",
    "SensorSpec",
    "StationSpec",
    "UserSpec",
    "all_equipment",
    "all_rooms",
    "all_sensors",
]

Point = tuple[float, float]

GRADES = tuple(RoomGrade)

# One unit per kind keeps the twin's trend axes and alarm texts consistent across rooms.
SENSOR_UNITS: dict[str, str] = {
    "temperature": "°C",
    "humidity": "%RH",
    "differential_pressure": "Pa",
    "particles_0_5": "counts/m3",
    "particles_5_0": "counts/m3",
    "conductivity": "µS/cm",
    "toc": "ppb",
    "ph": "pH",
    "speed": "rpm",
    "pressure": "bar",
    "level": "%",
    "weight": "kg",
    "flow": "L/min",
    "door": "state",
}

# ISA-5.1 letters: A analysis, C conductivity (user's choice), M moisture, Z position switch.
_ISA: dict[str, str] = {
    "temperature": "TT",
    "humidity": "MT",
    "differential_pressure": "PDT",
    "particles_0_5": "AT",
    "particles_5_0": "AT",
    "conductivity": "CT",
    "toc": "AT",
    "ph": "AT",
    "speed": "ST",
    "pressure": "PT",
    "level": "LT",
    "weight": "WT",
    "flow": "FT",
    "door": "ZS",
}


@dataclass(frozen=True)
class SensorSpec(SensorLayout):
    """A layout sensor, the value the simulator makes it hover around and how (demo.signals.PROFILES)."""

    nominal: float = 0.0
    profile: str | None = None


@dataclass(frozen=True)
class EquipmentSpec(EquipmentLayout):
    """Layout equipment, and whether the demo starts it cleaned, sterilised and calibrated."""

    cleaning: bool = False
    sterilization: bool = False
    calibration: bool = True


# The demo plant is a layout like any plant's (resolvers.layout), imported by demo.seed.
RoomSpec = RoomLayout
AreaSpec = AreaLayout
PlantSpec = PlantLayout


@dataclass(frozen=True)
class StationSpec:
    code: str
    name: str
    province: str
    licence_number: str


@dataclass(frozen=True)
class UserSpec:
    username: str
    display_name: str
    roles: tuple[str, ...]
    algorithm: str
    # External parties' accounts belong to an organisation (station or distributor code): their scope.
    organisation: str | None = None


# --- builders: templates without tags, numbered when the room is assembled ---------------------------


class _Tpl(NamedTuple):
    kind: str
    name: str
    nominal: float
    low: float | None = None
    high: float | None = None
    profile: str | None = None
    priority: Priority | None = None  # by consequence, where the kind's default (alarm_rule) does not fit


class _Eq(NamedTuple):
    name: str
    kind: str
    x: float
    y: float
    sensors: tuple[_Tpl, ...]
    cleaning: bool = False
    sterilization: bool = False
    calibration: bool = True
    precision: str | None = None


def _rect(x0: float, y0: float, x1: float, y1: float) -> tuple[Point, ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _opt(v: float | None) -> float | None:
    return None if v is None else float(v)


def _t(kind: str, name: str, nominal: float, low: float | None = None, high: float | None = None,
       profile: str | None = None, priority: Priority | None = None) -> _Tpl:
    return _Tpl(kind, name, nominal, low, high, profile, priority)


# Annex 1 "in operation" limits per m3; grade D has no in-operation limit, so it gets no counters.
_PARTICLES: dict[str, tuple[float, float, float, float]] = {
    # grade: (nominal 0.5 µm, limit 0.5 µm, nominal 5.0 µm, limit 5.0 µm)
    "A": (300, 3_520, 2, 29),
    "B": (20_000, 352_000, 100, 2_930),
    "C": (300_000, 3_520_000, 1_500, 29_300),
}
# Cascade to the adjacent lower grade: cleaner rooms hold more overpressure.
_DP: dict[str, tuple[float, float, float]] = {"A": (45, 35, 60), "B": (30, 20, 50), "C": (15, 10, 30)}
# Alarm priority of a room's pressure cascade and particle counts, by the consequence of a loss: open product
# (grade A, and B around it) is at risk at once, a grade C room less so (issue 15: rationalised priorities).
_CLEAN_PRIORITY = {"A": (Priority.HIGH, Priority.HIGH), "B": (Priority.HIGH, Priority.MEDIUM),
                   "C": (Priority.MEDIUM, Priority.LOW)}


def _env(grade: str) -> list[_Tpl]:
    """Room temperature and humidity for every room; DP and particles for grades A, B and C."""
    # Room comfort: slow to matter, so LOW.
    if grade in ("A", "B", "C"):
        out = [_t("temperature", "Room temperature", 20, 18, 22, priority=Priority.LOW),
               _t("humidity", "Room humidity", 45, 30, 60, priority=Priority.LOW)]
        dp, dp_low, dp_high = _DP[grade]
        n05, l05, n50, l50 = _PARTICLES[grade]
        dp_priority, particle_priority = _CLEAN_PRIORITY[grade]
        out += [
            _t("differential_pressure", "Differential pressure to adjacent", dp, dp_low, dp_high, priority=dp_priority),
            _t("particles_0_5", "Particles >=0.5 µm", n05, None, l05, priority=particle_priority),
            _t("particles_5_0", "Particles >=5.0 µm", n50, None, l50, priority=particle_priority),
        ]
        return out
    return [_t("temperature", "Room temperature", 21, 15, 25, priority=Priority.LOW),
            _t("humidity", "Room humidity", 50, 30, 70, priority=Priority.LOW)]


def _cold_store_env() -> list[_Tpl]:
    # Plasma must stay at or below -20 °C; alarming at -25 leaves time to move it. Three mapped points.
    return [
        _t("temperature", "Air temperature (door side)", -32, -40, -25),
        _t("temperature", "Air temperature (centre)", -32, -40, -25),
        _t("temperature", "Air temperature (rear, warmest mapped point)", -31, -40, -25),
        _t("humidity", "Room humidity", 40, None, 80),
        _t("door", "Main door open", 0),
    ]


def _frozen(name: str = "Product temperature") -> _Tpl:
    return _t("temperature", name, -32, -40, -25)


def _speed(name: str, nominal: float, low: float, high: float) -> _Tpl:
    return _t("speed", name, nominal, low, high)


def _level() -> _Tpl:
    return _t("level", "Level", 60, 5, 95)


def _room(code: str, name: str, grade: str, polygon: tuple[Point, ...], equipment: Sequence[_Eq],
          env: Sequence[_Tpl] | None = None) -> RoomSpec:
    """Numbers the tags: room loops 101.., equipment n loops (n+1)01..; equipment codes EQ-<room>-nn."""
    if grade not in GRADES:
        raise ValueError(f"{code}: unknown grade {grade!r}")
    room_sensors = tuple(_sensor(code, 100 + i, t) for i, t in enumerate(env or _env(grade), start=1))
    items = tuple(
        EquipmentSpec(
            code=f"EQ-{code}-{n:02d}", name=e.name, kind=e.kind, x=float(e.x), y=float(e.y),
            sensors=tuple(_sensor(code, (n + 1) * 100 + i, t) for i, t in enumerate(e.sensors, start=1)),
            cleaning=e.cleaning, sterilization=e.sterilization, calibration=e.calibration, precision=e.precision,
        )
        for n, e in enumerate(equipment, start=1)
    )
    # Floats throughout, so the JSON the twin serves does not mix 20 and 20.0.
    points = tuple((float(x), float(y)) for x, y in polygon)
    return RoomSpec(code, name, RoomGrade(grade), points, items, room_sensors)


def _sensor(prefix: str, loop: int, t: _Tpl) -> SensorSpec:
    tag = f"{prefix}-{_ISA[t.kind]}-{loop}"
    low, high, nominal = _opt(t.low), _opt(t.high), float(t.nominal)
    delay, deadband, priority = alarm_rule(t.kind, nominal, low, high, t.priority)
    return SensorSpec(tag, t.name, t.kind, SENSOR_UNITS[t.kind], low, high, delay, deadband, priority,
                      nominal=nominal, profile=t.profile)


# Priority by consequence (ISA-18.2 rationalisation) where the template does not say: what a lost value puts at
# risk, and how soon. Product quality values of the process are MEDIUM; utilities' speeds, levels, flows and
# weights LOW (the process values downstream alarm if it matters).
_KIND_PRIORITY = {"ph": Priority.MEDIUM, "conductivity": Priority.MEDIUM, "toc": Priority.MEDIUM,
                  "pressure": Priority.MEDIUM, "speed": Priority.LOW, "level": Priority.LOW, "flow": Priority.LOW,
                  "weight": Priority.LOW, "humidity": Priority.LOW}


def alarm_rule(kind: str, nominal: float, low: float | None, high: float | None,
               priority: Priority | None = None) -> tuple[float, float, Priority]:
    """Demo alarm settings (on-delay s, deadband, priority). A plant sets validated values per tag (PR-76).
    Plasma and product in cold storage is HIGH and alarms at once, so the floor plan reacts within a second (the
    simulated doors never take it past its limit); WFI below its temperature is HIGH (microbial growth); other
    process temperatures MEDIUM; others by kind (_KIND_PRIORITY) or as the template says. All but cold storage
    wait out brief spikes, particle counts (bursts as people move) longest."""
    limit = high if high is not None else low
    deadband = 1.0 if kind == "temperature" else round(0.02 * abs(limit or nominal), 6)
    if low is not None and high is not None:  # never wider than a tenth of the band between the limits
        deadband = min(deadband, round(0.1 * (high - low), 6))
    if kind == "temperature" and nominal <= -10 and priority in (None, Priority.HIGH):
        return 0.0, deadband, Priority.HIGH
    if priority is None:
        high_priority = kind == "differential_pressure" or (kind == "temperature" and nominal >= 65)
        priority = Priority.HIGH if high_priority else _KIND_PRIORITY.get(kind, Priority.MEDIUM)
    return (30.0 if kind.startswith("particles") else 10.0), deadband, priority


# --- the plant -------------------------------------------------------------------------------------------
# Three bands of rooms (y 2-22, 28-50, 56-78) with corridors between them; the notches of the two
# L-shaped rooms are left empty so even bounding boxes never overlap.

_WFI_COND = _t("conductivity", "Conductivity (25 °C compensated)", 0.6, None, 1.3)
_WFI_TOC = _t("toc", "Total organic carbon", 150, None, 500)
_DOOR = _t("door", "Door open", 0)


def _fridge_unit(name: str, x: float, y: float) -> _Eq:
    return _Eq(name, "cold_room_unit", x, y, (
        _t("temperature", "Supply air temperature", -36, -45, -28),
        _speed("Compressor speed", 2900, 1000, 3600),
    ))


def _cohn(name: str, x: float, y: float, temp: float, ph: float) -> _Eq:
    # Cold-ethanol steps run a few degrees below zero; pH decides which proteins precipitate.
    return _Eq(name, "fractionation_tank", x, y, (
        _t("temperature", "Product temperature", temp, temp - 2, temp + 2),
        _t("ph", "pH", ph, ph - 0.2, ph + 0.2),
        _speed("Agitator speed", 80, 40, 120),
        _level(),
    ), cleaning=True)


def _centrifuge(name: str, x: float, y: float, rpm: float, temp: float, low: float, high: float) -> _Eq:
    return _Eq(name, "centrifuge", x, y, (
        _speed("Bowl speed", rpm, rpm - 1000, rpm + 1000),
        _t("temperature", "Effluent temperature", temp, low, high),
    ), cleaning=True)


def _cold_tank(name: str, kind: str, x: float, y: float, *extra: _Tpl) -> _Eq:
    # Cryo-poor plasma is thawed and pooled cold so the cryoprecipitate can be taken off.
    return _Eq(name, kind, x, y, (
        _t("temperature", "Product temperature", 2, 0, 4),
        _speed("Agitator speed", 60, 30, 120),
        _level(),
        *extra,
    ), cleaning=True)


def _chrom(name: str, x: float, y: float) -> _Eq:
    return _Eq(name, "chromatography_skid", x, y, (
        _t("flow", "Column flow", 12, 5, 20),
        _t("pressure", "Column inlet pressure", 2, None, 3.5),
        _t("conductivity", "Eluate conductivity", 12_000, 8_000, 16_000),
        _t("ph", "Eluate pH", 7.0, 6.8, 7.2),
    ), cleaning=True)


def _uf(name: str, x: float, y: float) -> _Eq:
    return _Eq(name, "uf_skid", x, y, (
        _t("pressure", "Feed pressure", 1.5, None, 3),
        _t("flow", "Retentate flow", 40, 10, 80),
        _t("temperature", "Retentate temperature", 8, 2, 12),
    ), cleaning=True)


def _inactivation(name: str, x: float, y: float, temp: float, low: float, high: float) -> _Eq:
    return _Eq(name, "inactivation_tank", x, y, (
        _t("temperature", "Product temperature", temp, low, high),
        _speed("Agitator speed", 60, 30, 90),
        _level(),
    ), cleaning=True, sterilization=True)


def _lyo(name: str, x: float, y: float) -> _Eq:
    return _Eq(name, "lyophilizer", x, y, (
        _t("temperature", "Shelf temperature", -40, -55, 40, priority=Priority.MEDIUM),
        # A refrigeration loop held at its set point: no door lets corridor air at it (the "room" profile).
        _t("temperature", "Condenser temperature", -70, -80, -60, profile="room", priority=Priority.MEDIUM),
        _t("pressure", "Chamber pressure", 0.0002, None, 0.001),
    ), cleaning=True, sterilization=True)


def _inspection(name: str, x: float, y: float) -> _Eq:
    return _Eq(name, "inspection_machine", x, y, (_speed("Star wheel speed", 200, 100, 300),))


def _incubator(name: str, x: float, y: float, low: float, high: float) -> _Eq:
    mid = (low + high) / 2
    return _Eq(name, "incubator", x, y, (_t("temperature", "Chamber temperature", mid, low, high),))


def _compressor(name: str, x: float, y: float) -> _Eq:
    return _Eq(name, "air_compressor", x, y, (
        _t("pressure", "Discharge pressure", 7, 6, 8.5),
        _speed("Motor speed", 3000, 1000, 3600),
    ))


def _ahu(name: str, x: float, y: float) -> _Eq:
    return _Eq(name, "ahu", x, y, (
        _t("temperature", "Supply air temperature", 18, 16, 20),
        _t("humidity", "Supply air humidity", 45, 30, 60),
        _t("differential_pressure", "HEPA filter pressure drop", 250, 100, 450),
        _speed("Supply fan speed", 1450, 1000, 1800),
    ))


_LOGISTICS = AreaSpec("AR-LOG", "Plasma logistics", (
    _room("RCV", "Plasma receipt", "CNC", _rect(2, 2, 18, 22), [
        _Eq("Quarantine plasma freezer", "freezer", 6, 6, (_frozen(), _DOOR)),
        _Eq("Receipt carton scale", "balance", 12, 16, (_t("weight", "Carton weight", 18, None, 30),)),
    ], env=[*_env("CNC"), _t("door", "Dock door open", 0)]),
    _room("CS1", "Plasma cold store 1 (-30 °C)", "CNC", _rect(20, 2, 30, 22), [
        _fridge_unit("Refrigeration unit 1A", 25, 5),
        _fridge_unit("Refrigeration unit 1B (standby)", 25, 19),
    ], env=_cold_store_env()),
    _room("CS2", "Plasma cold store 2 (-30 °C)", "CNC", _rect(32, 2, 42, 22), [
        _fridge_unit("Refrigeration unit 2A", 37, 5),
        _fridge_unit("Refrigeration unit 2B (standby)", 37, 19),
    ], env=_cold_store_env()),
))

_FRACTIONATION = AreaSpec("AR-FRA", "Thawing, pooling and fractionation", (
    _room("THP", "Thawing and pooling", "D", _rect(44, 2, 60, 22), [
        _cold_tank("Plasma thawing tank", "thawing_tank", 48, 6),
        _cold_tank("Plasma pooling tank", "pooling_tank", 56, 6, _t("weight", "Pool weight", 2400, 0, 4000)),
        _centrifuge("Cryoprecipitate centrifuge", 52, 17, 6000, 2, 0, 6),
    ]),
    _room("FRC", "Cold-ethanol fractionation (Cohn)", "C",
          ((62, 2), (90, 2), (90, 22), (76, 22), (76, 12), (62, 12)), [
              _cohn("Fraction I tank", 66, 6, -2, 7.2),  # ALB-20 holds Fraction I at -3 to -1 °C
              _cohn("Fraction II+III tank", 73, 6, -5, 6.9),
              _cohn("Fraction IV tank", 80, 6, -5, 5.9),
              _cohn("Fraction V tank", 86, 6, -5, 4.8),
              _Eq("Filter press", "filter_press", 80, 17, (
                  _t("pressure", "Feed pressure", 2.5, None, 4),
                  _t("temperature", "Filtrate temperature", -5, -7, -3),
              ), cleaning=True),
              _centrifuge("Fractionation centrifuge", 86, 17, 5500, -5, -7, -3),
              # Where the ethanol for the Cohn steps is dispensed: a drum (about 215 kg on its pallet) or an
              # IBC stands on it; the high limit is its capacity.
              _Eq("Ethanol dispensing floor scale", "scale", 69, 10, (
                  _t("weight", "Gross weight", 215, None, 1500, profile="load"),
              ), precision="0.2 kg"),
          ]),
))

_PURIFICATION = AreaSpec("AR-PUR", "Purification and virus inactivation", (
    _room("CHR", "Chromatography", "C", _rect(92, 2, 118, 22), [
        _chrom("Ion-exchange chromatography skid", 98, 8),
        _chrom("Affinity chromatography skid", 110, 8),
        _Eq("Buffer preparation tank", "buffer_tank", 104, 17, (
            _t("ph", "Buffer pH", 7.0, 6.8, 7.2), _level(), _speed("Agitator speed", 100, 50, 150),
        ), cleaning=True),
    ]),
    _room("UFD", "Ultrafiltration / diafiltration", "C", _rect(2, 28, 20, 50), [
        _uf("UF/DF skid 1", 7, 34),
        _uf("UF/DF skid 2", 15, 34),
        _Eq("Diafiltration buffer tank", "buffer_tank", 11, 45, (
            _level(), _t("ph", "Buffer pH", 7.0, 6.8, 7.2),
        ), cleaning=True),
    ]),
    _room("VIN", "Virus inactivation and removal", "C", _rect(22, 28, 40, 50), [
        # Albumin is pasteurised at 60 °C for 10 h; the S/D step holds at 25 °C.
        _inactivation("Pasteurisation tank", 27, 34, 60, 59.5, 60.5),
        _inactivation("Solvent/detergent tank", 35, 34, 25, 24, 26),
        _Eq("Nanofiltration skid", "nanofiltration_skid", 31, 45, (
            _t("pressure", "Filter inlet pressure", 2, 0.5, 3.4),
            _t("flow", "Filtrate flow", 2, 0.5, 5),
        ), cleaning=True, sterilization=True),
    ]),
))

_STERILE = AreaSpec("AR-STE", "Sterile manufacturing", (
    _room("FBG", "Aseptic preparation (grade B background)", "B", _rect(42, 28, 66, 50), [
        _Eq("Formulation tank", "formulation_tank", 47, 34, (
            _t("temperature", "Product temperature", 5, 2, 8),
            _level(),
            _t("weight", "Bulk weight", 300, 0, 500),
        ), cleaning=True, sterilization=True),
        _Eq("Steam sterilizer (autoclave)", "autoclave", 60, 34, (
            _t("temperature", "Chamber temperature", 121.5, 121, 124),
            _t("pressure", "Chamber pressure", 2.1, 1.9, 2.5),
        ), cleaning=True),
        _Eq("Depyrogenation tunnel", "depyrogenation_tunnel", 54, 45, (
            _t("temperature", "Hot zone temperature", 300, 280, 330),
            _t("differential_pressure", "Tunnel to room pressure", 10, 5, 20),
        ), cleaning=True),
    ]),
    _room("FIL", "Aseptic filling core", "A", _rect(68, 28, 84, 42), [
        _Eq("Vial filling line", "filling_line", 73, 33, (
            _speed("Filling speed", 120, 60, 180),
            _t("weight", "Fill weight", 0.0525, 0.051, 0.054),
        ), cleaning=True, sterilization=True),
        _Eq("Stoppering and capping machine", "capping_machine", 80, 33, (
            _speed("Capping speed", 120, 60, 180),
        ), cleaning=True, sterilization=True),
        _Eq("RABS unidirectional airflow unit", "rabs", 76, 39, (
            _t("differential_pressure", "RABS to room pressure", 15, 10, 25),
        ), cleaning=True),
    ]),
    _room("LYO", "Freeze drying", "B", _rect(86, 28, 104, 50), [
        _lyo("Freeze dryer 1", 91, 35),
        _lyo("Freeze dryer 2", 99, 35),
    ]),
))

_FINISHING = AreaSpec("AR-FIN", "Inspection and packaging", (
    _room("VIS", "Visual inspection", "D", _rect(106, 28, 118, 50), [
        _inspection("Automatic inspection machine 1", 112, 33),
        _inspection("Automatic inspection machine 2", 112, 44),
    ]),
    _room("PKG", "Packaging", "CNC", _rect(2, 56, 24, 78), [
        _Eq("Vial labeller", "labeller", 7, 62, (_speed("Labelling speed", 150, 60, 240),),
            calibration=False),
        _Eq("Checkweigher", "checkweigher", 18, 70, (_t("weight", "Carton weight", 0.35, 0.33, 0.37),)),
    ]),
))

_QC = AreaSpec("AR-QC", "Quality control", (
    _room("QCL", "QC laboratory", "CNC", ((26, 56), (46, 56), (46, 66), (38, 66), (38, 78), (26, 78)), [
        _Eq("HPLC 1", "hplc", 30, 60, (
            _t("pressure", "Pump pressure", 150, None, 400),
            _t("temperature", "Column oven temperature", 30, 28, 32),
        )),
        _Eq("Analytical balance", "balance", 42, 60, (_t("weight", "Load", 0.0, None, 0.22),)),
        _Eq("Stability chamber", "stability_chamber", 30, 72, (
            _t("temperature", "Chamber temperature", 25, 23, 27),
            _t("humidity", "Chamber humidity", 60, 55, 65),
        )),
        _Eq("Retention sample freezer", "freezer", 35, 72, (_frozen("Cabinet temperature"),)),
    ]),
    _room("QCM", "QC microbiology", "C", _rect(48, 56, 62, 78), [
        _Eq("Biosafety cabinet", "biosafety_cabinet", 52, 60, (
            _t("differential_pressure", "Exhaust filter pressure drop", 120, 80, 200),
        ), cleaning=True),
        _incubator("Incubator 30-35 °C", 52, 72, 30, 35),
        _incubator("Incubator 20-25 °C", 58, 72, 20, 25),
    ]),
))

_UTILITIES = AreaSpec("AR-UTL", "Utilities", (
    _room("WTR", "Purified water and WFI", "CNC", _rect(64, 56, 84, 78), [
        _Eq("PW generator (RO/EDI)", "pw_generator", 68, 60, (
            _t("conductivity", "Product water conductivity", 0.8, None, 5.1),
            _t("flow", "Product flow", 30, 10, 60),
        )),
        _Eq("Multi-effect still", "still", 76, 60, (
            _t("temperature", "Distillate temperature", 95, 85, 100),
            _WFI_COND,
            _t("pressure", "Plant steam pressure", 6, 4, 8),
        )),
        _Eq("WFI storage tank", "wfi_tank", 68, 72, (
            _level(), _t("temperature", "Tank temperature", 80, 70, 90),
        ), cleaning=True, sterilization=True),
        # Hot loop: at 70 °C and above WFI stays self-sanitising.
        _Eq("WFI distribution loop", "wfi_loop", 78, 72, (
            _t("temperature", "Return temperature", 80, 70, 90),
            _WFI_COND,
            _WFI_TOC,
            _t("flow", "Return flow", 120, 80, 200),
            _t("pressure", "Supply pressure", 3, 2, 5),
        ), cleaning=True, sterilization=True),
    ]),
    _room("HVC", "HVAC plant room", "CNC", _rect(86, 56, 104, 78), [
        _ahu("AHU-01 sterile suite", 91, 61),
        _ahu("AHU-02 purification", 99, 61),
        _ahu("AHU-03 general areas", 95, 72),
    ]),
    _room("UAS", "Compressed air and pure steam", "CNC", _rect(106, 56, 118, 78), [
        _compressor("Oil-free air compressor 1", 110, 60),
        _compressor("Oil-free air compressor 2", 115, 60),
        # Saturated steam at 3 bar(g) is about 144 °C; its condensate must meet WFI conductivity.
        _Eq("Pure steam generator", "pure_steam_generator", 112, 72, (
            _t("pressure", "Steam pressure", 3, 2.5, 3.5),
            _t("temperature", "Steam temperature", 143, 138, 148),
            _t("conductivity", "Condensate conductivity", 0.6, None, 1.3),
        )),
    ]),
))

DEMO_PLANT = PlantSpec(
    site_code="SITE-01",
    site_name="Demo Biologics Co. (synthetic)",
    code="PLT-01",
    name="Demo plasma fractionation plant",
    width=120,
    height=80,
    areas=(_LOGISTICS, _FRACTIONATION, _PURIFICATION, _STERILE, _FINISHING, _QC, _UTILITIES),
)


def all_rooms(plant: PlantSpec) -> list[RoomSpec]:
    return [r for a in plant.areas for r in a.rooms]


# The demo's layout holds only its own spec types (made by _room and _sensor above).

def all_equipment(plant: PlantSpec) -> list[tuple[RoomSpec, EquipmentSpec]]:
    return [(r, cast("EquipmentSpec", e)) for r in all_rooms(plant) for e in r.equipment]


def all_sensors(plant: PlantSpec) -> list[tuple[RoomSpec, EquipmentSpec | None, SensorSpec]]:
    """Room-level sensors first (equipment None), then each equipment's, room by room."""
    out: list[tuple[RoomSpec, EquipmentSpec | None, SensorSpec]] = []
    for r in all_rooms(plant):
        out += [(r, None, cast("SensorSpec", s)) for s in r.sensors]
        out += [(r, cast("EquipmentSpec", e), cast("SensorSpec", s)) for e in r.equipment for s in e.sensors]
    return out


# --- partners and people (all fictitious) ---------------------------------------------------------------

DEMO_STATIONS: tuple[StationSpec, ...] = (
    StationSpec("PS-N1", "Station North 1", "Northern Province (demo)", "DEMO-PSL-0001"),
    StationSpec("PS-N2", "Station North 2", "Northern Province (demo)", "DEMO-PSL-0002"),
    StationSpec("PS-E1", "Station East 1", "Eastern Province (demo)", "DEMO-PSL-0003"),
    StationSpec("PS-S1", "Station South 1", "Southern Province (demo)", "DEMO-PSL-0004"),
    StationSpec("PS-W1", "Station West 1", "Western Province (demo)", "DEMO-PSL-0005"),
)


def _user(username: str, display_name: str, *roles: str, algorithm: str = "ES256",
          organisation: str | None = None) -> UserSpec:
    return UserSpec(username, display_name, roles, algorithm, organisation)


# Second operator and QA officer exist so separation-of-duties checks (perform vs. verify) can be shown.
DEMO_USERS: tuple[UserSpec, ...] = (
    _user("op.chen", "Chen Yi (demo operator)", "operator"),
    _user("op.wang", "Wang Er (demo operator)", "operator"),
    _user("sup.zhao", "Zhao San (demo supervisor)", "production_supervisor"),
    _user("log.sun", "Sun Si (demo logistics)", "plasma_logistics"),
    _user("qc.zhou", "Zhou Wu (demo QC analyst)", "qc_analyst"),
    _user("qcr.wu", "Wu Liu (demo QC reviewer)", "qc_reviewer"),
    _user("qa.li", "Li Qi (demo QA officer)", "qa_officer"),
    _user("qa.zheng", "Zheng Ba (demo QA officer)", "qa_officer"),
    _user("qp.feng", "Feng Jiu (demo qualified person)", "qualified_person"),
    _user("stn.hua", "Hua Shi (demo station partner)", "station_partner", organisation="PS-N1"),
    _user("dist.ma", "Ma Yao (demo distributor)", "distributor_partner", organisation="DIST-01"),
    _user("reg.he", "He Ling (demo regulator)", "regulator"),
    _user("adm.lin", "Lin Dong (demo system admin)", "system_admin"),
    _user("aud.xu", "Xu Nan (demo audit admin)", "audit_admin"),
    _user("svc.bridge", "Demo device bridge (service account)", "device_bridge"),
    _user("qc.song", "Song Xi (demo QC analyst, RSA key)", "qc_analyst", algorithm="RS256"),
    _user("qa.tang", "Tang Bei (demo QA officer, SM2 key)", "qa_officer", algorithm="SM2_SM3"),
)


def key_persons() -> frozenset[str]:
    """Demo users holding a key role (IT-48): their certificates come from the demo's third-party CA."""
    return frozenset(u.username for u in DEMO_USERS if KEY_ROLES & set(u.roles))
