"""OOS and trends in Chromium against `plasmatwin demo`: a failing result recorded through the API opens an OOS;
QA finds it under OOS & trends, sees what it was measured on and against, takes it through the laboratory and
the full investigation to its conclusion with signatures made in the browser, and opens the item's control
chart (uPlot) from it.

Screenshots for the README are written to docs/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_ui
from tests.test_ui import SHOTS, _call, close, open_app
from tests.ui_server import DemoServer

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser

SPEC = {"code": "SPEC-UI-OOS", "subjectKind": "PRODUCT", "subjectCode": "UI-OOS", "title": "UI OOS test",
        "effectiveDate": "2026-01-01", "changeNote": "first version",
        "items": [{"name": "pH", "method": "ChP 2020 0631", "unit": "pH", "low": "6.4", "high": "7.4",
                   "rounding": "DECIMALS", "precision": 1}]}
RESULT = "stage status results { verdict }"


def _results(demo: DemoServer) -> str:
    """Five passing pH results and a failing one on the demo's batches; the failing one's batch."""
    _call(demo, "qc.zhou", "createSpecification", "CreateSpecificationInput", SPEC, "version")
    _call(demo, "qa.li", "approveSpecification", "SpecificationDecisionInput",
          {"code": "SPEC-UI-OOS", "version": 1, "comment": "approved"}, "status", meaning="APPROVED")
    edges = demo.gql("{ batches(first: 3) { edges { node { batchNumber } } } }", as_user="qa.li")["batches"]["edges"]
    places = [(e["node"]["batchNumber"], stage) for e in edges for stage in ("BULK", "FINAL")]
    values = ["7.0", "7.1", "6.9", "7.0", "7.2", "7.9"][-len(places):]
    for (batch, stage), value in zip(places, values, strict=True):
        _call(demo, "qc.zhou", "recordTestResult", "RecordTestResultInput", {
            "batchNumber": batch, "stage": stage, "subjectCode": "UI-OOS", "item": "pH", "value": value}, RESULT)
    return places[-1][0]


@pytest.mark.req("QC-26")
def test_qa_investigates_an_oos_in_signed_steps_and_opens_the_control_chart(browser: Any, demo: DemoServer) -> None:
    test_ui._demo_production_done(demo)
    batch = _results(demo)
    page = open_app(browser, demo.url, "qa.li", demo.password("qa.li"), f"#/quality?batch={batch}")
    try:
        entry = page.locator("a[data-oos]").first
        entry.wait_for(timeout=10000)
        assert "pH 7.9" in entry.inner_text() and "OPEN" in entry.inner_text()
        entry.click()
        inv = page.locator("[data-testid=oos-investigation]")
        inv.wait_for(timeout=10000)
        text = inv.inner_text()
        for shown in ("qc.zhou", "≥ 6.4 and ≤ 7.4 pH", "SPEC-UI-OOS v1", "ChP 2020 0631", batch):
            assert shown in text, (shown, text)
        page.screenshot(path=str(SHOTS / "oos-investigation.png"))

        inv.locator("[data-step=start]").click()
        page.locator("[data-testid=oos-investigation][data-status=PHASE_1]").wait_for(timeout=15000)
        # No assignable laboratory cause: the full investigation before a confirmation.
        page.fill("textarea[name=phase1]", "no calculation, meter or preparation error found")
        page.locator("[data-step=escalate]").click()
        page.locator("[data-testid=oos-investigation][data-status=PHASE_2]").wait_for(timeout=15000)
        page.select_option("select[name=conclusion]", "CONFIRMED")
        page.fill("textarea[name=findings]", "the buffer addition at step 6 overshot")
        page.locator("[data-step=close]").click()
        closed = page.locator("[data-testid=oos-investigation][data-status=CLOSED]")
        closed.wait_for(timeout=15000)
        assert "CONFIRMED" in closed.inner_text() and "qa.li" in closed.inner_text()

        page.locator("[data-testid=chart-link]").click()
        chart = page.locator("[data-testid=control-chart]")
        chart.locator("canvas").first.wait_for(timeout=10000)  # drawn by uPlot
        assert page.locator("tr[data-point]").count() == 6
        assert "6 result(s)" in page.locator("[data-testid=chart-summary]").inner_text()
        page.screenshot(path=str(SHOTS / "control-chart.png"))
    finally:
        close(page)
    oos = demo.gql("query($b: String) { oosRecords(batchNumber: $b) { status conclusion closedBy phase1By } }",
                   {"b": batch}, as_user="qa.li")["oosRecords"]
    assert oos == [{"status": "CLOSED", "conclusion": "CONFIRMED", "closedBy": "qa.li", "phase1By": "qa.li"}]
