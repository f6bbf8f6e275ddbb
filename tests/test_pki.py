"""Demo PKI (policies/pki.py): CA, user keys and certificates, ES256 / RS256 / SM2_SM3 signatures."""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import keys as akeys
from asn1crypto import pem as apem
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from gmssl.sm2 import CryptSM2

from demo import ca as demo_ca
from policies import pki

DATA = b'{"input":{"lot":"L-0001"},"meaning":"APPROVED","nonce":"n-1","operation":"releaseLot"}'
SIG_LEN = {"ES256": 64, "RS256": 384, "SM2_SM3": 64}
# An SM2 key whose public hex starts with "044": gmssl's CryptSM2 constructor strips it to "6f3...".
D_04 = 0x6A36524984D7BDBBBEBF9982AA50E4B84905A24C19C8670FD750A67929CB5D7F
PUB_04 = ("0446f31460fa55aedeae3058b1e14362b67f16b109ceaf1ab7ee8f41e1d9670f"
          "dcb1aad18c2d944349b48cc3876710d53f6002ce728fe3de7ea2b0650c0ac82c")


@pytest.fixture(scope="module")
def ca() -> tuple[bytes, bytes]:
    return demo_ca.create_ca()


@pytest.fixture(scope="module")
def other_ca() -> tuple[bytes, bytes]:
    return demo_ca.create_ca("Another CA")


@pytest.fixture(scope="module")
def users(ca: tuple[bytes, bytes]) -> dict[str, demo_ca.IssuedKey]:
    return {a: demo_ca.issue_user(*ca, f"user-{a.lower()}", f"User {a} 张伟", a) for a in pki.ALGORITHMS}


@pytest.fixture(scope="module")
def others(ca: tuple[bytes, bytes]) -> dict[str, demo_ca.IssuedKey]:
    return {a: demo_ca.issue_user(*ca, f"other-{a.lower()}", f"Other {a}", a) for a in pki.ALGORITHMS}


def _der(pem: bytes) -> bytes:
    return bytes(apem.unarmor(pem)[2])


def _sm2_key_pem(d: int, public_hex: str) -> bytes:
    inner = akeys.ECPrivateKey()
    inner.set_key_size(32)
    inner["version"] = "ecPrivkeyVer1"
    inner["private_key"] = d
    inner["public_key"] = bytes.fromhex("04" + public_hex)
    params = akeys.ECDomainParameters(name="named", value=pki.SM2_CURVE_OID)
    info = akeys.PrivateKeyInfo({"version": 0, "private_key_algorithm": {"algorithm": "ec", "parameters": params},
                                 "private_key": inner})
    return apem.armor("PRIVATE KEY", info.dump())


def _reissue_for(cert_pem: bytes, ca_key_pem: bytes, public_hex: str) -> bytes:
    """The same SM2 certificate for another public key, signed again by the CA."""
    cert = ax509.Certificate.load(_der(cert_pem))
    tbs = cert["tbs_certificate"].copy()
    tbs["subject_public_key_info"] = akeys.PublicKeyInfo({
        "algorithm": {"algorithm": "ec", "parameters": akeys.ECDomainParameters(name="named", value=pki.SM2_CURVE_OID)},
        "public_key": bytes.fromhex("04" + public_hex),
    })
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    signature = ca_key.sign(tbs.dump(), ec.ECDSA(hashes.SHA256()))
    new = ax509.Certificate({"tbs_certificate": tbs, "signature_algorithm": cert["signature_algorithm"],
                             "signature_value": signature})
    return apem.armor("CERTIFICATE", new.dump())


# --- signatures, per algorithm ---


@pytest.mark.parametrize("algorithm", pki.ALGORITHMS)
def test_sign_then_verify(users: dict[str, demo_ca.IssuedKey], algorithm: str) -> None:
    key = users[algorithm]
    signature = pki.sign_bytes(key.key_pem, algorithm, DATA)
    assert len(signature) == SIG_LEN[algorithm]
    assert pki.verify_bytes(key.cert_pem, algorithm, DATA, signature)


