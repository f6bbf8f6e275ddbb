"""Printed documents are bilingual (issue 15): the fixed text in Simplified Chinese beside the English, record
values as recorded, times with their zone; without the CJK font they print in English only.

The text is read back as a PDF reader extracts it: each run decoded through its font (the CJK font's
ToUnicode map, the core fonts' single bytes), so a heading counts only if a reader finds it as text.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from records import pdf_text, release_pdf, report_pdf
from records.alarms import Alarm
from resolvers import alarms, batch_record

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "datasets.json"

TOKEN = re.compile(rb"\((?:\\.|[^\\()])*\)|<[0-9A-Fa-f]*>|/[^\s/\[\]()<>]+|\[|\]|[^\s/\[\]()<>]+", re.S)
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal(token: bytes) -> bytes:
    body, out, i = token[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i:i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        octal = re.match(rb"[0-7]{1,3}", body[i + 1:i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += ESCAPES.get(body[i + 1:i + 2], body[i + 1:i + 2])
            i += 2
    return bytes(out)


def _to_unicode(font: Any) -> dict[int, str] | None:
    """The code -> text map of a Type0 font (two-byte codes), None for a simple font."""
    if font["/Subtype"] != "/Type0":
        return None
    cmap = font["/ToUnicode"].get_object().data.decode("latin-1")
    table: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            for n in range(int(lo, 16), int(hi, 16) + 1):
                table[n] = chr(int(dst, 16) + n - int(lo, 16))
    return table


def _decode(raw: bytes, cmap: dict[int, str] | None) -> str:
    if cmap is None:
        return raw.decode("cp1252", "replace")
    return "".join(cmap.get(int.from_bytes(raw[i:i + 2], "big"), "\ufffd") for i in range(0, len(raw) - 1, 2))


def text_of(pdf: bytes) -> str:
    """Every text run of every page, one a line."""
    reader = PdfFileReader(BytesIO(pdf))
    runs: list[str] = []
    for ref in reader.root["/Pages"]["/Kids"]:
        page = ref.get_object()
        fonts = {name: _to_unicode(f.get_object()) for name, f in page["/Resources"]["/Font"].items()}
        contents = page["/Contents"]
        streams = contents if isinstance(contents, list) else [contents]
        data = b"".join(s.get_object().data for s in streams)
        cmap, pending = None, []
        for tok in TOKEN.findall(data):
            if tok.startswith(b"/"):
                pending = [tok]
            elif tok == b"Tf" and pending:
                cmap = fonts.get("/" + pending[0][1:].decode())
            elif tok.startswith(b"(") or (tok.startswith(b"<") and tok != b"<<"):
                pending.append(_literal(tok) if tok.startswith(b"(") else bytes.fromhex(tok[1:-1].decode()))
            elif tok in (b"Tj", b"TJ"):
                runs.append("".join(_decode(p, cmap) for p in pending if not p.startswith(b"/")))
                pending = []
    return "\n".join(runs)


def _joined(text: str) -> str:
    # fpdf2 writes "{nb}" as its own run
    return text.replace("\n", "")


def _release(**changes: Any) -> release_pdf.ReleaseSummary:
    fields: dict[str, Any] = {
        "title": "Batch release certificate - production and testing summary", "batch_number": "PT-2026-0042",
        "product": "Human Albumin 20% \u2013 50 mL", "expiry_date": "2029-10-31", "batch_size": "12 final lots",
        "status": "RELEASED", "lines": [("Plasma pools", "P-0101, P-0102"), ("Lot note", "untranslated label")],
        "signatures": [("Anna Schmidt", "RELEASED", "2026-11-03T10:02:00.000000Z")],
        "issued_at": "2026-11-03T10:05:00.000000Z", "organisation": "PlasmaTwin Demo Fractionation Ltd."}
    return release_pdf.ReleaseSummary(**(fields | changes))


def _report() -> report_pdf.TestReportDoc:
    return report_pdf.TestReportDoc(
        title="Test report - Intermediate FII-7", version=2,
        header=[("Batch number", "PT-2026-0042"), ("Stage", "Intermediate"), ("Reviewed by", "qa.sig")],
        results=[report_pdf.ReportLine("pH", "Ph. Eur. 2.2.3", "6.4 - 7.4", "7.0", "PASS")],
        conclusion="Complies with specification SPEC-ALB20 version 1.", reissue="",
        signatures=[("Li Lei", "PERFORMED", "2026-11-02T08:00:00+08:00")],
        issued_at="2026-11-03T10:05:00.000000Z", organisation="PlasmaTwin plant")


@pytest.fixture
def no_cjk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_text, "cjk_font", lambda: None)


def test_the_font_comes_with_the_install_not_the_machine() -> None:
    path = pdf_text.cjk_font()
    assert path is not None and path.is_file() and path.parent.name == pdf_text.FONT_PACKAGE


def test_the_release_certificate_is_bilingual_with_zoned_times() -> None:
    doc = _release()
    pdf = release_pdf.render_release_pdf(doc)
    assert pdf == release_pdf.render_release_pdf(doc)  # the same summary, the same bytes: still sealable
    text = text_of(pdf)
    for zh, en in [("批放行证书", "Batch release certificate"), ("批次", "Batch"), ("批号", "Batch number"),
                   ("产品", "Product"), ("有效期至", "Expiry date"), ("血浆合并池", "Plasma pools"),
                   ("电子签名", "Electronic signatures"), ("签名人", "Printed name"), ("签名含义", "Meaning"),
                   ("文件编号", "Document ID"), ("页码", "Page 1 of 1")]:
        assert zh in text and en in _joined(text), (zh, en)
    # Values as recorded; times to the second with their zone.
    for value in ("Anna Schmidt", "RELEASED", "Lot note", "untranslated label", "2026-11-03 10:02:00 UTC",
                  "issued 2026-11-03 10:05:00 UTC", release_pdf.document_id(doc)):
        assert value in text, value
    assert "T10:02:00" not in text
    # The title comes with its Chinese, the sealing note in both languages.
    assert "批放行证书——生产与检验摘要" in text and "任何改动都会使签名失效" in text
    assert "invalidates them" in _joined(text)


def test_the_cjk_font_is_embedded_as_a_subset() -> None:
    pdf = release_pdf.render_release_pdf(_release())
    assert re.search(rb"/BaseFont /[A-Z]{6}\+NotoSansSC", pdf)
    assert len(pdf) < 100_000  # the glyphs used, not the font's 8 MB


def test_the_test_report_is_bilingual_with_zoned_times() -> None:
    text = text_of(report_pdf.render_test_report_pdf(_report()))
    for zh, en in [("检验报告", "Test report - Intermediate FII-7"), ("版本", "Version 2"),
                   ("样品与质量标准", "Sample and specification"), ("检验结果", "Results"), ("结论", "Conclusion"),
                   ("检验项目", "Test item"), ("检验方法", "Method"), ("标准规定", "Limits"), ("判定", "Verdict"),
                   ("阶段", "Stage"), ("复核人", "Reviewed by"), ("电子签名", "Electronic signatures")]:
        assert zh in text and en in text, (zh, en)
    # A time recorded at another offset is printed in UTC.
    assert "2026-11-02 00:00:00 UTC" in text and "issued 2026-11-03 10:05:00 UTC" in text
    assert "Complies with specification SPEC-ALB20 version 1." in text


def test_without_the_font_documents_print_in_english_only(no_cjk: None) -> None:
    for pdf in (release_pdf.render_release_pdf(_release()), report_pdf.render_test_report_pdf(_report())):
        text = text_of(pdf)
        assert "Electronic signatures" in text and "UTC" in text
        assert not re.search(r"[\u4e00-\u9fff]", text) and b"/Type0" not in pdf
    # Chinese values are still refused by the signed documents rather than printed as '?'.
    with pytest.raises(ValueError, match="Windows-1252"):
        release_pdf.render_release_pdf(_release(product="人血白蛋白"))


def test_a_missing_font_package_is_logged_once(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    monkeypatch.setattr(pdf_text, "FONT_PACKAGE", "no_such_font_package")
    with caplog.at_level(logging.WARNING, logger="records.pdf_text"):
        assert pdf_text.cjk_font.__wrapped__() is None
    assert "English only" in caplog.text


def _record() -> dict[str, Any]:
    return {
        "batchNumber": "PT-2026-0042", "product": "人血白蛋白 Human Albumin", "status": "RELEASED",
        "recipe": "ALB v1", "pools": ["P-0101"], "exported": "20261103T100500",
        "sections": {"B.6": [{"CPMC": "人血白蛋白", "SCKSSJ": "20261101T080000"}], "B.4": [], "B.8": [],
                     "B.7": [{"PCMS": "温度偏高 0.5 °C", "PCFSSJ": "20261101T090000"}]},
        "equipmentUsed": [{"phase": "MIX", "code": "EQ-1", "cleaning": {"state": "CLEAN", "validUntil": "20261110"}}],
        "qcTesting": [{"stage": "FINAL", "item": "pH", "reported": "7.0", "verdict": "PASS"}], "testReports": [],
        "oos": [], "exceptions": [],
        "review": {"opinion": "NO_IMPACT", "by": "qa.sig", "at": "20261103T090000"},
        "release": {"document": "RC-1", "status": "RELEASED", "at": "20261103T100000"},
        "signatures": [{"record": "batch:1", "meaning": "RELEASED", "printedName": "Anna Schmidt",
                        "signedAt": "2026-11-03T10:00:00Z"}]}


def test_the_exported_batch_record_is_bilingual_and_keeps_chinese_values() -> None:
    text = text_of(batch_record.to_pdf(_record(), "qa.sig"))
    for zh, en in [("电子批记录", "Electronic batch record PT-2026-0042"),
                   ("生产电子批记录 (B.6)", "Production record"),
                   ("生产偏差记录 (B.7)", "Deviations (B.7): 1"), ("QC检验", "QC testing: current results"),
                   ("产品名称", "Product name"), ("偏差描述", "Deviation description"), ("签名人", "printedName"),
                   ("导出时间", "exported 20261103T100500 UTC"), ("QA审核", "QA review: NO_IMPACT"),
                   ("放行文件", "Release document RC-1: RELEASED 20261103T100000 UTC")]:
        assert zh in text and en in text, (zh, en)
    # Values typed in Chinese print as recorded (no '?'); Appendix B times say their zone in the column name.
    assert "人血白蛋白" in text and "温度偏高 0.5 °C" in text and "?" not in text
    assert "Starting time of production (UTC)" in text and "Occurrence date (UTC)" in text


def test_the_batch_record_without_the_font_replaces_what_it_cannot_show(no_cjk: None) -> None:
    text = text_of(batch_record.to_pdf(_record(), "qa.sig"))
    assert "Production record (B.6): 1" in text and not re.search(r"[\u4e00-\u9fff]", text) and "?????" in text


def _alarm() -> Alarm:
    raised = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    return Alarm(id=7, source="TAG", condition="HI", priority="HIGH", state="CLEARED", tag="TT-101", room_id=None,
                 equipment_id=None, camera_code=None, message="冷库温度高 -15 °C", value=-15.0, peak=-14.5,
                 began_at=raised, raised_at=raised, cleared_at=raised, acknowledged_at=raised,
                 acknowledged_by="op.wang", handling="门已关闭")


def test_the_alarm_record_is_bilingual_with_zoned_time_columns() -> None:
    text = text_of(alarms.to_pdf([_alarm()], {}, {}, "Alarm record", "qa.sig"))
    for zh, en in [("报警记录", "Alarm record"), ("报警时间", "raised at (UTC)"), ("确认时间", "acknowledged at (UTC)"),
                   ("恢复时间", "recovered at (UTC)"), ("报警内容", "content"), ("处理方法", "handling method"),
                   ("打印时间", "UTC"), ("打印人", "by qa.sig"), ("报警数", "1 alarms")]:
        assert zh in text and en in text, (zh, en)
    assert "冷库温度高 -15 °C" in text and "门已关闭" in text and "2026-11-03 09:30:00" in text


def test_field_names_match_appendix_b_where_the_specification_is_at_hand() -> None:
    if not SPEC.exists():
        pytest.skip("the guideline's datasets (shared/spec) are not beside this checkout")
    printed = {f["short"]: f["name_zh"] for d in json.loads(SPEC.read_text())["datasets"] for f in d["fields"]}
    ours = {k: v for k, v in pdf_text.ZH_FIELDS.items() if k.isupper()}
    assert ours and {k: printed.get(k) for k in ours} == ours
