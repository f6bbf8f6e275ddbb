"""The depth and estimated cost of an operation, for the limits in schema/limits.py.

Cost estimates the resolver work: each field costs its weight (1 unless FIELD_WEIGHTS says more),
and a list field multiplies the cost of its selection by its `first`/`last`/`maxPoints` argument,
or by LIST_FACTOR when it has none.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
)

LIST_FACTOR = 10
_MAX_MULTIPLIER = 1_000_000_000  # a longer literal is no Int anyway; keeps the arithmetic small

# What a field costs instead of 1: "Type.field", or "Type" for every field of the type. Heavy
# resolvers weigh enough that a handful of them, not a thousand aliases, reach the cost limit:
# whole-graph walks, reports and document renderings, hash-chain and signature checks, scans of
# history, password hashing, and writes (each signed and audited).
FIELD_WEIGHTS: Mapping[str, int] = {
    "Query": 10,  # every root query is at least one database round trip
    "Query.traceForward": 10_000,
    "Query.traceBackward": 10_000,
    "Query.lookbackImpact": 10_000,
    "Query.alarmReport": 10_000,
    "Query.validateDocument": 10_000,
    "Query.verifyAuditChain": 50_000,
    "Query.auditTrail": 1_000,
    "Query.sensorHistory": 1_000,
    "Query.verifySignature": 1_000,
    "Query.releaseDocument": 1_000,
    "Query.videoClips": 1_000,
    "Query.keyPostCoverage": 1_000,
    "Mutation": 1_000,
    "Mutation.signIn": 20_000,
    "Mutation.prepareRelease": 10_000,
    "Mutation.completeRelease": 10_000,
    "Mutation.deferDonor": 10_000,
    "Mutation.reportDonorStatus": 10_000,
    "Mutation.submitPlasmaShipmentFile": 10_000,
    "Mutation.chargePool": 10_000,
    "Mutation.purgeVideoClips": 10_000,
    # Nested fields that query once per object, and signature validation of a stored PDF.
    "Alarm.affectedUnits": 10,
    "Donor.units": 10,
    "Donor.lookback": 100,
    "PlasmaUnit.storage": 10,
    "UnitStorage.temperatures": 100,
    "ReleaseDocument.signatures": 1_000,
}


def _multiplier(f: FieldNode) -> int:
    for arg in f.arguments or ():
        if arg.name.value in ("first", "last", "maxPoints"):
            value = getattr(arg.value, "value", None)
            if isinstance(value, str) and value.isdigit():
                return max(1, int(value)) if len(value) < 10 else _MAX_MULTIPLIER
    return LIST_FACTOR


INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# Deep enough for any introspection query clients send (graphql-js: 15, with its nine-level TypeRef), bounded.
INTROSPECTION_MAX_DEPTH = 32


class Measure:
    """Depth and cost of selections. A fragment is measured once per level it is spread at (a chain
    of fragments each spreading the next twice costs linear time, not exponential), on its own type
    condition, and nothing is measured below max_depth + 1 (refused there anyway), which also
    bounds the recursion."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], max_depth: int,
                 weights: Mapping[str, int] = FIELD_WEIGHTS) -> None:
        self.schema = schema
        self.fragments = fragments
        self.max_depth = max_depth
        self.weights = weights
        self.memo: dict[tuple[str, int], tuple[int, int]] = {}

    def selection(self, sel: SelectionSetNode | None, parent: GraphQLNamedType | None, depth: int,
                  seen: frozenset[str] = frozenset()) -> tuple[int, int]:
        """(deepest level, estimated cost) of a selection set on a parent type."""
        if sel is None or depth > self.max_depth:
            return depth, 0
        deepest, cost = depth, 0
        fields = getattr(parent, "fields", {}) if parent is not None else {}
        spread: set[str] = set()  # a fragment spread twice in one selection is collected once
        for s in sel.selections:
            if isinstance(s, FieldNode) and depth == 0 and s.name.value in INTROSPECTION_ROOTS:
                # Introspection is exempt from the depth limit (graphql-js's standard query is 15 levels deep,
                # its TypeRef chain); it has its own bound and its fields are counted and costed as any.
                inner = Measure(self.schema, self.fragments, INTROSPECTION_MAX_DEPTH, self.weights)
                d, c = inner.selection(s.selection_set, None, 1, seen)
                d = 1 if d <= INTROSPECTION_MAX_DEPTH else self.max_depth + 1
                cost += 1 + c
            elif isinstance(s, FieldNode):
                fdef = fields.get(s.name.value)
                child_type = get_named_type(fdef.type) if fdef else None
                d, c = self.selection(s.selection_set, child_type, depth + 1, seen)
                is_list = fdef is not None and isinstance(get_nullable_type(fdef.type), GraphQLList)
                cost += self._weight(parent, s.name.value) + (_multiplier(s) if is_list else 1) * c
            elif isinstance(s, InlineFragmentNode):
                cond = self.schema.get_type(s.type_condition.name.value) if s.type_condition else parent
                d, c = self.selection(s.selection_set, cond, depth, seen)
                cost += c
            elif isinstance(s, FragmentSpreadNode):
                name = s.name.value
                if name in seen or name in spread or name not in self.fragments:
                    continue  # other rules report unknown and cyclic fragments
                spread.add(name)
                d, c = self._fragment(name, depth, seen)
                cost += c
            else:
                continue
            deepest = max(deepest, d)
        return deepest, cost

    def _fragment(self, name: str, depth: int, seen: frozenset[str]) -> tuple[int, int]:
        key = (name, depth)
        if key not in self.memo:
            frag = self.fragments[name]
            cond = self.schema.get_type(frag.type_condition.name.value)
            self.memo[key] = self.selection(frag.selection_set, cond, depth, seen | {name})
        return self.memo[key]

    def _weight(self, parent: GraphQLNamedType | None, name: str) -> int:
        if parent is None:
            return 1
        return self.weights.get(f"{parent.name}.{name}", self.weights.get(parent.name, 1))
