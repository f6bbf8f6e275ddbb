"""Selections compiled to SQL (design.md, "Hot reads"; issue 12): a query that is one root field of a
catalog (resolvers/compiled_reads.py) is answered by ONE SQL statement that builds the response JSON,
with the caller's scope filters inside the SQL, instead of graphql-core resolving it field by field.

Design, after PostGraphile 5 and Hasura:
- Look-ahead, once: the validated selection is planned once per (document, operation) into a tree of
  SQL expressions (PostGraphile plans an operation once and reuses the plan; Hasura caches its plan per
  query and role). Each list below the root is a correlated subquery aggregated to a JSON array in
  order (json_agg / json_group_array), each object a json_build_object / json_object with exactly the
  selected keys and aliases, so the database writes the whole answer (Hasura's lateral subselects,
  PostGraphile's one statement per root).
- Permissions inside: the field's permission is checked first, as the normal path does (same error,
  same audit); row filters of scoped tokens are part of the WHERE clause, their values bound (Hasura
  compiles a role's permission filter into each table's subselect). The statement text is cached per
  dialect and scope shape and run on the driver itself (api/engine/driver.py), so PostgreSQL runs it
  prepared from each connection's statement cache.
- Selections as graphql-core collects them: named and inline fragments whose type condition is the
  object's type (or an interface or union it belongs to) are merged in, fields of the same response
  key are one field with their selections merged, keys in first-occurrence order; @include/@skip are
  evaluated, with one plan per value of the variables they read. Several root fields each compiled
  run one after another and are answered together, in document order.
- Never half: anything the catalog does not cover (a field computed in Python, another directive,
  arguments below the root, a root field outside the catalog) sends the whole query the normal way. Values the
  twin holds in memory (live sensor values) are not in the database: the statement writes the tag in
  their place and one pass over the parsed answer fills them in from the twin.

Answers equal the normal path's field for field (tests/test_compiled.py, SQLite and PostgreSQL); only
the whitespace PostgreSQL writes and a Float with no fraction (12 against 12.0) differ in the bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from graphql import (
    BooleanValueNode,
    DocumentNode,
    ExecutionResult,
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
    located_error,
)
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import Dialect, TextClause, text

from api.engine import driver
from api.engine.fast_path import Raw, dumps
from records.base import UTCDateTime
from resolvers.sql_catalog import Catalog, Cursor, Dialects, How, Json, One, Python, Root, Rows, Twin, Values, roles
from schema.relay import decode_cursor, encode_cursor, page_size

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
MAX_KEYS = 50  # json_build_object takes at most 100 arguments


# --- planning: once per document and operation, dialect-free ------------------------------------

@dataclass(frozen=True)
class Leaf:
    key: str
    expr: str | Dialects
    kind: str  # plain, float, id, bool, datetime, json, typename


@dataclass(frozen=True)
class Live:
    key: str
    expr: str
    attr: str
    serialize: Callable[[Any], Any]


@dataclass(frozen=True)
class Many:
    key: str
    rows: Rows
    node: Node


@dataclass(frozen=True)
class Scalars:
    key: str
    values: Values
    kind: str


@dataclass(frozen=True)
class Nested:
    key: str
    one: One
    node: Node


@dataclass(frozen=True)
class Key:
    """A Relay cursor: PostgreSQL writes it; on SQLite the statement writes the key and the second pass
    encodes it (SQLite has no base64)."""

    key: str
    expr: str


Part = Leaf | Live | Many | Scalars | Nested | Key


@dataclass(frozen=True)
class Node:
    type_name: str
    parts: tuple[Part, ...]


Fill = Callable[[Any, Any], None]


@dataclass
class Plan:
    """One root field's statement: its field nodes (several when merged), response key, catalog root,
    object tree, whether a list, and its permission."""

    nodes: tuple[FieldNode, ...]
    key: str
    spec: Root
    node: Node
    many: bool
    permission: tuple[str, str]
    fills: dict[bool, Fill | None]  # the second pass, by "on PostgreSQL"
    statements: dict[tuple[str, str, bool], Statement] = field(default_factory=dict)

    @property
    def root(self) -> FieldNode:
        return self.nodes[0]


@dataclass(frozen=True)
class Typename:
    """`__typename` on the query root: a constant."""

    key: str
    text: str


@dataclass(frozen=True)
class Query:
    """An operation's root fields in the order graphql-core answers them."""

    roots: tuple[Plan | Typename, ...]


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


