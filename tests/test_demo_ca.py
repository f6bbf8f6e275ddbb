"""The demo CA (demo/ca.py) beside the signature primitives (policies/pki.py).

The certificate profile, files and CRL are covered by test_pki.py and test_pki_cli.py through the
names `policies.pki` still offers; these tests cover what the split itself promises.
"""

from __future__ import annotations

import subprocess
import sys

import gmssl_pyx
import pytest
from asn1crypto import keys as akeys
from asn1crypto import pem as apem

from demo import ca as demo_ca
from policies import pki

DATA = b'{"operation":"releaseLot"}'


def _key_info(key_pem: bytes) -> akeys.PrivateKeyInfo:
    return akeys.PrivateKeyInfo.load(bytes(apem.unarmor(key_pem)[2]))


def _sm2_key_pem(d: int, public: bytes | None) -> bytes:
    inner = akeys.ECPrivateKey()
    inner.set_key_size(32)
    inner["version"] = "ecPrivkeyVer1"
    inner["private_key"] = d
    if public is not None:
        inner["public_key"] = public
    params = akeys.ECDomainParameters(name="named", value=pki.SM2_CURVE_OID)
    info = akeys.PrivateKeyInfo({"version": 0, "private_key_algorithm": {"algorithm": "ec", "parameters": params},
                                 "private_key": inner})
    return apem.armor("PRIVATE KEY", info.dump())


def test_the_product_loads_no_demo_module() -> None:
    """The server, its command and its signature checks load the verification primitives and no demo code."""
    code = ("import sys, api.app, api.cli, schema, resolvers, policies.signatures, policies.pades, resolvers.signing, "
            "resolvers.release; print([m for m in sys.modules if m == 'demo' or m.startswith('demo.')], "
            "'policies.pki' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[] True"


def test_the_verification_module_issues_nothing() -> None:
    """Issuing keys and certificates lives in demo_ca only: the server's pki offers none of it."""
    for name in ("IssuedKey", "EKU_DOCUMENT_SIGNING", "create_ca", "issue_user", "write_pki", "revoke"):
        assert not hasattr(pki, name) and hasattr(demo_ca, name)


def test_sm2_keys_come_from_gmssl(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[bytes, bytes]] = []
    library = gmssl_pyx.sm2_key_generate

    def generate() -> tuple[bytes, bytes]:
        made.append(library())
        return made[-1]

    monkeypatch.setattr(demo_ca.gmssl_pyx, "sm2_key_generate", generate)
    key = demo_ca.issue_user(*demo_ca.create_ca(), "sm2.user", "SM2 User", "SM2_SM3")
    assert len(made) == 1
    public, private = made[0]
    assert pki.load_sm2_private(key.key_pem) == (private.hex(), public.hex())
    assert pki.sm2_public_from_cert(key.cert_pem) == public.hex()
    assert pki.verify_bytes(key.cert_pem, "SM2_SM3", DATA, pki.sign_bytes(key.key_pem, "SM2_SM3", DATA))


def test_sm2_key_files_that_cannot_sign_are_refused() -> None:
    public, private = gmssl_pyx.sm2_key_generate()
    d = int.from_bytes(private)
    assert pki.load_sm2_private(_sm2_key_pem(d, b"\x04" + public)) == (private.hex(), public.hex())
    assert _key_info(_sm2_key_pem(d, None))["private_key"].parsed["public_key"].native is None
    for bad in (_sm2_key_pem(d, None), _sm2_key_pem(0, b"\x04" + public),
                _sm2_key_pem(pki.SM2_N - 1, b"\x04" + public), _sm2_key_pem(d + 1, b"\x04" + public)):
        with pytest.raises(ValueError):
            pki.load_sm2_private(bad)
        with pytest.raises(ValueError):
            pki.sign_bytes(bad, "SM2_SM3", DATA)
