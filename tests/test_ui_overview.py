"""The control room's overview and the trace view in Chromium against `plasmatwin demo` (issue 15).

The floor plan follows ISA-101's levels: fitted whole at 1920x1080 (level 1) every room shows its name
(wrapped or abbreviated inside the room, never clipped), its state and its alarms, every text at 12 px
or more on screen; zoomed into a room (level 2) its values appear, also at 12 px or more. The trace view
has an empty state, a kind filter, fit-to-screen, forward traces from a batch number, and clears its
details panel when a trace fails.
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

CONTROL_ROOM = {"width": 1920, "height": 1080}

# Every text drawn in the plan's visible area: its on-screen font size (CSS font size times the element's own
# scale to the screen, so a scaled group counts) and whether it lies inside the plan.
VISIBLE_TEXTS = """() => {
  const svg = document.querySelector('svg.plan');
  const box = svg.getBoundingClientRect();
  const out = [];
  for (const el of svg.querySelectorAll('text, tspan')) {
    if (!el.textContent.trim()) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;  // not rendered (display none, empty)
    if (r.right < box.left || r.left > box.right || r.bottom < box.top || r.top > box.bottom) continue;
    const m = el.getScreenCTM();
    const px = parseFloat(getComputedStyle(el).fontSize) * Math.hypot(m.a, m.b);
    out.push({ text: el.textContent.trim(), cls: el.getAttribute('class') || el.tagName, px });
  }
  return out;
}"""

# Each room's shape and the boxes of its name and code as drawn.
ROOM_LABELS = """() => [...document.querySelectorAll('svg.plan g.room')].map((room) => {
  const shape = room.querySelector('.room-shape').getBoundingClientRect();
  const g = document.querySelector(`svg.plan [data-texts-of="${room.dataset.room}"]`);
  const rect = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const lines = [...g.querySelectorAll('.room-name tspan')].filter((t) => t.getAttribute('display') !== 'none')
    .map((t) => t.textContent).filter(Boolean);
  return {
    code: room.dataset.room, title: room.querySelector('title').textContent, lines,
    shape: [shape.left, shape.top, shape.right, shape.bottom],
    name: lines.length ? rect(g.querySelector('.room-name')) : null,
    label: rect(g.querySelector('.room-label')),
    state: [...g.querySelectorAll('.room-state, .room-batch')].filter((t) => t.getAttribute('display') !== 'none'
      && t.textContent.trim()).map((t) => t.textContent.trim()),
  };
})"""


def _inside(inner: list[float], outer: list[float], slack: float = 1.0) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def _overview(page: Any) -> None:
    page.wait_for_selector('svg.plan[data-level="1"] [data-room]')
    page.wait_for_function(
        "() => /°C/.test(document.querySelector('svg.plan tspan[data-tag=\"CS1-TT-101\"]')?.textContent ?? '')",
        timeout=10000)
    page.wait_for_timeout(300)  # the layout follows the ResizeObserver's first report


def _assert_legible_overview(page: Any) -> None:
    texts = page.evaluate(VISIBLE_TEXTS)
    assert texts, "no text drawn on the plan"
    small = [x for x in texts if x["px"] < 12]
    assert small == [], small
    # Level 1: no per-sensor values on the plan, only rooms' state lines (a cold room's state is its temperature).
    shown_values = page.eval_on_selector_all(
        "svg.plan .room-values, svg.plan .eq-value, svg.plan .eq-status",
        "els => els.filter(e => e.getAttribute('display') !== 'none' && e.getBoundingClientRect().width > 0).length")
    assert shown_values == 0
    rooms = page.evaluate(ROOM_LABELS)
    for r in rooms:
        assert _inside(r["label"], r["shape"]), r  # the code
        assert r["lines"], f"{r['code']} shows no name"
        assert r["name"] and _inside(r["name"], r["shape"]), r  # the name, never clipped by the room's walls
        drawn = "".join(r["lines"]).replace(" ", "").replace("-", "").rstrip("…")
        full = r["title"].replace(" ", "").replace("-", "")
        assert drawn and drawn in full, r  # wrapped or abbreviated, the full name in the title
        assert r["state"], f"{r['code']} shows no state"


def test_the_overview_at_1920x1080_draws_names_state_and_alarms_at_12_px_or_more(
        browser: Any, demo: DemoServer) -> None:
    page = open_app(browser, demo.url, "op.chen", demo.password("op.chen"), "#/control", CONTROL_ROOM)
    try:
        _overview(page)
        _assert_legible_overview(page)
        # The cold stores' state: their air temperature, with its unit.
        state = page.locator('svg.plan [data-room-state="CS1"]').text_content() or ""
        assert "°C" in state, state
        # A smaller window keeps the rule: sizes follow the drawn scale.
        page.set_viewport_size({"width": 1280, "height": 800})
        page.wait_for_timeout(500)
        small = [x for x in page.evaluate(VISIBLE_TEXTS) if x["px"] < 12]
        assert small == [], small
        for r in page.evaluate(ROOM_LABELS):
            assert r["name"] is None or _inside(r["name"], r["shape"]), r
        # A room's alarms at level 1: the priority symbol and the count beside it, at 12 px or more too.
        page.set_viewport_size(CONTROL_ROOM)
        result = http_json(f"{demo.url}/demo/simulate", {"tag": "CS1-TT-101", "delta": 40, "seconds": 60},
                           demo.token("op.chen"))
        assert result["ok"] is True, result
        page.locator('svg.plan [data-room="CS1"][data-alarm] .sym').wait_for(timeout=5000)
        page.wait_for_function(
            "() => /^\\u00d7\\d+$/.test(document.querySelector('svg.plan [data-room-alarms=\"CS1\"]').textContent)")
        texts = page.evaluate(VISIBLE_TEXTS)
        assert any(x["cls"] == "sym-num" for x in texts) and any(x["cls"] == "room-alarm-count" for x in texts)
        small = [x for x in texts if x["px"] < 12]
        assert small == [], small
    finally:
        close(page)


def test_zooming_into_a_room_shows_its_values_at_12_px_or_more(browser: Any, demo: DemoServer) -> None:
    page = open_app(browser, demo.url, "op.chen", demo.password("op.chen"), "#/control", CONTROL_ROOM)
    try:
        _overview(page)
        values = page.locator('svg.plan [data-texts-of="CS1"] .room-values')
        assert values.get_attribute("display") == "none"
        page.dblclick('svg.plan [data-room="CS1"] .room-shape', position={"x": 20, "y": 60})
        page.wait_for_selector('svg.plan[data-level="2"]')
        values.wait_for(state="visible", timeout=3000)
        tags = values.locator("tspan[data-tag]")
        assert tags.count() >= 1
        page.wait_for_function(
            "() => [...document.querySelectorAll('svg.plan [data-texts-of=\"CS1\"] .room-values tspan[data-tag]')]"
            ".every(t => t.textContent.trim() && t.textContent !== '—' || t.getAttribute('display') === 'none')",
            timeout=5000)
        # The room's equipment values and status words appear too; nothing drawn below 12 px.
        page.locator('svg.plan [data-eq="EQ-CS1-01"] .eq-value').wait_for(state="visible", timeout=3000)
        texts = page.evaluate(VISIBLE_TEXTS)
        assert any(x["cls"].startswith("v") for x in texts), texts
        small = [x for x in texts if x["px"] < 12]
        assert small == [], small
        # The selected room also zooms from the button (touch has no double click); "Fit" is level 1 again.
        page.get_by_title("Whole plant").click()
        page.wait_for_selector('svg.plan[data-level="1"]')
        assert values.get_attribute("display") == "none"
        page.click('svg.plan [data-room="CS2"] .room-shape', position={"x": 20, "y": 60})
        page.click("[data-testid=zoom-room]")
        page.locator('svg.plan [data-texts-of="CS2"] .room-values').wait_for(state="visible", timeout=3000)
        # Touch: two fingers spread apart zoom in around their midpoint.
        page.get_by_title("Whole plant").click()
        page.wait_for_selector('svg.plan[data-level="1"]')
        width = float(page.get_attribute("svg.plan", "viewBox").split()[2])
        page.evaluate("""() => {
          const svg = document.querySelector('svg.plan');
          const r = svg.getBoundingClientRect();
          const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
          const fire = (type, id, x) => svg.dispatchEvent(new PointerEvent(type, { pointerId: id,
            pointerType: 'touch', clientX: x, clientY: cy, button: type === 'pointermove' ? -1 : 0, bubbles: true }));
          fire('pointerdown', 11, cx - 20); fire('pointerdown', 12, cx + 20);
          for (let i = 1; i <= 5; i++) {
            fire('pointermove', 11, cx - 20 - 30 * i);
            fire('pointermove', 12, cx + 20 + 30 * i);
          }
          fire('pointerup', 11, cx - 170); fire('pointerup', 12, cx + 170);
        }""")
        page.wait_for_selector('svg.plan[data-level="2"]')
        assert float(page.get_attribute("svg.plan", "viewBox").split()[2]) < width / 3
        small = [x for x in page.evaluate(VISIBLE_TEXTS) if x["px"] < 12]
        assert small == [], small
    finally:
        close(page)


def _batch(demo: DemoServer) -> str:
    edges = demo.gql("{ batches(first: 3) { edges { node { batchNumber } } } }")["batches"]["edges"]
    return str(edges[-1]["node"]["batchNumber"])


def test_trace_view_empty_state_forward_from_a_batch_kind_filter_and_fit(browser: Any, demo: DemoServer) -> None:
    batch = _batch(demo)
    page = open_app(browser, demo.url, "qa.li", demo.password("qa.li"), "#/trace", CONTROL_ROOM)
    try:
        graph = page.locator("[data-testid=trace-graph]")
        empty = graph.locator("[data-testid=trace-empty]")
        empty.wait_for()
        assert "Nothing traced yet" in empty.inner_text()
        assert not page.locator("[data-testid=trace-fit]").is_visible()  # nothing to fit or filter yet
        # Forward from a batch number (the server accepts any code the graph holds).
        page.check("input[name=dir][value=forward]")
        page.fill("input[name=code]", batch)
        page.keyboard.press("Enter")
        graph.locator(f'.tnode.focus[data-kind="BATCH"][data-code="{batch}"]').wait_for(timeout=10000)
        assert "error" not in (page.locator(".trace-status").get_attribute("class") or "")
        assert "dir=forward" in page.url
        graph.locator(f'.tnode[data-code="{batch}"]').click()
        page.get_by_role("button", name="Trace forward from here").wait_for()
        # Backward: the donors' side, then the filter by kind.
        page.check("input[name=dir][value=backward]")
        page.click(".trace-form button[type=submit]")
        graph.locator('.tnode[data-kind="DONOR"]').first.wait_for(timeout=10000)
        assert page.locator("[data-testid=trace-info] h3").count() == 0  # a new trace cleared the details
        kinds = page.locator("[data-testid=trace-kinds]")
        for kind in ("DONOR", "PLASMA_UNIT", "POOL", "BATCH", "STATION"):
            assert kinds.locator(f'input[value="{kind}"]').is_checked(), kind
        kinds.locator('input[value="DONOR"]').uncheck()
        kinds.locator('input[value="STATION"]').uncheck()
        assert graph.locator('.tnode[data-kind="DONOR"]').count() == 0
        assert graph.locator('.tnode[data-kind="STATION"]').count() == 0
        assert graph.locator('.tnode[data-kind="PLASMA_UNIT"]').count() > 0
        assert graph.locator(f'.tnode.focus[data-code="{batch}"]').count() == 1
        kinds.locator('input[value="DONOR"]').check()
        assert graph.locator('.tnode[data-kind="DONOR"]').count() > 0
        # Fit to screen: the whole graph inside the canvas, no scrolling; again for the drawn size.
        natural = graph.locator("svg.trace-svg").bounding_box()
        page.click("[data-testid=trace-fit]")
        canvas = graph.bounding_box()
        fitted = graph.locator("svg.trace-svg").bounding_box()
        assert canvas and fitted and natural
        assert fitted["width"] <= canvas["width"] + 1 and fitted["height"] <= canvas["height"] + 1
        assert page.evaluate("() => { const c = document.querySelector('[data-testid=trace-graph]');"
                             " return c.scrollWidth <= c.clientWidth + 1 && c.scrollHeight <= c.clientHeight + 1 }")
        assert page.get_attribute("[data-testid=trace-fit]", "aria-pressed") == "true"
        page.click("[data-testid=trace-fit]")
        again = graph.locator("svg.trace-svg").bounding_box()
        assert again and abs(again["width"] - natural["width"]) < 1
    finally:
        close(page)


def test_a_failed_trace_leaves_the_details_panel_empty(browser: Any, demo: DemoServer) -> None:
    batch = _batch(demo)
    page = open_app(browser, demo.url, "qa.li", demo.password("qa.li"), f"#/trace?code={batch}&dir=backward",
                    CONTROL_ROOM)
    try:
        graph = page.locator("[data-testid=trace-graph]")
        graph.locator(f'.tnode.focus[data-code="{batch}"]').wait_for(timeout=10000)
        graph.locator(f'.tnode[data-code="{batch}"]').click()
        info = page.locator("[data-testid=trace-info]")
        assert info.locator("h3").inner_text() == batch
        page.fill("input[name=code]", "NO-SUCH-CODE-4711")
        page.keyboard.press("Enter")
        page.locator(".trace-status.error").wait_for(timeout=10000)
        assert info.locator("h3, dl, button").count() == 0
        assert batch not in info.inner_text()
        assert graph.locator(".tnode").count() == 0
        graph.locator("[data-testid=trace-empty]").wait_for()
    finally:
        close(page)
