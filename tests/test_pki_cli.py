"""`plasmatwin pki init` and `pki revoke`: a CRL signed by the CA that the trust store honours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography import x509

from policies.signatures import TrustStore


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, check=False,
                          timeout=120)


def test_pki_init_then_revoke(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    assert _cli("pki", "revoke", "--user", "op.chen", "--dir", str(d)).returncode == 2
    out = _cli("pki", "init", "--dir", str(d))
    assert out.returncode == 0 and "op.chen" in out.stdout and "SM2_SM3" in out.stdout
    assert _cli("pki", "revoke", "--user", "op.chen", "--dir", str(d)).returncode == 0
    assert _cli("pki", "revoke", "--user", "qa.li", "--dir", str(d)).returncode == 0
    trust = TrustStore.from_files(d / "ca.pem", [d / "crl.pem", d / "third-party" / "crl.pem"],
                                  d / "third-party" / "ca.pem")
    revoked = x509.load_pem_x509_certificate((d / "users" / "op.chen.cert.pem").read_bytes())
    also = x509.load_pem_x509_certificate((d / "users" / "qa.li.cert.pem").read_bytes())
    fine = x509.load_pem_x509_certificate((d / "users" / "op.wang.cert.pem").read_bytes())
    assert trust.revoked(revoked) and trust.revoked(also) and not trust.revoked(fine)


def test_crl_from_another_ca_is_ignored(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for d in (ours, theirs):
        assert _cli("pki", "init", "--dir", str(d)).returncode == 0
    assert _cli("pki", "revoke", "--user", "op.chen", "--dir", str(theirs)).returncode == 0
    trust = TrustStore.from_files(ours / "ca.pem", [theirs / "crl.pem"])
    cert = x509.load_pem_x509_certificate((ours / "users" / "op.chen.cert.pem").read_bytes())
    assert not trust.revoked(cert)
