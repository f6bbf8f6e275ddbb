"""What every operation passes before it runs, on HTTP and WebSocket alike (one pipeline).

The transport authenticates and parses; `admit` then logs a scoped caller's access (with the root
fields it asks for, fragments included), refuses writes under a read-only scope, and hands the
resolvers a context carrying the variables exactly as the request sent them (what signatures cover).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)

from policies.errors import AppError, ErrorCode
from policies.principal import Principal
from policies.signatures import RawInput
from records.audit import PendingEvent
from resolvers import tokens
from resolvers.context import Context, Services

# What an account signed in with a one-time password may ask for.
PASSWORD_CHANGE_FIELDS = frozenset({"changePassword", "viewer", "signOut", "__typename"})


def root_nodes(doc: DocumentNode, op: OperationDefinitionNode) -> list[FieldNode]:
    """The root field nodes an operation selects, through fragment spreads and inline fragments."""
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    out: list[FieldNode] = []
    seen: set[str] = set()

    def walk(sel: SelectionSetNode) -> None:
        for s in sel.selections:
            if isinstance(s, FieldNode):
                out.append(s)
            elif isinstance(s, InlineFragmentNode):
                walk(s.selection_set)
            elif isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                seen.add(s.name.value)
                frag = fragments.get(s.name.value)
                if frag is not None:
                    walk(frag.selection_set)

    walk(op.selection_set)
    return out


def root_fields(doc: DocumentNode, op: OperationDefinitionNode) -> list[str]:
    return list(dict.fromkeys(n.name.value for n in root_nodes(doc, op)))


def raw_inputs(doc: DocumentNode, op: OperationDefinitionNode, variables: dict[str, Any]) -> dict[str, Any]:
    """Each mutation field's `input` argument exactly as the request carried it, by response key:
    the value of its variable, or RawInput.MISSING (not sent or null: a default would be applied)
    or RawInput.INLINE (written in the document). This is what a signature covers (design.md)."""
    if op.operation != OperationType.MUTATION:
        return {}
    out: dict[str, Any] = {}
    for node in root_nodes(doc, op):
        arg = next((a for a in node.arguments or () if a.name.value == "input"), None)
        if arg is None:
            continue
        key = node.alias.value if node.alias else node.name.value
        if isinstance(arg.value, VariableNode):
            value = variables.get(arg.value.name.value)
            out[key] = RawInput.MISSING if value is None else value
        else:
            out[key] = RawInput.INLINE
    return out


async def admit(svc: Services, principal: Principal | None, client: str | None, doc: DocumentNode,
                op: OperationDefinitionNode, raw_variables: dict[str, Any] | None,
                transport: str = "http") -> Context:
    """The resolver context of one operation; a scoped caller's access is logged first."""
    if principal is not None and principal.password_change_required:
        asked = set(root_fields(doc, op)) - PASSWORD_CHANGE_FIELDS
        if asked:
            raise AppError(ErrorCode.FORBIDDEN, "change your one-time password first (changePassword)",
                           fields=sorted(asked))
    if principal is not None and principal.is_scoped:
        await tokens.log_access(svc.db, principal, client, {
            "operation": op.operation.value, "name": op.name.value if op.name else None,
            "fields": root_fields(doc, op), "transport": transport})
        if op.operation == OperationType.MUTATION and (principal.scope or {}).get("readOnly", True):
            await svc.db.record(
                Context(svc, principal, client).audit_context(),
                PendingEvent("ACCESS_DENIED", "api_token", str(principal.token_id),
                             {"reason": "read-only scope", "fields": root_fields(doc, op)}))
            raise AppError(ErrorCode.FORBIDDEN, "this account's access is read-only")
    return Context(svc, principal, client, raw_inputs(doc, op, raw_variables or {}))
