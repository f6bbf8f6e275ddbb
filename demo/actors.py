"""The demo's people acting through the product's own GraphQL API, in-process: each signs in with the
password and signs with the key that demo-users.json gives them, as they would from the browser or the
CLI. The demo makes its records this way, never behind the API's back."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from starlette.types import ASGIApp

from policies.signatures import make_payload


class ActorError(RuntimeError):
    """The API refused what a demo actor asked for."""


class Actors:
    def __init__(self, app: ASGIApp, data_dir: Path) -> None:
        self.users = {u["username"]: u for u in json.loads((data_dir / "demo-users.json").read_text())}
        self.data_dir = data_dir
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 1)),
                                        base_url="http://demo", timeout=120)
        self.tokens: dict[str, str] = {}

    async def __aenter__(self) -> Actors:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise in the demo's output
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.client.aclose()

    async def query(self, user: str, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        if user not in self.tokens:
            u = self.users[user]
            signed_in = await self._post(None, "mutation($u:String!,$p:String!){signIn(username:$u,password:$p)"
                                               "{token}}", {"u": user, "p": u["password"]})
            self.tokens[user] = signed_in["signIn"]["token"]
        return await self._post(self.tokens[user], document, variables or {})

    async def _post(self, token: str | None, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = (await self.client.post("/graphql", json={"query": document, "variables": variables},
                                       headers=headers)).json()
        if body.get("errors"):
            raise ActorError(f"{body['errors'][0]['message']} ({body['errors'][0].get('extensions', {})})")
        data: dict[str, Any] = body["data"]
        return data

    def sign(self, user: str, operation: str, inp: dict[str, Any], meaning: str) -> dict[str, Any]:
        u = self.users[user]
        return make_payload((self.data_dir / u["privateKey"]).read_bytes(), u["algorithm"], user, operation, inp,
                            meaning)

    async def signed(self, user: str, operation: str, inp: dict[str, Any], meaning: str = "PERFORMED", *,
                     second: tuple[str, str] | None = None, answer: str = "__typename",
                     input_type: str | None = None) -> dict[str, Any]:
        """A signed mutation `operation(input, signature[, verification])` by `user`, a second person's
        signature carried as `verification` where given; the input's type is <Operation>Input unless named."""
        name = input_type or f"{operation[0].upper()}{operation[1:]}Input"
        params, args = f"$input: {name}!, $sig: SignatureInput!", "input: $input, signature: $sig"
        if second is not None:
            params, args = f"{params}, $v: SignatureInput!", f"{args}, verification: $v"
            await self.reauthenticate(user, second[0])  # the second person's password, for this signature
        selection = f" {{ {answer} }}" if answer else ""  # a scalar answer (setSetting's JSON) takes none
        document = f"mutation({params}) {{ {operation}({args}){selection} }}"

        def signatures() -> dict[str, Any]:  # fresh on every attempt: a nonce is used once
            out = {"input": inp, "sig": self.sign(user, operation, inp, meaning)}
            if second is not None:
                out["v"] = self.sign(second[0], operation, inp, second[1])
            return out

        try:
            return await self.query(user, document, signatures())
        except ActorError as e:
            if "REAUTHENTICATION_REQUIRED" not in str(e):
                raise
        # The first signature of the session, or after a pause: the caller's password again. A refused request
        # spent nothing, so the second person's confirmation still stands.
        await self.reauthenticate(user)
        return await self.query(user, document, signatures())

    async def reauthenticate(self, user: str, signer: str | None = None) -> None:
        """`signer`'s password (the caller's own when None) given again on `user`'s session (resolvers/reauth.py)."""
        who = signer or user
        await self.query(user, "mutation($p: String!, $s: String) { reauthenticate(password: $p, signer: $s) "
                               "{ signer } }", {"p": self.users[who]["password"], "s": signer})
