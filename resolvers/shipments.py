"""Station exchange: a plasma station declares a shipment of units (issue: plasma lifecycle).

Every row is checked on its own; good rows are written together in one transaction with their
audit events and the station's signature, bad rows are reported with a code and reason (and
audited in the same transaction) and never block the good ones. A re-sent shipment creates no
duplicates (the donation number is unique). A shipment refused as a whole is audited too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from policies.errors import AppError, ErrorCode
from records import audit
from records.audit import PendingEvent
from records.base import utcnow
from records.plasma import Donor, PlasmaShipment, PlasmaStation, PlasmaUnit
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

BLOOD_TYPES = ("A", "B", "O", "AB")
WEIGHT_RANGE_G = (200.0, 1000.0)  # plausible source-plasma weights; the label value is checked at receipt
MAX_AGE = timedelta(days=3 * 365)
MAX_ROWS = 5000
# Donation numbers, donor cards, shipments and stations: ASCII letters, digits and "-", 1-32 characters,
# starting with a letter or digit. Nothing a spreadsheet reads as a formula, no markup, no control characters.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
CODE_RULE = "1-32 letters, digits or '-', starting with a letter or digit"
# The row of a manifest file's problem with the file as a whole (resolvers/manifest_files.py).
WHOLE_FILE = 0
SHOWN_CHARS = 40


def shown(value: str) -> str:
    """A value quoted back in a report or an audit event: cut short, anything not ASCII escaped
    (a lone surrogate cannot be encoded, stored or hashed)."""
    return value[:SHOWN_CHARS].encode("ascii", "backslashreplace").decode("ascii")


@dataclass(frozen=True)
class UnitRow:
    donation_number: str
    donor_card_number: str
    blood_type: str
    collected_on: date
    weight_g: float


class RowOutcome(StrEnum):
    """A declared row: accepted, a duplicate (already declared with the same data), or rejected."""

    ACCEPTED = "ACCEPTED"
    DUPLICATE = "DUPLICATE"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class RowResult:
    row: int
    donation_number: str
    result: RowOutcome
    code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ShipmentReport:
    shipment_code: str
    station_code: str
    rows: list[RowResult]

    def count(self, result: str) -> int:
        return sum(1 for r in self.rows if r.result == result)


def _row_problem(r: UnitRow, today: date) -> str | None:
    if not CODE.fullmatch(r.donation_number):
        return f"donation number must be {CODE_RULE}"
    if not CODE.fullmatch(r.donor_card_number):
        return f"donor card number must be {CODE_RULE}"
    if r.blood_type not in BLOOD_TYPES:
        return f"blood type must be one of {', '.join(BLOOD_TYPES)}"
    if r.collected_on > today:
        return "collection date is in the future"
    if today - r.collected_on > MAX_AGE:
        return "collection date is more than three years ago"
    if not WEIGHT_RANGE_G[0] <= r.weight_g <= WEIGHT_RANGE_G[1]:
        return f"plasma weight {r.weight_g} g is outside {WEIGHT_RANGE_G[0]:.0f}-{WEIGHT_RANGE_G[1]:.0f} g"
    return None


def _unicode(rows: list[UnitRow]) -> bool:
    """No lone surrogate in the units' texts: such text can be neither signed nor stored."""
    try:
        for r in rows:
            (r.donation_number + r.donor_card_number + r.blood_type).encode()
    except UnicodeEncodeError:
        return False
    return True


def _shipment_problem(shipment_code: str, rows: list[UnitRow], parse_errors: list[RowResult]) -> str | None:
    if not CODE.fullmatch(shipment_code):
        return f"shipment code must be {CODE_RULE}"
    if not _unicode(rows):
        return "the units contain text that is not valid Unicode (a lone surrogate)"
    whole_file = next((e.reason for e in parse_errors if e.row == WHOLE_FILE), None)
    if whole_file is not None:
        return whole_file
    if not (rows or parse_errors) or len(rows) > MAX_ROWS:
        return f"a shipment has 1 to {MAX_ROWS} units"
    return None


async def submit(ctx: Context, req: SignedRequest, station_code: str, shipment_code: str, rows: list[UnitRow], *,
                 line_numbers: list[int] | None = None, parse_errors: list[RowResult] | None = None,
                 ) -> ShipmentReport:
    """submitPlasmaShipment, and submitPlasmaShipmentFile with the file's line numbers and the rows
    that did not parse (resolvers/manifest_files.py)."""
    principal = ctx.signed_in()
    errors = parse_errors or []

    async def clean() -> PlasmaStation:
        if principal.is_scoped:
            scope = principal.scope or {}
            if station_code not in (scope.get("stations") or []):
                raise AppError(ErrorCode.OUT_OF_SCOPE, "this token may only submit shipments of its own stations")
        problem = _shipment_problem(shipment_code, rows, errors)
        if problem is not None:
            await ctx.db.record(ctx.audit_context(), PendingEvent(
                "SHIPMENT_REJECTED", "plasma_shipment", None,
                {"operation": req.operation, "station": shown(station_code), "shipment": shown(shipment_code),
                 "code": ErrorCode.VALIDATION_FAILED.value, "reason": problem}))
            refused = AppError(ErrorCode.VALIDATION_FAILED, problem)
            refused.audited = True
            raise refused
        station = None
        if CODE.fullmatch(station_code):
            async with ctx.db.read() as s:
                station = (await s.execute(select(PlasmaStation).where(PlasmaStation.code == station_code))
                           ).scalar_one_or_none()
        if station is None:
            raise AppError(ErrorCode.NOT_FOUND if not principal.is_scoped else ErrorCode.OUT_OF_SCOPE,
                           f"unknown plasma station {shown(station_code)}")
        return station

    async def save(s: AsyncSession, station: PlasmaStation, signatures: Signatures[PlasmaStation]
                   ) -> ShipmentReport:
        return await _write(s, signatures, station, shipment_code, rows, line_numbers, errors)

    return await perform(ctx, req, reason=lambda station: f"shipment {shipment_code} from {station.code}",
                         clean=clean, save=save, meanings=("PERFORMED",),
                         conflict="the shipment was being written concurrently; send it again")


