"""The Schema: composes the per-domain Query, Mutation and Subscription classes."""

from __future__ import annotations

import strawberry
from strawberry.extensions import AddValidationRules, MaskErrors
from strawberry.schema.config import StrawberryConfig

from policies.errors import AppError
from schema.admin import AdminMutation, AdminQuery
from schema.audit import AuditQuery
from schema.identity import IdentityMutation, IdentityQuery
from schema.limits import limits_rule
from schema.live import LiveSubscription
from schema.plant import PlantMutation, PlantQuery
from schema.signing import SigningQuery


@strawberry.type
class Query(IdentityQuery, PlantQuery, AuditQuery, AdminQuery, SigningQuery):
    pass


@strawberry.type
class Mutation(IdentityMutation, AdminMutation, PlantMutation):
    pass


@strawberry.type
class Subscription(LiveSubscription):
    pass


def _mask(error: Exception) -> bool:
    # Only unexpected exceptions are masked; refusals and GraphQL errors keep their message and code.
    original = getattr(error, "original_error", None)
    return original is not None and not isinstance(original, AppError)


def build_schema(max_depth: int = 12, max_cost: int = 100_000) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True),
        extensions=[
            lambda: AddValidationRules([limits_rule(max_depth, max_cost)]),
            lambda: MaskErrors(should_mask_error=_mask),
        ],
    )
