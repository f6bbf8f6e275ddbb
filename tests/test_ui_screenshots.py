"""The README's screenshots in Chinese (the interface's default language; issue 15), taken in Chromium against
`plasmatwin demo` only once each view shows its data, each test also checking that what is shown is Chinese:
the control room at 1920x1080 with a standing alarm, its alarm list, the tablet's cold-room check at 1280x800,
the audit trail (QA), the trace graph and the QC analyst's worklist. And the floor plan's narrow cold rooms
at 1280x800 (and smaller): their temperature drawn whole inside the room at 12 px or more.

The images go to docs/screenshots/zh/, which README.md shows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import test_ui
from tests.test_ui import SHOTS, _call, close
from tests.ui_server import ROOT, DemoServer, http_json

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser

ZH = json.loads((ROOT / "frontend" / "src" / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
ZH_SHOTS = SHOTS / "zh"
CONTROL_ROOM = {"width": 1920, "height": 1080}
TABLET = {"width": 1280, "height": 800}
# The aseptic filling core losing its pressure cascade: a tag no other UI test touches (the flood test warms
# temperature tags, the shelving test humidity tags), so its alarm is this module's own.
ALARM_TAG = "FIL-PDT-103"
# Its own specification and subject, so its open test record is nobody else's (tests/test_ui_lab.py, _oos, _pqr).
SPEC = {"code": "SPEC-UI-ZH", "subjectKind": "PRODUCT", "subjectCode": "UI-ZH", "title": "界面截图用规格",
        "effectiveDate": "2026-01-01", "changeNote": "第一版",
        "items": [{"name": "pH 值", "method": "ChP 2020 0631", "unit": "pH", "low": "6.4", "high": "7.4",
                   "rounding": "DECIMALS", "precision": 1},
                  {"name": "蛋白质含量", "method": "ChP 2020 0731", "unit": "g/L", "low": "45", "high": "55",
                   "rounding": "DECIMALS", "precision": 1}]}


def open_zh(browser: Any, demo: DemoServer, user: str, path: str, viewport: dict[str, int],
            touch: bool = False) -> Any:
    """Signed in through the sign-in form as tests/test_ui.py `open_app`, but in the default language (Chinese:
    nothing put in localStorage) and in the plant's zone and locale (date inputs), as a user in the plant sees it."""
    context = browser.new_context(viewport=viewport, timezone_id="Asia/Shanghai", locale="zh-CN",
                                  has_touch=touch)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.page_errors = errors
    page.goto(f"{demo.url}/{path}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", demo.password(user))
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("[data-testid=viewer]")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    return page


def _nav(page: Any, view: str) -> None:
    """The main navigation's link to `view` says its Chinese name."""
    assert page.locator(f'nav.mainnav a[data-view="{view}"]').inner_text().strip() == ZH[f"nav.{view}"]


def _shoot(target: Any, name: str) -> None:
    """A viewport (or one element's) screenshot for the README; blinking alarm symbols caught in their steady state."""
    ZH_SHOTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(ZH_SHOTS / name), animations="disabled")


def _cold_rooms(demo: DemoServer) -> list[str]:
    """Rooms whose own air temperature (their first temperature tag) is limited at 8 °C or below, as the UI says."""
    rooms = demo.gql("{ plants { rooms { code sensors { tag kind highLimit } } } }")["plants"][0]["rooms"]
    out = []
    for r in rooms:
        temps = sorted((s for s in r["sensors"] if s["kind"] == "temperature"), key=lambda s: s["tag"])
        if temps and temps[0]["highLimit"] is not None and temps[0]["highLimit"] <= 8:
            out.append(r["code"])
    return out


def _plan_ready(page: Any) -> None:
    page.wait_for_selector('svg.plan[data-level="1"] [data-room]')
    page.wait_for_function(
        "() => /°C/.test(document.querySelector('svg.plan tspan[data-tag=\"CS1-TT-101\"]')?.textContent ?? '')",
        timeout=10000)
    page.wait_for_timeout(300)  # the layout follows the ResizeObserver's first report


