"""Trace graphs answered by the database as JSON (design.md, "Hot reads").

A donor's forward trace reaches ten thousand packaging codes; building that graph row by row in
Python costs ten times the query. Here one statement walks the hops (unit -> pool -> batch ->
intermediate -> lot -> packaging code forwards, the reverse backwards), orders and truncates the
nodes, keeps the edges between kept nodes, counts per kind, and writes the TraceGraph JSON for
exactly the fields (and aliases) the query selected. The HTTP fast path splices that text into the
response unparsed.

It answers unrestricted callers only (`document`: None for anyone
else); a scoped token's trace takes the object path in resolvers/trace.py, which applies the scope
at every hop. Same nodes, edges, order and summary as
that path (tests/test_trace_sql.py compares them).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphql import FieldNode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from records.reader import positional, reader
from resolvers import trace

if TYPE_CHECKING:
    from resolvers.context import Context

# SQL text is assembled from fixed fragments and the query's output keys, which are GraphQL names
# (checked against NAME below), never from values: the start key and limit are bound parameters.
NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
NODE_FIELDS = frozenset({"id", "kind", "code", "label", "status"})
EDGE_FIELDS = frozenset({"source", "target", "kind"})
COUNT_FIELDS = frozenset({"kind", "count"})


@dataclass(frozen=True)
class Selection:
    """The TraceGraph selection as (output key, field) pairs in query order; sub-lists for lists."""

    top: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]


def selection(root: FieldNode) -> Selection | None:
    """None when the selection has anything this path does not write (typename, fragments, directives)."""
    if root.selection_set is None:
        return None
    allowed = {"nodes": NODE_FIELDS, "edges": EDGE_FIELDS, "summary": COUNT_FIELDS, "truncated": frozenset()}
    top = []
    for s in root.selection_set.selections:
        if not isinstance(s, FieldNode) or s.directives or s.arguments or s.name.value not in allowed:
            return None
        name = s.name.value
        subs: list[tuple[str, str]] = []
        if allowed[name]:
            if s.selection_set is None:
                return None
            for c in s.selection_set.selections:
                if not isinstance(c, FieldNode) or c.directives or c.selection_set or c.name.value not in allowed[name]:
                    return None
                subs.append((c.alias.value if c.alias else c.name.value, c.name.value))
                if not NAME.fullmatch(subs[-1][0]):
                    return None
        elif s.selection_set is not None:
            return None
        out_key = s.alias.value if s.alias else name
        if not NAME.fullmatch(out_key):
            return None
        top.append((out_key, name, tuple(subs)))
    return Selection(tuple(top))


UNITS = "SELECT id, donation_number, status, pool_id, donor_id, station_id FROM plasma_unit WHERE {}"
NONE = "0 = 1"

# Forward: from a donor, unit or pool down to every packaging code.
FORWARD = """
u AS MATERIALIZED ({units}),
p AS MATERIALIZED (SELECT id, code, product, status FROM pool WHERE {pools}),
bp AS MATERIALIZED (SELECT pool_id, batch_id FROM batch_pool WHERE pool_id IN (SELECT id FROM p)),
b AS MATERIALIZED (SELECT id, batch_number, product, status FROM batch WHERE id IN (SELECT batch_id FROM bp)),
i AS MATERIALIZED (SELECT id, code, kind, batch_id FROM intermediate WHERE batch_id IN (SELECT id FROM b)),
l AS MATERIALIZED (SELECT id, lot_number, product, status, intermediate_id FROM final_lot
                   WHERE intermediate_id IN (SELECT id FROM i)),
