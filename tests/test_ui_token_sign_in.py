"""Signing in with an access token (issue 15), in Chromium against `plasmatwin demo`: QA issues a regulator a
read-only token scoped to one demo batch; the regulator pastes it on the sign-in form, is told it is a
read-only token session, reads that batch's audit trail (its batch and plasma unit events, no sign-ins) and
signs out, which forgets the token in the tab but leaves it valid. A garbage token is refused by its code.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import test_ui
from tests.test_ui import DESKTOP, ENGLISH, _call, close, rfc3339
from tests.ui_server import DemoServer, http_json

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser

BATCH = "ALB-DEMO-01"  # the demo's first batch, planned through the API early in its production
TRAIL = """query($f: AuditFilter, $first: Int) { auditTrail(filter: $f, first: $first) {
  totalCount edges { node { id entity entityId action } } } }"""


def _batch_planned(demo: DemoServer, timeout: float = 300) -> None:
    """The demo makes its batches in the background at start: wait until BATCH exists."""
    deadline = time.monotonic() + timeout
    query = 'query($b: String!) { batch(batchNumber: $b) { batchNumber } }'
    while not demo.gql(query, {"b": BATCH}, as_user="qa.li")["batch"]:
        if time.monotonic() > deadline:
            raise AssertionError(f"the demo did not plan {BATCH} within {timeout} s:\n{demo.log_tail()}")
        time.sleep(2)


def _regulators_token(demo: DemoServer) -> tuple[str, str]:
    """QA (qa.li) issues reg.he a read-only token for BATCH, for weeks, through the signed mutation: its id, itself."""
    now = datetime.now(UTC)
    inp = {"holder": "reg.he", "readOnly": True, "batchNumbers": [BATCH], "purpose": "UI test: token sign-in",
           "validFrom": rfc3339(now - timedelta(minutes=1)), "validUntil": rfc3339(now + timedelta(weeks=4))}
    issued = _call(demo, "qa.li", "issueScopedToken", "IssueScopedTokenInput", inp, "id token holder",
                   meaning="APPROVED")
    assert issued["holder"] == "reg.he" and issued["token"], issued
    return str(issued["id"]), str(issued["token"])


def _ask(demo: DemoServer, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = http_json(f"{demo.url}/graphql", {"query": query, "variables": variables or {}}, token)
    assert not body.get("errors"), body
    return body["data"]


def _token_form(page: Any) -> None:
    page.locator("[data-testid=use-token]").click()
    page.locator("[data-testid=token-sign-in] input[name=token]").wait_for(timeout=5000)
    assert page.locator("[data-testid=token-sign-in] input[name=token]").get_attribute("type") == "password"
    assert page.locator("input[name=username]").count() == 0


def _submit_token(page: Any, token: str) -> None:
    page.fill("[data-testid=token-sign-in] input[name=token]", token)
    page.click("[data-testid=token-sign-in] button[type=submit]")


def test_a_regulator_signs_in_with_a_scoped_token_reads_its_batchs_audit_trail_and_signs_out_keeping_it(
        browser: Any, demo: DemoServer) -> None:
    _batch_planned(demo)
    token_id, token = _regulators_token(demo)
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(ENGLISH)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.page_errors = errors
    try:
        page.goto(f"{demo.url}/")
        _token_form(page)
        # A garbage token: refused by the server (UNAUTHENTICATED), said in words, and nothing kept.
        _submit_token(page, "not-a-token-anyone-issued")
        refused = page.locator("[data-testid=token-refused]")
        refused.wait_for(state="visible", timeout=10000)
        text = refused.inner_text()
        assert "Access token refused" in text and "not valid" in text and "(UNAUTHENTICATED)" in text, text
        assert page.evaluate("() => sessionStorage.getItem('plasmatwin.session')") is None

        _submit_token(page, f"  {token}\n")  # pasted with blanks around it
        page.wait_for_selector("[data-testid=viewer]", timeout=10000)
        assert "(reg.he)" in page.locator("[data-testid=viewer]").inner_text()
        assert page.locator("[data-testid=token-session]").inner_text().strip() == "Read-only access token"
        assert page.locator("[data-testid=signing-unavailable]").count() == 0  # it signs nothing
        nav = [a.get_attribute("data-view") for a in page.locator("nav.mainnav a").all()]
        assert {"trace", "batches", "audit"} <= set(nav) and "control" not in nav, nav

        page.locator('nav.mainnav a[data-view="audit"]').click()
        rows = page.locator("[data-testid=audit-table] tbody tr[data-audit-id]")
        rows.first.wait_for(timeout=10000)
        shown = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
        entities = {r[3] for r in shown}
        assert all(re.fullmatch(r"(batch|plasma_unit) #\d+", e) for e in entities), entities
        assert len({e for e in entities if e.startswith("batch ")}) == 1, entities  # the one batch
        assert not {r[2] for r in shown} & {"SIGN_IN", "SIGN_OUT", "ACCESS_DENIED"}, shown
        # What the server answers the token: the screen shows those events and no others.
        answered = _ask(demo, token, TRAIL, {"first": 500})["auditTrail"]
        ids = {e["node"]["id"] for e in answered["edges"]}
        assert {rows.nth(i).get_attribute("data-audit-id") for i in range(rows.count())} <= ids
        # The batch's own events: the one batch, created under BATCH's number.
        page.fill("input[name=entity]", "batch")
        page.locator("[data-testid=audit-filter] button[type=submit]").click()
        page.wait_for_function("""() => [...document.querySelectorAll('[data-testid=audit-table] tbody tr')]
            .every(tr => tr.children[3]?.textContent.startsWith('batch #'))""", timeout=10000)
        changes = page.locator("[data-testid=audit-table] tbody tr[data-audit-id] td.audit-changes")
        assert any(BATCH in (changes.nth(i).get_attribute("title") or "") for i in range(changes.count()))
        # People's sign-ins are nobody's scope: filtered for, none.
        page.fill("input[name=entity]", "app_user")
        page.locator("[data-testid=audit-filter] button[type=submit]").click()
        page.get_by_text("No audit events match the filter.").wait_for(timeout=10000)
        assert not errors, errors

        # Signing out forgets the token in this tab only: QA's token stays valid for the regulator's next visit.
        page.get_by_role("button", name="Sign out").click()
        page.locator("form.signin").wait_for(timeout=10000)
        assert page.evaluate("() => sessionStorage.getItem('plasmatwin.session')") is None
        assert _ask(demo, token, "{ viewer { username } }")["viewer"]["username"] == "reg.he"
        tokens = demo.gql("{ scopedTokens { holder purpose revokedAt } }", as_user="qa.li")["scopedTokens"]
        assert any(t["holder"] == "reg.he" and t["purpose"] == "UI test: token sign-in" and t["revokedAt"] is None
                   for t in tokens), tokens
        # Once QA revokes it, the form refuses it by its code.
        demo.gql("mutation($id: ID!, $r: String!) { revokeScopedToken(id: $id, reason: $r) { revokedAt } }",
                 {"id": token_id, "r": "UI test: inspection over"}, as_user="qa.li")
        _token_form(page)
        _submit_token(page, token)
        refused.wait_for(state="visible", timeout=10000)
        assert "(UNAUTHENTICATED)" in refused.inner_text()
        assert page.evaluate("() => sessionStorage.getItem('plasmatwin.session')") is None
    finally:
        close(page)
