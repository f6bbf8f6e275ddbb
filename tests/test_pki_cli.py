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
    nothing = _cli("pki", "revoke", "--user", "op.chen", "--dir", str(d))
    assert nothing.returncode == 2 and "--dir" in nothing.stderr and "Traceback" not in nothing.stderr
    out = _cli("pki", "init", "--dir", str(d))
    assert out.returncode == 0 and "op.chen" in out.stdout and "SM2_SM3" in out.stdout
    stranger = _cli("pki", "revoke", "--user", "nobody", "--dir", str(d))
    assert stranger.returncode == 2 and "nobody has no certificate" in stranger.stderr and "op.chen" in stranger.stderr
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


def test_sign_names_what_is_missing_instead_of_a_traceback(tmp_path: Path) -> None:
    """`plasmatwin sign` pointed at a directory without the demo's users says which option to pass."""
    (tmp_path / "input.json").write_text("{}")
    out = _cli("sign", "--user", "op.chen", "--operation", "x", "--input", str(tmp_path / "input.json"),
               "--data-dir", str(tmp_path / "elsewhere"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "demo-users.json is missing" in out.stderr and "--data-dir" in out.stderr and "--key" in out.stderr
