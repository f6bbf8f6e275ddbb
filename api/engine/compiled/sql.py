"""The SQL (api/engine/compiled/): a plan's statement per dialect and scope shape, made once and kept."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Dialect, TextClause, text

from api.engine.compiled.tree import Key, Leaf, Live, Many, Nested, Node, Part, Plan
from resolvers.sql_catalog import Rows, roles

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