k AS MATERIALIZED (SELECT id, code, level, parent_id, final_lot_id FROM packaging_unit
                   WHERE final_lot_id IN (SELECT id FROM l)),"""
FORWARD_START = {
    "DONOR": {"units": UNITS.format("donor_id = :key"), "pools": "id IN (SELECT pool_id FROM u)"},
    "PLASMA_UNIT": {"units": UNITS.format("id = :key"), "pools": "id IN (SELECT pool_id FROM u)"},
    "POOL": {"units": UNITS.format(NONE), "pools": "id = :key"},
}
FORWARD_PACKAGING = """
  UNION ALL SELECT 'FINAL_LOT:' || final_lot_id, 'PACKAGING_UNIT:' || id, 'PACKED' FROM k WHERE parent_id IS NULL
  UNION ALL SELECT 'PACKAGING_UNIT:' || id, 'PACKAGING_UNIT:' || parent_id, 'AGGREGATED' FROM k
            WHERE parent_id IS NOT NULL"""

# Backward: from a packaging code, lot, batch, pool or unit up to every unit, donor and station.
BACKWARD = """
k AS MATERIALIZED (SELECT id, code, level, parent_id, final_lot_id FROM packaging_unit WHERE {k}),
l AS MATERIALIZED (SELECT id, lot_number, product, status, intermediate_id FROM final_lot WHERE {l}),
i AS MATERIALIZED (SELECT id, code, kind, batch_id FROM intermediate WHERE id IN (SELECT intermediate_id FROM l)),
b AS MATERIALIZED (SELECT id, batch_number, product, status FROM batch WHERE {b}),
bp AS MATERIALIZED (SELECT pool_id, batch_id FROM batch_pool WHERE batch_id IN (SELECT id FROM b)),
p AS MATERIALIZED (SELECT id, code, product, status FROM pool WHERE id IN (SELECT pool_id FROM bp)),
u AS MATERIALIZED ({units}),"""
_FROM_LOTS = {"b": "id IN (SELECT batch_id FROM i)", "units": UNITS.format("pool_id IN (SELECT pool_id FROM bp)")}
BACKWARD_START = {
    "PACKAGING_UNIT": {"k": "id = :key", "l": "id IN (SELECT final_lot_id FROM k)", **_FROM_LOTS},
    "FINAL_LOT": {"k": NONE, "l": "id = :key", **_FROM_LOTS},
    "BATCH": {"k": NONE, "l": NONE, "b": "id = :key", "units": _FROM_LOTS["units"]},
    "POOL": {"k": NONE, "l": NONE, "b": NONE, "units": UNITS.format("pool_id = :key")},
    "PLASMA_UNIT": {"k": NONE, "l": NONE, "b": NONE, "units": UNITS.format("id = :key")},
}
BACKWARD_PACKAGING = """
  UNION ALL SELECT 'FINAL_LOT:' || final_lot_id, 'PACKAGING_UNIT:' || id, 'PACKED' FROM k"""

# Nodes and edges of whatever the hops found, the same for both directions.
GRAPH = """
n AS MATERIALIZED (
  SELECT 'PLASMA_UNIT:' || id AS id, 'PLASMA_UNIT' AS kind, donation_number AS code, 'plasma unit' AS label,
         status FROM u
  UNION ALL SELECT 'DONOR:' || d.id, 'DONOR', d.card_number, 'donor', d.status FROM donor d
            WHERE d.id IN (SELECT donor_id FROM u)
  UNION ALL SELECT 'STATION:' || s.id, 'STATION', s.code, s.name, CAST(NULL AS TEXT) FROM plasma_station s
            WHERE s.id IN (SELECT station_id FROM u)
  UNION ALL SELECT 'POOL:' || id, 'POOL', code, product, status FROM p
  UNION ALL SELECT 'BATCH:' || id, 'BATCH', batch_number, product, status FROM b
  UNION ALL SELECT 'INTERMEDIATE:' || id, 'INTERMEDIATE', code, kind, CAST(NULL AS TEXT) FROM i
  UNION ALL SELECT 'FINAL_LOT:' || id, 'FINAL_LOT', lot_number, product, status FROM l
  UNION ALL SELECT 'PACKAGING_UNIT:' || id, 'PACKAGING_UNIT', code, level, CAST(NULL AS TEXT) FROM k),
e AS MATERIALIZED (
  SELECT 'DONOR:' || donor_id AS source, 'PLASMA_UNIT:' || id AS target, 'DONATED' AS kind FROM u
  UNION ALL SELECT 'STATION:' || station_id, 'PLASMA_UNIT:' || id, 'COLLECTED' FROM u
  UNION ALL SELECT 'PLASMA_UNIT:' || id, 'POOL:' || pool_id, 'POOLED' FROM u WHERE pool_id IN (SELECT id FROM p)
  UNION ALL SELECT 'POOL:' || pool_id, 'BATCH:' || batch_id, 'CHARGED' FROM bp
  UNION ALL SELECT 'BATCH:' || batch_id, 'INTERMEDIATE:' || id, 'MADE' FROM i
  UNION ALL SELECT 'INTERMEDIATE:' || intermediate_id, 'FINAL_LOT:' || id, 'FILLED' FROM l{packaging}),
