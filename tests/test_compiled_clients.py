"""Which queries the browser app really sends are compiled to one SQL statement (issue 12): every
document of frontend/src (template literals led by a GraphQL magic comment, fragments spliced in
as the app does), planned against the schema; the compiled ones answer exactly what the normal path
answers on SQLite and PostgreSQL. A query that stops being compiled fails here by name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from graphql import DocumentNode, FieldNode, OperationDefinitionNode, OperationType, parse, print_ast, validate
from sqlalchemy import select

import tests.test_compiled_more as more_tests
from api.engine import compiled
from records.plant import Equipment, Room
from resolvers.compiled_reads import CATALOG
from schema.root import build_schema
from tests.conftest import GQL

World = more_tests.World
world = more_tests.world  # the fixtures: the app on SQLite and PostgreSQL, compiled answers counted
more = more_tests.more

SRC = Path(__file__).resolve().parent.parent / "frontend" / "src"
TEMPLATE = re.compile(r"(\w+)\s*[:=]\s*/\* GraphQL \*/\s*`([^`]*)`")
SPLICE = re.compile(r"\$\{(\w+)\}")

# The read queries of the app answered by one SQL statement, by operation name.
COMPILED = {
    "AuditPage",  # audit-trail screen: a page of the filtered trail
    "AlarmHistory",  # control room: the alarm list (fragment AlarmFields)
    "Cameras",  # control room: cameras on the floor plan with their key posts
    "ColdRoom",  # tablet: a cold room's standing alarms and its last checks (two root fields, fragments)
    "Equipment",  # control room: the details panel
    "ItemAudit",  # batch review: an item's audit trail
    "OpenBatches",  # tablet: line clearance
    "PhaseBatches",  # tablet: batch phases
    "Plants",  # control room: the plant graph with live values
    "ReviewBatches",
    "ReviewProducts",  # quality review: the products that have batches, for the product field
    "Running",  # control room: the phases running now (every 30 s)  # batch review: the list
    "StandingAlarms",  # control room: standing alarms (fragment AlarmFields)
    "Standing",  # tablet: tasks' standing alarms (fragment AlarmFields)
}


def documents() -> dict[str, DocumentNode]:
    """Every operation the app sends, by name, with the fragments it splices in."""
    texts = {p: dict(TEMPLATE.findall(p.read_text())) for p in sorted(SRC.rglob("*.ts")) if p.name != "generated.ts"}
    out: dict[str, DocumentNode] = {}
    for own in texts.values():
        for text in own.values():
            def splice(m: re.Match[str], own: dict[str, str] = own) -> str:
                name = m.group(1)
                if name in own:
                    return own[name]
                (found,) = [t[name] for t in texts.values() if name in t]  # an imported fragment
                return found

            doc = parse(SPLICE.sub(splice, text))
            ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
            if ops:
                assert ops[0].name is not None and ops[0].name.value not in out
                out[ops[0].name.value] = doc
    return out


def why_not(doc: DocumentNode) -> str:
    """Why a query is not compiled, for the report."""
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    if op.operation != OperationType.QUERY:
        return op.operation.value
    names = [s.name.value for s in op.selection_set.selections if isinstance(s, FieldNode)]
    outside = [n for n in names if n not in CATALOG.roots]
    return f"root fields outside the catalog: {', '.join(outside)}" if outside else "a field the catalog lacks"


def test_which_client_queries_are_compiled() -> None:
    schema = build_schema()._schema
    docs = documents()
    assert len(docs) > 40 and {"Plants", "Equipment", "PhaseScreen", "ColdRoom"} <= set(docs)
    planned, report = set(), []
    for name, doc in sorted(docs.items()):
        assert not validate(schema, doc), name  # the app's documents are the schema's
        op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
        if compiled.plan(schema, doc, op, CATALOG) is not None:
            planned.add(name)
        elif op.operation == OperationType.QUERY:
            report.append(f"{name}: {why_not(doc)}")
    print("\nnot compiled:\n  " + "\n  ".join(report))
    assert planned == COMPILED


async def test_client_queries_answer_as_the_normal_path(more: World) -> None:
    """Each compiled client query, sent as the app sends it, equals the normal path's answer."""
    me = await GQL(more.client).sign_in("qa.one")
    async with more.db.read() as s:
        equipment = (await s.execute(select(Equipment.code).order_by(Equipment.id))).scalars().first()
        rooms = list((await s.execute(select(Room.code).order_by(Room.id))).scalars())
    variables: dict[str, dict[str, Any]] = {
        "Equipment": {"code": equipment}, "ItemAudit": {"entity": "alarm", "entityId": "1"},
        "ColdRoom": {"room": rooms[0]}}
    docs = documents()
    for name in sorted(COMPILED):
        answer = await more_tests.same(more, me, print_ast(docs[name]), variables.get(name))
        assert "errors" not in answer, (name, answer)
