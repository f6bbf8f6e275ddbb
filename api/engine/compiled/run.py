"""Execution (api/engine/compiled/): a compiled query's root fields run as their statements, answered
as JSON text or with errors where the normal path puts them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLNonNull, GraphQLSchema, located_error
from graphql.execution.values import VariableValues, get_argument_values
from sqlalchemy import Dialect

from api.engine.compiled.plan import Compiled
from api.engine.compiled.sql import statement_for
from api.engine.compiled.tree import Plan, Typename
from api.engine.fast_path import Raw, dumps
from records import reader as driver
from records.base import UTCDateTime
from resolvers.sql_catalog import Root
from schema.relay import decode_cursor, page_size

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
