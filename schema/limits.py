"""Limits on what one GraphQL request may ask for, checked before graphql-core validates it.

graphql-core's rules walk every node of a document and one of them (OverlappingFieldsCanBeMerged)
compares fields that share a response name pairwise, so an uncached document of a few kilobytes
could hold the event loop for seconds. `check_document` takes time linear in the limits: a
document within them validates in milliseconds, one over them never reaches the rules, and the
refusal names each limit it exceeds (the depth and cost first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    parse,
)
from graphql.validation.validate import ValidationAbortedError

from schema.document_shape import fragment_spreads, shape, spread_depth, token_count
from schema.query_cost import FIELD_WEIGHTS, Measure


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_cost: int = 100_000  # schema/query_cost.py: fields, heavy resolvers weighted
    max_length: int = 20_000  # characters of query text (comments and strings cost lexing time too)
    max_tokens: int = 2_000
    max_fields: int = 300  # with fragments inlined
    max_aliases: int = 100
    max_root_fields: int = 50  # per operation
    max_repeated_fields: int = 30  # selected again under a response path already selected
    max_fragments: int = 50
    max_fragment_depth: int = 8  # the longest chain of fragment spreads
    max_variable_depth: int = 64  # nesting of a variable's JSON value
    weights: Mapping[str, int] = field(default_factory=lambda: FIELD_WEIGHTS)

    @property
    def parse_tokens(self) -> int:
        """Where the parser gives up. A little past max_tokens, so that a document somewhat over it
        is still parsed and told every limit it exceeds; the parse time stays bounded."""
        return self.max_tokens * 5 // 2


def _error(message: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "VALIDATION_FAILED"})


def parse_document(query: str, limits: Limits) -> DocumentNode | GraphQLError:
    """Parse with the length and token limits; a syntax or limit error is returned, not raised."""
    if len(query) > limits.max_length:
        return _error(f"the query is {len(query)} characters long; the limit is {limits.max_length}")
    if not _is_unicode(query):
        return _error("the query contains a lone surrogate (\\ud800-\\udfff), which is not text")
    try:
        return parse(query, max_tokens=limits.parse_tokens)
    except GraphQLError as e:
        if f"more than {limits.parse_tokens} tokens" in e.message:  # the parser gave up
            return _error(f"the query has more than {limits.parse_tokens} tokens; the limit is {limits.max_tokens}")
        return e


def check_request(schema: GraphQLSchema, query: str, variables: Mapping[str, Any] | None,
                  limits: Limits) -> list[GraphQLError]:
    """Every limit for one request in one call (the transports check them step by step in
    api/engine/documents.py). A syntax error comes back as the only error, as the parser reports it."""
    doc = parse_document(query, limits)
    if isinstance(doc, GraphQLError):
        return [doc]
    return check_variables(variables or {}, limits) + check_document(schema, doc, limits)


def check_document(schema: GraphQLSchema, doc: DocumentNode, limits: Limits) -> list[GraphQLError]:
    """Every limit the document exceeds, one error each; empty when it is within all of them."""
    errors: list[GraphQLError] = []
    fragments = sum(isinstance(d, FragmentDefinitionNode) for d in doc.definitions)
    if fragments > limits.max_fragments:
        errors.append(_error(f"the document defines {fragments} fragments; the limit is {limits.max_fragments}"))
    spreads = fragment_spreads(doc)
    depth = spread_depth(doc, spreads)
    if depth > limits.max_fragment_depth:
        errors.append(_error(f"fragment spreads nest {depth} levels deep; the limit is {limits.max_fragment_depth}"))
    if errors:  # the fragments bound how far the walks below go through spreads
        return errors
    errors += _measure_operations(schema, doc, limits)
    tokens = token_count(doc)
    if tokens is not None and tokens > limits.max_tokens:
        errors.append(_error(f"the query has {tokens} tokens; the limit is {limits.max_tokens}"))
    s = shape(doc, budget=4 * limits.max_fields)  # a little past the limit, to tell how far over it is
    at_least = "at least " if s.truncated else ""
    if s.fields > limits.max_fields or s.truncated:
        errors.append(_error(f"the document selects {at_least}{s.fields} fields (fragments inlined); "
                             f"the limit is {limits.max_fields}"))
    if s.aliases > limits.max_aliases:
        errors.append(_error(f"the document uses {at_least}{s.aliases} aliases; the limit is {limits.max_aliases}"))
    if s.repeated > limits.max_repeated_fields:
        errors.append(_error(f"the document selects {at_least}{s.repeated} fields again under a response name "
                             f"already selected in the same place; the limit is {limits.max_repeated_fields}"))
    for name, count in s.root_fields.items():
        if count > limits.max_root_fields:
            errors.append(_error(f"operation {name} selects {at_least}{count} root fields; "
                                 f"the limit is {limits.max_root_fields}"))
    return errors


def _measure_operations(schema: GraphQLSchema, doc: DocumentNode, limits: Limits) -> list[GraphQLError]:
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    measure = Measure(schema, fragments, limits.max_depth, limits.weights)
    errors: list[GraphQLError] = []
    for op in doc.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        name = op.name.value if op.name else "anonymous"
        try:
            depth, cost = measure.selection(op.selection_set, schema.get_root_type(op.operation), 0)
        except RecursionError:  # inline fragments nested hundreds deep through a chain of spreads
            depth, cost = limits.max_depth + 1, 0
        if depth > limits.max_depth:
            errors.append(_error(f"operation {name} is more than {limits.max_depth} levels deep; "
                                 f"the limit is {limits.max_depth}", op))
        elif cost > limits.max_cost:
            errors.append(_error(f"operation {name} would cost about {cost} (fields, heavy resolvers weighted); "
                                 f"the limit is {limits.max_cost}", op))
    return errors


def check_variables(variables: Mapping[str, Any], limits: Limits) -> list[GraphQLError]:
    """Refuse variable values nested deeper than the limit, before coercion recurses into them."""
    errors = []
    for name, value in variables.items():
        depth = json_depth(value)
        if depth > limits.max_variable_depth:
            errors.append(_error(f"variable ${name} is nested {depth} levels deep; "
                                 f"the limit is {limits.max_variable_depth}"))
        elif not _all_unicode(value):
            # JSON's \ud800 escapes decode to strings that no database, signature or file can hold.
            errors.append(_error(f"variable ${name} contains a lone surrogate (\\ud800-\\udfff), which is not text"))
    return errors


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _all_unicode(value: Any) -> bool:
    """Every string in a decoded JSON value (keys included) is valid Unicode. Iterative."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if not _is_unicode(v):
                return False
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return True


def json_depth(value: Any) -> int:
    """Nesting of a decoded JSON value: 0 for a scalar, 1 for a flat list or object. Iterative."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, list):
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((c, depth) for c in v if isinstance(c, dict | list))
    return deepest


def limits_rule_for(limits: Limits) -> type[ASTValidationRule]:
    """The limits as a validation rule, the first of the one rule list every transport and path
    validates with (api/engine/documents.py): a document over a limit stops the validation before
    any other rule walks it, and the limits' errors are its only errors."""

    class QueryLimits(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            errors = check_document(self.context.schema, node, limits)  # type: ignore[attr-defined]
            if not errors:
                return
            for e in errors[:-1]:
                self.report_error(e)
            last = errors[-1]  # raised, as graphql-core stops on a ValidationAbortedError only
            raise ValidationAbortedError(last.message, last.nodes, extensions=last.extensions)

    return QueryLimits


def limits_rule(max_depth: int, max_cost: int) -> type[ASTValidationRule]:
    """The default limits with the given depth and cost (Strawberry's own execution of the schema)."""
    return limits_rule_for(Limits(max_depth=max_depth, max_cost=max_cost))
