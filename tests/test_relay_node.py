"""The Relay Node interface: node(id:) answers each record type exactly as the type's own root query does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from demo.seed import seed_stations
from records.audit import AuditContext
from records.db import Database
from records.materials import MaterialLot
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, Pool, Sample, batch_pool
from records.reagent import ReagentLot
from schema.node import from_global_id, to_global_id
from tests.conftest import GQL
from tests.signing_env import issue_token

SYSTEM = AuditContext("system", reason="node test data")
NOW = datetime.now(UTC).replace(microsecond=0)
ALBUMIN = "Human Albumin 20%"

# Per type: the type's own root query for a key, and the fields asked both ways.
KINDS: dict[str, tuple[str, str, str]] = {
    "PlasmaUnit": ('plasmaUnit(donationNumber: "DN-1")', "DN-1", "donationNumber status"),
    "Donor": ('donor(cardNumber: "DC-1")', "DC-1", "cardNumber bloodType"),
    "Batch": ('batch(batchNumber: "B-ALB")', "B-ALB", "batchNumber product poolCodes"),
    "Station": ("plasmaStations", "PS-N1", "code name"),
    "Equipment": ('equipment(code: "EQ-1")', "EQ-1", "code status"),
    "MaterialLot": ('materialLot(code: "ML-1")', "ML-1", "code status"),
    "ReagentLot": ('reagent(code: "RL-1")', "RL-1", "code status"),
    "SampleInfo": ('sample(code: "SM-1")', "SM-1", "code kind"),
}
USERS = ("op.one", "qa.one", "audit.one", "admin.one", "reg.one", "st.one", "dist.one", "qc.sig", "log.sig")
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on %s { %s } } }"


async def _records(db: Database) -> None:
    """One record of each Node type (the env fixture's plant has EQ-1), and a batch of another product."""
    await seed_stations(db)
    async with db.write(SYSTEM) as s:
        st = (await s.execute(select(PlasmaStation).where(PlasmaStation.code == "PS-N1"))).scalar_one()
        donor = Donor(card_number="DC-1", station_id=st.id, name="x", blood_type="A", status="ACTIVE")
        pool = Pool(code="PO-1", product=ALBUMIN, status="CLOSED", pooled_at=NOW - timedelta(hours=1))
        s.add_all([donor, pool])
        await s.flush()
        s.add(PlasmaUnit(donation_number="DN-1", donor_id=donor.id, station_id=st.id, blood_type="A",
                         collected_on=(NOW - timedelta(days=5)).date(), weight_g=600, status="QUARANTINED",
                         pool_id=pool.id))
        albumin = Batch(batch_number="B-ALB", product=ALBUMIN, status="IN_PROGRESS", started_at=NOW)
        s.add_all([albumin, Batch(batch_number="B-IVIG", product="IVIG", status="IN_PROGRESS", started_at=NOW)])
        await s.flush()
        await s.execute(insert(batch_pool).values(batch_id=albumin.id, pool_id=pool.id))
        s.add(MaterialLot(code="ML-1", kind="EXCIPIENT", material_code="ETH-96", name="Ethanol", lot_number="E-1",
                          supplier="S", quantity=10, remaining=9, unit="kg", expires_on=NOW.date(), received_at=NOW,
                          received_by="log.sig", status="RELEASED"))
        s.add(ReagentLot(code="RL-1", kind="REAGENT", name="NaOH", lot_number="L1", supplier="S", quantity=1.0,
                         issued=0.0, unit="g", location="R2", conditions="dry", expires_on=NOW.date(),
                         status="RELEASED", received_at=NOW, received_by="qc.sig"))
        s.add(Sample(code="SM-1", kind="RELEASE", batch_id=albumin.id, taken_at=NOW, taken_by="qc.sig"))


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def _own(me: GQL, kind: str) -> tuple[Any, list[str]]:
    """What the type's own query answers: the record (picked from the list for stations) and the error codes."""
    root, key, fields = KINDS[kind]
    body = await me(f"{{ {root} {{ __typename id {fields} }} }}")
    found = (body.get("data") or {}).get(root.split("(")[0])
    if isinstance(found, list):
        found = next((x for x in found if x["code"] == key), None)
    return found, _codes(body)


async def _node(me: GQL, kind: str, node_id: str) -> tuple[Any, list[str]]:
    body = await me(NODE % (kind, KINDS[kind][2]), {"id": node_id})
    return (body.get("data") or {}).get("node"), _codes(body)


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_node_answers_every_caller_as_the_types_own_query(env: Any, kind: str) -> None:
    """Round trip id -> node for each type, and for every role the same record, null or refusal (FORBIDDEN,
    OUT_OF_SCOPE) as the type's root query gives: node checks exactly what that query checks."""
    gql, _, db = env
    await _records(db)
    node_id = to_global_id(kind, KINDS[kind][1])
    readers = []
    for user in USERS:
        me = await gql.sign_in(user)
        own, node = await _own(me, kind), await _node(me, kind, node_id)
        assert node == own, (user, node, own)
        if own[0] is not None:
            readers.append(user)
            assert own[0]["__typename"] == kind and own[0]["id"] == node_id
    assert readers, f"no standard user reads a {kind}"
    assert len(readers) < len(USERS), f"every standard user reads a {kind}: the refusal is not shown"


async def test_global_ids_are_opaque_and_keep_the_existing_fields(env: Any) -> None:
    gql, _, db = env
    await _records(db)
    qa = await gql.sign_in("qa.one")
    body = await qa('{ batch(batchNumber: "B-ALB") { id batchNumber } }')
    batch = body["data"]["batch"]
    assert batch["batchNumber"] == "B-ALB" and from_global_id(batch["id"]) == ("Batch", "B-ALB")
    again = await qa("query($id: ID!) { node(id: $id) { id ... on Batch { batchNumber } } }", {"id": batch["id"]})
    assert again == {"data": {"node": batch}}


async def test_a_scoped_regulator_token_gets_what_its_scope_allows(env: Any) -> None:
    """Scope: an albumin-only token reads the albumin batch and its plasma by node, and is refused OUT_OF_SCOPE
    for another product's batch, a missing batch (no telling missing from foreign) and the plant."""
    gql, signers, db = env
    await _records(db)
    reg = await issue_token(gql, signers, "reg.one", products=[ALBUMIN])
    assert (await _node(reg, "Batch", to_global_id("Batch", "B-ALB")))[0]["batchNumber"] == "B-ALB"
    assert (await _node(reg, "PlasmaUnit", to_global_id("PlasmaUnit", "DN-1")))[0]["donationNumber"] == "DN-1"
    for kind, key in (("Batch", "B-IVIG"), ("Batch", "B-NONE"), ("Equipment", "EQ-1"), ("Donor", "DC-1")):
        node, codes = await _node(reg, kind, to_global_id(kind, key))
        assert node is None and codes == ["OUT_OF_SCOPE"], (kind, key, codes)


async def test_unknown_malformed_and_missing_ids_are_null(env: Any) -> None:
    gql, _, db = env
    await _records(db)
    qa = await gql.sign_in("qa.one")
    for node_id in ("not base64!", "bm9jb2xvbg==", to_global_id("Room", "1"), to_global_id("Alarm", "1"),
                    to_global_id("Batch", "B-NONE"), to_global_id("PlasmaUnit", "DN-404"), ""):
        body = await qa("query($id: ID!) { node(id: $id) { id } }", {"id": node_id})
        assert body == {"data": {"node": None}}, (node_id, body)
    anonymous = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("Batch", "B-ALB")})
    assert anonymous["data"] == {"node": None} and _codes(anonymous) == ["UNAUTHENTICATED"]
