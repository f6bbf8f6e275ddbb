"""Attack matrix, every signed mutation: each refuses a missing, a forged and a replayed signature
with nothing written, and works with a valid one. A forged or replayed signature is audited as
SIGNATURE_REJECTED; a missing one never runs (the document fails validation).

The list comes from the schema: a new mutation that takes a `signature` fails
`test_every_signed_mutation_has_a_case` until tests/attack/signed_cases.py says how to call it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, table

from records.base import Base
from schema.root import build_schema
from tests.attack.conftest import code, count_events
from tests.attack.signed_cases import CASES, SECOND_ARG, Case, World, document

# Not business data: the audit trail grows by the refusal itself; tokens by signing in.
NOT_COUNTED = {"audit_event", "api_token", "alembic_version"}


def signed_mutations() -> list[str]:
    schema = build_schema()._schema
    assert schema.mutation_type is not None
    return sorted(name for name, f in schema.mutation_type.fields.items() if "signature" in f.args)


def test_every_signed_mutation_has_a_case() -> None:
    missing = [m for m in signed_mutations() if m not in CASES]
    assert not missing, f"add these to tests/attack/signed_cases.py: {missing}"
    schema = build_schema()._schema
    assert schema.mutation_type is not None
    for name in signed_mutations():
        assert "input" in schema.mutation_type.fields[name].args, f"{name}: a signed mutation takes $input"


async def _counts(db: Any) -> dict[str, int]:
    out = {}
    async with db.read() as s:
        for name in sorted(Base.metadata.tables):
            if name not in NOT_COUNTED:
                out[name] = (await s.execute(select(func.count()).select_from(table(name)))).scalar_one()
    return out


async def _used_nonce(w: World) -> str:
    """A nonce that a stored signature already used."""
    inp = {"code": "EQ-1", "status": "RUNNING", "reason": "start"}
    sig = w.signers.sign("op.one", "setEquipmentStatus", inp)
    me = await w.gql.sign_in("op.one")
    body = await me(document("setEquipmentStatus", None), {"input": inp, "sig": sig})
    assert "errors" not in body, body
    return str(sig["nonce"])


@pytest.mark.req("IT-41", "IT-44")
@pytest.mark.parametrize("operation", signed_mutations())
async def test_missing_forged_and_replayed_signatures_are_refused(env: Any, operation: str) -> None:
    gql, signers, db = env
    w = World(gql, signers, db)
    case: Case | None = CASES.get(operation)
    assert case is not None, f"add {operation} to tests/attack/signed_cases.py"
    used = await _used_nonce(w)
    inp = await case.prepare(w)
    second_arg = SECOND_ARG.get(operation, "verification") if case.second else None
    me = await (case.client(w) if case.client else gql.sign_in(case.signer))

    def variables(sig: dict[str, Any]) -> dict[str, Any]:
        out = {"input": inp, "sig": sig}
        if case.second:
            out["second"] = signers.sign(case.second[0], operation, inp, case.second[1])
        return out

    before = await _counts(db)
    rejected = await count_events(db.url, "SIGNATURE_REJECTED")
    # Missing: the document has no signature at all.
    no_sig = {k: v for k, v in variables({}).items() if k != "sig"}
    body = await me(document(operation, second_arg, with_signature=False), no_sig)
    assert code(body) == "SIGNATURE_REQUIRED", (operation, body)
    # Forged: a real signature of the signer, but over another input than the one sent.
    other = signers.sign(case.signer, operation, {**inp, "forged": True}, case.meaning)
    body = await me(document(operation, second_arg), variables(other))
    assert code(body) == "SIGNATURE_INVALID", (operation, body)
    # Replayed: a valid signature over this input, with a nonce a stored signature already used.
    replay = signers.sign(case.signer, operation, inp, case.meaning, nonce=used)
    body = await me(document(operation, second_arg), variables(replay))
    assert code(body) == "SIGNATURE_REPLAYED", (operation, body)
    assert await _counts(db) == before, operation
    assert await count_events(db.url, "SIGNATURE_REJECTED") == rejected + 2
    # The same request with a valid signature works: the refusals were the signatures'.
    body = await me(document(operation, second_arg), variables(signers.sign(case.signer, operation, inp,
                                                                            case.meaning)))
    assert "errors" not in body, (operation, body)
    assert await _counts(db) != before, operation
