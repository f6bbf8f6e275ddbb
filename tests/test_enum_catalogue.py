"""Every value of every server enum the views show (frontend/src/i18n/enums.ts VIEW_ENUMS) has a label in
English and in Chinese, and the listed types are enums of frontend/schema.graphql: a value the server adds
to one of them shows up here, not as a raw code on a Chinese screen.
"""

from __future__ import annotations

import json
import re

from tests.ui_server import ROOT

FRONTEND = ROOT / "frontend"
CATALOGUES = FRONTEND / "src" / "i18n"


def _schema_enums() -> dict[str, list[str]]:
    sdl = (FRONTEND / "schema.graphql").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for m in re.finditer(r"^enum (\w+)[^{]*\{([^}]*)\}", sdl, re.M):
        body = re.sub(r'"""(.|\n)*?"""|"[^"\n]*"|#[^\n]*', "", m.group(2))  # descriptions and comments
        out[m.group(1)] = [line.split()[0] for line in body.splitlines() if line.strip() and line.strip()[0] != "@"]
    return out


def _view_enums() -> list[str]:
    src = (CATALOGUES / "enums.ts").read_text(encoding="utf-8")
    m = re.search(r"VIEW_ENUMS = \[(.*?)\] as const", src, re.S)
    assert m, "enums.ts no longer declares VIEW_ENUMS = [...] as const"
    return re.findall(r'"(\w+)"', m.group(1))


def test_every_value_of_the_enums_the_views_show_has_an_english_and_a_chinese_label() -> None:
    enums = _schema_enums()
    assert {"BatchStatus", "Priority", "AlarmState", "SignatureMeaning"} <= set(enums), "the schema scan found too few"
    views = _view_enums()
    assert len(views) > 20, views
    assert [t for t in views if t not in enums] == []  # a typo, or a type the schema dropped
    catalogues = {lang: json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
                  for lang in ("en", "zh-CN")}
    for lang, cat in catalogues.items():
        missing = [f"enum.{t}.{v}" for t in views for v in enums[t] if not cat.get(f"enum.{t}.{v}", "").strip()]
        assert missing == [], (lang, missing)
        stale = [k for k in cat if k.startswith("enum.")
                 and (k.split(".")[1] not in enums or k.split(".", 2)[2] not in enums[k.split(".")[1]])]
        assert stale == [], (lang, stale)
    # Chinese is the default language: a Chinese label is Chinese (a few codes, such as assay names, stay as they are).
    zh = catalogues["zh-CN"]
    same = sorted(k for k in zh if k.startswith("enum.") and zh[k] == catalogues["en"][k])
    assert same == ["enum.InstrumentRunKind.ELISA", "enum.InstrumentRunKind.PCR"]
