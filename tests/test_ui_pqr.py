"""The product quality review in Chromium against `plasmatwin demo`: pH results recorded through the API on
three of the demo's batches of one product and year (one failing, opening an OOS); QA opens the product's
year under OOS & trends and sees its batches, the OOS, and each pH trend charted (uPlot) with its limits,
mean, sd and Cpk.

Screenshots for the README are written to docs/screenshots/.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from tests import test_ui
from tests.test_ui import SHOTS, _call, close, open_app
from tests.test_ui_oos import RESULT
from tests.test_ui_oos import SPEC as OOS_SPEC
from tests.ui_server import DemoServer

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser


# Its own specification: the OOS test records on SPEC-UI-OOS in the same demo (tests/conftest.py `demo`).
SPEC = {**OOS_SPEC, "code": "SPEC-UI-PQR", "subjectCode": "UI-PQR", "title": "UI PQR test"}
VALUES = {"BULK": ["7.0", "6.9", "7.2"], "FINAL": ["7.1", "7.0", "7.9"]}


def _results(demo: DemoServer) -> tuple[str, int, list[str]]:
    """A product and year with three batches started in it (this year's first), and pH results on them."""
    _call(demo, "qc.zhou", "createSpecification", "CreateSpecificationInput", SPEC, "version")
    _call(demo, "qa.li", "approveSpecification", "SpecificationDecisionInput",
          {"code": SPEC["code"], "version": 1, "comment": "approved"}, "status", meaning="APPROVED")
    edges = demo.gql("{ batches(first: 200) { edges { node { batchNumber product startedAt } } } }",
                     as_user="qa.li")["batches"]["edges"]
    groups: dict[tuple[str, int], list[str]] = {}
    for b in sorted((e["node"] for e in edges if e["node"]["startedAt"]), key=lambda b: b["startedAt"]):
        groups.setdefault((b["product"], int(b["startedAt"][:4])), []).append(b["batchNumber"])
    this_year = datetime.now(UTC).year
    (product, year), batches = sorted(((k, v[:3]) for k, v in groups.items() if len(v) >= 3),
                                      key=lambda g: g[0][1] != this_year)[0]
    for stage, values in VALUES.items():
        for batch, value in zip(batches, values, strict=True):
            _call(demo, "qc.zhou", "recordTestResult", "RecordTestResultInput", {
                "batchNumber": batch, "stage": stage, "subjectCode": SPEC["subjectCode"], "item": "pH",
                "value": value}, RESULT)
    return product, year, batches


@pytest.mark.req("QM-11")
def test_qa_opens_a_products_year_with_its_trend_chart(browser: Any, demo: DemoServer) -> None:
    product, year, batches = _results(demo)
    page = open_app(browser, demo.url, "qa.li", demo.password("qa.li"), "#/quality")
    try:
        page.locator("[data-testid=pqr-link]").click()
        page.fill("input[name=product]", product)
        page.fill("input[name=year]", str(year))
        page.locator("[data-testid=pqr-form] button[type=submit]").click()
        page.wait_for_url(f"**/#/quality/review?product={quote(product).replace('%20', '+')}&year={year}")
        out = page.locator("[data-testid=pqr]")
        out.locator("[data-testid=pqr-title]").wait_for(timeout=15000)
        assert out.locator("[data-testid=pqr-title]").text_content() == f"{product} · {year}"
        assert "pH 7.9" in out.locator("[data-testid=pqr-oos]").inner_text()
        listed = out.locator("[data-testid=pqr-batches] + table").inner_text()
        assert all(b in listed for b in batches), listed
        for stage, raw in VALUES.items():
            values = [float(v) for v in raw]
            trend = out.locator(f'[data-trend="SPEC-UI-PQR/{stage}/pH"]')
            trend.locator("canvas").first.wait_for(timeout=10000)  # drawn by uPlot
            stats = trend.locator("[data-testid=pqr-stats]").inner_text()
            mean, sd = statistics.fmean(values), statistics.stdev(values)
            cpk = min(7.4 - mean, mean - 6.4) / (3 * sd)
            for shown in ("3 batch(es)", "limits 6.4 … 7.4", f"mean {float(f'{mean:.4g}')}",
                          f"sd {float(f'{sd:.4g}')}", f"Cpk {float(f'{cpk:.4g}')}"):
                assert shown in stats, (shown, stats)
        assert "1 outside the limits" in out.locator('[data-trend="SPEC-UI-PQR/FINAL/pH"]').inner_text()
        page.screenshot(path=str(SHOTS / "quality-review.png"), full_page=True)
    finally:
        close(page)
