"""The batch release certificate's layout: an A4 PDF of the batch-release summary (fpdf2).

`policies.pades` seals the PDF with the organisation's and the Qualified Person's PAdES signatures;
`records.release` keeps the signed file. The same summary always gives the same bytes, and its
`document_id` (printed in the footer) is derived from its content.

The fixed text is bilingual, Simplified Chinese beside or above the English (records/pdf_text.py), and
times carry their zone. Record values are in fpdf2's core fonts: they must be Windows-1252 (ASCII/Latin-1
plus typographic quotes and dashes); Chinese values are refused rather than printed as '?'.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.fonts import FontFace
from fpdf.table import Table

from records.pdf_text import CJK, SEAL_NOTES, ZH, has_cjk, note, pair, runs, use_cjk, when, zh

LABEL = FontFace(emphasis="BOLD", fill_color=(235, 239, 246))
LABEL_ZH = FontFace(family=CJK, emphasis="", fill_color=(235, 239, 246))


@dataclass(frozen=True)
class ReleaseSummary:
    """What the release certificate shows (the batch-release production and testing summary)."""

    title: str
    batch_number: str
    product: str
    expiry_date: str
    batch_size: str
    status: str
    lines: list[tuple[str, str]]
    signatures: list[tuple[str, str, str]]
    issued_at: str
    organisation: str


def document_id(doc: ReleaseSummary) -> str:
    """A stable identifier derived from the document's content (printed in the footer)."""
    canonical = json.dumps(asdict(doc), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "RC-" + hashlib.sha256(canonical.encode()).hexdigest()[:24].upper()


def creation_date(issued_at: str) -> datetime:
    """issued_at as an aware datetime if it is ISO 8601 (naive means UTC), else the Unix epoch."""
    try:
        value = datetime.fromisoformat(issued_at)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cp1252_only(texts: Iterable[str]) -> None:
    """Refuse text the core fonts cannot show rather than printing '?' in a GMP record."""
    for text in texts:
        try:
            text.encode("cp1252")
        except UnicodeEncodeError as exc:
            raise ValueError(f"text not supported by the PDF's fonts (Windows-1252 only): {text!r}") from exc


def _check_text(doc: ReleaseSummary) -> None:
    texts = [doc.title, doc.batch_number, doc.product, doc.expiry_date, doc.batch_size, doc.status,
             doc.issued_at, doc.organisation]
    texts += [part for row in doc.lines for part in row] + [part for row in doc.signatures for part in row]
    cp1252_only(texts)


class A4Pdf(FPDF):
    def __init__(self, doc_id: str, organisation: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_id = doc_id
        self.organisation = organisation
        self.core_fonts_encoding = "cp1252"  # what /WinAnsiEncoding shows
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=22)
        use_cjk(self)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(160)
        self.line(self.l_margin, self.get_y() - 1.5, self.w - self.r_margin, self.get_y() - 1.5)
        self.set_text_color(90)
        y = self.get_y()
        runs(self, 5, [(f"{self.organisation}  |  ", False), (zh(self, "Document ID"), True),
                       (f" Document ID: {self.doc_id}", False)], 8)
        page = f"Page {self.page_no()} of {{nb}}"
        self.set_font("Helvetica", size=8)
        # "{nb}" is measured as written; the page count is as narrow or narrower.
        width = self.get_string_width(page) + 1 + (self.get_string_width("99") if has_cjk(self) else 0)
        self.set_xy(self.w - self.r_margin - width, y)
        runs(self, 5, [(zh(self, "Page"), True), (" " + page if has_cjk(self) else page, False)], 8)


def heading(pdf: FPDF, text: str) -> None:
    """A section heading: its Chinese, then the English beside it."""
    pdf.ln(4)
    pdf.set_text_color(20, 40, 90)
    pair(pdf, 8, text, 12, "B")
    pdf.set_text_color(0)
    pdf.set_font("Helvetica", size=10)


def field_table(pdf: FPDF, rows: list[tuple[str, str]]) -> None:
    """Field name (Chinese and English columns when the font is there) and value."""
    chinese = has_cjk(pdf)
    with pdf.table(col_widths=(20, 30, 70) if chinese else (34, 66), first_row_as_headings=False,
                   text_align="LEFT", line_height=6, padding=1.5) as table:
        for label, value in rows:
            row = table.row()
            if chinese:
                row.cell(zh(pdf, label), style=LABEL_ZH)
            row.cell(label, style=LABEL)
            row.cell(value)


def headings(pdf: FPDF, table: Table, names: list[str]) -> None:
    """The heading rows of a table: the Chinese names (when the font is there), then the English."""
    if has_cjk(pdf):
        row = table.row()
        for name in names:
            row.cell(zh(pdf, name), style=LABEL_ZH)
    table.row(names)


def signature_table(pdf: FPDF, signatures: list[tuple[str, str, str]]) -> None:
    if not signatures:
        pair(pdf, 6, "No electronic signatures recorded.", 10)
        return
    with pdf.table(col_widths=(40, 30, 30), headings_style=LABEL, text_align="LEFT", line_height=6,
                   padding=1.5, num_heading_rows=2 if has_cjk(pdf) else 1) as table:
        headings(pdf, table, ["Printed name", "Meaning", "Time"])
        for name, meaning, at in signatures:
            table.row([name, meaning, when(at)])


def render_release_pdf(doc: ReleaseSummary) -> bytes:
    """The release certificate as an A4 PDF; the same input gives the same bytes."""
    _check_text(doc)
    doc_id = document_id(doc)
    pdf = A4Pdf(doc_id, doc.organisation)
    pdf.set_compression(False)  # small text-only pages; keeps the content searchable and diffable
    pdf.set_creation_date(creation_date(doc.issued_at))
    pdf.set_title(doc.title)
    pdf.set_subject(f"Batch release certificate {doc.batch_number}")
    pdf.set_author(doc.organisation)
    pdf.set_creator("PlasmaTwin")
    pdf.set_keywords(f"batch {doc.batch_number}; {doc_id}")
    pdf.set_lang("zh-CN" if has_cjk(pdf) else "en")
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.set_text_color(90)
    pdf.cell(0, 5, doc.organisation, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    title(pdf, doc.title, "Batch release certificate", 17, 9)
    runs(pdf, 6, [(zh(pdf, "Batch number"), True), (f" Batch {doc.batch_number}  -  ", False),
                  (zh(pdf, "Issued"), True), (f" issued {when(doc.issued_at)}", False)], 10)
    pdf.set_draw_color(20, 40, 90)
    pdf.line(pdf.l_margin, pdf.get_y() + 2, pdf.w - pdf.r_margin, pdf.get_y() + 2)
    pdf.set_draw_color(150)
    pdf.ln(4)
    heading(pdf, "Batch")
    field_table(pdf, [("Batch number", doc.batch_number), ("Product", doc.product),
                       ("Batch size", doc.batch_size), ("Expiry date", doc.expiry_date),
                       ("Status", doc.status), *doc.lines])
    heading(pdf, "Electronic signatures")
    signature_table(pdf, doc.signatures)
    pdf.ln(3)
    pdf.set_text_color(70)
    note(pdf, 4.5, *SEAL_NOTES["release"], 8.5)
    return bytes(pdf.output())


def title(pdf: FPDF, text: str, kind: str, size: float, h: float) -> None:
    """The document's title: the Chinese of the whole title (or of its kind) above, then the English."""
    chinese = ZH.get(text) or ZH.get(kind, "")
    if has_cjk(pdf) and chinese:
        pdf.set_font(CJK, size=size - 2)
        pdf.multi_cell(0, h - 1, chinese, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", size)
    pdf.multi_cell(0, h, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
