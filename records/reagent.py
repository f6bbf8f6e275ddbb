"""Reagents, reference standards, test solutions and plasma test kits of the QC laboratory (QC-22..QC-24).

A lot is received into quarantine (RECEIVED), released for use by QC supervision or QA (RELEASED), and ends
EXHAUSTED (its whole stock issued to the bench), or DESTROYED. It counts as expired from the day after its
expiry date whatever its stored status; a lot past its retest date is not used until it is standardised again
with a new retest date. `quantity` is what is on hand in the store; `issued` what is out on the bench.

Every event of a lot's life is a line of the movement log, appended and never changed: who, when, how much,
the balance on hand after it, and what it concerned (the parent or child lot of a preparation, the factor of
a standardisation, the test result a use was for, the method of a destruction).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId


class ReagentKind(StrEnum):
    REAGENT = "REAGENT"
    REFERENCE_STANDARD = "REFERENCE_STANDARD"
    TEST_SOLUTION = "TEST_SOLUTION"
    TEST_KIT = "TEST_KIT"


class ReagentStatus(StrEnum):
    RECEIVED = "RECEIVED"  # in quarantine until released
    RELEASED = "RELEASED"
    EXHAUSTED = "EXHAUSTED"  # all of it issued to the bench; a return puts it back to RELEASED
    EXPIRED = "EXPIRED"  # shown for a lot past its expiry date; never stored
    DESTROYED = "DESTROYED"


class ReagentMovementKind(StrEnum):
    RECEIVE = "RECEIVE"
    RELEASE = "RELEASE"
    PREPARE = "PREPARE"  # on the new solution, and on each parent lot it was made from
    STANDARDISE = "STANDARDISE"
    CALIBRATE = "CALIBRATE"
    ISSUE = "ISSUE"
    RETURN = "RETURN"
    USE = "USE"
    DESTROY = "DESTROY"


class ReminderDue(StrEnum):
    EXPIRY = "EXPIRY"
    RETEST = "RETEST"


class ReagentLot(Base):
    __tablename__ = "reagent_lot"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # the code on its label, scanned at use
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    lot_number: Mapped[str] = mapped_column(String(64))
    supplier: Mapped[str] = mapped_column(String(200))  # the supplier or manufacturer; "in house" if prepared
    quantity: Mapped[float] = mapped_column(Float)  # on hand in the store
    issued: Mapped[float] = mapped_column(Float, default=0.0)  # out on the bench, not returned
    unit: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(100))
    conditions: Mapped[str] = mapped_column(String(200))
    expires_on: Mapped[date]
    retest_on: Mapped[date | None]
    factor: Mapped[str | None] = mapped_column(String(40))  # the latest standardisation factor, decimal text
    status: Mapped[str] = mapped_column(String(12), default=ReagentStatus.RECEIVED.value)
    received_at: Mapped[datetime]
    received_by: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(64))


class ReagentMovement(Base):
    __tablename__ = "reagent_movement"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("reagent_lot.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[float | None] = mapped_column(Float)
    balance: Mapped[float] = mapped_column(Float)  # on hand after this line
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)  # a reason, a destruction's reason, to whom it was issued
    other_code: Mapped[str | None] = mapped_column(String(32))  # PREPARE: the parent or the child lot
    factor: Mapped[str | None] = mapped_column(String(40))  # STANDARDISE/CALIBRATE
    retest_on: Mapped[date | None]  # STANDARDISE/CALIBRATE: the new retest date
    method: Mapped[str | None] = mapped_column(String(200))  # STANDARDISE/CALIBRATE/DESTROY: how
    used_for: Mapped[str | None] = mapped_column(String(40))  # USE: the kind of record ("test_result")
    used_for_id: Mapped[str | None] = mapped_column(String(64), index=True)  # USE: its id
