"""The plant as built: sites, plants, areas, rooms, equipment (Appendix B.2) and its logbook, sensors."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from records.base import Base, BigId, utcnow


class Site(Base):
    __tablename__ = "site"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plants: Mapped[list[Plant]] = relationship(back_populates="site", order_by="Plant.id")


class Plant(Base):
    __tablename__ = "plant"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Floor-plan canvas in metres; rooms and equipment are placed in this frame.
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    site: Mapped[Site] = relationship(back_populates="plants")
    areas: Mapped[list[Area]] = relationship(back_populates="plant", order_by="Area.id")


class Area(Base):
    __tablename__ = "area"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plant.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plant: Mapped[Plant] = relationship(back_populates="areas")
    rooms: Mapped[list[Room]] = relationship(back_populates="area", order_by="Room.id")


class Room(Base):
    __tablename__ = "room"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # GMP cleanliness grade: A, B, C, D or CNC (controlled not classified).
    grade: Mapped[str] = mapped_column(String(8))
    # Floor-plan polygon as [[x, y], ...] in plant metres.
    polygon: Mapped[list[list[float]]] = mapped_column(JSON)
    area: Mapped[Area] = relationship(back_populates="rooms")
    equipment: Mapped[list[Equipment]] = relationship(back_populates="room", order_by="Equipment.id")
    sensors: Mapped[list[Sensor]] = relationship(back_populates="room", order_by="Sensor.id")


class EquipmentStatus(StrEnum):
    """Appendix B.2 YXZT, the operating status of equipment."""

    RUNNING = "RUNNING"
    IDLE = "IDLE"
    FAULT = "FAULT"
    MAINTENANCE = "MAINTENANCE"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"


class CareKind(StrEnum):
    """What keeps equipment fit for use (B.2): cleaning QJ*, sterilisation MJ*, calibration JY*."""

    CLEANING = "CLEANING"
    STERILIZATION = "STERILIZATION"
    CALIBRATION = "CALIBRATION"


class Equipment(Base):
    """Appendix B.2: name SBMC, code SBBH, status YXZT, cleaning QJ*, sterilisation MJ*, calibration JY*."""

    __tablename__ = "equipment"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=EquipmentStatus.IDLE)
    cleaning_status: Mapped[str | None] = mapped_column(String(16))
    cleaned_at: Mapped[datetime | None]
    cleaning_valid_until: Mapped[date | None]
    sterilization_status: Mapped[str | None] = mapped_column(String(16))
    sterilized_at: Mapped[datetime | None]
    sterilization_valid_until: Mapped[date | None]
    calibration_status: Mapped[str | None] = mapped_column(String(16))
    calibrated_on: Mapped[date | None]
    calibration_valid_until: Mapped[date | None]
    # A measuring instrument's smallest division, as its certificate states it (B.4 CJJD: "0.01 kg").
    precision: Mapped[str | None] = mapped_column(String(32))
    room: Mapped[Room] = relationship(back_populates="equipment")
    sensors: Mapped[list[Sensor]] = relationship(back_populates="equipment", order_by="Sensor.id")


class Sensor(Base):
    """A measured tag bound to a room and, where it has one, an equipment item."""

    __tablename__ = "sensor"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), index=True)
    low_limit: Mapped[float | None] = mapped_column(Float)
    high_limit: Mapped[float | None] = mapped_column(Float)
    # Simulator hint for the demo plant: the nominal value the signal hovers around.
    nominal: Mapped[float | None] = mapped_column(Float)
    # Alarm rule (ISA-18.2): out of limits this many seconds before raising, back inside by the
    # deadband before clearing; priority LOW, MEDIUM, HIGH or CRITICAL.
    alarm_delay_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    alarm_deadband: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    alarm_priority: Mapped[str] = mapped_column(String(10), default="MEDIUM", server_default="MEDIUM")
    room: Mapped[Room] = relationship(back_populates="sensors")
    equipment: Mapped[Equipment | None] = relationship(back_populates="sensors")

    def limits(self) -> dict[str, Any]:
        return {"low": self.low_limit, "high": self.high_limit}


class LogKind(StrEnum):
    """What an equipment logbook entry records (B.2, PR-01, PR-05)."""

    STATUS = "STATUS"
    USE = "USE"
    CLEANING = "CLEANING"
    STERILIZATION = "STERILIZATION"
    CALIBRATION = "CALIBRATION"
    ALARM = "ALARM"
    MAINTENANCE = "MAINTENANCE"
    NOTE = "NOTE"


class EquipmentLog(Base):
    """The equipment logbook: one line per event in the life of an item, written by the system as it
    happens (use by a batch phase, status changes, care records, alarms on its tags) or by a person
    (maintenance, notes). Lines are only added; a correction is a new line."""

    __tablename__ = "equipment_log"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    # True when a person wrote the line by hand; False when the system wrote it from the event itself.
    manual: Mapped[bool] = mapped_column(Boolean)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    # What the line came from: "phase_run:12", "alarm:5", "signature:40".
    reference: Mapped[str | None] = mapped_column(String(64))


def log_line(equipment_id: int, kind: LogKind, text: str, by: str, *, manual: bool = False,
             batch_id: int | None = None, reference: str | None = None, at: datetime | None = None) -> EquipmentLog:
    """A new logbook line, for the caller's session to add in the transaction of the event it records."""
    return EquipmentLog(equipment_id=equipment_id, at=at or utcnow(), kind=kind.value, text=text, by=by,
                        manual=manual, batch_id=batch_id, reference=reference)
