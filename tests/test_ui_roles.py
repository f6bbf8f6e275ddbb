"""Each role sees what it can do (issue 15), in Chromium against `plasmatwin demo`: a read-only role sees the
alarms without Acknowledge and reads the audit trail through its screen (filtered, paged, exported as CSV);
a regulator is offered neither the control room nor the audit trail; an operator has no Trace link.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import test_ui
from tests.test_ui import close, open_app
from tests.ui_server import DemoServer, http_json

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser


def _nav(page: Any) -> list[str]:
    return [a.get_attribute("data-view") for a in page.locator("nav.mainnav a").all()]


def _standing_alarm(demo: DemoServer) -> None:
    """An unacknowledged alarm to show: the cold store warmed past its limit by the simulator."""
    result = http_json(f"{demo.url}/demo/simulate", {"tag": "CS1-TT-101", "delta": 40, "seconds": 60},
                       demo.token("op.chen"))
    assert result["ok"] is True, result


def test_an_audit_administrator_sees_alarms_without_acknowledge_and_filters_the_audit_trail(
        browser: Any, demo: DemoServer) -> None:
    _standing_alarm(demo)
    page = open_app(browser, demo.url, "aud.xu", demo.password("aud.xu"))
    try:
        assert "audit" in _nav(page) and "control" in _nav(page)
        unack = page.locator('[data-testid=alarm-list] tr[data-state="ACTIVE"]').first
        unack.wait_for(timeout=10000)
        assert page.locator("[data-testid=alarm-list] button[data-ack]").count() == 0
        assert page.locator("[data-testid=ack-all]").is_hidden()
        assert page.locator("[data-testid=alarm-banner] button", has_text="Acknowledge").count() == 0

        page.locator('nav.mainnav a[data-view="audit"]').click()
        table = page.locator("[data-testid=audit-table]")
        page.locator("[data-testid=audit-table] tbody tr[data-audit-id]").first.wait_for(timeout=10000)
        assert "Showing 50 of" in page.locator("[data-testid=audit-count]").inner_text()
        page.fill("input[name=entity]", "app_user")
        page.fill("input[name=actor]", "aud.xu")
        page.locator("[data-testid=audit-filter] button[type=submit]").click()
        page.wait_for_function("""() => [...document.querySelectorAll('[data-testid=audit-table] tbody tr')]
            .every(tr => tr.children[1]?.textContent === 'aud.xu')""", timeout=10000)
        rows = table.locator("tbody tr[data-audit-id]")
        assert rows.count() >= 1  # at least this sign-in
        texts = [rows.nth(i).inner_text() for i in range(rows.count())]
        assert all("aud.xu" in x and "app_user" in x for x in texts), texts
        shown = page.locator("[data-testid=audit-count]").inner_text()
        assert shown.startswith(f"Showing {rows.count()} of"), shown
        with page.expect_download() as got:
            page.locator("[data-testid=audit-export]").click()
        csv = got.value.path().read_text(encoding="utf-8-sig")
        head, *lines = csv.strip().splitlines()
        assert head.startswith("id,occurredAt,actor,action,entity")
        assert len(lines) == rows.count() and all(",aud.xu," in x for x in lines)
        # A time range after now holds nothing.
        page.fill("input[name=from]", "2099-01-01T00:00:00")
        page.locator("[data-testid=audit-filter] button[type=submit]").click()
        page.get_by_text("No audit events match the filter.").wait_for(timeout=10000)
    finally:
        close(page)


def test_a_regulator_is_offered_neither_the_control_room_nor_the_audit_trail(
        browser: Any, demo: DemoServer) -> None:
    page = open_app(browser, demo.url, "reg.he", demo.password("reg.he"), path="")
    try:
        # No view asked for: it lands on the first it can use.
        page.wait_for_function("() => location.hash === '#/trace'", timeout=10000)
        nav = _nav(page)
        assert "trace" in nav and "batches" in nav, nav
        assert not {"control", "audit", "tablet", "lab"} & set(nav), nav
        page.goto(f"{demo.url}/#/control")
        page.locator("[data-testid=view-not-permitted]").wait_for(timeout=10000)
        assert page.get_by_role("button", name="Acknowledge").count() == 0
    finally:
        close(page)


def test_an_operator_has_no_trace_link_and_no_audit_trail(browser: Any, demo: DemoServer) -> None:
    page = open_app(browser, demo.url, "op.chen", demo.password("op.chen"))
    try:
        nav = _nav(page)
        assert "control" in nav and "tablet" in nav, nav
        assert "trace" not in nav and "audit" not in nav, nav
        page.goto(f"{demo.url}/#/audit")
        page.locator("[data-testid=view-not-permitted]").wait_for(timeout=10000)
    finally:
        close(page)
