"""Shipment manifests as files (CSV or JSON) from station systems: parsed row by row, so one bad
row is reported with its line and never blocks the others.

A file that cannot be read as a whole (not UTF-8 text, not JSON, a CSV field past the csv module's
limit, nesting deeper than the parser goes) is reported as one problem on row WHOLE_FILE, which
`shipments.submit` turns into an audited refusal of the shipment: a hostile file gets an answer,
never an internal error.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from resolvers.shipments import WHOLE_FILE, RowOutcome, RowResult, UnitRow, shown

COLUMNS = ("donation_number", "donor_card_number", "blood_type", "collected_on", "weight_g")
TEXT_COLUMNS = ("donation_number", "donor_card_number", "blood_type", "collected_on")
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Parsed:
    rows: list[UnitRow]
    lines: list[int]  # the file line (CSV) or array index + 1 (JSON) of each good row
    errors: list[RowResult]


class Unreadable(Exception):
    """The file as a whole cannot be read; the message says why."""


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", bool: "true or false", type(None): "null"}
    return names.get(type(value), "a number")


def _row(raw: dict[str, Any]) -> UnitRow:
    missing = [c for c in COLUMNS if raw.get(c) in (None, "")]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    for c in TEXT_COLUMNS:
        if not isinstance(raw[c], str):
            raise ValueError(f"{c} must be a string, not {_json_type(raw[c])}")
    weight = raw["weight_g"]
    if isinstance(weight, bool) or not isinstance(weight, (str, int, float)):
        raise ValueError(f"weight_g must be a number, not {_json_type(weight)}")
    try:
        collected = date.fromisoformat(raw["collected_on"].strip())
    except ValueError as exc:
        raise ValueError(f"collected_on {shown(raw['collected_on'])!r} is not a date (YYYY-MM-DD)") from exc
    try:
        grams = float(weight)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"weight_g {shown(str(weight))!r} is not a number") from exc
    return UnitRow(raw["donation_number"].strip(), raw["donor_card_number"].strip(),
                   raw["blood_type"].strip().upper(), collected, grams)


def _json_items(content: str) -> list[tuple[int, Any]]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"the file is not JSON: {exc.msg} at line {exc.lineno}") from exc
    except RecursionError as exc:
        raise Unreadable("the JSON is nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise Unreadable(f"the JSON cannot be read: {exc}") from exc
    units = data.get("units") if isinstance(data, dict) else data
    if not isinstance(units, list):
        raise Unreadable('JSON manifests are a list of units or {"units": [...]}')
    return list(enumerate(units, start=1))


def _csv_items(content: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(content))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
        if sorted(set(COLUMNS) - set(header)):
            raise Unreadable("the CSV header must name " + ", ".join(COLUMNS))
        return [(reader.line_num, {k.strip(): v for k, v in r.items() if k}) for r in reader]
    except csv.Error as exc:  # e.g. a field longer than csv.field_size_limit()
        raise Unreadable(f"the CSV cannot be read at line {reader.line_num}: {exc}") from exc


def _items(content: str, fmt: str) -> list[tuple[int, Any]]:
    try:
        size = len(content.encode())
    except UnicodeEncodeError as exc:
        raise Unreadable(f"the file is not valid Unicode text (a lone surrogate at character {exc.start + 1})") \
            from exc
    if size > MAX_BYTES:
        raise Unreadable(f"the file is larger than {MAX_BYTES} bytes")
    if fmt == "JSON":
        return _json_items(content)
    if fmt == "CSV":
        return _csv_items(content)
    raise Unreadable("format is CSV or JSON")


def parse(content: str, fmt: str) -> Parsed:
    try:
        items = _items(content, fmt)
    except Unreadable as exc:
        return Parsed([], [], [RowResult(WHOLE_FILE, "", RowOutcome.REJECTED, "VALIDATION_FAILED", str(exc))])
    rows, lines, errors = [], [], []
    for line, raw in items:
        try:
            if not isinstance(raw, dict):
                raise ValueError("each unit is an object")
            rows.append(_row(raw))
            lines.append(line)
        except ValueError as exc:
            number = raw.get("donation_number") if isinstance(raw, dict) else None
            errors.append(RowResult(line, shown(number) if isinstance(number, str) else "", RowOutcome.REJECTED,
                                    "VALIDATION_FAILED", str(exc)))
    return Parsed(rows, lines, errors)
