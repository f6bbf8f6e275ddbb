"""Error codes when the schema is run by Strawberry itself (`schema.execute`/`subscribe`, as tests and
scripts do): every error shown as policies.errors.public_error shows it, which is what the served
transports show too (api/engine runs HTTP and WebSocket without Strawberry's extensions)."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from policies.errors import INTERNAL_MESSAGE, public_error


class ErrorCodes(MaskErrors):
    def __init__(self) -> None:
        super().__init__(error_message=INTERNAL_MESSAGE)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [public_error(e) for e in errors]