@pytest.mark.parametrize("algorithm", pki.ALGORITHMS)
def test_tampered_data_or_signature_fails(users: dict[str, demo_ca.IssuedKey], algorithm: str) -> None:
    key = users[algorithm]
    signature = pki.sign_bytes(key.key_pem, algorithm, DATA)
    assert not pki.verify_bytes(key.cert_pem, algorithm, DATA.replace(b"L-0001", b"L-0002"), signature)
    flipped = signature[:10] + bytes([signature[10] ^ 1]) + signature[11:]
    assert not pki.verify_bytes(key.cert_pem, algorithm, DATA, flipped)


@pytest.mark.parametrize("algorithm", pki.ALGORITHMS)
def test_another_users_signature_fails(users: dict[str, demo_ca.IssuedKey], others: dict[str, demo_ca.IssuedKey],
                                       algorithm: str) -> None:
    signature = pki.sign_bytes(others[algorithm].key_pem, algorithm, DATA)
    assert pki.verify_bytes(others[algorithm].cert_pem, algorithm, DATA, signature)
    assert not pki.verify_bytes(users[algorithm].cert_pem, algorithm, DATA, signature)


@pytest.mark.parametrize("algorithm", pki.ALGORITHMS)
def test_issued_by_the_ca_only(users: dict[str, demo_ca.IssuedKey], ca: tuple[bytes, bytes],
                               other_ca: tuple[bytes, bytes], algorithm: str) -> None:
    cert = users[algorithm].cert_pem
    assert pki.verify_issued_by(cert, ca[1])
    assert not pki.verify_issued_by(cert, other_ca[1])
    same_name = demo_ca.create_ca()  # same subject name, different key
    assert not pki.verify_issued_by(cert, same_name[1])
    assert not pki.verify_issued_by(cert, users["ES256"].cert_pem)  # not a CA
    # cryptography agrees, SM2 included (it only needs the CA's P-256 key)
    x509.load_pem_x509_certificate(cert).verify_directly_issued_by(x509.load_pem_x509_certificate(ca[1]))


@pytest.mark.parametrize("algorithm", pki.ALGORITHMS)
def test_certificate_profile(users: dict[str, demo_ca.IssuedKey], ca: tuple[bytes, bytes], algorithm: str) -> None:
    key = users[algorithm]
    cert = x509.load_pem_x509_certificate(key.cert_pem)
    ca_cert = x509.load_pem_x509_certificate(ca[1])
    assert key.username == f"user-{algorithm.lower()}" and key.algorithm == algorithm
    assert key.fingerprint == hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"User {algorithm} 张伟"
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == key.username
    assert cert.issuer == ca_cert.subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {o.dotted_string for o in eku} == set(demo_ca.EKU_DOCUMENT_SIGNING)
    assert ExtendedKeyUsageOID.SERVER_AUTH not in eku
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    start = datetime.now(UTC) - timedelta(minutes=5)
    assert abs(cert.not_valid_before_utc - start) < timedelta(seconds=60)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=730)
    assert cert.signature_hash_algorithm is not None and cert.signature_hash_algorithm.name == "sha256"
    if algorithm != "SM2_SM3":
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())


