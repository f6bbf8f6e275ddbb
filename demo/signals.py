"""Plausible plant signals for the simulator (no I/O here; deterministic for a given seed).

The physics is deliberately simple: every signal is a set point plus a slow random wander (an
Ornstein-Uhlenbeck process) plus sensor noise, and a few kinds add their typical behaviour:
cold stores pulled towards -30 C that warm while a door is open, a WFI loop held above 70 C,
inactivation vessels running heat-up / hold / cool-down cycles, room pressure that sags while a
door between grades is open, particle counts with bursts of activity, tanks filling and draining,
and a floor scale holding whatever load stands on it (`Plant.place`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

UNITS = {
    "temperature": "degC", "humidity": "%RH", "differential_pressure": "Pa", "particles_0_5": "count/m3",
    "particles_5_0": "count/m3", "conductivity": "uS/cm", "toc": "ppb", "ph": "pH", "speed": "rpm",
    "pressure": "kPa", "level": "%", "weight": "kg", "flow": "L/min", "door": "open",
}
KINDS = tuple(UNITS)
PROFILES = ("cold_store", "wfi", "inactivation", "room", "load")
FAULTS = ("stuck", "drift", "dropout", "bad")
AMBIENT = 21.0  # corridor air a cold-store door lets in
# How long a door stays open, in seconds. Up to 25 s a cold store warms about 4 C, staying below its -25 C alarm
# limit: an everyday opening is not an excursion (the demo's alarms stay rare, and its plasma poolable).
DOOR_OPEN_S = (8.0, 25.0)
# A door opens again at the earliest this long after it closed: by then the air is back within about half a degree
# of its set point, so openings never stack up into an excursion (the demo's alarm rate, issue 15).
DOOR_REST_S = 120.0


@dataclass(frozen=True)
class Signal:
    """One simulated sensor. Every signal has an OPC UA node; one with a `topic` (its full UNS topic,
    site/area/room/equipment/tag, `_` for a room-level sensor) is also published over MQTT. Signals
    whose topics share site/area/room share that room's doors."""

    tag: str
    kind: str
    nominal: float
    low: float
    high: float
    topic: str | None = None
    unit: str | None = None
    # temperature: guessed from the nominal when None; "load": a scale showing the load placed on it
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in UNITS:
            raise ValueError(f"{self.tag}: unknown kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.low > self.high:
            raise ValueError(f"{self.tag}: low {self.low} is above high {self.high}")
        if self.profile is not None and self.profile not in PROFILES:
            raise ValueError(f"{self.tag}: unknown profile {self.profile!r}; one of {', '.join(PROFILES)}")

    @property
    def unit_name(self) -> str:
        return self.unit or UNITS[self.kind]

    @property
    def span(self) -> float:
        return (self.high - self.low) or max(abs(self.nominal), 1.0)

    @property
    def room(self) -> str | None:
        parts = (self.topic or "").split("/")
        return "/".join(parts[:3]) if len(parts) >= 4 else None

    @property
    def temperature_profile(self) -> str:
        if self.profile:
            return self.profile
        if self.nominal <= -10:
            return "cold_store"
        if self.nominal >= 65:
            return "wfi"
        return "room"


@dataclass
class Sample:
    tag: str
    value: float
    quality: str  # GOOD / BAD


@dataclass
class _State:
    value: float
    wander: float = 0.0
    offset: float = 0.0  # drift fault accumulates here
    fault: str | None = None
    drift_rate: float = 0.0
    stuck_at: float | None = None
    excursions: list[tuple[float, float]] = field(default_factory=list)  # (delta, until)
    burst_until: float = 0.0
    burst_factor: float = 1.0
    door_until: float = 0.0  # internal door of a cold store without a door signal
    phase: float = 1.0  # level / weight direction
    load: float | None = None  # what stands on a scale ("load" profile); its nominal until placed


class Plant:
    """Advances all signals by `dt` seconds per `step()`."""

    def __init__(self, signals: list[Signal], *, seed: int | None = None, door_rate: float = 1 / 300,
                 cycle_seconds: float = 600.0) -> None:
        tags = [s.tag for s in signals]
        if len(set(tags)) != len(tags):
            raise ValueError("signal tags must be unique")
        self.signals = {s.tag: s for s in signals}
        self.rng = random.Random(seed)
        self.door_rate = door_rate  # door openings per second per door
        self.cycle_seconds = cycle_seconds  # one inactivation run, compressed for a demo
        self.t = 0.0
        self.state = {s.tag: _State(self._start_value(s)) for s in signals}
        self.rooms_with_doors = {s.room for s in signals if s.kind == "door" and s.room}
        self.doors_open: dict[str, float] = {}  # room -> open until

    def _start_value(self, s: Signal) -> float:
        if s.kind == "door":
            return 0.0
        if s.kind == "temperature" and s.temperature_profile == "inactivation":
            return AMBIENT
        return s.nominal

    # ---- faults -------------------------------------------------------------------------------
    def inject(self, tag: str, fault: str | None, rate: float | None = None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS} or None")
        st = self.state[tag]
        st.fault = fault
        st.stuck_at = st.value + st.offset if fault == "stuck" else None
        if fault == "drift":
            st.drift_rate = rate if rate is not None else self.signals[tag].span * 0.05
        if fault is None:
            st.offset = 0.0

    def excursion(self, tag: str, delta: float, seconds: float) -> None:
        self.state[tag].excursions.append((delta, self.t + seconds))

    def place(self, tag: str, load: float | None) -> None:
        """Stand a load on a scale ("load" profile), or None to put back its nominal load."""
        if self.signals[tag].profile != "load":
            raise ValueError(f"{tag} is not a scale's load")
        self.state[tag].load = load

    def door_open(self, room: str) -> bool:
        return self.doors_open.get(room, -1.0) > self.t

    # ---- physics ------------------------------------------------------------------------------
    def step(self, dt: float) -> list[Sample]:
        self.t += dt
        for s in self.signals.values():
            if (s.kind == "door" and s.room and self.doors_open.get(s.room, -DOOR_REST_S) + DOOR_REST_S <= self.t
                    and self._chance(self.door_rate, dt)):
                self.doors_open[s.room] = self.t + self.rng.uniform(*DOOR_OPEN_S)
        out = []
        for tag, s in self.signals.items():
            st = self.state[tag]
            st.value = self._advance(s, st, dt)
            sample = self._measure(s, st, dt)
            if sample is not None:  # a dropped-out sensor publishes nothing
                out.append(sample)
        return out

    def _chance(self, rate: float, dt: float) -> bool:
        return self.rng.random() < 1 - math.exp(-rate * dt)

    def _wander(self, s: Signal, st: _State, dt: float, share: float = 0.05, tau: float = 120.0) -> float:
        sigma = s.span * share / math.sqrt(tau / 2)
        st.wander += -st.wander * dt / tau + sigma * math.sqrt(dt) * self.rng.gauss(0, 1)
        return st.wander

    def _door(self, s: Signal, st: _State, dt: float) -> bool:
        if s.room in self.rooms_with_doors:
            return self.door_open(s.room or "")
        if st.door_until + DOOR_REST_S <= self.t and self._chance(self.door_rate, dt):
            st.door_until = self.t + self.rng.uniform(*DOOR_OPEN_S)
        return st.door_until > self.t

    def _advance(self, s: Signal, st: _State, dt: float) -> float:
        k = s.kind
        if s.profile == "load":  # a load at rest: only the scale's resolution moves it (see _measure)
            return s.nominal if st.load is None else st.load
        if k == "door":
            return 1.0 if self._door(s, st, dt) else 0.0
        if k == "temperature":
            return self._temperature(s, st, dt)
        if k == "differential_pressure":
            base = s.nominal + self._wander(s, st, dt, 0.03)
            # an open door between grades lets the cascade collapse towards zero
            return base * 0.15 if s.room and self.door_open(s.room) else base
        if k in ("particles_0_5", "particles_5_0"):
            return self._particles(s, st, dt)
        if k == "level":
            return self._sawtooth(s, st, dt, period=300.0, reverse=True)
        if k == "weight":
            return self._sawtooth(s, st, dt, period=600.0, reverse=False)
        if k == "humidity":
            return min(100.0, max(0.0, s.nominal + self._wander(s, st, dt)))
        if k in ("flow", "conductivity", "toc", "speed"):
            return max(0.0, s.nominal + self._wander(s, st, dt, 0.02 if k == "speed" else 0.05))
        return s.nominal + self._wander(s, st, dt, 0.02 if k == "ph" else 0.05)

    def _temperature(self, s: Signal, st: _State, dt: float) -> float:
        profile = s.temperature_profile
        if profile == "cold_store":
            # air relaxes to the set point with the door shut, towards the corridor with it open
            if self._door(s, st, dt):
                target, tau = AMBIENT, 300.0
            else:
                target, tau = s.nominal + self._wander(s, st, dt, 0.02), 60.0
            return st.value + (target - st.value) * (1 - math.exp(-dt / tau))
        if profile == "inactivation":
            return self._inactivation(s, st, dt)
        share = 0.01 if profile == "wfi" else 0.05
        return s.nominal + self._wander(s, st, dt, share)

    def _particles(self, s: Signal, st: _State, dt: float) -> float:
        """Counts at the nominal level, with bursts now and then and whenever the room's door opens."""
        if st.burst_until <= self.t and (self._chance(1 / 120, dt) or (s.room and self.door_open(s.room))):
            st.burst_until = self.t + self.rng.uniform(5, 20)
            st.burst_factor = self.rng.uniform(3, 10)
        factor = st.burst_factor if st.burst_until > self.t else 1.0
        return max(0.0, round(s.nominal * factor * math.exp(self.rng.gauss(0, 0.3))))

    def _inactivation(self, s: Signal, st: _State, dt: float) -> float:
        """Heat-up (20 %), hold at the set point (60 %), cool-down (20 %) of each cycle."""
        phase = (self.t % self.cycle_seconds) / self.cycle_seconds
        if phase < 0.2:
            target, tau = s.nominal + 1.0, self.cycle_seconds * 0.05
        elif phase < 0.8:
            target, tau = s.nominal + self._wander(s, st, dt, 0.005), 10.0
        else:
            target, tau = AMBIENT, self.cycle_seconds * 0.05
        return st.value + (target - st.value) * (1 - math.exp(-dt / tau))

    def _sawtooth(self, s: Signal, st: _State, dt: float, period: float, reverse: bool) -> float:
        lo, hi = s.low + 0.05 * s.span, s.high - 0.05 * s.span
        value = st.value + st.phase * (hi - lo) / period * dt
        if value >= hi:
            if reverse:
                st.phase = -1.0
            else:
                value = lo  # container changed
        elif value <= lo:
            st.phase = 1.0
        return value

    def _measure(self, s: Signal, st: _State, dt: float) -> Sample | None:
        """The sensor's view: noise, faults, excursions."""
        st.excursions = [(d, until) for d, until in st.excursions if until > self.t]
        if st.fault == "dropout":
            return None
        if st.fault == "stuck" and st.stuck_at is not None:
            return Sample(s.tag, st.stuck_at, "GOOD")
        if st.fault == "drift":
            st.offset += st.drift_rate * dt
        share = 0.00005 if s.profile == "load" else 0.005
        noise = 0.0 if s.kind in ("door", "particles_0_5", "particles_5_0") else self.rng.gauss(0, s.span * share)
        value = st.value + noise + st.offset + sum(d for d, _ in st.excursions)
        value = round(value, 4)
        return Sample(s.tag, value, "BAD" if st.fault == "bad" else "GOOD")