def test_the_control_room_with_a_standing_alarm_and_its_alarm_list_in_chinese(
        browser: Any, demo: DemoServer) -> None:
    page = open_zh(browser, demo, "op.chen", "#/control", CONTROL_ROOM)
    try:
        _nav(page, "control")
        _plan_ready(page)
        result = http_json(f"{demo.url}/demo/simulate", {"tag": ALARM_TAG, "delta": -30, "seconds": 120},
                           demo.token("op.chen"))
        assert result["ok"] is True, result
        row = page.locator('[data-testid=alarm-list] tr[data-state="ACTIVE"]', has_text=ALARM_TAG).first
        row.wait_for(timeout=20000)
        page.locator('svg.plan [data-room="FIL"][data-alarm] .sym').wait_for(timeout=5000)
        # The room's details beside the plan: its alarm, values and trend.
        page.click('svg.plan [data-room="FIL"] .room-shape', position={"x": 20, "y": 60})
        page.locator("[data-testid=details] .details-alarm").first.wait_for(timeout=5000)
        page.locator("[data-testid=details] canvas").first.wait_for(timeout=5000)
        assert page.locator("[data-testid=alarm-list] thead th").all_inner_texts()[:8] == [
            ZH[f"alarms.col.{c}"] for c in ("priority", "state", "raised", "room", "source", "message", "value",
                                            "handled")]
        assert row.locator("button[data-ack]").inner_text().strip() == ZH["alarms.acknowledge"]
        assert page.locator(".plan-zoom button").last.inner_text() == ZH["control.fit"]
        assert " UTC+8" in page.locator(".live-line").inner_text()
        _shoot(page, "control-room.png")
        _shoot(page.locator(".alarm-list"), "alarm-list.png")
    finally:
        close(page)


# The cold rooms' temperature as drawn: shown or not, how it was fitted, its on-screen size and box, its room's box.
COLD_TEMPERATURES = """(codes) => codes.map((code) => {
  const shape = document.querySelector(`svg.plan [data-room="${code}"] .room-shape`).getBoundingClientRect();
  const el = document.querySelector(`svg.plan [data-room-state="${code}"]`);
  const r = el.getBoundingClientRect();
  const m = el.getScreenCTM();
  return { code, text: el.textContent, fit: el.dataset.fit,
           shown: el.getAttribute('display') !== 'none' && r.width > 0 && r.height > 0,
           px: parseFloat(getComputedStyle(el).fontSize) * Math.hypot(m.a, m.b),
           box: [r.left, r.top, r.right, r.bottom], room: [shape.left, shape.top, shape.right, shape.bottom] };
})"""


@pytest.mark.parametrize(("size", "fits"), [
    pytest.param(TABLET, ("line", "tight"), id="1280x800"),
    pytest.param({"width": 1100, "height": 700}, ("line", "tight", "turned"), id="1100x700"),
    pytest.param(CONTROL_ROOM, ("line",), id="1920x1080"),
])
def test_narrow_cold_rooms_show_their_temperature_whole_inside_the_room_at_12_px_or_more(
        browser: Any, demo: DemoServer, size: dict[str, int], fits: tuple[str, ...]) -> None:
    from tests.test_ui_overview import ROOM_LABELS, VISIBLE_TEXTS, _inside

    cold = _cold_rooms(demo)
    assert len(cold) >= 2, cold
    page = open_zh(browser, demo, "op.chen", "#/control", size)
    try:
        _plan_ready(page)
        page.wait_for_function(
            "(codes) => codes.every(c => /°C/.test(document.querySelector(`svg.plan [data-room-state=\"${c}\"]`)"
            "?.textContent ?? ''))", arg=cold, timeout=10000)
        for t in page.evaluate(COLD_TEMPERATURES, cold):
            assert t["shown"] and t["fit"] in fits, t
            assert t["px"] >= 12, t
            assert _inside(t["box"], t["room"], slack=0.5), t  # whole, never cut by the room's walls
        # Nothing else on the plan drawn below 12 px, and the names that are shown still inside their rooms.
        small = [x for x in page.evaluate(VISIBLE_TEXTS) if x["px"] < 12]
        assert small == [], small
        for r in page.evaluate(ROOM_LABELS):
            assert r["name"] is None or _inside(r["name"], r["shape"]), r
    finally:
        close(page)


def test_the_tablet_cold_room_check_at_1280x800_in_chinese(browser: Any, demo: DemoServer) -> None:
    page = open_zh(browser, demo, "op.chen", "#/tablet/cold?room=CS2", TABLET, touch=True)
    try:
        _nav(page, "tablet")
        assert page.locator(".tablet-tabs a").first.inner_text().strip() == ZH["tablet.tab.tasks"]
        page.wait_for_selector('[data-screen="cold-room"] [data-choice] button[data-value="CS2"][aria-pressed="true"]')
        page.wait_for_function(
            "() => /°C/.test(document.querySelector('[data-testid=room-live] dd.value')?.textContent)",
            timeout=10000)
        page.fill("input[name=temperature]", "30.5")
        page.click(".sign-toggle")  # filled in, not submitted: the picture records nothing
        page.click('[data-choice] button[data-value="closed"]')
        assert page.input_value("input[name=temperature]") == "-30.5"
        _shoot(page, "tablet-cold-room.png")
    finally:
        close(page)


