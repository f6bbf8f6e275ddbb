"""Shelving alarms in the control room (issue 15), in Chromium against `plasmatwin demo` at the desktop size: an
operator shelves a standing alarm's tag for 1 h with a reason, signed (the password asked at the first signature),
sees it in the shelf list and the alarm marked; the server lists the shelf and the audit trail has the signature;
then the operator unshelves it, signed. A role that may not shelve sees the shelf list but neither button.
The tags are humidity tags no other UI test touches (the flood test warms temperature tags)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from tests import test_ui
from tests.test_ui import _reauthentication, _signature, close, give_password, open_app
from tests.ui_server import DemoServer, http_json

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser

DESKTOP = {"width": 1920, "height": 1080}
TAG = "VIS-MT-102"  # visual inspection room humidity: LOW priority, 10 s on-delay
OTHER_TAG = "PKG-MT-102"  # packaging room humidity, shelved through the API for the read-only role
ZONED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
SHELVES = "{ alarmShelves(active: true) { id tag reason shelvedBy shelvedAt until endedAt endedBy } }"


def _standing_alarm(demo: DemoServer) -> None:
    """A standing limit alarm on TAG: the simulator's humidity far past its high limit for two minutes."""
    result = http_json(f"{demo.url}/demo/simulate", {"tag": TAG, "delta": 40, "seconds": 120}, demo.token("op.chen"))
    assert result["ok"] is True, result


def _shelves(demo: DemoServer) -> dict[str, dict[str, Any]]:
    return {x["tag"]: x for x in demo.gql(SHELVES, as_user="qa.li")["alarmShelves"]}


def _shelf_events(demo: DemoServer, shelf_id: int) -> list[dict[str, Any]]:
    events = demo.gql('query($id: String!) { auditTrail(filter: {entity: "alarm_shelf", entityId: $id}, first: 50) {'
                      ' edges { node { action actor changes } } } }', {"id": str(shelf_id)}, as_user="qa.li")
    return [e["node"] for e in events["auditTrail"]["edges"]]


def _signed(events: list[dict[str, Any]], operation: str) -> list[dict[str, Any]]:
    return [e for e in events if e["action"] == "SIGN" and e["changes"]["operation"][1] == operation]


