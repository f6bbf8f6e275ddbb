"""The Relay Node interface: one global id per record, fetched again with `node(id:)` (schema/node_query.py).

A global id is base64("<GraphQL type>:<key>"), as strawberry.relay writes them, the key being the record's
own code (donation number, card number, batch number, lot or equipment code): the code is what the type's
root query takes, so `node` answers through that query with its permission and scope checks unchanged.
strawberry.relay.Node itself is not used: it makes the key field private (the types would lose `code`,
`donationNumber`, ...) and refuses an unknown or malformed id with an error, where `node` answers null.
Types whose `id` field already means something else (Room: the row id; Alarm, TestRecord: `Int!` ids
that signed inputs carry) keep it and are not Nodes: a Node's id must be `ID!` and globally unique.
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar

import strawberry
from strawberry.types import get_object_definition


def to_global_id(type_name: str, key: str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def from_global_id(value: str) -> tuple[str, str] | None:
    """(type name, key), or None for anything that is not a global id."""
    try:
        type_name, key = base64.b64decode(value.encode(), validate=True).decode().split(":", 1)
    except (binascii.Error, UnicodeError, ValueError):
        return None
    return (type_name, key) if type_name and key else None


@strawberry.interface(description="A record with a global id: node(id:) fetches it again (Relay).")
class Node:
    @strawberry.field(description="The global id: opaque, stable, and unique across every type")
    def id(self) -> strawberry.ID:
        definition = get_object_definition(self, strict=True)
        return strawberry.ID(to_global_id(definition.name, self.node_key()))

    # The attribute holding the key the type's root query takes; a type whose key is not `code` names its own.
    node_key_field: ClassVar[str] = "code"

    def node_key(self) -> str:
        return str(getattr(self, self.node_key_field))
