"""Plasma stations: registered by QA's approval, listed within the caller's scope."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import stations as res
from resolvers.context import Context
from schema.convert import of
from schema.permissions import can
from schema.plasma import Station
from schema.signing import SignatureInput, signed


@strawberry.input
class RegisterPlasmaStationInput:
    code: str
    name: str
    province: str
    licence_number: str = strawberry.field(description="The station's licence (单采血浆许可证) number")
    reason: str


@strawberry.type
class StationQuery:
    @strawberry.field(description="Plasma stations by code; a station's token sees its own.",
                      extensions=can("plasma:station", "read"))
    async def plasma_stations(self, info: Info[Context, None]) -> list[Station]:
        return [of(Station, s) for s in await res.listing(info.context)]


@strawberry.type
class StationMutation:
    @strawberry.mutation(description="Approve a plasma station as a supplier; signed APPROVED by QA.",
                         extensions=can("plasma:station", "write"))
    async def register_plasma_station(self, info: Info[Context, None], input: RegisterPlasmaStationInput,
                                      signature: SignatureInput) -> Station:
        new = res.NewStation(input.code, input.name, input.province, input.licence_number)
        return of(Station, await res.register(info.context, signed(info, signature), new, input.reason))
