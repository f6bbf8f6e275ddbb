"""Planning (api/engine/compiled/): a validated selection into the plan's tree, once per document and
operation, or None when the normal path answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    get_nullable_type,
    is_abstract_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from api.engine.compiled.tree import Key, Leaf, Live, Many, Nested, Node, Part, Plan, Query, Scalars, Typename, _filler
from resolvers.sql_catalog import Catalog, Cursor, Dialects, How, Json, One, Python, Rows, Twin, Values

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
MAX_KEYS = 50  # json_build_object takes at most 100 arguments


MAX_SWITCHES = 4  # variables deciding @include/@skip: one plan per combination of their values


@dataclass
class Compiled:
    """The compiled form of an operation, planned once per document. Where @include/@skip depend on
    variables, one plan per combination of their values, made on first use (the plan's selection
    is the one graphql-core collects for those values, never baked in for others)."""

    schema: GraphQLSchema
    op: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    catalog: Catalog
    switches: tuple[str, ...]
    made: dict[tuple[Any, ...], Query | None] = field(default_factory=dict)

    def query(self, variables: VariableValues) -> Query | None:
        values = tuple(variables.coerced.get(n) for n in self.switches)
        if values not in self.made:
            self.made[values] = Planner(self.schema, self.fragments, self.catalog, variables).query(self.op)
        return self.made[values]


NO_VARIABLES = VariableValues({}, {})


def plan(schema: GraphQLSchema, doc: DocumentNode, op: OperationDefinitionNode, catalog: Catalog) -> Compiled | None:
    """The compiled form of a query, or None when it takes the normal path (never half)."""
    if op.operation != OperationType.QUERY or op.directives or schema.query_type is None:
        return None
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    switches = _switches(op, fragments)
    if switches is None:
        return None
    c = Compiled(schema, op, fragments, catalog, switches)
    if not switches and c.query(NO_VARIABLES) is None:
        return None
    return c


def _switches(op: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]) -> tuple[str, ...] | None:
    """The variables @include/@skip read, or None when a directive is another one, a fragment takes
    arguments (the plan would depend on more than a few booleans) or too many variables decide."""
    names: dict[str, None] = {}
    for frag in fragments.values():
        if frag.directives or getattr(frag, "variable_definitions", None):
            return None
    for sel_set in [op.selection_set, *(f.selection_set for f in fragments.values())]:
        for s in _selections(sel_set):
            for d in s.directives or ():
                if d.name.value not in (GraphQLIncludeDirective.name, GraphQLSkipDirective.name) \
                        or len(d.arguments or ()) != 1:
                    return None
                value = d.arguments[0].value  # type: ignore[index]
                if isinstance(value, VariableNode):
                    names[value.name.value] = None
                elif not isinstance(value, BooleanValueNode):
                    return None
    return tuple(names) if len(names) <= MAX_SWITCHES else None


def _selections(sel_set: SelectionSetNode) -> Iterator[SelectionNode]:
    for s in sel_set.selections:
        yield s
        if getattr(s, "selection_set", None) is not None:
            yield from _selections(s.selection_set)  # type: ignore[attr-defined]


def _permission(fdef: Any) -> tuple[str, str] | None:
    """The field's declared permission (schema/permissions.py `can`): the compiled path checks the same."""
    definition = (fdef.extensions or {}).get("strawberry-definition")
    for ext in getattr(definition, "extensions", None) or ():
        for p in getattr(ext, "permissions", None) or ():
            if isinstance(getattr(p, "obj", None), str) and isinstance(getattr(p, "act", None), str):
                return p.obj, p.act
    return None


def _named(gtype: Any) -> Any:
    while isinstance(gtype, (GraphQLNonNull, GraphQLList)):
        gtype = gtype.of_type
    return gtype


def _leaf_kind(gtype: Any) -> str | None:
    """How a leaf type's value is written by SQL, or None when SQL cannot write it as graphql-core would."""
    if isinstance(gtype, GraphQLEnumType):
        # Written as stored: only when every stored value is its name (the project's StrEnums).
        same = all(getattr(v.value, "value", v.value) == name for name, v in gtype.values.items())
        return "plain" if same else None
    if isinstance(gtype, GraphQLScalarType):
        return {"String": "plain", "Int": "plain", "Float": "float", "ID": "id", "Boolean": "bool",
                "DateTime": "datetime", "Date": "plain"}.get(gtype.name)
    return None


class Skip(Exception):
    """The selection holds something the compiled path does not write: the normal path answers."""