def _filler(node: Node, kind: str, pg: bool) -> Fill | None:
    """The second pass that puts the twin's values in place of their tags and, on SQLite, cursors in
    place of their keys; None when there is nothing to put."""
    lives = [p for p in node.parts if isinstance(p, Live)]
    keys = [] if pg else [p.key for p in node.parts if isinstance(p, Key)]
    kids = [(p.key, f) for p in node.parts
            if isinstance(p, (Many, Nested)) and (f := _filler(p.node, kind, pg)) is not None]
    if not lives and not keys and not kids:
        return None

    def fill(obj: Any, twin: Any) -> None:
        if obj is None:
            return
        if isinstance(obj, list):
            for item in obj:
                fill(item, twin)
            return
        for p in lives:
            reading = twin.last(obj[p.key])
            value = getattr(reading, p.attr) if reading is not None else None
            obj[p.key] = None if value is None else p.serialize(value)
        for key in keys:
            if obj[key] is not None:
                obj[key] = encode_cursor(kind, obj[key])
        for key, f in kids:
            f(obj[key], twin)

    return fill


# --- SQL: per dialect and scope shape ----------------------------------------------------------

class Writer:
    """The statement for a plan in one dialect: PostgreSQL json_build_object/json_agg, SQLite
    json_object/json_group_array (whose order is its subquery's)."""

    def __init__(self, dialect: str, kind: str = "") -> None:
        self.pg = dialect == "postgresql"
        self.kind = kind  # the cursors' kind
        self.n = 0

    def _roles(self, source: str, env: dict[str, str]) -> dict[str, str]:
        inner = dict(env)
        for role in roles(source):
            self.n += 1
            inner[role] = f"{role}{self.n}"
        return inner

    def obj(self, node: Node, env: dict[str, str]) -> str:
        args = ", ".join(f"'{p.key}', {self._value(p, env)}" for p in node.parts)
        return f"json_build_object({args})" if self.pg else f"json_object({args})"

    def _value(self, p: Part, env: dict[str, str]) -> str:
        if isinstance(p, Leaf):
            expr = p.expr if isinstance(p.expr, str) else p.expr.pg if self.pg else p.expr.sqlite
            return self.leaf(expr if p.kind == "typename" else expr.format(**env), p.kind)
        if isinstance(p, Live):
            return p.expr.format(**env)
        if isinstance(p, Key):
            if not self.pg:
                return p.expr.format(**env)
            plain = f"'{self.kind}:' || ({p.expr.format(**env)})"  # base64url as schema/relay.py writes it
            return f"translate(encode(convert_to({plain}, 'UTF8'), 'base64'), '+/', '-_')"
        if isinstance(p, Many):
            inner = self._roles(p.rows.source, env)
            return self.array(self.obj(p.node, inner), p.rows, inner, json_items=True)
        if isinstance(p, Nested):
            if not p.one.source:
                return self.obj(p.node, env)
            inner = self._roles(p.one.source, env)
            one = f"(SELECT {self.obj(p.node, inner)} {self._from(Rows('', p.one.source, p.one.where), inner)})"
            return one if self.pg else f"json({one})"
        inner = self._roles(p.values.source, env)
        v = p.values
        return self.array(self.leaf(v.expr.format(**inner), p.kind), Rows("", v.source, v.where, v.order), inner,
                          json_items=p.kind in ("bool", "json", "float"))

    def leaf(self, expr: str, kind: str) -> str:
        if kind == "typename":
            return f"'{expr}'"
        if kind == "id":
            return f"CAST({expr} AS TEXT)"
        if kind == "json":
            return expr if self.pg else f"json({expr})"
        if kind == "bool":  # SQLite holds 0 and 1
            return expr if self.pg else \
                f"json(CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} THEN 'true' ELSE 'false' END)"
        if kind == "float" and not self.pg:
            # SQLite writes REALs to 15 digits, which can be another double: 17 digits when 15 do not
            # round-trip (PostgreSQL writes the shortest exact form, as Python does).
            return (f"CASE WHEN {expr} IS NULL THEN NULL WHEN CAST(printf('%!.15g', {expr}) AS REAL) = {expr} "
                    f"THEN json(printf('%!.15g', {expr})) ELSE json(printf('%!.17g', {expr})) END")
        if kind == "datetime":  # as datetime.isoformat() writes a UTC time: microseconds only when not zero
            if self.pg:
                utc = f"({expr} AT TIME ZONE 'UTC')"
                return (f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24\\:MI\\:SS') || CASE WHEN CAST(date_part('microseconds', "
                        f"{utc}) AS BIGINT) % 1000000 = 0 THEN '' ELSE to_char({utc}, '.US') END || '+00\\:00')")
            return (f"(CASE WHEN substr({expr}, 21) IN ('', '000000') THEN substr({expr}, 1, 10) || 'T' || "
                    f"substr({expr}, 12, 8) ELSE substr({expr}, 1, 10) || 'T' || substr({expr}, 12) END || '+00\\:00')")
        return expr

    def _from(self, rows: Rows, env: dict[str, str], extra: str = "") -> str:
        conds = " AND ".join(c for c in (rows.where.format(**env), extra.format(**env)) if c)
        return f"FROM {rows.source.format(**env)}" + (f" WHERE {conds}" if conds else "")

    def array(self, item: str, rows: Rows, env: dict[str, str], json_items: bool, extra: str = "",
              limit: int | None = None) -> str:
        """The JSON array of `item` over `rows` in their order ('[]' when none), the first `limit` only."""
        order = rows.order.format(**env)
        by = f" ORDER BY {order}" if order else ""
        rest = self._from(rows, env, extra)
        cap = f" LIMIT {int(limit)}" if limit is not None else ""
        if self.pg:
            if cap:  # json_agg aggregates before LIMIT: the rows first, numbered to keep their order
                return (f"COALESCE((SELECT json_agg(x.j ORDER BY x.n) FROM (SELECT {item} AS j, row_number() "  # noqa: S608
                        f"OVER ({by.strip()}) AS n {rest}{by}{cap}) x), '[]'::json)")
            return f"COALESCE((SELECT json_agg({item}{by}) {rest}), '[]'::json)"
        each = "json(x.j)" if json_items else "x.j"  # a subquery's column has lost its JSON subtype
        return f"json((SELECT json_group_array({each}) FROM (SELECT {item} AS j {rest}{by}{cap}) x))"  # noqa: S608

    def statement(self, p: Plan, where: str, after: bool) -> str:
        """The plan's statement with `where` (scope and argument filters) and, on a connection, rows
        below the `after` cursor's key when it is given."""
        spec = p.spec
        env = self._roles(spec.rows.source, {})
        if spec.page is not None:
            keys = f"SELECT {spec.page.key.format(**env)} AS k {self._from(spec.rows, env, where)}"
            below = " WHERE k < :after" if after else ""
            doc = self.obj(p.node, {})
            return (f"WITH cfilt AS NOT MATERIALIZED ({keys}), cpage AS (SELECT k, row_number() OVER "  # noqa: S608
                    f"(ORDER BY k DESC) AS n FROM cfilt{below} ORDER BY k DESC LIMIT :limit) "
                    + (f"SELECT CAST({doc} AS TEXT)" if self.pg else f"SELECT {doc}"))
        item = self.obj(p.node, env)
        if p.many:
            body = self.array(item, spec.rows, env, json_items=True, extra=where, limit=spec.limit)
            return f"SELECT CAST({body} AS TEXT)" if self.pg else f"SELECT {body}"
        doc = f"CAST({item} AS TEXT)" if self.pg else item
        return f"SELECT {doc} {self._from(spec.rows, env, where)}"