def test_ca_profile(ca: tuple[bytes, bytes]) -> None:
    key = serialization.load_pem_private_key(ca[0], password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    assert ca[0].startswith(b"-----BEGIN PRIVATE KEY-----")
    cert = x509.load_pem_x509_certificate(ca[1])
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "PlasmaTwin Demo CA"
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert.verify_directly_issued_by(cert)


def test_es256_signature_is_raw_r_s(users: dict[str, demo_ca.IssuedKey]) -> None:
    signature = pki.sign_bytes(users["ES256"].key_pem, "ES256", DATA)
    public = x509.load_pem_x509_certificate(users["ES256"].cert_pem).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(int.from_bytes(signature[:32]), int.from_bytes(signature[32:]))
    public.verify(der, DATA, ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("algorithm", pki.ALGORITHMS)
def test_malformed_input_raises(users: dict[str, demo_ca.IssuedKey], algorithm: str) -> None:
    key = users[algorithm]
    signature = pki.sign_bytes(key.key_pem, algorithm, DATA)
    for bad in (signature[:-1], signature + b"\0", b""):
        with pytest.raises(ValueError):
            pki.verify_bytes(key.cert_pem, algorithm, DATA, bad)
    with pytest.raises(ValueError):
        pki.verify_bytes(key.cert_pem, "ES384", DATA, signature)
    with pytest.raises(ValueError):
        pki.sign_bytes(key.key_pem, "HS256", DATA)
    wrong = next(a for a in pki.ALGORITHMS if a != algorithm)
    with pytest.raises(ValueError):
        pki.sign_bytes(key.key_pem, wrong, DATA)
    with pytest.raises(ValueError):
        pki.verify_bytes(key.cert_pem, wrong, DATA, bytes(SIG_LEN[wrong]))
    with pytest.raises(ValueError):
        pki.verify_bytes(b"not a certificate", algorithm, DATA, signature)


def test_unknown_algorithm_cannot_be_issued(ca: tuple[bytes, bytes]) -> None:
    with pytest.raises(ValueError):
        demo_ca.issue_user(*ca, "x", "X", "ES384")


# --- SM2 specifics ---


def test_sm2_certificate_parses(users: dict[str, demo_ca.IssuedKey]) -> None:
    cert_pem = users["SM2_SM3"].cert_pem
    cert = ax509.Certificate.load(_der(cert_pem))
    spki = cert["tbs_certificate"]["subject_public_key_info"]
    assert spki["algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"
    assert spki["algorithm"]["parameters"].chosen.dotted == "1.2.156.10197.1.301"
    assert cert["signature_algorithm"]["algorithm"].dotted == "1.2.840.10045.4.3.2"
    assert bytes(spki["public_key"]).hex() == "04" + pki.sm2_public_from_cert(cert_pem)
    assert cert.subject.native == {"common_name": "User SM2_SM3 张伟", "user_id": "user-sm2_sm3"}
    assert x509.load_pem_x509_certificate(cert_pem).serial_number == cert.serial_number


def test_sm2_pkcs8_round_trip(users: dict[str, demo_ca.IssuedKey]) -> None:
    key_pem = users["SM2_SM3"].key_pem
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    info = akeys.PrivateKeyInfo.load(_der(key_pem))
    assert info["private_key_algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"
    assert info["private_key_algorithm"]["parameters"].chosen.dotted == pki.SM2_CURVE_OID
    inner = info["private_key"].parsed
    assert inner["version"].native == "ecPrivkeyVer1" and len(inner["private_key"].contents) == 32
    private_hex, public_hex = pki.load_sm2_private(key_pem)
    assert len(private_hex) == 64 and len(public_hex) == 128
    assert int(private_hex, 16) == inner["private_key"].native
    assert public_hex == pki.sm2_public_from_cert(users["SM2_SM3"].cert_pem)
    assert _sm2_key_pem(int(private_hex, 16), public_hex) == key_pem
    assert len(pki.load_sm2_private(_sm2_key_pem(D_04, PUB_04))[0]) == 64


def test_sm2_key_with_a_wrong_public_key_is_rejected(users: dict[str, demo_ca.IssuedKey]) -> None:
    private_hex, _ = pki.load_sm2_private(users["SM2_SM3"].key_pem)
    with pytest.raises(ValueError):
        pki.load_sm2_private(_sm2_key_pem(int(private_hex, 16), PUB_04))
    with pytest.raises(ValueError):
        pki.load_sm2_private(users["ES256"].key_pem)
    with pytest.raises(ValueError):
        pki.sm2_public_from_cert(users["ES256"].cert_pem)


def test_sm2_matches_gmssl(users: dict[str, demo_ca.IssuedKey]) -> None:
    key = users["SM2_SM3"]
    private_hex, public_hex = pki.load_sm2_private(key.key_pem)
    signature = pki.sign_bytes(key.key_pem, "SM2_SM3", DATA)
    assert len(signature) == 64
    gm = CryptSM2(private_key=private_hex, public_key="")
    gm.public_key = public_hex
    assert gm.verify_with_sm3(signature.hex(), DATA)
    assert pki.verify_bytes(key.cert_pem, "SM2_SM3", DATA, bytes.fromhex(gm.sign_with_sm3(DATA, "1" * 64)))


def test_sm2_nonce_does_not_come_from_random(users: dict[str, demo_ca.IssuedKey]) -> None:
    key = users["SM2_SM3"].key_pem
    random.seed(7)
    first = pki.sign_bytes(key, "SM2_SM3", DATA)
    random.seed(7)
    second = pki.sign_bytes(key, "SM2_SM3", DATA)
    assert first != second  # gmssl's default nonce (random.choice) would repeat: a nonce reuse leaks the key


def test_sm2_out_of_range_r_or_s_is_false(users: dict[str, demo_ca.IssuedKey]) -> None:
    cert = users["SM2_SM3"].cert_pem
    signature = pki.sign_bytes(users["SM2_SM3"].key_pem, "SM2_SM3", DATA)
    n = pki.SM2_N.to_bytes(32)
    for bad in (bytes(32) + signature[32:], signature[:32] + bytes(32), n + signature[32:], signature[:32] + n,
                b"\xff" * 64):
        assert not pki.verify_bytes(cert, "SM2_SM3", DATA, bad)


def test_sm2_public_key_hex_starting_with_0_or_4(ca: tuple[bytes, bytes]) -> None:
    for _ in range(200):
        key = demo_ca.issue_user(*ca, "zero", "Zero", "SM2_SM3")
        public_hex = pki.sm2_public_from_cert(key.cert_pem)
        if public_hex[0] in "04":
            break
    else:
        pytest.fail("no SM2 public key starting with 0 or 4 in 200 attempts")
    assert pki.load_sm2_private(key.key_pem)[1] == public_hex
    signature = pki.sign_bytes(key.key_pem, "SM2_SM3", DATA)
    assert pki.verify_bytes(key.cert_pem, "SM2_SM3", DATA, signature)


def test_sm2_public_key_hex_starting_with_04(users: dict[str, demo_ca.IssuedKey], ca: tuple[bytes, bytes]) -> None:
    assert CryptSM2(private_key="", public_key=PUB_04).public_key != PUB_04  # the gmssl pitfall
    assert CryptSM2(private_key="", public_key="04" + PUB_04).public_key != PUB_04
    key_pem = _sm2_key_pem(D_04, PUB_04)
    cert_pem = _reissue_for(users["SM2_SM3"].cert_pem, ca[0], PUB_04)
    assert pki.verify_issued_by(cert_pem, ca[1])
    assert pki.sm2_public_from_cert(cert_pem) == PUB_04
    signature = pki.sign_bytes(key_pem, "SM2_SM3", DATA)
    assert pki.verify_bytes(cert_pem, "SM2_SM3", DATA, signature)
    assert not pki.verify_bytes(users["SM2_SM3"].cert_pem, "SM2_SM3", DATA, signature)


# --- files ---


USERS = [("alice", "Alice 李", "ES256"), ("bob", "Bob", "RS256"), ("chen.wei", "陈伟", "SM2_SM3")]


def test_write_pki_creates_files_with_private_modes(tmp_path: Path) -> None:
    keys = demo_ca.write_pki(tmp_path / "pki", USERS)
    root = tmp_path / "pki"
    assert set(keys) == {"alice", "bob", "chen.wei"}
    assert (root / "ca-key.pem").stat().st_mode & 0o777 == 0o600
    for username, _, algorithm in USERS:
        key_file, cert_file = root / "users" / f"{username}.key.pem", root / "users" / f"{username}.cert.pem"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert key_file.read_bytes() == keys[username].key_pem
        assert cert_file.read_bytes() == keys[username].cert_pem
        assert keys[username].algorithm == algorithm
        assert pki.verify_issued_by(keys[username].cert_pem, (root / "ca.pem").read_bytes())
        signature = pki.sign_bytes(key_file.read_bytes(), algorithm, DATA)
        assert pki.verify_bytes(cert_file.read_bytes(), algorithm, DATA, signature)
    assert not list(root.rglob("*.tmp"))


def test_write_pki_is_idempotent(tmp_path: Path) -> None:
    first = demo_ca.write_pki(tmp_path, USERS)
    ca_pem = (tmp_path / "ca.pem").read_bytes()
    second = demo_ca.write_pki(tmp_path, USERS)
    assert second == first
    assert {u: k.fingerprint for u, k in second.items()} == {u: k.fingerprint for u, k in first.items()}
    assert (tmp_path / "ca.pem").read_bytes() == ca_pem
    more = demo_ca.write_pki(tmp_path, [*USERS, ("dana", "Dana", "ES256")])
    assert more["alice"] == first["alice"] and pki.verify_issued_by(more["dana"].cert_pem, ca_pem)


def test_write_pki_reissues_when_the_algorithm_or_ca_changes(tmp_path: Path) -> None:
    first = demo_ca.write_pki(tmp_path, USERS)
    changed = demo_ca.write_pki(tmp_path, [("alice", "Alice 李", "SM2_SM3")])
    assert changed["alice"].algorithm == "SM2_SM3" and changed["alice"].fingerprint != first["alice"].fingerprint
    (tmp_path / "ca-key.pem").unlink()
    again = demo_ca.write_pki(tmp_path, USERS)
    ca_pem = (tmp_path / "ca.pem").read_bytes()
    assert all(pki.verify_issued_by(k.cert_pem, ca_pem) for k in again.values())
    assert again["bob"].fingerprint != first["bob"].fingerprint


def test_write_pki_rejects_path_like_usernames(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        demo_ca.write_pki(tmp_path, [("../evil", "Evil", "ES256")])
    assert not (tmp_path / "evil.key.pem").exists()


# --- OpenSSL 3 interoperability ---


def _openssl() -> str:
    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl CLI not installed")
    version = subprocess.run([exe, "version"], capture_output=True, text=True, check=True).stdout
    if not version.startswith("OpenSSL 3"):
        pytest.skip(f"needs OpenSSL 3 for SM2, found {version.strip()!r}")
    return exe


def test_openssl_reads_the_sm2_key_and_certificates(tmp_path: Path) -> None:
    openssl = _openssl()
    demo_ca.write_pki(tmp_path, USERS)
    sm2_cert, sm2_key = tmp_path / "users" / "chen.wei.cert.pem", tmp_path / "users" / "chen.wei.key.pem"
    text = subprocess.run([openssl, "x509", "-in", sm2_cert, "-noout", "-text"], capture_output=True, text=True,
                          check=True).stdout
    assert "ASN1 OID: SM2" in text and "Non Repudiation" in text and "UID = chen.wei" in text
    subprocess.run([openssl, "pkey", "-in", sm2_key, "-noout"], check=True, capture_output=True)
    public = subprocess.run([openssl, "pkey", "-in", sm2_key, "-pubout", "-outform", "DER"], check=True,
                            capture_output=True).stdout
    assert public.hex().endswith("04" + pki.sm2_public_from_cert(sm2_cert.read_bytes()))
    for username, _, _ in USERS:
        out = subprocess.run([openssl, "verify", "-CAfile", tmp_path / "ca.pem",
                              tmp_path / "users" / f"{username}.cert.pem"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_openssl_sm2_signatures_interoperate(tmp_path: Path, users: dict[str, demo_ca.IssuedKey]) -> None:
    openssl = _openssl()
    key = users["SM2_SM3"]
    (tmp_path / "key.pem").write_bytes(key.key_pem)
    (tmp_path / "data").write_bytes(DATA)
    pub = subprocess.run([openssl, "x509", "-pubkey", "-noout"], input=key.cert_pem, check=True,
                         capture_output=True).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    # OpenSSL 3.0 defaults to an empty SM2 ID; GM/T 0009's default must be passed explicitly.
    common: list[str | Path] = ["-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
                                "-in", tmp_path / "data"]
    signature = pki.sign_bytes(key.key_pem, "SM2_SM3", DATA)
    (tmp_path / "ours.der").write_bytes(encode_dss_signature(int.from_bytes(signature[:32]),
                                                             int.from_bytes(signature[32:])))
    subprocess.run([openssl, "pkeyutl", "-verify", "-pubin", "-inkey", tmp_path / "pub.pem", *common,
                    "-sigfile", tmp_path / "ours.der"], check=True, capture_output=True)
    subprocess.run([openssl, "pkeyutl", "-sign", "-inkey", tmp_path / "key.pem", *common,
                    "-out", tmp_path / "theirs.der"], check=True, capture_output=True)
    r, s = decode_dss_signature((tmp_path / "theirs.der").read_bytes())
    assert pki.verify_bytes(key.cert_pem, "SM2_SM3", DATA, r.to_bytes(32) + s.to_bytes(32))
