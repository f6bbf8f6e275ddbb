"""How a GraphQL field is read from SQL: the words of the compiled reads' catalog
(resolvers/compiled_reads.py), which api/engine/compiled/ turns into one statement per query.

SQL fragments name table aliases by role in braces, `{e}.code`: a role a Rows' or Values' `source`
names is a new table there; any other role is the parent row's (or an ancestor's). Fragments are
fixed text of the catalog; values only ever reach the statement as bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ROLE = re.compile(r"\{(\w+)\}")


def roles(source: str) -> list[str]:
    """The roles a FROM fragment introduces, in order."""
    return list(dict.fromkeys(ROLE.findall(source)))


@dataclass(frozen=True)
class Json:
    """A column holding JSON, written as it is stored."""

    expr: str


@dataclass(frozen=True)
class Dialects:
    """A plain SQL expression written one way for PostgreSQL and another for SQLite (JSON functions)."""

    pg: str
    sqlite: str


@dataclass(frozen=True)
class Twin:
    """A value the twin holds in memory: the statement writes `expr` (the tag) in its place and the
    second pass replaces it with that reading's `attr`."""

    expr: str
    attr: str


@dataclass(frozen=True)
class Rows:
    """The rows of an object type, from the parent's row or from nothing (a root). SQL fragments name
    table aliases by role, `{e}`: roles in `source` are new here, the others are the ancestors'."""

    type: str
    source: str
    where: str = ""
    order: str = ""


@dataclass(frozen=True)
class Values:
    """A list of scalars: `expr` over the rows of `source` where `where`, in `order`."""

    source: str
    expr: str
    where: str = ""
    order: str = ""


@dataclass(frozen=True)
class One:
    """A nested object: of the parent's row itself (no `source`: its fields name the parent's roles) or
    the one row of `source` where `where` (null when there is none)."""

    type: str
    source: str = ""
    where: str = ""


@dataclass(frozen=True)
class Cursor:
    """A Relay cursor: schema/relay.py `encode_cursor` of the root's cursor kind and the integer `expr`."""

    expr: str


@dataclass(frozen=True)
class Python:
    """A field computed in Python: a query selecting it runs the normal way, whole."""


COMPUTED = Python()

How = str | Dialects | Json | Twin | Rows | Values | One | Cursor | Python  # plain SQL, or one of the above


@dataclass(frozen=True)
class Page:
    """A Relay connection root (schema/relay.py): `connection` is its GraphQL type, the node rows are
    paged newest first by their integer `key`, which the cursors of `kind` carry (`after`: rows below
    it). totalCount is every row the filters admit, or with `total_is_page` the edges of the page (as
    `batches` answers). The engine reads `first` and `after` as the resolvers do; `bind` the filters."""

    connection: str
    key: str
    kind: str
    total_is_page: bool = False


@dataclass(frozen=True)
class Root:
    """A root field the engine may compile: its rows; `bind` turns the arguments into bound parameters
    (None: the normal path answers); `scope` gives the scoped caller's row filter and its parameters;
    `missing` the error when no row is found (None: null). `conds`: (parameter, SQL condition) pairs,
    each added to the WHERE clause when `bind` gives that parameter a value (not None); `limit` caps
    a list; `page` makes the root a Relay connection."""

    rows: Rows
    bind: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda args: {}
    scope: Callable[[Any, bool], tuple[str, dict[str, Any]]] | None = None
    missing: Callable[[Any], Exception | None] = lambda scope: None
    conds: tuple[tuple[str, str], ...] = ()
    limit: int | None = None
    page: Page | None = None


# The page of a connection root, as api/engine/compiled/ writes it: `cfilt` holds the keys the
# filters admit, `cpage` the page's keys (k) and their places (n, from 1), one row more than `first`.
PAGE_INFO: dict[str, How] = {
    "hasNextPage": "((SELECT count(*) FROM cpage) > :first)",
    "hasPreviousPage": "CAST(:has_prev AS BOOLEAN)",
    "startCursor": Cursor("(SELECT k FROM cpage WHERE n = 1 AND n <= :first)"),
    "endCursor": Cursor("(SELECT k FROM cpage WHERE n <= :first ORDER BY n DESC LIMIT 1)"),
}


def connection(edge: str, rows: Rows, page: Page) -> tuple[dict[str, How], dict[str, How]]:
    """The fields of a connection type and of its edge type, for the node rows `rows`."""
    conn: dict[str, How] = {
        "edges": Rows(edge, f"{rows.source} JOIN cpage {{cp}} ON {{cp}}.k = {page.key}", "{cp}.n <= :first",
                      "{cp}.n"),
        "pageInfo": One("PageInfo"),
        "totalCount": "(SELECT count(*) FROM cpage WHERE n <= :first)" if page.total_is_page
        else "(SELECT count(*) FROM cfilt)",
    }
    return conn, {"cursor": Cursor("{cp}.k"), "node": One(rows.type)}


@dataclass(frozen=True, eq=False)  # hashed by identity: a cache key
class Catalog:
    """What can be compiled: GraphQL type name -> field name -> how, and the root fields."""

    types: Mapping[str, Mapping[str, How]]
    roots: Mapping[str, Root]
