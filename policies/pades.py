"""PAdES baseline-B signatures on batch release certificates (pyHanko): signing and validation.

Two signatures go on a release certificate: the organisation's, made on the server with a key the server
holds (`sign_as_organisation`), then the Qualified Person's, made with pyHanko's interrupted signing so
that the QP's private key never reaches the server (`prepare_external`, then `finish_external`).

External signing contract:
- `PreparedSignature.to_sign` is the DER encoding of the CMS SignedAttributes (a SET OF, tag 0x31):
  content-type, message-digest (SHA-256 of the PDF's /ByteRange) and signing-certificate-v2.
- The client signs those bytes as a message, hashing them with SHA-256 itself: ES256 (ECDSA P-256) or
  RS256 (RSASSA-PKCS1-v1_5). That is WebCrypto's `sign()` and `pki.sign_bytes`. A client that can only
  sign a pre-computed hash signs `PreparedSignature.to_sign_digest` (SHA-256 of `to_sign`) instead.
- The client returns the raw signature: ES256 as r||s (64 bytes, as WebCrypto gives it; the server
  converts it to the DER form CMS needs), RS256 as the PKCS#1 v1.5 signature block.

All pyHanko calls are the async variants (the sync ones call asyncio.run()). No timestamp authority is
reachable, so signatures are PAdES B-B: the signing time is the signer-reported /M entry, not a token.

The certificate's layout is `records.release_pdf`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

ALGORITHMS = ("ES256", "RS256")
MD_ALGORITHM = "sha256"
ORGANISATION_REASON = "Batch release certificate issued by the organisation"
QP_REASON = "Batch certified and released by the Qualified Person"
_STATE_VERSION = 1


class ExternalSignatureError(ValueError):
    """The client's signature does not verify with the signer's certificate over `to_sign`."""


# --- certificates and keys ---


def _certs(pem_or_der: list[bytes]) -> list[ax509.Certificate]:
    return [cert for data in pem_or_der for cert in load_certs_from_pemder_data(data)]


def _one_cert(data: bytes) -> ax509.Certificate:
    certs = _certs([data])
    if len(certs) != 1:
        raise ValueError("expected exactly one certificate")
    return certs[0]


def _registry(chain: list[ax509.Certificate]) -> SimpleCertificateStore:
    store = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    store.register_multiple(chain)
    return store


def _signature_meta(field_name: str, reason: str) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(field_name=field_name, reason=reason, subfilter=SigSeedSubFilter.PADES,
                                        md_algorithm=MD_ALGORITHM)


def _public_key(cert: ax509.Certificate) -> object:
    try:
        return x509.load_der_x509_certificate(cert.dump()).public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:  # e.g. an SM2 certificate
        raise ValueError("the signer's certificate must hold an ECDSA P-256 or an RSA key") from exc


def _algorithm_of(cert: ax509.Certificate) -> str:
    key = _public_key(cert)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    raise ValueError("the signer's certificate must hold an ECDSA P-256 or an RSA key")


def _placeholder_size(cert: ax509.Certificate) -> int:
    """Upper bound of the raw CMS signature length, for pyHanko's /Contents size estimate."""
    key = _public_key(cert)
    if isinstance(key, rsa.RSAPublicKey):
        return (key.key_size + 7) // 8
    return 72  # DER ECDSA P-256: SEQUENCE { INTEGER r, INTEGER s } is at most 72 bytes


# --- server-side signature (organisation) ---


