"""The fixed text of printed documents in Simplified Chinese beside the English, and the font it needs (issue 15).

A plant's printed GMP records in China are bilingual: the regulator reads the Chinese, a foreign auditor
the English. Only the fixed text (headings, field names, notes) is translated; record values print as
recorded. The Chinese needs a font with CJK glyphs: Noto Sans SC from the pylopdf-fonts-zh-cn package, a
dependency, so a plain install of the wheel has it on any machine. fpdf2 embeds only the glyphs used.
Without it (a broken install) documents print in English only, and the log says so once.

English stays in the core font (Helvetica): its text is plain in the content stream, as before.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from fpdf import FPDF

LOG = logging.getLogger(__name__)

FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_FILE = "NotoSansSC-Regular.otf"
CJK = "notosanssc"  # the family name the font is registered under in each document

# English fixed text -> Simplified Chinese. Labels not listed print in English only.
ZH = {
    # release certificate
    "Batch release certificate": "批放行证书",
    "Batch release certificate - production and testing summary": "批放行证书——生产与检验摘要",
    "Batch": "批次",
    "Batch number": "批号",
    "Product": "产品",
    "Batch size": "批量",
    "Expiry date": "有效期至",
    "Status": "状态",
    "Issued": "签发时间",
    "Plasma pools": "血浆合并池",
    "Plasma units charged": "投料血浆袋数",
    "Donors": "献浆员人数",
    "Final lots": "成品批",
    "Production started": "生产开始日期",
    "Phases": "工序",
    "QA review": "QA审核",
    "QC results": "QC检验结果",
    "Electronic signatures": "电子签名",
    "No electronic signatures recorded.": "无电子签名记录。",
    "Printed name": "签名人",
    "Meaning": "签名含义",
    "Time": "时间",
    "Document ID": "文件编号",
    "Page": "页码",
    # test report
    "Test report": "检验报告",
    "Version": "版本",
    "Sample and specification": "样品与质量标准",
    "Results": "检验结果",
    "Conclusion": "结论",
    "Test item": "检验项目",
    "Method": "检验方法",
    "Limits": "标准规定",
    "Result": "结果",
    "Verdict": "判定",
    "Stage": "阶段",
    "Subject": "检品",
    "Specification": "质量标准",
    "Test record": "检验记录",
    "Analysts": "检验人",
    "Reviewed by": "复核人",
    "Approved by": "批准人",
    # batch record export
    "Electronic batch record": "电子批记录",
    "Recipe": "工艺配方",
    "Pools": "合并池",
    "Exported": "导出时间",
    "Exported by": "导出人",
    "Production record (B.6)": "生产电子批记录 (B.6)",
    "Weighings (B.4)": "称量记录 (B.4)",
    "Line clearances (B.8)": "清场记录 (B.8)",
    "Deviations (B.7)": "生产偏差记录 (B.7)",
    "Equipment as used (status and validity at the start of each phase)":
        "设备使用状态（各工序开始时的状态与有效期）",  # noqa: RUF001 - Chinese punctuation is full width
    "QC testing: current results": "QC检验：现行结果",  # noqa: RUF001
    "Test reports": "检验报告",
    "OOS results": "OOS结果",
    "Exceptions and their review": "例外事项及其审核",
    "Signatures": "签名",
    "Release document": "放行文件",
    # alarm record
    "Alarm record": "报警记录",
    "Printed": "打印时间",
    "Printed by": "打印人",
    "Alarms": "报警数",
    "id": "编号",
    "raised at": "报警时间",
    "room": "房间",
    "equipment": "设备",
    "tag": "位号",
    "priority": "优先级",
    "content": "报警内容",
    "value": "数值",
    "peak": "峰值",
    "state": "状态",
    "acknowledged at": "确认时间",
    "handler": "处理人",
    "handling method": "处理方法",
    "recovered at": "恢复时间",
}

SEAL_NOTES = {
    "release": ("本证书以组织及质量受权人的PAdES数字签名封印，对本文件的任何改动都会使签名失效。",  # noqa: RUF001
                "This certificate is sealed with PAdES digital signatures of the organisation and of the "
                "Qualified Person. Any change to this file invalidates them."),
    "report": ("本报告以组织及批准人的PAdES数字签名封印，对本文件的任何改动都会使签名失效。",  # noqa: RUF001
               "This report is sealed with PAdES digital signatures of the organisation and of the person who "
               "approved it. Any change to this file invalidates them."),
}


@functools.cache
def cjk_font() -> Path | None:
    """The CJK font file, or None (logged once) when its package is not installed."""
    try:
        path = Path(str(resources.files(FONT_PACKAGE) / FONT_FILE))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        LOG.warning("no CJK font (package pylopdf-fonts-zh-cn missing): printed documents are in English only")
        return None
    return path


def use_cjk(pdf: FPDF) -> bool:
    """Register the CJK font in this document; False when there is none (English only)."""
    path = cjk_font()
    if path is None:
        return False
    pdf.add_font(CJK, "", str(path))
    return True


def has_cjk(pdf: FPDF) -> bool:
    return CJK in pdf.fonts


def zh(pdf: FPDF, en: str) -> str:
    """The Chinese of a fixed English text, or "" when the document has no CJK font or no translation."""
    return ZH.get(en, "") if has_cjk(pdf) else ""


def when(text: str) -> str:
    """A recorded ISO 8601 time as printed: to the second, with its zone (UTC: the plant has no zone setting).

    Naive times are UTC, as everywhere in the records; text that is not a time is printed as it is."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return f"{value:%Y-%m-%d %H:%M:%S} UTC"


def runs(pdf: FPDF, h: float, parts: list[tuple[str, bool]], size: float, style: str = "") -> None:
    """One line of runs side by side: (text, is_chinese); Chinese in the CJK font, the rest in Helvetica."""
    for text, chinese in parts:
        if not text:
            continue
        if chinese:
            pdf.set_font(CJK, size=size)
        else:
            pdf.set_font("Helvetica", style, size)
        pdf.cell(pdf.get_string_width(text) + 0.5, h, text)
    pdf.ln(h)
    pdf.set_font("Helvetica", style, size)


def pair(pdf: FPDF, h: float, en: str, size: float, style: str = "", after: str = "") -> None:
    """The Chinese of `en` then `en` (and `after`, a value) on one line."""
    runs(pdf, h, [(zh(pdf, en), True), ((" " if has_cjk(pdf) else "") + en + after, False)], size, style)


def note(pdf: FPDF, h: float, chinese: str, english: str, size: float) -> None:
    """A sentence or two: the Chinese (when the font is there), the English beneath."""
    if has_cjk(pdf):
        pdf.set_font(CJK, size=size)
        pdf.multi_cell(0, h, chinese, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", size)
    pdf.multi_cell(0, h, english, new_x="LMARGIN", new_y="NEXT")
