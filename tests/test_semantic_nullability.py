"""Root query fields: one refused field answers null with its own error beside the others (schema/nullability.py)."""

from __future__ import annotations

from graphql import GraphQLNonNull

from schema.root import build_schema
from tests.conftest import GQL


async def test_a_forbidden_root_field_leaves_the_rest_of_the_answer(gql: GQL) -> None:
    op = await gql.sign_in("op.one")  # reads the plant, not the audit chain
    body = await op("{ plants { name } verifyAuditChain { ok } viewer { username } }")
    assert body["data"]["plants"] == [] and body["data"]["viewer"] == {"username": "op.one"}
    assert body["data"]["verifyAuditChain"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["verifyAuditChain"], "FORBIDDEN")]


def test_root_fields_are_nullable_and_marked_semantically_non_null() -> None:
    schema = build_schema()._schema
    query = schema.query_type
    assert query is not None
    # Nullable on the wire; the directive says null only comes with an error (graphql-sock, Apollo Kotlin).
    assert not any(isinstance(f.type, GraphQLNonNull) for f in query.fields.values())
    sdl = str(build_schema())
    assert "directive @semanticNonNull(levels: [Int]) on FIELD_DEFINITION" in sdl
    assert "plants: [Plant!] @semanticNonNull(levels: [0])" in sdl
    assert "viewer: Viewer\n" in sdl  # nullable by meaning: no directive
