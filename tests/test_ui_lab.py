"""The QC laboratory's screens in Chromium against `plasmatwin demo`: the analyst enters a result from the
worklist on a tablet (a refused value shows its code), the reviewer reviews the record from the queue and
issues its test report with a PAdES signature made in the browser.

Screenshots for the README are written to docs/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_ui
from tests.test_ui import SHOTS, TABLET, _call, close, open_app
from tests.ui_server import DemoServer

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser

ITEMS = [
    {"name": "pH", "method": "ChP 2020 0631", "unit": "pH", "low": "6.4", "high": "7.4", "rounding": "DECIMALS",
     "precision": 1},
    {"name": "Loss on drying", "method": "ChP 2020 0831", "unit": "%", "high": "5.0", "rounding": "DECIMALS",
     "precision": 1, "formula": "(a - b) / a * 100"},
]


def _specified_batch(demo: DemoServer) -> tuple[str, str]:
    """A batch in production or completed, and its product's code, now with an effective specification."""
    edges = demo.gql("{ batches(first: 50) { edges { node { batchNumber status recipeCode product } } } }",
                     as_user="qa.li")["batches"]["edges"]
    b = next(e["node"] for e in edges if e["node"]["status"] in ("IN_PROGRESS", "COMPLETED"))
    subject = b["recipeCode"] or b["product"]
    spec = {"code": "SPEC-UI-LAB", "subjectKind": "PRODUCT", "subjectCode": subject, "title": "UI lab test",
            "effectiveDate": "2026-01-01", "changeNote": "first version", "items": ITEMS}
    _call(demo, "qc.zhou", "createSpecification", "CreateSpecificationInput", spec, "version")
    _call(demo, "qa.li", "approveSpecification", "SpecificationDecisionInput",
          {"code": "SPEC-UI-LAB", "version": 1, "comment": "approved"}, "status", meaning="APPROVED")
    return b["batchNumber"], subject


def test_an_analyst_enters_a_result_and_a_reviewer_reviews_and_issues_its_report(
        browser: Any, demo: DemoServer) -> None:
    batch, subject = _specified_batch(demo)
    page = open_app(browser, demo.url, "qc.zhou", demo.password("qc.zhou"), "#/lab/worklist", TABLET)
    try:
        start = page.locator(f'[data-start="{batch}/FINAL/{subject}"]')
        start.wait_for(timeout=10000)
        assert start.locator("button[data-item]").count() == 2
        box = start.locator('button[data-item="pH"]').bounding_box()
        assert box and box["height"] >= 48 and box["width"] >= 48  # touch targets
        start.locator('button[data-item="pH"]').click()
        form = page.locator("[data-testid=result-entry]")
        assert "6.4 - 7.4 pH" in form.inner_text()
        page.fill("input[name=value]", "seven")  # refused by the server with its code, nothing recorded
        form.locator("button[type=submit]").click()
        refused = form.locator(".error-box")
        refused.wait_for(state="visible", timeout=10000)
        assert "VALIDATION_FAILED" in refused.inner_text(), refused.inner_text()
        page.fill("input[name=value]", "7.04")
        form.locator("button[type=submit]").click()
        card = page.locator("[data-testid=result-card]")
        card.wait_for(timeout=10000)
        assert "pH: 7.0 · PASS" in card.inner_text()  # the server's reported value and verdict
        page.screenshot(path=str(SHOTS / "lab-worklist.png"))
        card.get_by_text("Next item").click()
        # The record is open now: the formula item is left, entered by its inputs.
        rec = page.locator(f'article[data-batch="{batch}"][data-record]')
        rec.locator('button[data-item="Loss on drying"]').click()
        page.fill("input[name=input-a]", "10.1234")
        page.fill("input[name=input-b]", "9.9012")
        page.locator("[data-testid=result-entry] button[type=submit]").click()
        card.wait_for(timeout=10000)
        assert "Loss on drying: 2.2 · PASS" in card.inner_text()
    finally:
        close(page)

    page = open_app(browser, demo.url, "qcr.wu", demo.password("qcr.wu"), "#/lab", TABLET)
    try:
        item = page.locator(f'article[data-batch="{batch}"]').first
        item.wait_for(timeout=10000)
        item.locator("button").click()
        lines = page.locator("table.lab-lines tbody tr")
        assert lines.count() == 2 and "qc.zhou" in lines.first.inner_text()
        page.fill("textarea[name=comment]", "raw data and calculation checked")
        page.locator("[data-testid=review]").click()
        issue = page.locator(f'article[data-batch="{batch}"] button', has_text="Issue the report")
        issue.wait_for(timeout=10000)
        issue.click()
        page.locator("[data-testid=issue]").click()
        issued = page.locator("[data-testid=issued]")
        issued.wait_for(timeout=30000)
        text = issued.inner_text().lower()
        assert "version 1 issued" in text and "complies" in text and "2 of 2 signatures" in text, text
        page.screenshot(path=str(SHOTS / "lab-review.png"))
    finally:
        close(page)
    tests = demo.gql("query($b: String!) { batchTests(batchNumber: $b) { id status reviewedBy results { analyst } } }",
                     {"b": batch}, as_user="qa.li")["batchTests"]
    [reviewed] = [t for t in tests if t["reviewedBy"] == "qcr.wu"]
    assert reviewed["status"] == "REVIEWED" and {r["analyst"] for r in reviewed["results"]} == {"qc.zhou"}
