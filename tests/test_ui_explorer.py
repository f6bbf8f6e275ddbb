"""The schema explorer (issue 15), in Chromium against `plasmatwin demo`: a signed-in user opens GraphiQL from the
app's top bar, runs a query with the session's token and reads the answer; a visitor not signed in is asked to sign
in instead. The page is served by the API itself with its own Content-Security-Policy and nothing from elsewhere.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests import test_ui
from tests.test_ui import ENGLISH, close, open_app
from tests.ui_server import DemoServer

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser

# Every Content-Security-Policy violation on the page, to show the policy lets GraphiQL work.
WATCH_CSP = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"""
EDITOR = ".graphiql-container"
QUERY = "{ viewer { username } }"
STORED = "(q) => JSON.parse(localStorage.getItem('graphiql:tabState') ?? '{}').tabs?.some((t) => t.query === q)"


def _editor_text(page: Any, pane: str) -> str:
    return str(page.evaluate("(sel) => document.querySelector(sel).CodeMirror.getValue()", f"{pane} .CodeMirror"))


def test_a_signed_in_user_runs_a_query_in_the_explorer(browser: Any, demo: DemoServer) -> None:
    page = open_app(browser, demo.url, "sup.zhao", demo.password("sup.zhao"))
    try:
        page.context.add_init_script(WATCH_CSP)
        link = page.locator("[data-testid=explorer-link]")
        assert link.get_attribute("href") == "/explorer" and link.inner_text() == "API explorer"
        link.click()  # the same tab: the session lives in this tab's sessionStorage
        page.wait_for_url(f"{demo.url}/explorer")
        page.wait_for_selector(f"{EDITOR} .graphiql-query-editor .CodeMirror", timeout=30000)
        assert page.locator("[data-testid=explorer-sign-in]").count() == 0
        # Typed as a user types it (the editor closes brackets itself; a typed "}" steps over the closing one).
        page.click(".graphiql-query-editor .CodeMirror-lines")
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.type(QUERY)
        assert _editor_text(page, ".graphiql-query-editor") == QUERY
        # GraphiQL takes the edit in after a pause (its operation name too): run what it has stored as the tab's query.
        page.wait_for_function(STORED, arg=QUERY)
        page.click(".graphiql-execute-button")
        page.wait_for_function("() => document.querySelector('.graphiql-response .CodeMirror')"
                               "?.CodeMirror.getValue().includes('sup.zhao')", timeout=30000)
        answer = _editor_text(page, ".graphiql-response")
        assert '"username": "sup.zhao"' in answer and '"errors"' not in answer, answer
        # The schema came by introspection with the same token (within the depth limit): the docs list the root types.
        page.click("button[aria-label='Show Documentation Explorer']")
        page.wait_for_selector(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name:text-is('Query')",
                               timeout=30000)
        page.wait_for_selector(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name:text-is('Mutation')")
        # A dialog (GraphiQL's settings) adds its style element: the page's style-src allows it.
        page.click("button[aria-label='Open settings dialog']")
        page.wait_for_selector("[role=dialog]")
        page.keyboard.press("Escape")
        page.wait_for_selector("[role=dialog]", state="detached")
        assert page.evaluate("window.__csp") == []
    finally:
        close(page)


def test_a_visitor_not_signed_in_is_asked_to_sign_in_first(browser: Any, demo: DemoServer) -> None:
    context = browser.new_context(viewport=test_ui.DESKTOP)
    context.add_init_script(ENGLISH)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.page_errors = errors
    try:
        page.goto(f"{demo.url}/explorer")
        notice = page.locator("[data-testid=explorer-sign-in]")
        notice.wait_for()
        assert "sign in first" in notice.inner_text()
        assert page.locator(EDITOR).count() == 0 and page.locator(".CodeMirror").count() == 0
        page.click("[data-testid=explorer-sign-in] a[href='/']")
        page.wait_for_selector("form.signin input[name=username]")
    finally:
        close(page)


def test_the_explorer_page_is_served_with_its_policy_and_nothing_from_elsewhere(demo: DemoServer) -> None:
    for path in ("/explorer", "/explorer.html"):
        r = httpx.get(f"{demo.url}{path}", timeout=20)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        policy = dict(p.strip().split(" ", 1) for p in r.headers["content-security-policy"].split(";"))
        assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'", policy
        assert "unsafe-eval" not in r.headers["content-security-policy"]
        assert '<div id="explorer">' in r.text
        scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', r.text)
        linked = re.findall(r'<link[^>]*\bhref="([^"]+)"', r.text)
        assert scripts and all(s.startswith("/assets/") for s in scripts), scripts
        assert all(u.startswith(("/assets/", "data:")) for u in linked), linked
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), "no inline script: script-src is 'self'"
        for asset in scripts + [u for u in linked if u.startswith("/assets/")]:
            assert httpx.get(f"{demo.url}{asset}", timeout=20).status_code == 200, asset
