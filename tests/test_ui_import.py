"""The instrument import in Chromium against `plasmatwin demo`: a QC analyst picks a plate reader's ELISA export
on the tablet, signs the import in the browser and sees the run's plate map, the reactive unit's well red, the
cut-off from the controls and the raw file's SHA-256; a file naming a unit the plant never received is refused
with its code. The analyst compares the kept file under rule version 1 and reprocesses it with a reason; a
reviewer opens the run by number and signs its review. Screenshots for the README are written to docs/screenshots/.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import test_ui
from tests.test_ui import SHOTS, TABLET, _call, close, open_app
from tests.ui_server import DemoServer

pytestmark = pytest.mark.browser
# The browser fixture of the other UI tests (the demo server is shared: tests/conftest.py).
browser = test_ui.browser

# The example plate without its production-pool well: the demo has no pool PL-IT-1.
PLATE = (Path(__file__).parent / "data" / "elisa_plate.csv").read_bytes().replace(b",PL-IT-1,", b",,")
UNITS = ("IT-U1", "IT-U2", "IT-U3", "IT-U4")


def _received_units(demo: DemoServer) -> None:
    """The plate's four units shipped by the demo's station and received in the plant."""
    collected = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    units = [{"donationNumber": n, "donorCardNumber": f"IT-D{i}", "bloodType": "A", "collectedOn": collected,
              "weightG": 600.0} for i, n in enumerate(UNITS)]
    _call(demo, "log.sun", "submitPlasmaShipment", "SubmitPlasmaShipmentInput",
          {"stationCode": "PS-N1", "shipmentCode": "SH-UI-IT", "units": units}, "accepted")
    for n in UNITS:
        _call(demo, "log.sun", "receivePlasmaUnit", "ReceivePlasmaUnitInput",
              {"stationCode": "PS-N1", "shipmentCode": "SH-UI-IT", "scannedCode": n, "weightG": 600.0,
               "storageLocation": "CS1-R01-P01"}, "unit { status }")


@pytest.mark.req("QC-08")
def test_an_analyst_imports_a_plate_and_sees_the_reactive_well_on_the_plate_map(
        browser: Any, demo: DemoServer, tmp_path: Path) -> None:
    _received_units(demo)
    good, bad = tmp_path / "plate-01.csv", tmp_path / "plate-02.csv"
    good.write_bytes(PLATE)
    bad.write_bytes(PLATE.replace(b"IT-U4", b"IT-NONE"))
    page = open_app(browser, demo.url, "qc.zhou", demo.password("qc.zhou"), "#/lab/import", TABLET)
    try:
        form = page.locator("[data-testid=import-form]")
        form.wait_for(timeout=10000)
        # A unit the plant never received: refused with its code, nothing imported.
        page.set_input_files("input[name=file]", str(bad))
        page.wait_for_function("document.querySelector('input[name=instrument]').value === 'EL-01'")
        page.select_option("select[name=testItem]", "HBSAG")
        page.fill("input[name=kitLot]", "KIT-HBS-2611")
        submit = form.locator("[data-testid=import]")
        box = submit.bounding_box()
        assert box and box["height"] >= 48  # touch target
        submit.click()
        refused = form.locator(".error-box")
        refused.wait_for(state="visible", timeout=15000)
        assert "VALIDATION_FAILED" in refused.inner_text() and "IT-NONE" in refused.inner_text(), refused.inner_text()

        page.set_input_files("input[name=file]", str(good))
        submit.click()
        run = page.locator("[data-testid=instrument-run]")
        run.wait_for(timeout=20000)
        assert run.get_attribute("data-status") == "IMPORTED"
        assert page.locator("[data-testid=cutoff]").inner_text() == "0.130"
        assert page.locator("[data-testid=sha256]").inner_text() == hashlib.sha256(PLATE).hexdigest()
        assert page.locator("table.plate td.well").count() == 96
        reactive = page.locator("td[data-well=A7]")
        assert reactive.get_attribute("data-outcome") == "REACTIVE"
        assert "IT-U2" in reactive.inner_text() and "S/CO 14.169" in reactive.inner_text()
        assert reactive.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(217, 58, 43)"  # red
        assert page.locator("td[data-well=A6]").get_attribute("data-outcome") == "NEGATIVE"
        assert page.locator("td[data-well=A1]").get_attribute("data-outcome") == "control"
        assert page.locator("td[data-well=B1]").get_attribute("data-outcome") == "empty"
        assert "No pool on this run" in run.inner_text()
        page.screenshot(path=str(SHOTS / "lab-import.png"), full_page=True)
        run_id = run.get_attribute("data-run")

        # Version 1 has no grey zone: IT-U3 (S/CO 0.962) becomes negative; nothing is written until signed.
        page.fill("input[name=parserVersion]", "1")
        page.locator("[data-testid=compare-run] button[type=submit]").click()
        summary = page.locator("[data-testid=compare-summary]")
        summary.wait_for(timeout=10000)
        assert "changed: IT-U3" in summary.inner_text(), summary.inner_text()
        assert "GREY_ZONE" in page.locator("tr[data-changed=A8]").inner_text()
        page.fill("textarea[name=reason]", "the kit insert of this lot defines no grey zone")
        page.locator("[data-testid=reprocess]").click()
        page.wait_for_function("document.querySelector('[data-testid=instrument-run]')?.innerText"
                               ".includes('processing 2')", timeout=15000)
        assert page.locator("td[data-well=A8]").get_attribute("data-outcome") == "NEGATIVE"
        assert page.locator("td[data-well=A7]").get_attribute("data-outcome") == "REACTIVE"
    finally:
        close(page)

    page = open_app(browser, demo.url, "qcr.wu", demo.password("qcr.wu"), "#/lab/import", TABLET)
    try:
        page.fill("input[name=runId]", str(run_id))
        page.locator("[data-testid=open-run] button[type=submit]").click()
        run = page.locator("[data-testid=instrument-run]")
        run.wait_for(timeout=10000)
        page.fill("textarea[name=comment]", "controls valid, plate map and reprocessing checked")
        page.locator("[data-testid=review-run]").click()
        page.locator("[data-testid=instrument-run][data-status=REVIEWED]").wait_for(timeout=15000)
        assert "qcr.wu" in page.locator("[data-testid=instrument-run]").inner_text()
    finally:
        close(page)
    units = demo.gql("query($d: String!) { plasmaUnit(donationNumber: $d) { status } }", {"d": "IT-U2"},
                     as_user="qa.li")
    assert units["plasmaUnit"]["status"] == "BLOCKED"