def _spki(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("the signer's key must be ECDSA P-256 or RSA")
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_key_pair(key_pem: bytes, cert: ax509.Certificate) -> None:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("the organisation's key is not an unencrypted PEM key") from exc
    if _spki(key.public_key()) != _spki(_public_key(cert)):
        raise ValueError("the organisation's key does not belong to its certificate")


async def sign_as_organisation(pdf: bytes, key_pem: bytes, cert_pem: bytes, chain: list[bytes],
                               field_name: str = "Organisation", reason: str = ORGANISATION_REASON) -> bytes:
    """Add the organisation's PAdES B-B signature (new invisible field) as an incremental update."""
    cert = _one_cert(cert_pem)
    _algorithm_of(cert)
    _check_key_pair(key_pem, cert)
    signer = signers.SimpleSigner(signing_cert=cert, signing_key=load_private_key_from_pemder_data(key_pem, None),
                                  cert_registry=_registry(_certs(chain)))
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    out = await signers.PdfSigner(_signature_meta(field_name, reason), signer=signer).async_sign_pdf(writer)
    return bytes(out.getvalue())


# --- external (interrupted) signature (Qualified Person) ---


@dataclass(frozen=True)
class PreparedSignature:
    """A document waiting for an external signature: keep it on the server between the two calls."""

    field_name: str
    algorithm: str
    to_sign: bytes
    pdf: bytes
    document_digest: bytes
    reserved_region_start: int
    reserved_region_end: int
    signer_cert: bytes
    chain: tuple[bytes, ...]

    @property
    def to_sign_digest(self) -> bytes:
        """SHA-256 of `to_sign`, for clients that can only sign a pre-computed hash."""
        return hashlib.sha256(self.to_sign).digest()

    def state_bytes(self) -> bytes:
        """JSON for server-side storage (not for the client: it must not be able to swap the document)."""
        state: dict[str, Any] = {"v": _STATE_VERSION, "field_name": self.field_name, "algorithm": self.algorithm,
                                 "start": self.reserved_region_start, "end": self.reserved_region_end}
        for name in ("to_sign", "pdf", "document_digest", "signer_cert"):
            state[name] = base64.b64encode(getattr(self, name)).decode()
        state["chain"] = [base64.b64encode(cert).decode() for cert in self.chain]
        return json.dumps(state, sort_keys=True).encode()

    @classmethod
    def from_state(cls, data: bytes) -> PreparedSignature:
        """Inverse of `state_bytes`."""
        try:
            state = json.loads(data)
            if state["v"] != _STATE_VERSION:
                raise ValueError("unknown prepared-signature state version")
            raw = {name: base64.b64decode(state[name], validate=True)
                   for name in ("to_sign", "pdf", "document_digest", "signer_cert")}
            return cls(field_name=str(state["field_name"]), algorithm=str(state["algorithm"]),
                       reserved_region_start=int(state["start"]), reserved_region_end=int(state["end"]),
                       chain=tuple(base64.b64decode(c, validate=True) for c in state["chain"]), **raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("malformed prepared-signature state") from exc


async def prepare_external(pdf: bytes, signer_cert_pem: bytes, chain: list[bytes],
                           field_name: str = "QualifiedPerson", reason: str = QP_REASON) -> PreparedSignature:
    """Reserve a PAdES signature field and compute the signed attributes the client must sign."""
    cert = _one_cert(signer_cert_pem)
    algorithm = _algorithm_of(cert)
    chain_certs = _certs(chain)
    ext_signer = signers.ExternalSigner(signing_cert=cert, cert_registry=_registry(chain_certs),
                                        signature_value=_placeholder_size(cert))
    pdf_signer = signers.PdfSigner(_signature_meta(field_name, reason), signer=ext_signer)
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    output = BytesIO()
    prep_digest, _tbs, _ = await pdf_signer.async_digest_doc_for_signing(writer, output=output)
    signed_attrs = await ext_signer.signed_attrs(prep_digest.document_digest, MD_ALGORITHM, use_pades=True)
    return PreparedSignature(
        field_name=field_name, algorithm=algorithm, to_sign=signed_attrs.dump(), pdf=bytes(output.getvalue()),
        document_digest=prep_digest.document_digest, reserved_region_start=prep_digest.reserved_region_start,
        reserved_region_end=prep_digest.reserved_region_end, signer_cert=cert.dump(),
        chain=tuple(c.dump() for c in chain_certs))


def _der_signature(prepared: PreparedSignature, signature: bytes, algorithm: str) -> bytes:
    """The client's raw signature in the form CMS carries (DER for ECDSA)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported algorithm {algorithm!r} (ES256 or RS256)")
    if algorithm != prepared.algorithm:
        raise ValueError(f"the signer's certificate needs {prepared.algorithm}, not {algorithm}")
    if algorithm == "ES256":
        if len(signature) != 64:
            raise ValueError("an ES256 signature is 64 bytes (r||s)")
        return encode_dss_signature(int.from_bytes(signature[:32]), int.from_bytes(signature[32:]))
    size = _placeholder_size(ax509.Certificate.load(prepared.signer_cert))
    if len(signature) != size:
        raise ValueError(f"an RS256 signature for this key is {size} bytes")
    return signature


def _verify(prepared: PreparedSignature, der_signature: bytes) -> None:
    key = x509.load_der_x509_certificate(prepared.signer_cert).public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(der_signature, prepared.to_sign, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(der_signature, prepared.to_sign, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise ValueError("unsupported signer key")
    except InvalidSignature as exc:
        raise ExternalSignatureError("the signature does not match the signer's certificate and to_sign") from exc


async def finish_external(prepared: PreparedSignature, signature: bytes, algorithm: str, *,
                          verify: bool = True) -> bytes:
    """Embed the client's signature over `to_sign` and return the signed PDF.

    With `verify` (the default) a signature that does not verify with the certificate's key raises
    ExternalSignatureError instead of producing a PDF whose signature is invalid.
    """
    der_signature = _der_signature(prepared, signature, algorithm)
    if verify:
        _verify(prepared, der_signature)
    cert = ax509.Certificate.load(prepared.signer_cert)
    chain = [ax509.Certificate.load(c) for c in prepared.chain]
    ext_signer = signers.ExternalSigner(signing_cert=cert, cert_registry=_registry(chain),
                                        signature_value=der_signature)
    signed_attrs = cms.CMSAttributes.load(prepared.to_sign)
    signature_cms = await ext_signer.async_sign_prescribed_attributes(MD_ALGORITHM, signed_attrs=signed_attrs)
    prep_digest = PreparedByteRangeDigest(document_digest=prepared.document_digest,
                                          reserved_region_start=prepared.reserved_region_start,
                                          reserved_region_end=prepared.reserved_region_end)
    output = BytesIO(prepared.pdf)
    await PdfTBSDocument.async_finish_signing(output, prep_digest, signature_cms)
    return output.getvalue()


# --- validation ---


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    signer_common_name: str | None
    signing_time: str | None
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_document: bool
    summary: str
    modifications_ok: bool = False


def _common_name(cert: ax509.Certificate) -> str | None:
    name = cert.subject.native.get("common_name")
    return str(name) if name is not None else None


async def validate(pdf: bytes, trust_roots: list[bytes]) -> list[SignatureReport]:
    """Check every signature: integrity, cryptographic validity, trust (no fetching, soft-fail revocation).

    `modifications_ok` says that whatever was appended after a signature is an allowed change (e.g. a
    later signature), per pyHanko's difference analysis; it is True for a signature covering the file.
    """
    roots = _certs(trust_roots)
    try:
        reader = PdfFileReader(BytesIO(pdf))
        embedded = list(reader.embedded_regular_signatures)
    except PdfError as exc:
        raise ValueError(f"not a readable PDF: {exc}") from exc
    reports = []
    for sig in embedded:
        context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
        try:
            status = await async_validate_pdf_signature(sig, signer_validation_context=context)
        except (SignatureValidationError, PdfError, ValueError) as exc:
            reports.append(SignatureReport(str(sig.field_name), None, None, False, False, False, False,
                                           f"ERROR: {exc}"))
            continue
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        when = status.signer_reported_dt
        reports.append(SignatureReport(
            field_name=str(sig.field_name), signer_common_name=_common_name(status.signing_cert),
            signing_time=when.isoformat() if when is not None else None, intact=status.intact,
            valid=status.valid, trusted=status.trusted, covers_whole_document=whole, summary=status.summary(),
            modifications_ok=whole or status.docmdp_ok is True))
    return reports