kept AS MATERIALIZED (SELECT id, kind, code, label, status FROM n ORDER BY kind{c}, code{c} LIMIT :max_nodes)
"""


class Dialect:
    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"
        self.c = ' COLLATE "C"' if self.pg else ""  # Python's order: code points, not the locale's

    def obj(self, pairs: list[tuple[str, str]]) -> str:
        args = ", ".join(f"'{key}', {expr}" for key, expr in pairs)
        return f"json_build_object({args})" if self.pg else f"json_object({args})"

    def array(self, fields: list[tuple[str, str]], source: str, order: tuple[str, ...]) -> str:
        """A JSON array of objects {key: column} over the rows of `source`, in `order`."""
        if self.pg:
            # json_agg of a row is about a third cheaper than json_build_object per row; the row is
            # built laterally so the order columns need not be among the selected keys.
            by = ", ".join(f"y.{col}{self.c}" for col in order)
            cols = ", ".join(f'y.{col} AS "{key}"' for key, col in fields)
            return (f"COALESCE((SELECT json_agg(x ORDER BY {by}) FROM ({source}) y "  # noqa: S608
                    f"CROSS JOIN LATERAL (SELECT {cols}) x), '[]'::json)")
        item = self.obj([(key, f"x.{col}") for key, col in fields])
        by = ", ".join(order)
        return f"json((SELECT json_group_array({item}) FROM (SELECT * FROM ({source}) ORDER BY {by}) x))"  # noqa: S608

    def boolean(self, cond: str) -> str:
        return f"({cond})" if self.pg else f"json(CASE WHEN {cond} THEN 'true' ELSE 'false' END)"


def statement(dialect_name: str, start_kind: str, sel: Selection, direction: str = "forward") -> str:
    d = Dialect(dialect_name)
    parts = []
    for key, name, subs in sel.top:
        if name == "nodes":
            # Untruncated (the usual case) the nodes are all of n, sorted once by the aggregate; the kept
            # CTE (a second sort, with the limit) is only read when the graph is cut.
            src = "SELECT * FROM n WHERE (SELECT count(*) FROM n) <= :max_nodes " \
                  "UNION ALL SELECT * FROM kept WHERE (SELECT count(*) FROM n) > :max_nodes"
            parts.append((key, d.array(list(subs), src, ("kind", "code"))))
        elif name == "edges":
            # Every edge is unique by construction (batch_pool's key included); when nothing was cut, every
            # edge is kept and the membership test is skipped.
            src = "SELECT source, target, kind FROM e WHERE (SELECT count(*) FROM n) <= :max_nodes " \
                  "OR (source IN (SELECT id FROM kept) AND target IN (SELECT id FROM kept))"
            parts.append((key, d.array(list(subs), src, ("source", "target", "kind"))))
        elif name == "summary":
            cols = [(k, "cnt" if f == "count" else "kind") for k, f in subs]
            parts.append((key, d.array(cols, "SELECT kind, count(*) AS cnt FROM n GROUP BY kind", ("kind",))))
        else:
            parts.append((key, d.boolean("(SELECT count(*) FROM n) > :max_nodes")))
    if direction == "forward":
        hops, packaging = FORWARD.format(**FORWARD_START[start_kind]), FORWARD_PACKAGING
    else:
        hops, packaging = BACKWARD.format(**BACKWARD_START[start_kind]), BACKWARD_PACKAGING
    graph = hops + GRAPH.format(packaging=packaging, c=d.c)
    # As text: the driver would otherwise parse a megabyte of JSON only for us to write it out again.
    doc = f"({d.obj(parts)})::text" if d.pg else d.obj(parts)
    return f"WITH {graph} SELECT {doc} AS doc"


async def document(ctx: Context, direction: str, code: str, max_nodes: int, root: FieldNode) -> str | None:
    """The trace's JSON for the selection under `root`; None when the object path must answer."""
    sel = selection(root)
    scope = ctx.scope()
    if sel is None or not scope.unrestricted:
        return None
    limit = trace.node_limit(max_nodes)
    run = reader(ctx.db)
    if run is None:  # an in-memory SQLite store: SQLAlchemy's session runs both statements
        async with ctx.db.read() as s:
            if direction == "backward":
                kind, key = await trace.backward_start(s, code.strip(), scope)
                return await graph_json(s, "backward", kind, key, sel, limit)
            start = await trace.forward_start(s, code.strip(), scope)
            if start is None:
                return None
            return await forward_json(s, start[0], start[1], sel, limit)
    # Two statements on the driver, in autocommit: what the code names, then its graph (records are never
    # renumbered, so the second reads what the first found).
    pg = ctx.db.engine.dialect.name == "postgresql"
    found = trace.resolved(await run.row(_resolve_sql(pg), [code.strip()]))
    if direction == "backward":
        kind, key = trace.backward_checked(found, code.strip(), scope)
    else:
        start = trace.forward_checked(found, code.strip(), scope)
        if start is None:
            return None
        kind, key = start
    doc = await run.value(_driver_statement(pg, kind, sel, direction), [key, limit])
    return doc if isinstance(doc, str) else _dumps(doc)


@functools.cache
def _resolve_sql(pg: bool) -> str:
    return positional(trace.RESOLVE_SQL, ("code",), pg)


@functools.lru_cache(maxsize=256)
def _driver_statement(pg: bool, start_kind: str, sel: Selection, direction: str) -> str:
    return positional(statement("postgresql" if pg else "sqlite", start_kind, sel, direction), ("key", "max_nodes"), pg)


async def forward_json(s: AsyncSession, start_kind: str, key: int, sel: Selection, max_nodes: int) -> str:
    return await graph_json(s, "forward", start_kind, key, sel, max_nodes)


async def graph_json(s: AsyncSession, direction: str, start_kind: str, key: int, sel: Selection,
                     max_nodes: int) -> str:
    dialect = (await s.connection()).dialect.name
    stmt = statement(dialect, start_kind, sel, direction)
    doc = (await s.execute(text(stmt), {"key": key, "max_nodes": max_nodes})).scalar_one()
    return doc if isinstance(doc, str) else _dumps(doc)


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
