"""Traceability graphs: backward to every donor and station, forward to every lot and packaging code."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import FieldNode
from strawberry.types import Info

from resolvers import trace as res
from resolvers import trace_sql
from resolvers.context import Context
from schema.enums import TraceKind
from schema.permissions import can


@strawberry.type
class TraceNode:
    id: str
    kind: TraceKind
    code: str
    label: str
    status: str | None


@strawberry.type
class TraceEdge:
    source: str
    target: str
    kind: str


@strawberry.type
class TraceCount:
    kind: TraceKind
    count: int


@strawberry.type
class TraceGraph:
    nodes: list[TraceNode]
    edges: list[TraceEdge]
    summary: list[TraceCount] = strawberry.field(description="Node counts per kind over the whole graph")
    truncated: bool = strawberry.field(description="True when nodes were cut at maxNodes (the summary is whole)")

    @classmethod
    def of(cls, g: res.Graph, max_nodes: int) -> TraceGraph:
        """Nodes by kind and code, edges by source, target and kind: a stable order for clients and tests."""
        nodes = sorted(g.nodes.values(), key=lambda n: (n.kind, n.code))
        kept = nodes[:max_nodes]
        ids = {n.id for n in kept}
        # Edges sort as tuples; nodes and edges are the resolver's NamedTuples, whose attributes are
        # exactly the TraceNode/TraceEdge fields: no per-item copy on a path that returns thousands.
        edges = sorted(e for e in g.edges if e.source in ids and e.target in ids)
        return cls(
            nodes=kept,  # type: ignore[arg-type]
            edges=edges,  # type: ignore[arg-type]
            summary=[TraceCount(kind=TraceKind(k), count=c) for k, c in sorted(g.counts().items())],
            truncated=len(nodes) > max_nodes,
        )


async def backward_graph(ctx: Context, code: str, max_nodes: int = 10_000) -> TraceGraph:
    limit = res.node_limit(max_nodes)
    return TraceGraph.of(await res.trace_backward(ctx, code), limit)


async def forward_graph(ctx: Context, code: str, max_nodes: int = 10_000) -> TraceGraph:
    limit = res.node_limit(max_nodes)
    return TraceGraph.of(await res.trace_forward(ctx, code), limit)


@strawberry.type
class TraceQuery:
    @strawberry.field(description="From a packaging code, lot, batch, pool or unit back to every unit, donor and "
                                  "station.", extensions=can("trace:graph", "read"))
    async def trace_backward(self, info: Info[Context, None], code: str, max_nodes: int = 10_000) -> TraceGraph:
        return await backward_graph(info.context, code, max_nodes)

    @strawberry.field(description="From any code the graph holds (donor, unit, pool, batch, lot, packaging code) "
                                  "forward to every batch, lot and packaging code it reached.",
                      extensions=can("trace:graph", "read"))
    async def trace_forward(self, info: Info[Context, None], code: str, max_nodes: int = 10_000) -> TraceGraph:
        return await forward_graph(info.context, code, max_nodes)


async def forward_json(ctx: Context, args: dict[str, Any], root: FieldNode) -> str | None:
    """The forward trace as JSON built by the database, for unrestricted callers (resolvers/trace_sql.py)."""
    return await trace_sql.document(ctx, "forward", args["code"], args.get("maxNodes", 10_000), root)


async def backward_json(ctx: Context, args: dict[str, Any], root: FieldNode) -> str | None:
    """The backward trace as JSON built by the database, for unrestricted callers."""
    return await trace_sql.document(ctx, "backward", args["code"], args.get("maxNodes", 10_000), root)


# Root fields the HTTP view may answer by projection (api/engine/fast_path.py): permission, resolver, and a
# resolver writing the JSON itself where one exists.
FAST_FIELDS: dict[str, tuple[str, str, Any, Any]] = {
    "traceBackward": ("trace:graph", "read",
                      lambda ctx, a: backward_graph(ctx, a["code"], a.get("maxNodes", 10_000)), backward_json),
    "traceForward": ("trace:graph", "read",
                     lambda ctx, a: forward_graph(ctx, a["code"], a.get("maxNodes", 10_000)), forward_json),
}
