"""The test report's layout: an A4 PDF of a reviewed test record (fpdf2), in the release certificate's
style (records/release_pdf.py). `policies.pades` seals and signs it; records/test_report.py keeps it.
The same content gives the same bytes, and its `document_id` is derived from that content. The fixed text is
bilingual (records/pdf_text.py), the record's values print as recorded."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from records.pdf_text import SEAL_NOTES, has_cjk, note, runs, when, zh
from records.release_pdf import (
    LABEL,
    A4Pdf,
    cp1252_only,
    creation_date,
    field_table,
    heading,
    headings,
    signature_table,
    title,
)


@dataclass(frozen=True)
class ReportLine:
    item: str
    method: str
    limits: str
    reported: str
    verdict: str


@dataclass(frozen=True)
class TestReportDoc:
    __test__ = False

    title: str
    version: int
    header: list[tuple[str, str]]  # batch, stage, subject, specification, ...
    results: list[ReportLine]
    conclusion: str
    reissue: str  # empty for version 1; else which version it replaces and why
    signatures: list[tuple[str, str, str]]  # printed name, meaning, time
    issued_at: str
    organisation: str


def document_id(doc: TestReportDoc) -> str:
    canonical = json.dumps(asdict(doc), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "TR-" + hashlib.sha256(canonical.encode()).hexdigest()[:24].upper()


def _texts(doc: TestReportDoc) -> list[str]:
    texts = [doc.title, doc.conclusion, doc.reissue, doc.issued_at, doc.organisation]
    texts += [p for row in doc.header for p in row] + [p for row in doc.signatures for p in row]
    return texts + [p for r in doc.results for p in (r.item, r.method, r.limits, r.reported, r.verdict)]


def _results(pdf: A4Pdf, lines: list[ReportLine]) -> None:
    with pdf.table(col_widths=(34, 30, 24, 18, 14), headings_style=LABEL, text_align="LEFT", line_height=5.5,
                   padding=1.2, num_heading_rows=2 if has_cjk(pdf) else 1) as table:
        headings(pdf, table, ["Test item", "Method", "Limits", "Result", "Verdict"])
        for r in lines:
            table.row([r.item, r.method, r.limits, r.reported, r.verdict])


def render_test_report_pdf(doc: TestReportDoc) -> bytes:
    """The test report as an A4 PDF; text the core fonts cannot show is refused (ValueError)."""
    cp1252_only(_texts(doc))
    doc_id = document_id(doc)
    pdf = A4Pdf(doc_id, doc.organisation)
    pdf.set_compression(False)
    pdf.set_creation_date(creation_date(doc.issued_at))
    pdf.set_title(doc.title)
    pdf.set_subject(f"Test report version {doc.version}")
    pdf.set_author(doc.organisation)
    pdf.set_creator("PlasmaTwin")
    pdf.set_keywords(f"test report; {doc_id}")
    pdf.set_lang("zh-CN" if has_cjk(pdf) else "en")
    pdf.add_page()
    title(pdf, doc.title, "Test report", 16, 8)
    runs(pdf, 6, [(zh(pdf, "Version"), True), (f" Version {doc.version}  -  ", False),
                  (zh(pdf, "Issued"), True), (f" issued {when(doc.issued_at)}", False)], 10)
    if doc.reissue:
        if has_cjk(pdf):  # the reason is as recorded (English-only fonts); the heading says it in Chinese too
            runs(pdf, 5.5, [(zh(pdf, "Reissued"), True)], 10, "B")
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(0, 5.5, doc.reissue, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
    heading(pdf, "Sample and specification")
    field_table(pdf, doc.header)
    heading(pdf, "Results")
    _results(pdf, doc.results)
    heading(pdf, "Conclusion")
    pdf.multi_cell(0, 6, doc.conclusion, new_x="LMARGIN", new_y="NEXT")
    heading(pdf, "Electronic signatures")
    signature_table(pdf, doc.signatures)
    pdf.ln(3)
    pdf.set_text_color(70)
    note(pdf, 4.5, *SEAL_NOTES["report"], 8.5)
    return bytes(pdf.output())
