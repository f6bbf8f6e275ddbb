"""How a GraphQL field is read from SQL: the words of the compiled reads' catalog
(resolvers/compiled_reads.py), which api/engine/compiled.py turns into one statement per query.

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


How = str | Json | Twin | Rows | Values  # a plain SQL expression, or one of the above


@dataclass(frozen=True)
class Root:
    """A root field the engine may compile: its rows; `bind` turns the arguments into bound parameters
    (None: the normal path answers); `scope` gives the scoped caller's row filter and its parameters;
    `missing` the error when no row is found (None: null)."""

    rows: Rows
    bind: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda args: {}
    scope: Callable[[Any, bool], tuple[str, dict[str, Any]]] | None = None
    missing: Callable[[Any], Exception | None] = lambda scope: None


@dataclass(frozen=True, eq=False)  # hashed by identity: a cache key
class Catalog:
    """What can be compiled: GraphQL type name -> field name -> how, and the root fields."""

    types: Mapping[str, Mapping[str, How]]
    roots: Mapping[str, Root]
