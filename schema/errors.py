"""Error codes on the WebSocket transport too: every error gets `extensions.code`; unexpected
exceptions are masked (the HTTP view does the same in api/graphql_http.py)."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from policies.errors import ErrorCode, code_for, public_outage


class ErrorCodes(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: code_for(e) is None, error_message="internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        return masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        out = [public_outage(e) for e in super()._process_errors(errors)]
        for e in out:
            if not (e.extensions or {}).get("code"):
                e.extensions = {**(e.extensions or {}), "code": code_for(e) or ErrorCode.INTERNAL_SERVER_ERROR.value}
        return out
