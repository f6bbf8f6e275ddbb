"""Query documents, parsed and validated once per query text with the one list of validation rules.

Every transport and path takes a document through here before anything runs: the length and token
limits while parsing, then the rules. The query limits come first among the rules and stop the
validation at the first node when a document is over them, so graphql-core's rules (not all linear)
never walk an expensive document (schema/limits.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.limits import Limits, check_variables, limits_rule_for, parse_document


def validation_rules(limits: Limits) -> tuple[type[ASTValidationRule], ...]:
    """The rules every document passes: the limits, graphql-core's, and the two Strawberry adds."""
    return limits_rule_for(limits), *specified_rules, MaybeNullValidationRule, OneOfInputValidationRule


@dataclass(frozen=True)
class Prepared:
    """A query text that parsed and validated, with the operation picked to run."""

    query: str
    operation_name: str | None
    doc: DocumentNode
    op: OperationDefinitionNode


class Documents:
    def __init__(self, schema: GraphQLSchema, limits: Limits, size: int = 512) -> None:
        self.schema = schema
        self.limits = limits
        self.rules = validation_rules(limits)
        self.parse = lru_cache(maxsize=size)(self._parse)
        self._errors = lru_cache(maxsize=size)(self._validate)

    def _parse(self, query: str) -> DocumentNode | GraphQLError:
        return parse_document(query, self.limits)

    def _validate(self, query: str) -> tuple[GraphQLError, ...]:
        doc = self.parse(query)
        if isinstance(doc, GraphQLError):
            return (doc,)
        return tuple(validate(self.schema, doc, self.rules))

    def check_variables(self, variables: Mapping[str, Any]) -> list[GraphQLError]:
        """The variable limits, on the values as sent (before coercion recurses into them)."""
        return check_variables(variables, self.limits)

    def prepare(self, query: str, operation_name: str | None) -> Prepared | list[GraphQLError]:
        """The operation to run, or why the document is refused (syntax, limits, rules, no operation)."""
        errors = self._errors(query)
        if errors:
            return list(errors)
        doc = self.parse(query)
        assert isinstance(doc, DocumentNode)
        op = get_operation_ast(doc, operation_name)
        if op is None:
            return [GraphQLError("could not pick an operation (check operationName)")]
        return Prepared(query, operation_name, doc, op)

    def coerce(self, prepared: Prepared, variables: Mapping[str, Any]) -> VariableValues | list[GraphQLError]:
        """The variables coerced to the operation's types, or the errors of those that do not coerce."""
        return get_variable_values(self.schema, prepared.op.variable_definitions or [], dict(variables))
