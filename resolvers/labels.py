"""Printable labels (PR-13): material name, batch information and the code as Code 128 and QR."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import barcode
import segno
from barcode.writer import SVGWriter

PLASMA_NAME = "Source plasma (human), frozen"
PLASMA_SHELF_LIFE = timedelta(days=3 * 365)

# Each line's field name (English, as printed and as tests read it) -> its stable key, which clients translate
# (frontend labelLine.<key>) so a printed label names its fields in the reader's language (issue 15).
# Every line a label below or a resolver passing its own lines prints is listed here.
LINE_KEYS = {
    # a received plasma unit
    "Donation number": "donationNumber", "Collecting unit": "collectingUnit", "Collected": "collectedOn",
    "Quantity": "quantity", "Expiry": "expiry",
    # a sample (QC-15)
    "Sample": "sample", "From": "from", "Taken": "takenAt", "By": "takenBy", "Sample name": "sampleName",
    "Batch number": "batchNumber", "Donor": "donor", "Plasma station": "plasmaStation", "Taken at": "sampledFrom",
    # a weighed portion (PR-19, PR-20)
    "Product": "product", "Specification": "specification", "Batch": "batch", "Material": "material",
    "Material batch": "materialBatch", "Weight": "weight", "Weighed by": "weighedBy", "Checked by": "checkedBy",
    "Date": "date", "Scale": "scale",
    # an intermediate (PR-23) and a material lot (PR-13)
    "Storage": "storage", "Status": "status", "Material code": "materialCode", "Supplier": "supplier",
}


def line_key(name: str) -> str:
    """The key of a line by its field name; a name not listed gets one made from its words (camelCase)."""
    if name in LINE_KEYS:
        return LINE_KEYS[name]
    words: list[str] = re.findall(r"[A-Za-z0-9]+", name) or ["line"]
    return words[0].lower() + "".join(w.title() for w in words[1:])


@dataclass(frozen=True)
class Label:
    material_code: str
    material_name: str
    lines: list[tuple[str, str]]
    code128_svg: str
    qr_svg: str


def _code128(code: str) -> str:
    out = io.BytesIO()
    barcode.get("code128", code, writer=SVGWriter()).write(out, {"module_height": 10.0, "write_text": True})
    return out.getvalue().decode()


def _qr(code: str) -> str:
    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="svg", scale=3, xmldecl=False)
    return out.getvalue().decode()


def plasma_label(material_code: str, donation_number: str, station_name: str, collected_on: date,
                 weight_g: float) -> Label:
    lines = [
        ("Donation number", donation_number),
        ("Collecting unit", station_name),
        ("Collected", collected_on.isoformat()),
        ("Quantity", f"{weight_g:.1f} g (1 unit)"),
        ("Expiry", (collected_on + PLASMA_SHELF_LIFE).isoformat()),
    ]
    return Label(material_code, PLASMA_NAME, lines, _code128(material_code), _qr(material_code))


def sample_label(code: str, kind: str, source: str, taken_at: str, taken_by: str,
                 more: list[tuple[str, str]] | None = None) -> Label:
    """`more`: the sample's name, batch and, for plasma, donor, collection date and station (QC-15)."""
    lines = [("Sample", kind.title()), ("From", source), ("Taken", taken_at), ("By", taken_by), *(more or [])]
    return Label(code, "Sample", lines, _code128(code), _qr(code))


def material_label(code: str, name: str, lines: list[tuple[str, str]]) -> Label:
    """A material, a weighed portion or an intermediate: its name, the lines it needs, and the code."""
    return Label(code, name, lines, _code128(code), _qr(code))
