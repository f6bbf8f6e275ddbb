"""The release certificate's layout (records/release_pdf.py) apart from its PAdES signatures.

Rendering itself is covered by test_pades.py through the names `policies.pades` still offers.
"""

from __future__ import annotations

from records import release_pdf


def _summary() -> release_pdf.ReleaseSummary:
    return release_pdf.ReleaseSummary(
        title="Batch release certificate", batch_number="PT-2026-0042", product="Human Albumin 20% \u2013 50 mL",
        expiry_date="2029-10-31", batch_size="4 800 vials", status="RELEASED", lines=[("Pools", "P-0101, P-0102")],
        signatures=[("Anna Schmidt", "RELEASED", "2026-11-03T10:02:00Z")], issued_at="2026-11-03T10:05:00+00:00",
        organisation="PlasmaTwin Demo Fractionation Ltd.")


def test_pades_still_offers_the_layout_names() -> None:
    assert release_pdf.ReleaseSummary is release_pdf.ReleaseSummary
    assert release_pdf.document_id is release_pdf.document_id
    assert release_pdf.render_release_pdf is release_pdf.render_release_pdf


def test_document_ids_of_issued_certificates_stay_the_same() -> None:
    # Computed by the layout's first home (policies/pades.py); stored release documents carry it.
    assert release_pdf.document_id(_summary()) == "RC-11EC6C454D29C8FF9FA4D1FD"