class Planner:
    """Plans an operation for given values of the variables its @include/@skip read."""

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], catalog: Catalog,
                 variables: VariableValues) -> None:
        self.schema = schema
        self.fragments = fragments
        self.catalog = catalog
        self.variables = variables

    def query(self, op: OperationDefinitionNode) -> Query | None:
        qtype = self.schema.query_type
        assert qtype is not None
        try:
            grouped = self.collect(qtype, [op.selection_set])
            roots = tuple(self.root(qtype, key, nodes) for key, nodes in grouped.items())
        except Skip:
            return None
        except GraphQLError:  # a directive's value graphql-core refuses: its error, the normal way
            return None
        return Query(roots) if roots else None

    def collect(self, gtype: GraphQLObjectType, sel_sets: list[SelectionSetNode]) -> dict[str, list[FieldNode]]:
        """The fields of `sel_sets` by response key, in graphql-core's order (execution/collect_fields.py:
        first occurrence; a fragment spread once per selection; @skip before @include; fragments
        whose type condition is the object's type or an abstract type it belongs to)."""
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()

        def visit(sel_set: SelectionSetNode) -> None:
            for s in sel_set.selections:
                if not self._included(s):
                    continue
                if isinstance(s, FieldNode):
                    grouped.setdefault(s.alias.value if s.alias else s.name.value, []).append(s)
                elif isinstance(s, InlineFragmentNode):
                    if s.type_condition is None or self._matches(s.type_condition.name.value, gtype):
                        visit(s.selection_set)
                elif isinstance(s, FragmentSpreadNode):
                    frag = self.fragments.get(s.name.value)
                    if frag is None:
                        raise Skip
                    if s.name.value in visited or not self._matches(frag.type_condition.name.value, gtype):
                        continue
                    visited.add(s.name.value)
                    visit(frag.selection_set)
                else:
                    raise Skip

        for sel_set in sel_sets:
            visit(sel_set)
        return grouped

    def _included(self, s: SelectionNode) -> bool:
        by = {d.name.value: d for d in s.directives or ()}
        if set(by) - {GraphQLSkipDirective.name, GraphQLIncludeDirective.name}:
            raise Skip
        skip = by.get(GraphQLSkipDirective.name)
        if skip is not None and get_argument_values(GraphQLSkipDirective, skip, self.variables).get("if") is True:
            return False
        include = by.get(GraphQLIncludeDirective.name)
        return include is None or get_argument_values(GraphQLIncludeDirective, include, self.variables).get("if") \
            is not False

    def _matches(self, condition: str, gtype: GraphQLObjectType) -> bool:
        ctype = self.schema.get_type(condition)
        if ctype is gtype:
            return True
        return is_abstract_type(ctype) and self.schema.is_sub_type(ctype, gtype)

    def root(self, qtype: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> Plan | Typename:
        name = nodes[0].name.value
        if name == "__typename":
            return Typename(key, json.dumps(qtype.name))
        spec = self.catalog.roots.get(name)
        fdef = qtype.fields.get(name)
        sel_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if spec is None or fdef is None or not sel_sets or not NAME.fullmatch(key):
            raise Skip
        permission = _permission(fdef)
        nullable = get_nullable_type(fdef.type)
        many = isinstance(nullable, GraphQLList)
        gtype = _named(nullable)
        expected = spec.page.connection if spec.page is not None else spec.rows.type
        if permission is None or not isinstance(gtype, GraphQLObjectType) or gtype.name != expected:
            raise Skip
        if many and (spec.page is not None or not isinstance(get_nullable_type(nullable.of_type), GraphQLObjectType)):
            raise Skip
        node = self.node(gtype, sel_sets)
        kind = spec.page.kind if spec.page is not None else ""
        fills = {pg: _filler(node, kind, pg) for pg in (False, True)}
        return Plan(tuple(nodes), key, spec, node, many, permission, fills)

    def node(self, gtype: GraphQLObjectType, sel_sets: list[SelectionSetNode]) -> Node:
        hows = self.catalog.types.get(gtype.name)
        if hows is None:
            raise Skip
        parts: list[Part] = []
        for key, nodes in self.collect(gtype, sel_sets).items():
            if any(n.arguments for n in nodes) or not NAME.fullmatch(key):
                raise Skip
            parts.append(self.part(gtype, key, nodes, hows))
        if len(parts) > MAX_KEYS:
            raise Skip
        return Node(gtype.name, tuple(parts))

    def part(self, gtype: GraphQLObjectType, key: str, nodes: list[FieldNode], hows: Mapping[str, How]) -> Part:
        name = nodes[0].name.value
        if name == "__typename":
            return Leaf(key, gtype.name, "typename")
        fdef = gtype.fields.get(name)
        how = hows.get(name)
        if fdef is None or how is None or isinstance(how, Python):
            raise Skip
        ftype = get_nullable_type(fdef.type)
        sel_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if isinstance(how, One):
            if not isinstance(ftype, GraphQLObjectType) or ftype.name != how.type or not sel_sets:
                raise Skip
            return Nested(key, how, self.node(ftype, sel_sets))
        if isinstance(how, Rows):
            item = _named(ftype)
            if not isinstance(ftype, GraphQLList) or not isinstance(item, GraphQLObjectType) or not sel_sets \
                    or item.name != how.type:
                raise Skip
            return Many(key, how, self.node(item, sel_sets))
        if sel_sets:
            raise Skip
        part = _leaf(key, how, ftype)
        if part is None:
            raise Skip
        return part


def _leaf(key: str, how: How, ftype: Any) -> Part | None:
    """A field without selection written by SQL, or None when SQL cannot write it as graphql-core would."""
    if isinstance(how, Values):
        kind = _leaf_kind(_named(ftype)) if isinstance(ftype, GraphQLList) else None
        return Scalars(key, how, kind) if kind is not None else None
    if isinstance(how, Twin):
        return Live(key, how.expr, how.attr, _named(ftype).serialize)
    if isinstance(how, Json):
        return Leaf(key, how.expr, "json")
    if isinstance(how, Cursor):
        return Key(key, how.expr) if _leaf_kind(ftype) == "plain" else None
    kind = _leaf_kind(ftype)
    return Leaf(key, how, kind) if kind is not None and isinstance(how, str | Dialects) else None