async def _write(s: AsyncSession, signatures: Signatures[PlasmaStation], station: PlasmaStation, code: str,
                 rows: list[UnitRow], line_numbers: list[int] | None, parse_errors: list[RowResult]
                 ) -> ShipmentReport:
    today = utcnow().date()
    results: list[RowResult] = []
    # Only well-formed codes are looked up; the others are rejected row by row below.
    numbers = [r.donation_number for r in rows if CODE.fullmatch(r.donation_number)]
    existing = {u.donation_number: u for u in (await s.execute(
        select(PlasmaUnit).where(PlasmaUnit.donation_number.in_(numbers))
        .options(selectinload(PlasmaUnit.donor)))).scalars()}
    cards = {r.donor_card_number for r in rows if CODE.fullmatch(r.donor_card_number)}
    donors = {d.card_number: d for d in (await s.execute(select(Donor).where(Donor.card_number.in_(cards))
                                                          )).scalars()}
    shipment = (await s.execute(select(PlasmaShipment).where(
        PlasmaShipment.station_id == station.id, PlasmaShipment.code == code))).scalar_one_or_none()
    if shipment is None:
        shipment = PlasmaShipment(code=code, station_id=station.id, submitted_by=signatures.signer,
                                  submitted_at=utcnow(), status="DECLARED")
        s.add(shipment)
        await s.flush()
    seen: set[str] = set()
    for i, r in enumerate(rows, start=1):
        results.append(_accept(s, i, r, today, station, shipment, existing, donors, seen))
    await s.flush()
    if line_numbers is not None:
        # Report file lines, not positions among the parsed rows, and merge in the rows that did not parse.
        results = sorted([RowResult(line_numbers[r.row - 1], r.donation_number, r.result, r.code, r.reason)
                          for r in results] + parse_errors, key=lambda r: r.row)
    accepted = [r.donation_number for r in results if r.result == RowOutcome.ACCEPTED]
    await signatures.bind(s, "plasma_shipment", str(shipment.id),
                          {"station": station.code, "shipment": code, "accepted": accepted})
    rejected = [{"row": r.row, "donationNumber": r.donation_number, "code": r.code, "reason": r.reason}
                for r in results if r.result == RowOutcome.REJECTED]
    if rejected:
        await audit.add(s, PendingEvent("SHIPMENT_ROWS_REJECTED", "plasma_shipment", str(shipment.id),
                                        {"rows": rejected}))
    return ShipmentReport(code, station.code, results)


def _accept(s: Any, i: int, r: UnitRow, today: date, station: PlasmaStation, shipment: PlasmaShipment,
            existing: dict[str, PlasmaUnit], donors: dict[str, Donor], seen: set[str]) -> RowResult:
    def rejected(code: str, reason: str) -> RowResult:
        return RowResult(i, shown(r.donation_number), RowOutcome.REJECTED, code, reason)

    problem = _row_problem(r, today)
    if problem:
        return rejected("VALIDATION_FAILED", problem)
    if r.donation_number in seen:
        return rejected("CONFLICT", "the donation number appears twice in this shipment")
    seen.add(r.donation_number)
    old = existing.get(r.donation_number)
    if old is not None:
        same = (old.station_id == station.id and old.collected_on == r.collected_on
                and abs(old.weight_g - r.weight_g) < 0.05 and old.donor.card_number == r.donor_card_number)
        if same:
            return RowResult(i, r.donation_number, RowOutcome.DUPLICATE, None, "already declared with the same data")
        return rejected("CONFLICT", "this donation number is already registered with different data")
    donor = donors.get(r.donor_card_number)
    if donor is not None:
        if donor.station_id != station.id:
            return rejected("VALIDATION_FAILED", "the donor card is registered at another station")
        if donor.status != "ACTIVE":
            return rejected("VALIDATION_FAILED", f"the donor is {donor.status.lower().replace('_', ' ')}")
        if donor.blood_type != r.blood_type:
            return rejected("VALIDATION_FAILED", f"blood type {r.blood_type} differs from the donor's "
                                                 f"{donor.blood_type}")
    else:
        donor = Donor(card_number=r.donor_card_number, station_id=station.id, name="(registered by station)",
                      blood_type=r.blood_type, status="ACTIVE")
        s.add(donor)
        donors[r.donor_card_number] = donor
    unit = PlasmaUnit(donation_number=r.donation_number, donor=donor, station_id=station.id,
                      blood_type=r.blood_type, collected_on=r.collected_on, weight_g=r.weight_g,
                      status="IN_TRANSIT", shipment_id=shipment.id)
    s.add(unit)
    return RowResult(i, r.donation_number, RowOutcome.ACCEPTED)
