"""Test helpers for signed mutations: a PKI in a temp dir, users with certificates, a tiny plant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from api.seed import NewUser, seed_users
from demo import ca as demo_ca
from policies.signatures import KEY_ROLES, make_payload
from records.audit import AuditContext
from records.db import Database
from records.plant import Area, Equipment, Plant, Room, Site

SIGNERS = {
    "op.one": (("operator",), "ES256"),
    "sup.rsa": (("production_supervisor",), "RS256"),
    "op.sm2": (("operator",), "SM2_SM3"),
    "op.two": (("operator",), "ES256"),
    "qa.sig": (("qa_officer",), "ES256"),
    "adm.sig": (("system_admin",), "ES256"),
    "qp.sig": (("qualified_person",), "ES256"),
    "qp.rsa": (("qualified_person",), "RS256"),
    "st.sig": (("station_partner",), "ES256"),
    "qa.two": (("qa_officer",), "ES256"),
    "log.sig": (("plasma_logistics",), "ES256"),
    "qc.sig": (("qc_analyst",), "ES256"),
    "qcr.sig": (("qc_reviewer",), "ES256"),
    "qc.both": (("qc_analyst", "qc_reviewer"), "ES256"),
    "qp.qa": (("qa_officer", "qualified_person"), "ES256"),
    "adm.two": (("system_admin",), "ES256"),
    "op.new": (("operator",), "ES256"),
}
# Key persons (IT-48): their certificates come from the third-party CA.
KEY_PERSONS = frozenset(u for u, (roles, _) in SIGNERS.items() if KEY_ROLES & set(roles))
# Holders of a key from the trusted CA whose certificate is not registered yet (enrolCertificate).
UNENROLLED = frozenset({"op.new"})


@dataclass
class Signers:
    directory: Path
    keys: dict[str, demo_ca.IssuedKey]
    crl: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def third_party_ca(self) -> Path:
        """The stand-in for an accredited third-party CA: key persons' certificates come from it (IT-48)."""
        return self.directory / demo_ca.THIRD_PARTY / "ca.pem"

    @property
    def trust(self) -> dict[str, Any]:
        """The Settings fields that make a server trust these signers (both CAs, the test's CRL)."""
        return {"trust_anchors": self.ca, "third_party_anchors": self.third_party_ca, "crl_files": (self.crl,)}

    def sign(self, user: str, operation: str, raw_input: Any, meaning: str = "PERFORMED", **kw: Any) -> dict[str, Any]:
        k = self.keys[user]
        return make_payload(k.key_pem, k.algorithm, user, operation, raw_input, meaning, **kw)

    def revoke(self, user: str) -> None:
        cert = x509.load_pem_x509_certificate(self.keys[user].cert_pem)
        folder = self.third_party_ca.parent if user in KEY_PERSONS else self.directory
        ca_key = serialization.load_pem_private_key((folder / "ca-key.pem").read_bytes(), None)
        ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
        now = datetime.now(UTC)
        crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(now)
               .next_update(now + timedelta(days=7))
               .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                                        .revocation_date(now).build())
               .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
        self.crl.write_bytes(crl.public_bytes(serialization.Encoding.PEM))


def make_signers(directory: Path, crl: Path) -> Signers:
    """Keys are made once per directory (RSA and SM2 key generation is slow); the CRL is per test."""
    keys = demo_ca.write_pki(directory, [(u, u.replace(".", " ").title(), alg) for u, (_, alg) in SIGNERS.items()],
                             third_party=KEY_PERSONS)
    return Signers(directory, keys, crl)


def foreign_key(directory: Path, username: str) -> demo_ca.IssuedKey:
    """A key and certificate for `username` from a CA the server does not trust."""
    return demo_ca.write_pki(directory, [(username, "Impostor", "ES256")])[username]


async def add_signers(db: Database, signers: Signers, password: str) -> None:
    await seed_users(db, [NewUser(u, u.replace(".", " ").title(), roles, password,
                                  None if u in UNENROLLED else signers.keys[u])
                          for u, (roles, _) in SIGNERS.items()])


async def add_tiny_plant(db: Database) -> None:
    async with db.write(AuditContext("system", reason="test plant")) as s:
        site = Site(code="S1", name="Site")
        plant = Plant(site=site, code="P1", name="Plant", width=10, height=10)
        area = Area(plant=plant, code="A1", name="Area")
        room = Room(area=area, code="R1", name="Room", grade="C", polygon=[[0, 0], [5, 0], [5, 5], [0, 5]])
        for code in ("EQ-1", "EQ-2", "EQ-3"):
            room.equipment.append(Equipment(code=code, name=code, kind="tank", x=1, y=1, status="IDLE"))
        s.add(plant)


async def issue_token(gql: Any, signers: Signers, holder: str, issuer: str = "qa.sig", **scope: Any) -> Any:
    """A scoped token for `holder`, issued and signed by `issuer`; returns a GQL client using it."""
    from datetime import UTC, datetime, timedelta

    from tests.conftest import GQL

    now = datetime.now(UTC)
    inp = {"holder": holder, "readOnly": True, "purpose": "test", "validFrom": (now - timedelta(minutes=1)).isoformat(),
           "validUntil": (now + timedelta(days=1)).isoformat(), **scope}
    me = await gql.sign_in(issuer)
    body = await me("""mutation($input: IssueScopedTokenInput!, $sig: SignatureInput!) {
        issueScopedToken(input: $input, signature: $sig) { token } }""",
                    {"input": inp, "sig": signers.sign(issuer, "issueScopedToken", inp, "APPROVED")})
    return GQL(gql.client, body["data"]["issueScopedToken"]["token"])
