"""The common part of the signed-mutation cases: the world they run in, a case, the document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.conftest import GQL


@dataclass
class World:
    """The app (GQL over ASGI), the signing users and the database, with a tiny plant."""

    gql: GQL
    signers: Any
    db: Any

    async def call(self, user: str, operation: str, inp: dict[str, Any], meaning: str = "PERFORMED",
                   second: tuple[str, str] | None = None, second_arg: str = "verification") -> dict[str, Any]:
        """A valid signed request, made through the API (to prepare records other cases act on)."""
        me = await self.gql.sign_in(user)
        variables: dict[str, Any] = {"input": inp, "sig": self.signers.sign(user, operation, inp, meaning)}
        if second:
            variables["second"] = self.signers.sign(second[0], operation, inp, second[1])
        body: dict[str, Any] = await me(document(operation, second_arg if second else None), variables)
        assert "errors" not in body, (operation, body)
        return body


    async def send(self, user: str, operation: str, inp: dict[str, Any], meaning: str = "PERFORMED", *,
                   verifier: str | None = None, answer: str = "__typename") -> dict[str, Any]:
        """A signed request as a test sends it, refusals included: the answer selects `answer`; where the
        mutation takes a `verification`, the verifier's VERIFIED signature goes there (none: null)."""
        from schema.root import build_schema

        mutation = build_schema()._schema.mutation_type
        assert mutation is not None
        field = mutation.fields[operation]
        params = [f"$input: {field.args['input'].type}", "$sig: SignatureInput!"]
        args = ["input: $input", "signature: $sig"]
        variables: dict[str, Any] = {"input": inp, "sig": self.signers.sign(user, operation, inp, meaning)}
        if "verification" in field.args:
            params.append(f"$v: {field.args['verification'].type}")
            args.append("verification: $v")
            variables["v"] = self.signers.sign(verifier, operation, inp, "VERIFIED") if verifier else None
        from graphql import get_named_type, is_object_type

        selection = f"{{ {answer} }}" if is_object_type(get_named_type(field.type)) else ""
        me = await self.gql.sign_in(user)
        body: dict[str, Any] = await me(f"mutation({', '.join(params)}) {{ {operation}({', '.join(args)}) "
                                        f"{selection} }}", variables)
        return body


Prepare = Callable[[World], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    signer: str
    prepare: Prepare
    meaning: str = "PERFORMED"
    # (signer, meaning) of a second person's signature that the request carries.
    second: tuple[str, str] | None = None
    # The client the signer calls with, where a password session is not it (a station's scoped
    # token); made after `prepare`, before the rows are counted. None: the signer signs in.
    client: Callable[[World], Awaitable[GQL]] | None = None


def document(operation: str, second_arg: str | None, with_signature: bool = True) -> str:
    """A mutation document for `operation` built from the schema (its result selection included)."""
    from schema.root import build_schema

    schema = build_schema()._schema
    assert schema.mutation_type is not None
    field = schema.mutation_type.fields[operation]
    from graphql import get_named_type, is_object_type

    result = get_named_type(field.type)
    selection = "{ __typename }" if is_object_type(result) else ""
    input_type = field.args["input"].type
    params = [f"$input: {input_type}"]
    args = ["input: $input"]
    if with_signature:
        params.append("$sig: SignatureInput!")
        args.append("signature: $sig")
    if second_arg:
        params.append("$second: SignatureInput!")
        args.append(f"{second_arg}: $second")
    return f"mutation({', '.join(params)}) {{ {operation}({', '.join(args)}) {selection} }}"