@dataclass(frozen=True)
class Statement:
    """A plan's statement in one dialect and scope shape: for SQLAlchemy, and in the driver's own
    parameter style with the order of its parameters."""

    clause: TextClause
    sql: str
    names: tuple[str, ...]


def statement_for(p: Plan, dialect: Dialect, where: str, after: bool = False) -> Statement:
    """The plan's statement, made once per dialect and shape of its filters and kept: the same text
    each time, so PostgreSQL reuses the statement each connection prepared."""
    key = (dialect.name, where, after)
    found = p.statements.get(key)
    if found is None:
        clause = text(Writer(dialect.name, p.spec.page.kind if p.spec.page else "").statement(p, where, after))
        driver = clause.compile(dialect=dialect)
        found = p.statements[key] = Statement(clause, driver.string, tuple(driver.positiontup or ()))
    return found


# --- execution ----------------------------------------------------------------------------------

def _page(spec: Root, args: dict[str, Any]) -> dict[str, Any] | None:
    """A connection's `first` and `after` as its resolver checks them (the same errors, in the same
    order); None for a key past a BIGINT, which the normal path answers."""
    if spec.page is None:
        return {}
    first = page_size(args.get("first"))
    after = decode_cursor(spec.page.kind, args.get("after"))
    if after is not None and not -(2**63) <= after < 2**63:
        return None
    return {"first": first, "limit": first + 1, "after": after, "has_prev": args.get("after") is not None}


def _shape(spec: Root, scope: Any, params: dict[str, Any], pg: bool) -> tuple[str, bool, dict[str, Any]] | None:
    """The WHERE clause (scope and the filters of arguments given), whether rows below an `after` key are
    asked, and the parameters; None when the normal path must answer."""
    conds: list[str] = []
    if spec.scope is not None:
        scope_sql, extra = spec.scope(scope, pg)
        conds.append(scope_sql)
        params.update(extra)
    elif not scope.unrestricted:
        return None  # a root without a scope filter answers unrestricted callers only
    for name, sql in spec.conds:  # an argument's filter when it has a value: one shape per combination
        if params.get(name) is not None:
            conds.append(sql)
        else:
            params.pop(name, None)
    after = spec.page is not None and params.get("after") is not None
    if not after:
        params.pop("after", None)
    return " AND ".join(c for c in conds if c), after, params


