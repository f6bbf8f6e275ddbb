"""Printed labels name their fields in the reader's language (issue 15): every line of every label the server
makes carries a stable key, each key has its field name in both UI catalogues, and the tablet prints the
Chinese name with the English beneath.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from demo.seed import seed_stations
from resolvers import intermediates, labels, materials, receipt, sample_life, weighing
from resolvers.labels import LINE_KEYS, line_key
from resolvers.sample_life import PlasmaOrigin
from tests import test_ui
from tests.test_ui import TABLET, close
from tests.test_ui_screenshots import open_zh
from tests.ui_server import DemoServer

I18N = Path(__file__).resolve().parents[1] / "frontend" / "src" / "i18n"
EN = json.loads((I18N / "en.json").read_text(encoding="utf-8"))
ZH = json.loads((I18N / "zh-CN.json").read_text(encoding="utf-8"))
TAKEN = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
ns = SimpleNamespace

browser = test_ui.browser


def _plasma_origin() -> PlasmaOrigin:
    return PlasmaOrigin(unit_id=1, donation_number="DN-LL-1", batch_number="PT-LL-1", donor_name="Wang Fang",
                        card_number="LL-1", blood_type="B", collected_on=date(2026, 10, 30), weight_g=600.0,
                        station_name="PS North")


def _every_label() -> dict[str, labels.Label]:
    """One label of each kind the server prints, built by the resolvers that build them."""
    unit = ns(material_code="PL261100001", donation_number="DN-LL-1", station=ns(name="PS North"),
              collected_on=date(2026, 10, 30), received_weight_g=598.0, weight_g=600.0)
    lot = ns(code="MT261100001", name="Sodium chloride", material_code="NACL", lot_number="L-1", quantity=25.0,
             unit="kg", supplier="Supplier A", expires_on=date(2028, 1, 1), status="RELEASED")
    row = ns(net=1.25, unit="kg", weighed_by="op.chen", verified_by="sup.rsa", weighed_at=TAKEN,
             label_code="WG261100001")
    inter = ns(intermediate=ns(code="IM261100001", kind="Fraction V paste", amount=12.5, unit="kg",
                               storage_conditions="-30 C or below", expires_on=date(2027, 5, 1), status="RELEASED"),
               batch_number="PT-LL-1", product="Human Albumin 20%")
    batch = ns(product="Human Albumin 20%", batch_number="PT-LL-1")
    return {
        "plasma unit": receipt.label(unit),  # type: ignore[arg-type]
        "material lot": materials.label(lot),  # type: ignore[arg-type]
        "weighing": weighing.view(row, batch, ns(specification="50 mL"), lot, ns(code="SC-01"),  # type: ignore[arg-type]
                                  ).label,
        "intermediate": intermediates.label(inter),  # type: ignore[arg-type]
        "plasma sample": sample_life.label_of("SM261100001", "RETEST", "DN-LL-1", "Plasma sample (retest)", TAKEN,
                                              "qc.sig", _plasma_origin(), None, None),
        "batch sample": sample_life.label_of("SM261100002", "RELEASE", "PT-LL-1", "Albumin release sample", TAKEN,
                                             "qc.sig", None, "PT-LL-1", "Final bulk, tank T-3"),
    }


def test_every_line_of_every_label_kind_has_a_listed_key() -> None:
    made = _every_label()
    for kind, lab in made.items():
        assert lab.lines, kind
        for name, _value in lab.lines:
            # Listed, not made up from the words: a new line gets its key (and its translation) on purpose.
            assert name in LINE_KEYS, (kind, name)
            assert line_key(name) == LINE_KEYS[name]
    # One key per field name, and the keys are plain camelCase codes.
    assert len(set(LINE_KEYS.values())) == len(LINE_KEYS)
    assert all(k.isalnum() and k[0].islower() for k in LINE_KEYS.values())
    assert line_key("Lot note") == "lotNote"  # a line not listed still has a key: its English prints


def test_every_key_has_its_field_name_in_both_catalogues() -> None:
    for name, key in LINE_KEYS.items():
        assert EN.get(f"labelLine.{key}") == name, key  # the English is the printed English
        zh = ZH.get(f"labelLine.{key}", "")
        assert zh.strip() and zh != name, key
    assert ZH["trend.time"] != EN["trend.time"] == "Time"


LABEL = "label { lines { key label value } }"
SUBMIT = """mutation($input: SubmitPlasmaShipmentInput!, $sig: SignatureInput!) {
  submitPlasmaShipment(input: $input, signature: $sig) { accepted } }"""
RECEIVE = f"""mutation($input: ReceivePlasmaUnitInput!, $sig: SignatureInput!) {{
  receivePlasmaUnit(input: $input, signature: $sig) {{ unit {{ materialCode }} {LABEL} }} }}"""


async def test_the_api_serves_each_line_with_its_key_beside_the_english(env: Any) -> None:
    gql, signers, db = env
    await seed_stations(db)
    me = await gql.sign_in("log.sig")
    unit: dict[str, Any] = {"donationNumber": "DN-LL-0001", "donorCardNumber": "LL-1", "bloodType": "B",
                            "weightG": 600.0,
                            "collectedOn": (datetime.now(UTC).date() - timedelta(days=5)).isoformat()}
    inp: dict[str, Any] = {"stationCode": "PS-N1", "shipmentCode": "SH-LL", "units": [unit]}
    assert (await me(SUBMIT, {"input": inp, "sig": signers.sign("log.sig", "submitPlasmaShipment", inp)})
            )["data"]["submitPlasmaShipment"]["accepted"] == 1
    inp = {"stationCode": "PS-N1", "shipmentCode": "SH-LL", "scannedCode": "DN-LL-0001", "weightG": 598.0,
           "storageLocation": "CS1-R01-P01"}
    out = (await me(RECEIVE, {"input": inp, "sig": signers.sign("log.sig", "receivePlasmaUnit", inp)}))["data"]
    lines = out["receivePlasmaUnit"]["label"]["lines"]
    assert [(x["key"], x["label"]) for x in lines] == [
        ("donationNumber", "Donation number"), ("collectingUnit", "Collecting unit"), ("collectedOn", "Collected"),
        ("quantity", "Quantity"), ("expiry", "Expiry")]
    code = out["receivePlasmaUnit"]["unit"]["materialCode"]
    again = (await me(f'{{ plasmaUnitLabel(materialCode: "{code}") {{ lines {{ key label value }} }} }}'))["data"]
    assert again["plasmaUnitLabel"]["lines"] == lines


@pytest.mark.browser
def test_the_tablets_sample_label_prints_chinese_field_names_with_the_english(browser: Any,
                                                                               demo: DemoServer) -> None:
    batch = demo.gql("{ batches(first: 1) { edges { node { batchNumber } } } }")["batches"]["edges"][0]["node"]
    page = open_zh(browser, demo, "op.chen", "#/tablet/sample", TABLET, touch=True)
    try:
        page.fill("input[name=sourceCode]", batch["batchNumber"])
        page.click('[data-screen="sampling"] button[data-value="RETAINED"]')
        page.fill("input[name=storageLocation]", "Label-lines test store LL1")
        page.click('[data-screen="sampling"] button[type=submit]')
        label = page.locator("[data-testid=sample-label]")
        label.wait_for(timeout=10000)
        name = label.locator('tr[data-key="batchNumber"] th')
        assert name.locator("small").inner_text().strip() == "Batch number"
        assert name.inner_text().split("\n")[0].strip() == ZH["labelLine.batchNumber"]
        assert label.locator('tr[data-key="batchNumber"] td').inner_text().strip() == batch["batchNumber"]
        # Every line names its field in Chinese first.
        for row in label.locator("tr").all():
            key = row.get_attribute("data-key")
            assert row.locator("th").inner_text().startswith(ZH[f"labelLine.{key}"]), key
    finally:
        close(page)
