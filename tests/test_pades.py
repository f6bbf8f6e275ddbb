"""PAdES release certificates (policies/pades.py): render, organisation seal, QP external signature, validation."""

from __future__ import annotations

from io import BytesIO

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from demo import ca as demo_ca
from policies import pades, pki
from records import release_pdf

BATCH = "PT-2026-0042"


def _doc(**changes: object) -> release_pdf.ReleaseSummary:
    fields: dict[str, object] = {
        "title": "Batch release certificate",
        "batch_number": BATCH,
        "product": "Human Albumin 20% \u2013 50 mL",
        "expiry_date": "2029-10-31",
        "batch_size": "4 800 vials",
        "status": "RELEASED",
        "lines": [("Pools", "P-0101, P-0102"), ("Plasma units", "12 480"),
                  ("QC results", "All 14 tests within specification"), ("Deviations", "None")],
        "signatures": [("Li Wei", "REVIEWED", "2026-11-03T09:12:00Z"),
                       ("Anna Schmidt", "RELEASED", "2026-11-03T10:02:00Z")],
        "issued_at": "2026-11-03T10:05:00+00:00",
        "organisation": "PlasmaTwin Demo Fractionation Ltd.",
    }
    fields.update(changes)
    return release_pdf.ReleaseSummary(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ca() -> tuple[bytes, bytes]:
    return demo_ca.create_ca()


@pytest.fixture(scope="module")
def org(ca: tuple[bytes, bytes]) -> demo_ca.IssuedKey:
    return demo_ca.issue_user(*ca, "org", "PlasmaTwin Demo Fractionation Ltd.", "RS256")


@pytest.fixture(scope="module")
def qp_es(ca: tuple[bytes, bytes]) -> demo_ca.IssuedKey:
    return demo_ca.issue_user(*ca, "qp.schmidt", "Anna Schmidt", "ES256")


@pytest.fixture(scope="module")
def qp_rs(ca: tuple[bytes, bytes]) -> demo_ca.IssuedKey:
    return demo_ca.issue_user(*ca, "qp.meyer", "Jonas Meyer", "RS256")


async def _org_signed(ca: tuple[bytes, bytes], org: demo_ca.IssuedKey) -> bytes:
    return await pades.sign_as_organisation(release_pdf.render_release_pdf(_doc()), org.key_pem, org.cert_pem, [ca[1]])


async def _both_signed(ca: tuple[bytes, bytes], org: demo_ca.IssuedKey, qp: demo_ca.IssuedKey) -> bytes:
    prepared = await pades.prepare_external(await _org_signed(ca, org), qp.cert_pem, [ca[1]])
    signature = pki.sign_bytes(qp.key_pem, qp.algorithm, prepared.to_sign)  # the client's part
    return await pades.finish_external(prepared, signature, qp.algorithm)


def _page_content(pdf: bytes) -> bytes:
    """The first page's content stream, with adjacent text runs joined (fpdf2 writes "{nb}" as its own run)."""
    page = PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Kids"][0].get_object()
    return bytes(page["/Contents"].get_object().data).replace(b") Tj (", b"")


def _assert_sound(report: pades.SignatureReport) -> None:
    assert (report.intact, report.valid, report.trusted, report.modifications_ok) == (True, True, True, True), report


# --- rendering ---


def test_render_shows_the_batch_and_is_deterministic() -> None:
    doc = _doc()
    pdf = release_pdf.render_release_pdf(doc)
    assert pdf.startswith(b"%PDF-") and pdf == release_pdf.render_release_pdf(doc)
    reader = PdfFileReader(BytesIO(pdf))
    assert int(reader.root["/Pages"]["/Count"]) == 1
    content = _page_content(pdf)
    for text in (BATCH, "Electronic signatures", "Anna Schmidt", "Page 1 of 1", release_pdf.document_id(doc)):
        assert text.encode() in content
    assert release_pdf.document_id(_doc(status="REJECTED")) != release_pdf.document_id(doc)


def test_render_refuses_text_the_fonts_cannot_show() -> None:
    with pytest.raises(ValueError, match="Windows-1252"):
        release_pdf.render_release_pdf(_doc(product="\u4eba\u8840\u767d\u86cb\u767d"))


def test_long_documents_flow_onto_more_pages() -> None:
    pdf = release_pdf.render_release_pdf(_doc(lines=[(f"QC test {i}", "Within specification") for i in range(60)]))
    pages = int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"])
    assert pages >= 2
    assert f"Page 1 of {pages}".encode() in _page_content(pdf)


# --- signing and validation ---


async def test_organisation_then_qp_es256(ca: tuple[bytes, bytes], org: demo_ca.IssuedKey,
                                          qp_es: demo_ca.IssuedKey) -> None:
    org_signed = await _org_signed(ca, org)
    prepared = await pades.prepare_external(org_signed, qp_es.cert_pem, [ca[1]])
    # to_sign is the DER SET OF signed attributes; its message-digest is the /ByteRange digest
    attrs = {a["type"].native: a["values"][0] for a in cms.CMSAttributes.load(prepared.to_sign)}
    assert prepared.to_sign[0] == 0x31 and attrs["message_digest"].native == prepared.document_digest
    assert set(attrs) == {"content_type", "message_digest", "signing_certificate_v2"}
    signature = pki.sign_bytes(qp_es.key_pem, "ES256", prepared.to_sign)
    final = await pades.finish_external(prepared, signature, "ES256")

    reports = await pades.validate(final, [ca[1]])
    assert [r.field_name for r in reports] == ["Organisation", "QualifiedPerson"]
    assert [r.signer_common_name for r in reports] == ["PlasmaTwin Demo Fractionation Ltd.", "Anna Schmidt"]
    for report in reports:
        _assert_sound(report)
        assert report.signing_time is not None
    assert [r.covers_whole_document for r in reports] == [False, True]
    assert final.startswith(org_signed)  # incremental: the organisation's revision is untouched


async def test_organisation_then_qp_rs256_with_stored_state(ca: tuple[bytes, bytes], org: demo_ca.IssuedKey,
                                                            qp_rs: demo_ca.IssuedKey) -> None:
    prepared = await pades.prepare_external(await _org_signed(ca, org), qp_rs.cert_pem, [ca[1]])
    restored = pades.PreparedSignature.from_state(prepared.state_bytes())  # e.g. kept in Redis between calls
    assert restored == prepared
    signature = pki.sign_bytes(qp_rs.key_pem, "RS256", restored.to_sign)
    final = await pades.finish_external(restored, signature, "RS256")

    reports = await pades.validate(final, [ca[1]])
    assert [r.signer_common_name for r in reports] == ["PlasmaTwin Demo Fractionation Ltd.", "Jonas Meyer"]
    for report in reports:
        _assert_sound(report)
    assert reports[-1].covers_whole_document


async def test_one_changed_byte_in_the_page_content_breaks_both_signatures(
        ca: tuple[bytes, bytes], org: demo_ca.IssuedKey, qp_es: demo_ca.IssuedKey) -> None:
    final = await _both_signed(ca, org, qp_es)
    position = final.index(f"({BATCH}) Tj".encode()) + len(BATCH)  # last digit, inside the page's content stream
    for sig in PdfFileReader(BytesIO(final)).embedded_regular_signatures:  # covered by both /ByteRanges
        start1, len1, start2, len2 = (int(x) for x in sig.byte_range)
        assert start1 <= position < start1 + len1 or start2 <= position < start2 + len2
    tampered = bytearray(final)
    tampered[position] = ord("3") if final[position] != ord("3") else ord("4")

    reports = await pades.validate(bytes(tampered), [ca[1]])
    assert len(reports) == 2
    assert not any(r.intact or r.trusted for r in reports), reports


async def test_content_appended_after_the_signatures_is_flagged(
        ca: tuple[bytes, bytes], org: demo_ca.IssuedKey, qp_es: demo_ca.IssuedKey) -> None:
    final = await _both_signed(ca, org, qp_es)
    writer = IncrementalPdfFileWriter(BytesIO(final))
    overlay = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 30 Tf 80 400 Td (REJECTED) Tj ET"))
    writer.add_stream_to_page(0, overlay)
    out = BytesIO()
    writer.write(out)

    reports = await pades.validate(out.getvalue(), [ca[1]])
    assert [r.intact for r in reports] == [True, True]  # the signed revisions themselves are unchanged ...
    assert not any(r.covers_whole_document or r.modifications_ok for r in reports)  # ... but the page is not


async def test_signature_from_the_wrong_key(ca: tuple[bytes, bytes], org: demo_ca.IssuedKey,
                                            qp_es: demo_ca.IssuedKey) -> None:
    impostor = demo_ca.issue_user(*ca, "mallory", "Mallory", "ES256")
    prepared = await pades.prepare_external(await _org_signed(ca, org), qp_es.cert_pem, [ca[1]])
    forged = pki.sign_bytes(impostor.key_pem, "ES256", prepared.to_sign)
    with pytest.raises(pades.ExternalSignatureError):  # refused by default before anything is written
        await pades.finish_external(prepared, forged, "ES256")

    final = await pades.finish_external(prepared, forged, "ES256", verify=False)
    org_report, qp_report = await pades.validate(final, [ca[1]])
    _assert_sound(org_report)
    assert qp_report.signer_common_name == "Anna Schmidt"  # the certificate claims the QP ...
    assert not qp_report.valid and not qp_report.trusted  # ... but the signature is not hers
    assert qp_report.summary == "INVALID"


async def test_another_ca_is_not_trusted(ca: tuple[bytes, bytes], org: demo_ca.IssuedKey,
                                         qp_es: demo_ca.IssuedKey) -> None:
    final = await _both_signed(ca, org, qp_es)
    other_ca = demo_ca.create_ca("Another CA")[1]
    reports = await pades.validate(final, [other_ca])
    assert len(reports) == 2
    for report in reports:
        assert report.intact and report.valid and not report.trusted, report
        assert "UNTRUSTED" in report.summary


async def test_finish_checks_algorithm_and_signature_shape(ca: tuple[bytes, bytes], org: demo_ca.IssuedKey,
                                                           qp_es: demo_ca.IssuedKey) -> None:
    prepared = await pades.prepare_external(await _org_signed(ca, org), qp_es.cert_pem, [ca[1]])
    assert prepared.algorithm == "ES256"
    with pytest.raises(ValueError, match="needs ES256"):
        await pades.finish_external(prepared, bytes(384), "RS256")
    with pytest.raises(ValueError, match="64 bytes"):
        await pades.finish_external(prepared, bytes(70), "ES256")
    with pytest.raises(ValueError, match="unsupported algorithm"):
        await pades.finish_external(prepared, bytes(64), "SM2_SM3")
    with pytest.raises(ValueError, match="malformed"):
        pades.PreparedSignature.from_state(b'{"v": 1}')


async def test_unsigned_pdf_has_no_reports(ca: tuple[bytes, bytes]) -> None:
    assert await pades.validate(release_pdf.render_release_pdf(_doc()), [ca[1]]) == []


async def test_unsuitable_keys_are_refused(ca: tuple[bytes, bytes], org: demo_ca.IssuedKey,
                                          qp_es: demo_ca.IssuedKey) -> None:
    pdf = release_pdf.render_release_pdf(_doc())
    sm2 = demo_ca.issue_user(*ca, "qp.sm2", "SM2 user", "SM2_SM3")
    with pytest.raises(ValueError, match="ECDSA P-256 or an RSA key"):
        await pades.prepare_external(pdf, sm2.cert_pem, [ca[1]])
    with pytest.raises(ValueError, match="does not belong"):
        await pades.sign_as_organisation(pdf, qp_es.key_pem, org.cert_pem, [ca[1]])
