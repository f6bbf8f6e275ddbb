"""GraphQL answers are written by orjson (issue 12), and read the same as when json.dumps wrote them
(Starlette's JSONResponse): byte for byte on real answers, the same for enums, big integers and
non-string keys, and the same refusal for what JSON cannot carry (datetimes, decimals, dataclasses,
lone surrogates) — those never reach an answer unserialised, but if one did it would fail as before."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from starlette.responses import JSONResponse as StarletteJSON

from api.graphql_http import encode
from tests.conftest import GQL


class Colour(enum.StrEnum):
    RED = "RED"


class Level(enum.IntEnum):
    HIGH = 3


@dataclass
class Point:
    x: int


SAME = [
    {"data": {"__typename": "Query"}},
    {"s": "plain ascii", "u": "é 中文 😀 \u2028\u2029", "c": "tab\tnl\nquote\"back\\slash/\x00\x1f\x7f"},
    {"ints": [0, -1, 2**31, 2**63 - 1, -(2**63), 2**70], "floats": [0.1, 1.5, -0.0, 1e16, 123456.789, 21.25]},
    {"nested": [{"a": None, "b": True, "c": False, "d": []}, {}], "tuple": (1, "x")},
    {"code": Colour.RED, "level": Level.HIGH, 3: "int key", "extensions": {"code": "FORBIDDEN"}},
]


@pytest.mark.parametrize("content", SAME)
def test_the_bytes_are_those_json_dumps_wrote(content: Any) -> None:
    assert encode(content) == StarletteJSON(content).body


@pytest.mark.parametrize("value", [1e-7, 2.5e-5, 5e-324, 1.2345678901234567e+19])
def test_small_and_large_floats_are_the_same_number(value: float) -> None:
    assert json.loads(encode({"v": value})) == json.loads(StarletteJSON({"v": value}).body) == {"v": value}


@pytest.mark.parametrize("value", [datetime(2026, 1, 1, tzinfo=UTC), date(2026, 1, 1), Decimal("1.5"), Point(1),
                                   "lone \ud800 surrogate"])
def test_what_json_refuses_is_refused_the_same_way(value: Any) -> None:
    with pytest.raises(Exception) as before:
        StarletteJSON({"v": value})
    with pytest.raises(Exception) as now:
        encode({"v": value})
    assert type(now.value) is type(before.value)


QUERIES = [
    "{ viewer { username displayName roles passwordChangeRequired } }",
    '{ equipment(code: "EQ-1") { code name kind status x y roomCode cleanedAt } }',
    "{ plants { code name rooms { code name grade polygon equipment { code status } } } }",
    "{ auditTrail(first: 20) { totalCount edges { node { id occurredAt action entity entityId actor changes reason "
    "hash } } } }",
    "{ auditTrail(first: -1) { totalCount } }",
    "{ noSuchField }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_real_answers_are_byte_for_byte_what_json_dumps_wrote(env: Any, query: str) -> None:
    gql: GQL = env[0]
    me = await gql.sign_in("audit.one" if "audit" in query else "op.one")
    r = await me.post(query)
    assert r.content == StarletteJSON(json.loads(r.content)).body
    assert r.headers["content-type"].startswith("application/graphql-response+json")
