"""Shipment manifests as files (CSV or JSON) from station systems: parsed row by row, so one bad
row is reported with its line and never blocks the others."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from policies.errors import AppError, ErrorCode
from resolvers.shipments import RowResult, UnitRow

COLUMNS = ("donation_number", "donor_card_number", "blood_type", "collected_on", "weight_g")
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Parsed:
    rows: list[UnitRow]
    lines: list[int]  # the file line (CSV) or array index + 1 (JSON) of each good row
    errors: list[RowResult]


def _row(raw: dict[str, Any]) -> UnitRow:
    missing = [c for c in COLUMNS if raw.get(c) in (None, "")]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    try:
        collected = date.fromisoformat(str(raw["collected_on"]).strip())
    except ValueError as exc:
        raise ValueError(f"collected_on {raw['collected_on']!r} is not a date (YYYY-MM-DD)") from exc
    try:
        weight = float(raw["weight_g"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"weight_g {raw['weight_g']!r} is not a number") from exc
    return UnitRow(str(raw["donation_number"]).strip(), str(raw["donor_card_number"]).strip(),
                   str(raw["blood_type"]).strip().upper(), collected, weight)


def parse(content: str, fmt: str) -> Parsed:
    if len(content.encode()) > MAX_BYTES:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"the file is larger than {MAX_BYTES} bytes")
    items: list[tuple[int, Any]]
    if fmt == "JSON":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"the file is not JSON: {exc.msg} at line {exc.lineno}") \
                from exc
        units = data.get("units") if isinstance(data, dict) else data
        if not isinstance(units, list):
            raise AppError(ErrorCode.VALIDATION_FAILED, 'JSON manifests are a list of units or {"units": [...]}')
        items = list(enumerate(units, start=1))
    elif fmt == "CSV":
        reader = csv.DictReader(io.StringIO(content))
        header = [h.strip() for h in reader.fieldnames or []]
        if sorted(set(COLUMNS) - set(header)):
            raise AppError(ErrorCode.VALIDATION_FAILED, "the CSV header must name " + ", ".join(COLUMNS))
        items = [(reader.line_num, {k.strip(): v for k, v in r.items() if k}) for r in reader]
    else:
        raise AppError(ErrorCode.VALIDATION_FAILED, "format is CSV or JSON")
    rows, lines, errors = [], [], []
    for line, raw in items:
        try:
            if not isinstance(raw, dict):
                raise ValueError("each unit is an object")
            rows.append(_row(raw))
            lines.append(line)
        except ValueError as exc:
            number = str(raw.get("donation_number", "")) if isinstance(raw, dict) else ""
            errors.append(RowResult(line, number, "REJECTED", "VALIDATION_FAILED", str(exc)))
    return Parsed(rows, lines, errors)
