"""The instrument export formats PlasmaTwin reads (QC-08), parsed into wells; no judgement here.

Both are UTF-8 CSV with a header block of `key,value` lines, a blank line, then the data. Examples:
tests/data/elisa_plate.csv and tests/data/pcr_run.csv.

ELISA plate reader (`Format,elisa-plate/1`): header keys Format, Instrument, Plate, Read at; then a block
`Layout,1,...,12` with rows A-H naming what each well holds (NC or PC for a negative or positive control,
BLANK or empty for an unused well, otherwise a sample code: a donation number or a pool code); then a block
`OD,1,...,12` with rows A-H of optical densities (decimal text) for every well the layout uses.

PCR run (`Format,pcr-run/1`): header keys Format, Instrument, Run; then a block headed
`Well,Sample,Target,Ct,IC Ct`, one line per well and target: Ct is a decimal or `Undetermined`; Sample is
NC, PC or a sample code. A bad file is refused naming its line (1-based) or well.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

ROWS = "ABCDEFGH"
COLUMNS = tuple(str(c) for c in range(1, 13))
CONTROLS = ("NC", "PC")
UNDETERMINED = "UNDETERMINED"
MAX_CODE = 32


class FileError(ValueError):
    """A file that does not follow its format; the message names the line or well."""


@dataclass(frozen=True)
class Well:
    position: str  # A1..H12
    content: str  # NC, PC or a sample code
    value: Decimal | None  # the OD (ELISA) or Ct (PCR; None: undetermined)
    target: str = ""  # PCR only
    ic: Decimal | None = None  # PCR: the internal control's Ct (None: undetermined)


@dataclass(frozen=True)
class InstrumentFile:
    format: str
    header: dict[str, str]
    wells: tuple[Well, ...]


def _text(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileError(f"the file is not UTF-8 text (byte {e.start})") from None
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def _header(lines: list[list[str]], fmt: str) -> tuple[dict[str, str], int]:
    """The `key,value` block up to the first blank line; returns it and the index after the blank."""
    header: dict[str, str] = {}
    for i, row in enumerate(lines):
        if not any(row):
            break
        if len(row) < 2 or not row[0] or not row[1]:
            raise FileError(f"line {i + 1}: a header line is `key,value`")
        header[row[0]] = row[1]
    else:
        raise FileError("the header block ends with a blank line; none found")
    if header.get("Format") != fmt:
        raise FileError(f"line 1: this is not a {fmt} file (Format,{fmt})")
    if not header.get("Instrument"):
        raise FileError("the header names no Instrument")
    return header, i + 1


def _decimal(text: str, where: str) -> Decimal:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise FileError(f"{where}: {text[:20]!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise FileError(f"{where}: {text[:20]!r} is not a number of zero or more")
    return d


def _grid(lines: list[list[str]], start: int, title: str) -> tuple[dict[str, str], int]:
    """An A-H x 1-12 block headed `title,1,...,12`; returns cells by position and the index after it."""
    i = start
    while i < len(lines) and not any(lines[i]):
        i += 1
    if i >= len(lines) or lines[i][:13] != [title, *COLUMNS]:
        raise FileError(f"line {i + 1}: expected the {title} block header `{title},1,...,12`")
    cells: dict[str, str] = {}
    for n, letter in enumerate(ROWS):
        at = i + 1 + n
        row = lines[at] if at < len(lines) else []
        if not row or row[0] != letter:
            raise FileError(f"line {at + 1}: expected row {letter} of the {title} block")
        if len(row) != 13:
            raise FileError(f"line {at + 1}: row {letter} of the {title} block needs 12 values, has {len(row) - 1}")
        for col, cell in zip(COLUMNS, row[1:], strict=True):
            cells[f"{letter}{col}"] = cell
    return cells, i + 9


def parse_plate(data: bytes) -> InstrumentFile:
    lines = _text(data)
    header, at = _header(lines, "elisa-plate/1")
    layout, at = _grid(lines, at, "Layout")
    layout_line = {pos: at - 8 + ROWS.index(pos[0]) for pos in layout}  # 1-based line of each layout row
    ods, at = _grid(lines, at, "OD")
    if any(any(r) for r in lines[at:]):
        raise FileError(f"line {at + 1}: nothing may follow the OD block")
    wells: list[Well] = []
    seen: dict[str, str] = {}
    for pos in (f"{r}{c}" for r in ROWS for c in COLUMNS):
        content = layout[pos].upper() if layout[pos].upper() in (*CONTROLS, "BLANK") else layout[pos]
        if content in ("", "BLANK"):
            continue
        if len(content) > MAX_CODE:
            raise FileError(f"line {layout_line[pos]}: well {pos}: a sample code has at most {MAX_CODE} characters")
        if content not in CONTROLS:
            if content in seen:
                raise FileError(f"well {pos}: sample {content} is already in well {seen[content]}")
            seen[content] = pos
        if not ods[pos]:
            raise FileError(f"well {pos}: the layout names {content} but the well has no OD")
        wells.append(Well(pos, content, _decimal(ods[pos], f"well {pos}")))
    return InstrumentFile("elisa-plate/1", header, tuple(wells))


PCR_COLUMNS = ["Well", "Sample", "Target", "Ct", "IC Ct"]


def _ct(text: str, where: str) -> Decimal | None:
    return None if text.upper() == UNDETERMINED else _decimal(text, where)


def parse_pcr(data: bytes) -> InstrumentFile:
    lines = _text(data)
    header, at = _header(lines, "pcr-run/1")
    while at < len(lines) and not any(lines[at]):
        at += 1
    if at >= len(lines) or lines[at] != PCR_COLUMNS:
        raise FileError(f"line {at + 1}: expected the column header `{','.join(PCR_COLUMNS)}`")
    wells: list[Well] = []
    keys: set[tuple[str, str]] = set()
    owner: dict[str, str] = {}
    for i in range(at + 1, len(lines)):
        row, n = lines[i], i + 1
        if not any(row):
            continue
        if len(row) != 5 or not all(row[:3]):
            raise FileError(f"line {n}: a result line is Well,Sample,Target,Ct,IC Ct, each given")
        pos, sample, target = row[0].upper(), row[1], row[2]
        if len(pos) not in (2, 3) or pos[0] not in ROWS or pos[1:] not in COLUMNS:
            raise FileError(f"line {n}: {row[0][:8]!r} is not a well A1-H12")
        content = sample.upper() if sample.upper() in CONTROLS else sample
        if len(content) > MAX_CODE or len(target) > MAX_CODE:
            raise FileError(f"line {n}: sample and target have at most {MAX_CODE} characters")
        if owner.setdefault(pos, content) != content:
            raise FileError(f"line {n}: well {pos} holds {owner[pos]}, not {content}")
        if content not in CONTROLS and any(o == content and p != pos for p, o in owner.items()):
            raise FileError(f"line {n}: sample {content} is in another well already")
        if (pos, target) in keys:
            raise FileError(f"line {n}: well {pos} has target {target} twice")
        keys.add((pos, target))
        wells.append(Well(pos, content, _ct(row[3], f"line {n}"), target, _ct(row[4], f"line {n}")))
    if not wells:
        raise FileError("the file has no result lines")
    return InstrumentFile("pcr-run/1", header, tuple(wells))
