"""Validation rules that refuse queries too deep or too large before they execute."""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

# Each list field is assumed to return this many items unless `first` says otherwise.
LIST_FACTOR = 10


def limits_rule(max_depth: int, max_cost: int) -> type[ASTValidationRule]:
    class QueryLimits(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            ctx = self.context
            fragments = {
                d.name.value: d for d in ctx.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            depth, cost = _measure(node.selection_set, fragments, 0, frozenset())
            name = node.name.value if node.name else "anonymous"
            if depth > max_depth:
                ctx.report_error(GraphQLError(
                    f"operation {name} is {depth} levels deep; the limit is {max_depth}",
                    node, extensions={"code": "VALIDATION_FAILED"}))
            elif cost > max_cost:
                ctx.report_error(GraphQLError(
                    f"operation {name} would cost {cost}; the limit is {max_cost}",
                    node, extensions={"code": "VALIDATION_FAILED"}))

    return QueryLimits


def _multiplier(field: FieldNode) -> int:
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last", "maxPoints"):
            value = getattr(arg.value, "value", None)
            if isinstance(value, str) and value.isdigit():
                return max(1, int(value))
            return LIST_FACTOR
    return 1


def _measure(sel: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], depth: int,
             seen: frozenset[str]) -> tuple[int, int]:
    if sel is None:
        return depth, 0
    deepest, cost = depth, 0
    for s in sel.selections:
        if isinstance(s, FieldNode):
            d, c = _measure(s.selection_set, fragments, depth + 1, seen)
            cost += 1 + _multiplier(s) * c
        elif isinstance(s, InlineFragmentNode):
            d, c = _measure(s.selection_set, fragments, depth, seen)
            cost += c
        elif isinstance(s, FragmentSpreadNode):
            name = s.name.value
            frag = fragments.get(name)
            if frag is None or name in seen:  # other rules report unknown and cyclic fragments
                continue
            d, c = _measure(frag.selection_set, fragments, depth, seen | {name})
            cost += c
        else:
            continue
        deepest = max(deepest, d)
    return deepest, cost
