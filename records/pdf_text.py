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
from fpdf.fonts import FontFace

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
    "Reissued": "重新签发",
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

# The exchange datasets' fields (Appendix B of the guideline) by their short names, which are the pinyin
# initials of these Chinese names.
ZH_FIELDS = {
    "CJMC": "秤具名称", "CJBH": "秤具编号", "CJZT": "秤具状态", "CJJD": "秤具精度", "CPMC": "产品名称",
    "CPGG": "产品规格", "CPPH": "产品批号", "WLMC": "物料名称", "WLPH": "物料批号", "CLZL": "称量重量",
    "CLR": "称量人", "CLRQ": "称量日期", "TMBH": "条码编号", "CPBM": "产品编码", "PL": "批量",
    "SCKSSJ": "生产开始时间", "SCJSSJ": "生产结束时间", "SCGX": "生产工序", "GXKSSJ": "工序开始时间",
    "GXJSSJ": "工序结束时间", "SBBH": "设备编号", "SBMC": "设备名称", "CZR": "操作人", "FHR": "复核人",
    "GJGYCS": "关键工艺参数", "RGCZJL": "人工操作记录", "ZJKZJG": "中间控制结果", "GXWLPH": "工序物料平衡",
    "PCMS": "偏差描述", "PCFSSJ": "偏差发生时间", "JJCLCS": "紧急处理措施", "SYXCPBM": "受影响产品编码",
    "SYXCPMC": "受影响产品名称", "SYXCPPH": "受影响产品批号", "PCJLR": "偏差记录人", "PCFHR": "偏差复核人",
    "CZJBH": "操作间编号", "QCRQ": "清场日期", "JCXM": "检查项目", "JCJG": "检查结果", "QCRY": "清场人员",
    "QCFHR": "清场复核人",
    # the export's own parts (keys of its JSON)
    "phase": "工序", "code": "编号", "name": "名称", "status": "状态", "cleaning": "清洁", "sterilization": "灭菌",
    "calibration": "校准", "stage": "阶段", "subject": "检品", "specification": "质量标准", "item": "检验项目",
    "reported": "报告值", "verdict": "判定", "analyst": "检验人", "record": "记录", "reviewedBy": "复核人",
    "document": "文件编号", "version": "版本", "conclusion": "结论", "issuedBy": "签发人", "number": "编号",
    "value": "数值", "key": "键", "kind": "类别", "summary": "摘要", "operation": "操作", "meaning": "签名含义",
    "signer": "签名账号", "printedName": "签名人", "signedAt": "签名时间",
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


def core_ok(pdf: FPDF, text: str) -> bool:
    """Whether the core fonts (Helvetica) show the text."""
    try:
        text.encode(pdf.core_fonts_encoding)
    except UnicodeEncodeError:
        return False
    return True


def shown(pdf: FPDF, text: str) -> str:
    """A value as printed: as recorded when a font of the document shows it, else '?' for what none does."""
    if core_ok(pdf, text) or has_cjk(pdf):
        return text
    return text.encode(pdf.core_fonts_encoding, "replace").decode(pdf.core_fonts_encoding)


def value_face(pdf: FPDF, text: str) -> FontFace | None:
    """The face of a table cell holding a value: the CJK font for text the core fonts cannot show."""
    return None if core_ok(pdf, text) or not has_cjk(pdf) else FontFace(family=CJK, emphasis="")


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
    """One line of runs side by side: (text, is_chinese); Chinese in the CJK font, the rest in Helvetica
    (values the core fonts cannot show in the CJK font too)."""
    for part, chinese in parts:
        text = shown(pdf, part)
        if not text:
            continue
        if chinese or not core_ok(pdf, text):
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
