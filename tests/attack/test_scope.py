"""Attack matrix, scope: an external party's account is limited to its organisation whatever token it
holds, on every path (queries, traces, subscriptions), and a refusal tells nothing about what exists.

Add every new query and subscription that partners or regulators can reach to the lists below.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from api.seed import NewUser, seed_users
from demo import population
from demo.seed import seed_stations
from records.audit import AuditEvent
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit
from tests.attack.conftest import WS, SignedLive, code
from tests.conftest import GQL, PASSWORD
from tests.signing_env import issue_token

# Internal data: a partner account never reaches it.
INTERNAL = ['{plants{name}}', '{equipment(code:"EQ-1"){code}}', "{alarms{totalCount}}",
            "{videoClips(first:1){totalCount}}", "{cameras{code}}", "{auditTrail{totalCount}}",
            '{sensorHistory(tag:"X",from:"2026-01-01T00:00:00Z",to:"2026-01-02T00:00:00Z"){value}}']


@pytest_asyncio.fixture
async def plasma(env: Any) -> dict[str, Any]:
    gql, signers, db = env
    await seed_stations(db)
    await population.generate(db, population.Population(donors=40, units=160, pools=4, cases_per_lot=1,
                                                        cartons_per_case=1, units_per_carton=2))
    await seed_users(db, [NewUser("st.org", "Station N1 System", ("station_partner",), PASSWORD,
                                  organisation="PS-N1"),
                          NewUser("dist.org", "Distributor 1", ("distributor_partner",), PASSWORD,
                                  organisation="DIST-01")])
    async with db.read() as s:
        def first(stmt: Any) -> Any:
            return stmt.limit(1)
        own = (await s.execute(first(select(PlasmaUnit.donation_number, Donor.card_number)
                                     .join(Donor, Donor.id == PlasmaUnit.donor_id)
                                     .join(PlasmaStation, PlasmaStation.id == PlasmaUnit.station_id)
                                     .where(PlasmaStation.code == "PS-N1", PlasmaUnit.pool_id.is_(None))))).one()
        other = (await s.execute(first(select(PlasmaUnit.donation_number, Donor.card_number)
                                       .join(Donor, Donor.id == PlasmaUnit.donor_id)
                                       .join(PlasmaStation, PlasmaStation.id == PlasmaUnit.station_id)
                                       .where(PlasmaStation.code != "PS-N1", PlasmaUnit.pool_id.is_(None))))).one()
        batch = (await s.execute(select(Batch.batch_number).limit(1))).scalar_one()
    return {"gql": gql, "signers": signers, "db": db, "own": tuple(own), "other": tuple(other), "batch": batch}


def _reads(unit: str, card: str, batch: str) -> list[str]:
    return [f'{{plasmaUnit(donationNumber:"{unit}"){{donationNumber}}}}',
            f'{{donor(cardNumber:"{card}"){{cardNumber}}}}',
            f'{{batch(batchNumber:"{batch}"){{batchNumber}}}}',
            f'{{traceBackward(code:"{unit}"){{summary{{kind count}}}}}}',
            f'{{quarantineState(donationNumber:"{unit}"){{eligible}}}}',
            f'{{retests(donationNumber:"{unit}"){{test}}}}']


@pytest.mark.req("IT-55")
@pytest.mark.parametrize("user", ["st.one", "dist.one", "reg.one"])
async def test_partner_accounts_without_an_organisation_see_nothing_with_a_password(
        plasma: dict[str, Any], user: str) -> None:
    me = await plasma["gql"].sign_in(user)
    unit, card = plasma["own"]
    for q in [*INTERNAL, *_reads(unit, card, plasma["batch"])]:
        body = await me(q)
        assert body["errors"][0]["extensions"]["code"] in ("OUT_OF_SCOPE", "FORBIDDEN"), (user, q, body)
        assert not any((body.get("data") or {}).values()), (user, q)


@pytest.mark.req("IT-55")
async def test_a_station_account_sees_its_own_station_only(plasma: dict[str, Any]) -> None:
    me = await plasma["gql"].sign_in("st.org")
    unit, card = plasma["own"]
    body = await me(f'{{plasmaUnit(donationNumber:"{unit}"){{donationNumber}} '
                    f'donor(cardNumber:"{card}"){{cardNumber}}}}')
    assert body["data"] == {"plasmaUnit": {"donationNumber": unit}, "donor": {"cardNumber": card}}
    other_unit, other_card = plasma["other"]
    for q in (f'{{plasmaUnit(donationNumber:"{other_unit}"){{donationNumber}}}}',
              f'{{donor(cardNumber:"{other_card}"){{cardNumber}}}}', *INTERNAL):
        assert code(await me(q)) in ("OUT_OF_SCOPE", "FORBIDDEN"), q


@pytest.mark.req("IT-55")
async def test_refusals_do_not_tell_existing_from_unknown_records(plasma: dict[str, Any]) -> None:
    """The same code and message for a record out of scope and for one that does not exist."""
    token = await issue_token(plasma["gql"], plasma["signers"], "reg.one", products=["NO-SUCH-PRODUCT"])
    me = await plasma["gql"].sign_in("st.org")
    other_unit, other_card = plasma["other"]
    for caller in (token, me):
        existing = _reads(other_unit, other_card, plasma["batch"])
        unknown = _reads("DN-NOPE-0001", "C-NOPE-0001", "B-NOPE-0001")
        for q_existing, q_unknown in zip(existing, unknown, strict=True):
            a, b = await caller(q_existing), await caller(q_unknown)
            assert a["errors"][0]["extensions"] == b["errors"][0]["extensions"], (q_existing, a, b)
            assert a["errors"][0]["message"].replace(other_unit, "X").replace(other_card, "X") == \
                b["errors"][0]["message"].replace("DN-NOPE-0001", "X").replace("C-NOPE-0001", "X"), q_existing


@pytest.mark.req("IT-55")
async def test_every_partner_request_is_logged_with_its_fields_even_through_fragments(plasma: dict[str, Any]) -> None:
    me = await plasma["gql"].sign_in("st.org")
    unit, _ = plasma["own"]
    q = (f'query Q {{ ...F }} fragment F on Query {{ plasmaUnit(donationNumber:"{unit}"){{donationNumber}} '
         '... on Query { viewer { username } } }')
    assert "errors" not in await me(q)
    async with plasma["db"].read() as s:
        ev = (await s.execute(select(AuditEvent).where(AuditEvent.action == "ACCESS")
                              .order_by(AuditEvent.id.desc()).limit(1))).scalar_one()
    assert ev.actor == "st.org"
    assert ev.changes["fields"] == ["plasmaUnit", "viewer"] and ev.changes["name"] == "Q"


@pytest.mark.req("IT-55")
async def test_partner_subscriptions_to_the_live_plant_are_out_of_scope(signed_live: SignedLive) -> None:
    ws = await WS.open(signed_live.live.ws_url, await signed_live.token("st.sig"))
    try:
        for i, q in enumerate(("subscription{sensorUpdates{tag value}}",
                               'subscription{plantState(plantId:"1"){snapshot}}',
                               "subscription{alarmEvents{kind}}")):
            body = await ws.request(q, op_id=f"s{i}")
            assert code(body) == "OUT_OF_SCOPE", (q, body)
        body = await ws.request("{plants{name}}", op_id="q")
        assert code(body) == "OUT_OF_SCOPE"
    finally:
        await ws.close()
    from tests.attack.conftest import count_events

    assert await count_events(signed_live.url, "ACCESS") >= 4  # logged over the WebSocket too


async def test_a_password_signed_in_partner_cannot_widen_its_scope(env: Any) -> None:
    """Session tokens of a partner carry the account's scope, not 'unrestricted'."""
    gql: GQL = env[0]
    me = await gql.sign_in("st.sig")
    body = await me("{viewer{username roles}}")
    assert body["data"]["viewer"]["roles"] == ["station_partner"]
    assert code(await me('{traceForward(code:"B-ANY"){summary{kind count}}}')) == "OUT_OF_SCOPE"