def test_an_operator_shelves_a_tag_for_an_hour_with_a_reason_and_unshelves_it(
        browser: Any, demo: DemoServer) -> None:
    assert TAG not in _shelves(demo)
    _standing_alarm(demo)
    _reauthentication(demo, True)
    page = open_app(browser, demo.url, "op.chen", demo.password("op.chen"), viewport=DESKTOP)
    try:
        row = page.locator("[data-testid=alarm-list] tr[data-alarm-id]", has_text=TAG).first
        row.wait_for(timeout=60000)
        assert row.get_attribute("data-shelved") is None
        row.locator(f'button[data-shelve="{TAG}"]').click()
        dialog = page.locator("dialog.shelve-dialog")
        dialog.wait_for()
        assert f"Shelve {TAG}" in dialog.inner_text() and "PERFORMED" in dialog.inner_text()
        # The reason is required: refused in the dialog, before anything is signed.
        dialog.locator("button[type=submit]").click()
        assert "Write the reason first" in dialog.locator(".error-box").inner_text()
        # The longest the server allows is offered, and nothing longer.
        durations = dialog.locator("input[name=minutes]").evaluate_all("xs => xs.map(x => Number(x.value))")
        assert max(durations) == 720 and 60 in durations, durations
        dialog.locator('input[name=minutes][value="240"]').check()
        dialog.locator('input[name=minutes][value="60"]').check()
        assert ZONED.search(dialog.locator("[data-testid=shelf-until]").inner_text())
        reason = "Humidity probe in visual inspection drifting; replacement on work order WO-SHELF-15"
        dialog.locator("textarea[name=reason]").fill(reason)
        dialog.locator("button[type=submit]").click()

        # Re-authentication on: the first signature of the session asks for the password, then signs.
        give_password(page, demo, "op.chen")
        dialog.wait_for(state="detached", timeout=10000)

        shelf = page.locator(f'[data-testid=shelf-list] tr[data-shelf-tag="{TAG}"]')
        shelf.wait_for(timeout=5000)
        cells = shelf.locator("td").all_inner_texts()
        assert cells[0] == TAG and cells[1] == reason and "op.chen" in cells[2], cells
        assert ZONED.search(cells[3]), cells  # until when, with the zone
        assert cells[4] in ("1 h", "59 min"), cells  # time left
        assert shelf.locator(f'button[data-unshelve="{TAG}"]').is_visible()
        marked = page.locator("[data-testid=alarm-list] tr[data-shelved]", has_text=TAG).first
        marked.wait_for(timeout=5000)
        assert "Shelved" in marked.locator("[data-testid=shelf-mark]").inner_text()
        assert marked.locator("button[data-shelve]").count() == 0

        server = _shelves(demo)[TAG]
        assert server["reason"] == reason and server["shelvedBy"] == "op.chen" and server["endedAt"] is None
        until, at = datetime.fromisoformat(server["until"]), datetime.fromisoformat(server["shelvedAt"])
        assert (until - at).total_seconds() == 3600, server
        signed = _signed(_shelf_events(demo, server["id"]), "shelveAlarm")
        assert signed and signed[0]["actor"] == "op.chen" and signed[0]["changes"]["meaning"][1] == "PERFORMED"

        # Unshelve, signed with a reason; the password is not asked again so soon.
        shelf.locator(f'button[data-unshelve="{TAG}"]').click()
        dialog.wait_for()
        assert f"Unshelve {TAG}" in dialog.inner_text() and reason in dialog.inner_text()
        dialog.locator("textarea[name=reason]").fill("Probe replaced and checked against the reference hygrometer")
        dialog.locator("button[type=submit]").click()
        dialog.wait_for(state="detached", timeout=10000)
        assert page.locator("dialog.reauth-modal").count() == 0
        shelf.wait_for(state="detached", timeout=5000)
        page.locator("[data-testid=alarm-list] tr[data-alarm-id]:not([data-shelved])", has_text=TAG).first.wait_for(
            timeout=5000)
        assert TAG not in _shelves(demo)
        ended = _signed(_shelf_events(demo, server["id"]), "unshelveAlarm")
        assert ended and ended[0]["actor"] == "op.chen"
    finally:
        close(page)
        _reauthentication(demo, False)
    app_user = demo.gql('{ auditTrail(filter: {entity: "app_user", actor: "op.chen"}, first: 50) { edges { node {'
                        ' action } } } }', as_user="qa.li")["auditTrail"]["edges"]
    assert "REAUTHENTICATED" in [e["node"]["action"] for e in app_user]


def test_a_role_that_may_not_shelve_sees_the_shelved_tags_but_neither_button(browser: Any, demo: DemoServer) -> None:
    _standing_alarm(demo)
    inp = {"tag": OTHER_TAG, "minutes": 30, "reason": "Packaging humidity probe under calibration"}
    shelve = ("mutation($input: ShelveAlarmInput!, $sig: SignatureInput!) { shelveAlarm(input: $input, "
              "signature: $sig) { id } }")
    demo.gql(shelve, {"input": inp, "sig": _signature(demo, "sup.zhao", "shelveAlarm", inp)}, as_user="sup.zhao")
    page = open_app(browser, demo.url, "aud.xu", demo.password("aud.xu"), viewport=DESKTOP)
    try:
        page.locator("[data-testid=alarm-list] tr[data-alarm-id]", has_text=TAG).first.wait_for(timeout=60000)
        shelf = page.locator(f'[data-testid=shelf-list] tr[data-shelf-tag="{OTHER_TAG}"]')
        shelf.wait_for(timeout=10000)
        assert "sup.zhao" in shelf.inner_text() and inp["reason"] in shelf.inner_text()
        assert page.locator("button[data-shelve]").count() == 0
        assert page.locator("button[data-unshelve]").count() == 0
    finally:
        close(page)
        out = {"tag": OTHER_TAG, "reason": "end of the browser test"}
        demo.gql("mutation($input: UnshelveAlarmInput!, $sig: SignatureInput!) { unshelveAlarm(input: $input, "
                 "signature: $sig) { id } }",
                 {"input": out, "sig": _signature(demo, "sup.zhao", "unshelveAlarm", out)}, as_user="sup.zhao")