@dataclass(frozen=True)
class RawFields(Raw):
    """Several root fields' JSON texts, spliced unparsed in order (`key`/`text` the first)."""

    more: tuple[tuple[str, str], ...] = ()

    def data(self) -> str:
        return ",".join(dumps(k) + ":" + t for k, t in ((self.key, self.text), *self.more))

    def body(self) -> bytes:
        return b'{"data":{' + self.data().encode() + b"}}"

    def frame(self, operation_id: str) -> str:
        return '{"id":' + dumps(operation_id) + ',"type":"next","payload":{"data":{' + self.data() + "}}}"


def _times(params: dict[str, Any], dialect: Dialect) -> None:
    """Datetimes bound as the UTC column type binds them (records/base.py): SQLite compares the text
    SQLAlchemy stores, PostgreSQL a timestamptz."""
    for name, value in params.items():
        if isinstance(value, datetime):
            process: Any = UTC_BIND.get(dialect.name)
            if process is None:
                process = UTC_BIND[dialect.name] = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
            params[name] = process(value)


UTC_BIND: dict[str, Any] = {}


async def execute(schema: GraphQLSchema, c: Compiled, context: Any,
                  variables: VariableValues) -> ExecutionResult | Raw | None:
    """The answer of a compiled query, errors exactly where the normal path puts them, or None when the
    normal path must answer. Root fields run one after another in document order; when more than one
    fails, the normal path answers (the order of several errors is graphql-core's)."""
    q = c.query(variables)
    if q is None:
        return None
    if len(q.roots) == 1 and isinstance(q.roots[0], Plan):
        return await _root(schema, q.roots[0], context, variables)
    answers: list[Raw | ExecutionResult] = []
    for r in q.roots:
        answer = Raw(r.key, r.text) if isinstance(r, Typename) else await _root(schema, r, context, variables)
        if answer is None:
            return None
        answers.append(answer)
    failed = [a for a in answers if isinstance(a, ExecutionResult)]
    if not failed:
        texts = [(a.key, a.text) for a in answers if isinstance(a, Raw)]
        return RawFields(*texts[0], more=tuple(texts[1:]))
    if len(failed) > 1:
        return None
    if failed[0].data is None:  # a non-null root field failed: no data at all
        return failed[0]
    data = {r.key: orjson.loads(a.text) if isinstance(a, Raw) else None for r, a in zip(q.roots, answers, strict=True)}
    return ExecutionResult(data, failed[0].errors)


async def _root(schema: GraphQLSchema, p: Plan, context: Any,
                variables: VariableValues) -> ExecutionResult | Raw | None:
    """One root field's answer as JSON text, its error as graphql-core gives it, or None when the
    normal path must answer (arguments the statement does not take)."""
    assert schema.query_type is not None
    fdef = schema.query_type.fields[p.root.name.value]
    try:
        args = get_argument_values(fdef, p.root, variables)
        await context.require(*p.permission)
        bound = _page(p.spec, args)
        if bound is not None:
            filters = p.spec.bind(args)
            bound = None if filters is None else {**bound, **filters}
        if bound is None:
            return None
        scope = context.scope()
        engine = context.db.engine
        pg = engine.dialect.name == "postgresql"
        shape = _shape(p.spec, scope, dict(bound), pg)
        if shape is None:
            return None
        where, after, params = shape
        _times(params, engine.dialect)
        stmt = statement_for(p, engine.dialect, where, after)
        run = driver.reader(context.db)
        if run is not None:
            doc = await run.value(stmt.sql, [params[n] for n in stmt.names])
        else:
            async with engine.connect() as conn:
                row = (await conn.execute(stmt.clause, params)).first()
            doc = row[0] if row is not None else None
        if doc is None:
            missing = p.spec.missing(scope)
            if missing is not None:
                raise missing
            return Raw(p.key, "null")
        if not isinstance(doc, str):
            doc = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        fill = p.fills[pg]
        if fill is not None:
            data = orjson.loads(doc)
            fill(data, context.services.twin)
            doc = orjson.dumps(data).decode()
        return Raw(p.key, doc)
    except Exception as exc:  # as graphql-core catches a resolver's exception
        err = located_error(exc, list(p.nodes), [p.key])
        return ExecutionResult(None if isinstance(fdef.type, GraphQLNonNull) else {p.key: None}, [err])