def test_the_audit_trail_for_qa_in_chinese(browser: Any, demo: DemoServer) -> None:
    page = open_zh(browser, demo, "qa.li", "#/audit", CONTROL_ROOM)
    try:
        _nav(page, "audit")
        page.locator("[data-testid=audit-table] tbody tr[data-audit-id]").first.wait_for(timeout=10000)
        assert page.locator("h1").first.inner_text().strip() == ZH["audit.title"]
        counted = page.locator("[data-testid=audit-count]").inner_text()
        assert counted.startswith(ZH["audit.count"].split("{{")[0]), counted
        # Each action in Chinese, its recorded code kept as the cell's tooltip
        cells = page.locator("[data-testid=audit-table] td.audit-action")
        shown = [(c.get_attribute("title") or "", c.inner_text().strip()) for c in cells.all()]
        assert shown and all(text == ZH.get(f"audit.action.{code}", code) for code, text in shown), shown
        assert any(code != text for code, text in shown), shown
        _shoot(page, "audit-trail.png")
    finally:
        close(page)


def test_the_trace_graph_in_chinese(browser: Any, demo: DemoServer) -> None:
    edges = demo.gql("{ batches(first: 3) { edges { node { batchNumber } } } }")["batches"]["edges"]
    batch = edges[-1]["node"]["batchNumber"]
    page = open_zh(browser, demo, "qa.li", f"#/trace?code={batch}&dir=backward", CONTROL_ROOM)
    try:
        _nav(page, "trace")
        graph = page.locator("[data-testid=trace-graph]")
        graph.locator(f'.tnode.focus[data-code="{batch}"]').wait_for(timeout=15000)
        graph.locator('.tnode[data-kind="DONOR"]').first.wait_for(timeout=10000)
        fit = page.locator("[data-testid=trace-fit]")
        assert fit.inner_text().strip() == ZH["trace.fit"]
        fit.click()
        assert fit.get_attribute("aria-pressed") == "true"
        _shoot(page, "trace.png")
    finally:
        close(page)


def _open_test_record(demo: DemoServer) -> str:
    """This module's specification, approved, and one of its two results entered on a batch the other QC tests
    leave alone: an open record with an item left, on the analyst's worklist. Its batch. Made once per demo
    (a test run again on the same demo finds them)."""
    records = demo.gql("{ qcWorklist { records { record { batchNumber subjectCode } } } }",
                       as_user="qc.zhou")["qcWorklist"]["records"]
    made = [r["record"]["batchNumber"] for r in records if r["record"]["subjectCode"] == SPEC["subjectCode"]]
    if made:
        return str(made[0])
    if demo.gql("query($c: String!) { specification(code: $c) { status } }", {"c": SPEC["code"]},
                as_user="qa.li")["specification"] is None:
        _call(demo, "qc.zhou", "createSpecification", "CreateSpecificationInput", SPEC, "version")
        _call(demo, "qa.li", "approveSpecification", "SpecificationDecisionInput",
              {"code": SPEC["code"], "version": 1, "comment": "批准"}, "status", meaning="APPROVED")
    edges = demo.gql("{ batches(first: 50) { edges { node { batchNumber status } } } }",
                     as_user="qa.li")["batches"]["edges"]
    nodes = [e["node"] for e in edges]
    # Not the first three (the OOS and trace tests') nor the first in production (the lab test's).
    taken = {n["batchNumber"] for n in nodes[:3]}
    taken |= {next((n["batchNumber"] for n in nodes if n["status"] in ("IN_PROGRESS", "COMPLETED")), "")}
    batch = [n["batchNumber"] for n in nodes if n["batchNumber"] not in taken][-1]
    _call(demo, "qc.zhou", "recordTestResult", "RecordTestResultInput", {
        "batchNumber": batch, "stage": "FINAL", "subjectCode": SPEC["subjectCode"], "item": "pH 值", "value": "7.02"},
          "stage status")
    return batch


def test_the_qc_worklist_in_chinese(browser: Any, demo: DemoServer) -> None:
    batch = _open_test_record(demo)
    page = open_zh(browser, demo, "qc.zhou", "#/lab/worklist", TABLET, touch=True)
    try:
        _nav(page, "lab")
        # Other UI tests share the demo and may have records on the same batch (the PQR test's): this module's.
        record = page.locator(f'article[data-batch="{batch}"][data-record]').filter(
            has_text=SPEC["subjectCode"])
        record.locator('button[data-item="蛋白质含量"]').wait_for(timeout=10000)
        assert "pH 值 7.0" in record.inner_text()  # the entered result, the item left as a button
        assert page.locator(".lab-list h2").first.inner_text().strip() == ZH["worklist.open"]
        assert page.locator(".tablet-tabs a, .lab-tabs a").first.inner_text().strip() == ZH["lab.tab.worklist"]
        _shoot(page, "qc-worklist.png")
    finally:
        close(page)
