"""A sample's life in the QC laboratory (Appendix B.10-B.15): every step is an event, in order, with who
and when: taken, received in the lab, stored, used in a test, its leftover disposed or, for a retained
sample, destroyed after its retention. The sample row (records/plasma.py `Sample`) holds where it is now."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId
from records.plasma import SampleStatus


class SampleEventKind(StrEnum):
    TAKEN = "TAKEN"
    RECEIVED = "RECEIVED"
    STORED = "STORED"
    TESTED = "TESTED"
    DISPOSED = "DISPOSED"
    DESTROYED = "DESTROYED"


_S = SampleStatus
# The statuses each step may start from; anything else is refused (CONFLICT) with nothing written.
ALLOWED_FROM: dict[SampleEventKind, frozenset[str]] = {
    SampleEventKind.RECEIVED: frozenset({_S.TAKEN}),
    SampleEventKind.STORED: frozenset({_S.RECEIVED, _S.STORED, _S.RETAINED}),
    SampleEventKind.TESTED: frozenset({_S.RECEIVED, _S.STORED, _S.RETAINED}),
    SampleEventKind.DISPOSED: frozenset({_S.RECEIVED, _S.STORED}),
}


class SampleEvent(Base):
    __tablename__ = "sample_event"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # SampleEventKind
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[float | None] = mapped_column(Numeric(12, 3, asdecimal=False))
    unit: Mapped[str | None] = mapped_column(String(16))
    location: Mapped[str | None] = mapped_column(String(120))  # stored at; disposed at (site)
    conditions: Mapped[str | None] = mapped_column(String(200))  # on arrival; storage conditions
    method: Mapped[str | None] = mapped_column(String(120))  # the disposal method
    reason: Mapped[str | None] = mapped_column(Text)
    test_result_id: Mapped[int | None] = mapped_column(ForeignKey("test_result.id"), index=True)
