"""Root query fields are nullable on the wire and marked `@semanticNonNull`.

GraphQL nulls the nearest nullable parent of a failed non-null field: for a root field that parent
is `data` itself, so one field the caller may not read (FORBIDDEN) or cannot find would throw away
every other field of the answer. Each root field therefore answers null with its own error, and
`@semanticNonNull` (the nullability RFC's directive, as Apollo Kotlin and graphql-sock read it) says
that null only ever comes with an error: clients that throw on errors keep non-null types
(frontend/codegen.ts `nullability.errorHandlingClient`).
"""

from __future__ import annotations

import strawberry
from strawberry.schema_directive import Location
from strawberry.types.base import StrawberryOptional, has_object_definition


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], name="semanticNonNull",
    description="Null here only with an error in `errors` for this path: without one the value is never null.")
class SemanticNonNull:
    levels: list[int | None] | None = strawberry.field(default_factory=lambda: [0])


def semantic_root(root: type) -> type:
    """Make each non-null field of `root` nullable with `@semanticNonNull` (once: it marks what it changed)."""
    assert has_object_definition(root)
    for field in root.__strawberry_definition__.fields:
        if isinstance(field.type, StrawberryOptional):
            continue
        field.type = StrawberryOptional(field.type)
        field.directives = [*field.directives, SemanticNonNull()]
    return root
