"""Validation rules that refuse queries too deep or too large before they execute.

Cost estimates the number of fields a query can resolve: a list field multiplies the cost of
its selection by its `first`/`maxPoints` argument, or by LIST_FACTOR when it has none.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
)

LIST_FACTOR = 10


def limits_rule(max_depth: int, max_cost: int) -> type[ASTValidationRule]:
    class QueryLimits(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            ctx = self.context
            schema: GraphQLSchema = ctx.schema  # type: ignore[attr-defined]
            root = schema.get_root_type(node.operation)
            fragments = {
                d.name.value: d for d in ctx.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            depth, cost = Measure(schema, fragments).selection(node.selection_set, root, 0, frozenset())
            name = node.name.value if node.name else "anonymous"
            if depth > max_depth:
                ctx.report_error(GraphQLError(
                    f"operation {name} is {depth} levels deep; the limit is {max_depth}",
                    node, extensions={"code": "VALIDATION_FAILED"}))
            elif cost > max_cost:
                ctx.report_error(GraphQLError(
                    f"operation {name} would cost about {cost} fields; the limit is {max_cost}",
                    node, extensions={"code": "VALIDATION_FAILED"}))

    return QueryLimits


def _multiplier(field: FieldNode) -> int:
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last", "maxPoints"):
            value = getattr(arg.value, "value", None)
            if isinstance(value, str) and value.isdigit():
                return max(1, int(value))
    return LIST_FACTOR


class Measure:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments

    def selection(self, sel: SelectionSetNode | None, parent: GraphQLNamedType | None, depth: int,
                  seen: frozenset[str]) -> tuple[int, int]:
        """(deepest level, estimated cost) of a selection set on a parent type."""
        if sel is None:
            return depth, 0
        deepest, cost = depth, 0
        fields = getattr(parent, "fields", {}) if parent is not None else {}
        for s in sel.selections:
            if isinstance(s, FieldNode):
                fdef = fields.get(s.name.value)
                child_type = get_named_type(fdef.type) if fdef else None
                d, c = self.selection(s.selection_set, child_type, depth + 1, seen)
                is_list = fdef is not None and isinstance(get_nullable_type(fdef.type), GraphQLList)
                cost += 1 + (_multiplier(s) if is_list else 1) * c
            elif isinstance(s, InlineFragmentNode):
                cond = self.schema.get_type(s.type_condition.name.value) if s.type_condition else parent
                d, c = self.selection(s.selection_set, cond, depth, seen)
                cost += c
            elif isinstance(s, FragmentSpreadNode):
                name = s.name.value
                frag = self.fragments.get(name)
                if frag is None or name in seen:  # other rules report unknown and cyclic fragments
                    continue
                cond = self.schema.get_type(frag.type_condition.name.value)
                d, c = self.selection(frag.selection_set, cond, depth, seen | {name})
                cost += c
            else:
                continue
            deepest = max(deepest, d)
        return deepest, cost
