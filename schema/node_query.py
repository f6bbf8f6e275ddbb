"""`node(id:)`: a record by its global id (schema/node.py), answered by the type's own root query.

The root field named per type runs as if asked directly: its permissions (Context.require: roles,
a scoped token's areas, the audited denial) and then its resolver (the token's scope, OUT_OF_SCOPE for
a scoped token's missing or foreign record, null for others'). So `node` tells a caller exactly what the
type's query would, and nothing about records that query would not show. An id that is not a global id,
or names a type that is not a Node, is null without an error, for any signed-in caller.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import strawberry
from strawberry.permission import PermissionExtension
from strawberry.types import Info, get_object_definition
from strawberry.types.field import StrawberryField

from resolvers.context import Context
from schema.materials import MaterialQuery
from schema.node import Node, from_global_id
from schema.plant import PlantQuery
from schema.plasma import PlasmaQuery
from schema.reagents import ReagentQuery
from schema.stations import StationQuery
from schema.tablet import SampleQuery


@dataclass(frozen=True)
class Kind:
    """Which root query answers a type: its class, the field's Python name and its key argument (None for a
    list the record is picked from by `pick`)."""

    query: type
    field: str
    argument: str | None = None
    pick: Callable[[Any, str], Any] | None = None


def _by_code(found: list[Any], code: str) -> Any:
    return next((x for x in found if x.code == code), None)


KINDS: dict[str, Kind] = {
    "PlasmaUnit": Kind(PlasmaQuery, "plasma_unit", "donation_number"),
    "Donor": Kind(PlasmaQuery, "donor", "card_number"),
    "Batch": Kind(PlasmaQuery, "batch", "batch_number"),
    "Station": Kind(StationQuery, "plasma_stations", pick=_by_code),  # the stations the caller may list
    "Equipment": Kind(PlantQuery, "equipment", "code"),
    "MaterialLot": Kind(MaterialQuery, "material_lot", "code"),
    "ReagentLot": Kind(ReagentQuery, "reagent", "code"),
    "SampleInfo": Kind(SampleQuery, "sample", "code"),
}


def _field(kind: Kind) -> StrawberryField:
    definition = get_object_definition(kind.query, strict=True)
    return next(f for f in definition.fields if f.python_name == kind.field)


async def _answer(kind: Kind, key: str, info: Info[Context, None]) -> Any:
    field = _field(kind)
    for ext in field.extensions:
        if isinstance(ext, PermissionExtension):
            for permission in ext.permissions:
                allowed = permission.has_permission(None, info)  # Can raises the coded, audited refusal
                if inspect.isawaitable(allowed):
                    await allowed
    assert field.base_resolver is not None
    resolve = cast("Callable[..., Awaitable[Any]]", field.base_resolver.wrapped_func)
    if kind.argument is None:
        found = await resolve(None, info)
        return kind.pick(found, key) if kind.pick else None
    return await resolve(None, info, **{kind.argument: key})


@strawberry.type
class NodeQuery:
    @strawberry.field(description="A record by its global id, with the permission and scope checks of the type's own "
                                  "query (plasmaUnit, donor, batch, plasmaStations, equipment, materialLot, reagent, "
                                  "sample); null for an id of no such type or record.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        info.context.signed_in()
        parsed = from_global_id(id)
        kind = KINDS.get(parsed[0]) if parsed else None
        if parsed is None or kind is None:
            return None
        found: Node | None = await _answer(kind, parsed[1], info)
        return found
