"""Genealogy traversal: backward from any code to every donor, forward from a donor to every code.

Each hop is one SQL statement over indexed keys of the previous hop (`WHERE id IN (...)` on the
ids found), the plan both PostgreSQL and SQLite handle well (notes/stack.md). The caller's scope
is applied at every hop, so out-of-scope nodes are never loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.genealogy import Distributor, FinalLot, Intermediate, PackagingUnit, Shipment
from records.plasma import Batch, Donor, PlasmaStation, PlasmaUnit, Pool, batch_pool

if TYPE_CHECKING:
    from resolvers.context import Context  # which imports TraceScope from here

CHUNK = 5000  # ids per IN list: far below every backend's parameter limit
MAX_NODES = 50_000  # the most nodes a trace answer may list (maxNodes)


class TraceKind(StrEnum):
    """The kinds of a trace's nodes, from the donor to the packaging code."""

    DONOR = "DONOR"
    STATION = "STATION"
    PLASMA_UNIT = "PLASMA_UNIT"
    POOL = "POOL"
    BATCH = "BATCH"
    INTERMEDIATE = "INTERMEDIATE"
    FINAL_LOT = "FINAL_LOT"
    PACKAGING_UNIT = "PACKAGING_UNIT"


class Node(NamedTuple):
    # NamedTuples: a trace builds tens of thousands of these, and they are cheaper than dataclasses.
    id: str
    kind: str
    code: str
    label: str
    status: str | None = None


class Edge(NamedTuple):
    source: str
    target: str
    kind: str


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)

    def node(self, n: Node) -> None:
        self.nodes.setdefault(n.id, n)

    def edge(self, source: str, target: str, kind: str) -> None:
        self.edges.add(Edge(source, target, kind))

    def reachable_from(self, start: str) -> Graph:
        """The part of the graph reachable from `start` along the edges' direction (what it became)."""
        out: dict[str, list[Edge]] = {}
        for e in self.edges:
            out.setdefault(e.source, []).append(e)
        seen, todo, kept = {start}, [start], set()
        while todo:
            for e in out.get(todo.pop(), ()):
                kept.add(e)
                if e.target not in seen:
                    seen.add(e.target)
                    todo.append(e.target)
        return Graph({k: n for k, n in self.nodes.items() if k in seen}, kept)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes.values():
            out[n.kind] = out.get(n.kind, 0) + 1
        return out


@dataclass(frozen=True)
class TraceScope:
    """What a scoped token may see; None fields mean unrestricted (a session token)."""

    products: frozenset[str] | None = None
    stations: frozenset[str] | None = None
    batch_numbers: frozenset[str] | None = None
    distributors: frozenset[str] | None = None

    @property
    def unrestricted(self) -> bool:
        return all(v is None for v in (self.products, self.stations, self.batch_numbers, self.distributors))

    @classmethod
    def of(cls, scope: dict[str, Any] | None) -> TraceScope:
        if scope is None:
            return cls()

        def f(key: str) -> frozenset[str]:
            return frozenset(scope.get(key) or ())

        return cls(products=f("products"), stations=f("stations"), batch_numbers=f("batchNumbers"),
                   distributors=f("distributors"))


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(set(ids))
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


async def _rows(s: AsyncSession, stmt_for: Any, ids: Iterable[int]) -> list[Any]:
    # Core execution on the session's connection: these are plain column rows, no ORM entities.
    conn = await s.connection()
    out: list[Any] = []
    for part in _chunks(ids):
        out.extend((await conn.execute(stmt_for(part))).all())
    return out


def nid(kind: str, key: int) -> str:
    return f"{kind}:{key}"


def node_limit(max_nodes: int) -> int:
    """The caller's maxNodes, refused outside 1..MAX_NODES."""
    if not 1 <= max_nodes <= MAX_NODES:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"maxNodes must be between 1 and {MAX_NODES}")
    return max_nodes


async def trace_backward(ctx: Context, code: str) -> Graph:
    """The backward graph from a code, within the caller's scope."""
    async with ctx.db.read() as s:
        return await backward(s, code.strip(), ctx.scope())


async def trace_forward(ctx: Context, code: str) -> Graph:
    """The forward graph from any code the graph holds (donor, unit, pool, batch, lot, packaging code),
    within the caller's scope."""
    async with ctx.db.read() as s:
        return await forward(s, code.strip(), ctx.scope())


# --- which nodes a scope admits -----------------------------------------------------------

def batch_visible(scope: TraceScope, product: str, batch_number: str) -> bool:
    if scope.unrestricted:
        return True
    return bool((scope.products and product in scope.products)
                or (scope.batch_numbers and batch_number in scope.batch_numbers))


def upstream_visible(scope: TraceScope, station_code: str, reached_by_visible_batch: bool) -> bool:
    """Units, donors and stations: visible with their station in scope, or as genealogy of a visible batch."""
    return scope.unrestricted or reached_by_visible_batch or bool(scope.stations and station_code in scope.stations)


# --- backward -----------------------------------------------------------------------------

async def backward(s: AsyncSession, code: str, scope: TraceScope) -> Graph:
    g = Graph()
    kind, key = await backward_start(s, code, scope)
    seeds = await _backward_seeds(s, g, code, scope, kind, key)
    # Each hop adds what it found to the ids of the next, after the seeds of the start.
    if seeds["FINAL_LOT"]:
        seeds["BATCH"] |= await _lots_backward(s, g, seeds["FINAL_LOT"], scope, kind, code)
    visible_batches = await _batches(s, g, seeds["BATCH"], scope, start_kind=kind, code=code)
    if visible_batches:
        seeds["POOL"] |= await _charged_pools(s, g, visible_batches)
    via_batch = bool(visible_batches)
    if seeds["POOL"]:
        if kind == "POOL" and not scope.unrestricted:
            via_batch = await _pool_feeds_visible_batch(s, seeds["POOL"], scope)
        unit_rows = await _rows(s, _unit_select(PlasmaUnit.pool_id), seeds["POOL"])
        await _units(s, g, unit_rows, scope, via_batch)
    if seeds["PLASMA_UNIT"]:
        unit_rows = await _rows(s, _unit_select(PlasmaUnit.id), seeds["PLASMA_UNIT"])
        if not unit_rows or not upstream_visible(scope, unit_rows[0].station_code, False):
            raise _missing(code, scope)
        await _units(s, g, unit_rows, scope, False)
    return g


async def _backward_seeds(s: AsyncSession, g: Graph, code: str, scope: TraceScope, kind: str,
                          key: int) -> dict[str, set[int]]:
    """The ids a backward trace starts from, by kind (a packaging code: its lot, once drawn and checked)."""
    seeds: dict[str, set[int]] = {"FINAL_LOT": set(), "BATCH": set(), "POOL": set(), "PLASMA_UNIT": set()}
    if kind == "PACKAGING_UNIT":
        pu = (await s.execute(select(PackagingUnit.id, PackagingUnit.code, PackagingUnit.level,
                                     PackagingUnit.final_lot_id).where(PackagingUnit.id == key))).one()
        g.node(Node(nid("PACKAGING_UNIT", pu.id), "PACKAGING_UNIT", pu.code, pu.level))
        g.edge(nid("FINAL_LOT", pu.final_lot_id), nid("PACKAGING_UNIT", pu.id), "PACKED")
        seeds["FINAL_LOT"].add(pu.final_lot_id)
        if not scope.unrestricted and not await _packaging_visible(s, scope, [pu.id]):
            raise _missing(code, scope)
    else:
        seeds[kind].add(key)
    return seeds


async def _lots_backward(s: AsyncSession, g: Graph, lot_ids: set[int], scope: TraceScope, start_kind: str,
                         code: str) -> set[int]:
    """Final lots with the intermediates they were filled from; the ids of the batches that made those."""
    rows = await _rows(s, lambda ids: select(FinalLot.id, FinalLot.lot_number, FinalLot.product, FinalLot.status,
                                             FinalLot.intermediate_id, Intermediate.code, Intermediate.kind,
                                             Intermediate.batch_id)
                       .join(Intermediate, Intermediate.id == FinalLot.intermediate_id)
                       .where(FinalLot.id.in_(ids)), lot_ids)
    batch_ids = set()
    for r in rows:
        if not scope.unrestricted and not _lot_in_scope(scope, r.product, start_kind):
            raise _missing(code, scope)
        g.node(Node(nid("FINAL_LOT", r.id), "FINAL_LOT", r.lot_number, r.product, r.status))
        g.node(Node(nid("INTERMEDIATE", r.intermediate_id), "INTERMEDIATE", r.code, r.kind))
        g.edge(nid("INTERMEDIATE", r.intermediate_id), nid("FINAL_LOT", r.id), "FILLED")
        g.edge(nid("BATCH", r.batch_id), nid("INTERMEDIATE", r.intermediate_id), "MADE")
        batch_ids.add(r.batch_id)
    return batch_ids


async def _charged_pools(s: AsyncSession, g: Graph, batch_ids: set[int]) -> set[int]:
    """The pools charged into the batches, with their edges; the pools' ids."""
    rows = await _rows(s, lambda ids: select(batch_pool.c.batch_id, Pool.id, Pool.code, Pool.product, Pool.status)
                       .join(Pool, Pool.id == batch_pool.c.pool_id)
                       .where(batch_pool.c.batch_id.in_(ids)), batch_ids)
    pool_ids = set()
    for r in rows:
        g.node(Node(nid("POOL", r.id), "POOL", r.code, r.product, r.status))
        g.edge(nid("POOL", r.id), nid("BATCH", r.batch_id), "CHARGED")
        pool_ids.add(r.id)
    return pool_ids


def _lot_in_scope(scope: TraceScope, product: str, start_kind: str) -> bool:
    if scope.products and product in scope.products:
        return True
    # A distributor's packaging codes were checked already; it may also see their lot.
    return start_kind == "PACKAGING_UNIT" and bool(scope.distributors)


async def _batches(s: AsyncSession, g: Graph, batch_ids: set[int], scope: TraceScope, *, start_kind: str,
                   code: str) -> set[int]:
    if not batch_ids:
        return set()
    rows = await _rows(s, lambda ids: select(Batch.id, Batch.batch_number, Batch.product, Batch.status)
                       .where(Batch.id.in_(ids)), batch_ids)
    visible = set()
    for r in rows:
        if batch_visible(scope, r.product, r.batch_number):
            g.node(Node(nid("BATCH", r.id), "BATCH", r.batch_number, r.product, r.status))
            visible.add(r.id)
        elif start_kind == "BATCH":
            raise _missing(code, scope)
    # Edges into batches the caller may not see are dropped with them.
    g.edges = {e for e in g.edges if not e.source.startswith("BATCH:") or int(e.source[6:]) in visible}
    return visible


async def _pool_feeds_visible_batch(s: AsyncSession, pool_ids: set[int], scope: TraceScope) -> bool:
    rows = (await s.execute(select(Batch.product, Batch.batch_number)
                            .join(batch_pool, batch_pool.c.batch_id == Batch.id)
                            .where(batch_pool.c.pool_id.in_(pool_ids)))).all()
    return any(batch_visible(scope, r.product, r.batch_number) for r in rows)


def _unit_select(key: Any) -> Any:
    def stmt(ids: list[int]) -> Any:
        return (select(PlasmaUnit.id, PlasmaUnit.donation_number, PlasmaUnit.status, PlasmaUnit.pool_id,
                       Donor.id.label("donor_id"), Donor.card_number, Donor.status.label("donor_status"),
                       PlasmaStation.id.label("station_id"), PlasmaStation.code.label("station_code"),
                       PlasmaStation.name.label("station_name"))
                .join(Donor, Donor.id == PlasmaUnit.donor_id)
                .join(PlasmaStation, PlasmaStation.id == PlasmaUnit.station_id)
                .where(key.in_(ids)))
    return stmt


async def _units(s: AsyncSession, g: Graph, rows: Sequence[Any], scope: TraceScope, via_batch: bool) -> None:
    for r in rows:
        if not upstream_visible(scope, r.station_code, via_batch):
            continue
        unit, donor, station = nid("PLASMA_UNIT", r.id), nid("DONOR", r.donor_id), nid("STATION", r.station_id)
        g.node(Node(unit, "PLASMA_UNIT", r.donation_number, "plasma unit", r.status))
        g.node(Node(donor, "DONOR", r.card_number, "donor", r.donor_status))
        g.node(Node(station, "STATION", r.station_code, r.station_name))
        g.edge(donor, unit, "DONATED")
        g.edge(station, unit, "COLLECTED")
        if r.pool_id is not None and nid("POOL", r.pool_id) in g.nodes:
            g.edge(unit, nid("POOL", r.pool_id), "POOLED")


async def _packaging_visible(s: AsyncSession, scope: TraceScope, ids: list[int]) -> bool:
    """A packaging code is in a distributor's scope when it, or a unit above it, was shipped to them."""
    if scope.products:
        rows = (await s.execute(select(FinalLot.product).join(PackagingUnit, PackagingUnit.final_lot_id == FinalLot.id)
                                .where(PackagingUnit.id.in_(ids)))).scalars().all()
        if rows and all(p in scope.products for p in rows):
            return True
    if not scope.distributors:
        return False
    current = set(ids)
    seen: set[int] = set()
    while current:
        found = (await s.execute(select(PackagingUnit.id, PackagingUnit.parent_id, Distributor.code)
                                 .outerjoin(Shipment, Shipment.id == PackagingUnit.shipment_id)
                                 .outerjoin(Distributor, Distributor.id == Shipment.distributor_id)
                                 .where(PackagingUnit.id.in_(current)))).all()
        if any(dist in scope.distributors for _, _, dist in found if dist):
            return True
        seen |= current
        current = {parent for _, parent, _ in found if parent is not None} - seen
    return False


# --- forward ------------------------------------------------------------------------------

async def forward(s: AsyncSession, code: str, scope: TraceScope) -> Graph:
    g = Graph()
    start = await _resolve(s, code)
    if start is None:
        raise _missing(code, scope)
    kind, key = start
    if kind in PRODUCT_KINDS:
        return await _forward_product(s, g, kind, key, code, scope)
    unit_rows: list[Any] = []
    if kind == "POOL":
        pool_ids = {key}
        if not scope.unrestricted and not await _pool_feeds_visible_batch(s, pool_ids, scope):
            raise _missing(code, scope)
    else:
        unit_rows = await _forward_units(s, kind, key)
        if not unit_rows:
            if kind == "DONOR" and scope.unrestricted:
                return await _lonely_donor(s, g, key)
            raise _missing(code, scope)
        if not scope.unrestricted and not (scope.stations and unit_rows[0].station_code in scope.stations):
            raise _missing(code, scope)
        await _units(s, g, unit_rows, TraceScope(), True)
        pool_ids = {r.pool_id for r in unit_rows if r.pool_id is not None}
        if not scope.unrestricted and not (scope.products or scope.batch_numbers):
            return g  # a station sees its own donors and units, not where the plasma went
    if pool_ids:
        await _downstream(s, g, await _pooled_into(s, g, pool_ids, unit_rows, scope), scope)
    return g


# Codes of what a batch became: a forward trace from one follows it down to the packaging.
PRODUCT_KINDS = ("BATCH", "FINAL_LOT", "PACKAGING_UNIT")


async def _forward_product(s: AsyncSession, g: Graph, kind: str, key: int, code: str, scope: TraceScope) -> Graph:
    """Forward from a batch, a final lot or a packaging code: its batch's downstream graph, kept to what is
    reachable from the code (a lot: its packaging; a carton: the cases and pallets it went into)."""
    stmt = select(Batch.id, Batch.batch_number, Batch.product, Batch.status)
    if kind == "BATCH":
        stmt = stmt.where(Batch.id == key)
    else:
        stmt = stmt.join(Intermediate, Intermediate.batch_id == Batch.id).join(
            FinalLot, FinalLot.intermediate_id == Intermediate.id)
        if kind == "FINAL_LOT":
            stmt = stmt.where(FinalLot.id == key)
        else:
            stmt = stmt.join(PackagingUnit, PackagingUnit.final_lot_id == FinalLot.id).where(PackagingUnit.id == key)
    b = (await s.execute(stmt.limit(1))).first()
    if b is None or not batch_visible(scope, b.product, b.batch_number):
        raise _missing(code, scope)
    g.node(Node(nid("BATCH", b.id), "BATCH", b.batch_number, b.product, b.status))
    await _downstream(s, g, {b.id}, scope)
    return g.reachable_from(nid(kind, key))


async def _forward_units(s: AsyncSession, kind: str, key: int) -> list[Any]:
    """The units a forward trace from a donor or a unit starts from."""
    if kind == "DONOR":
        return list((await s.execute(_unit_select(PlasmaUnit.donor_id)([key]))).all())
    if kind == "PLASMA_UNIT":
        return list((await s.execute(_unit_select(PlasmaUnit.id)([key]))).all())
    raise AppError(ErrorCode.VALIDATION_FAILED, f"forward traces start from a donor, unit or pool, not a {kind}")


async def _pooled_into(s: AsyncSession, g: Graph, pool_ids: set[int], unit_rows: Sequence[Any],
                       scope: TraceScope) -> set[int]:
    """The pools, the units' edges into them and the batches they charged that the scope admits; the
    batches' ids."""
    rows = await _rows(s, lambda ids: select(Pool.id, Pool.code, Pool.product, Pool.status).where(Pool.id.in_(ids)),
                       pool_ids)
    for r in rows:
        g.node(Node(nid("POOL", r.id), "POOL", r.code, r.product, r.status))
    for r in unit_rows:
        if r.pool_id is not None:
            g.edge(nid("PLASMA_UNIT", r.id), nid("POOL", r.pool_id), "POOLED")
    rows = await _rows(s, lambda ids: select(batch_pool.c.pool_id, Batch.id, Batch.batch_number, Batch.product,
                                             Batch.status).join(Batch, Batch.id == batch_pool.c.batch_id)
                       .where(batch_pool.c.pool_id.in_(ids)), pool_ids)
    batch_ids = set()
    for r in rows:
        if not batch_visible(scope, r.product, r.batch_number):
            continue
        g.node(Node(nid("BATCH", r.id), "BATCH", r.batch_number, r.product, r.status))
        g.edge(nid("POOL", r.pool_id), nid("BATCH", r.id), "CHARGED")
        batch_ids.add(r.id)
    return batch_ids


async def forward_start(s: AsyncSession, code: str, scope: TraceScope) -> tuple[str, int] | None:
    """Where a forward trace starts, refused as `forward` refuses; None when the object path must answer
    (a product code, or a donor without units)."""
    return forward_checked(await resolve(s, code), code, scope)


def forward_checked(found: Resolved | None, code: str, scope: TraceScope) -> tuple[str, int] | None:
    if found is None:
        raise _missing(code, scope)
    if found.kind in PRODUCT_KINDS:
        return None  # the object path follows a batch, lot or packaging code down (`forward`)
    if found.kind == "DONOR" and not found.has_units:
        return None
    return found.kind, found.key


async def backward_start(s: AsyncSession, code: str, scope: TraceScope) -> tuple[str, int]:
    """Where a backward trace starts, refused as `backward` refuses."""
    return backward_checked(await resolve(s, code), code, scope)


def backward_checked(found: Resolved | None, code: str, scope: TraceScope) -> tuple[str, int]:
    if found is None:
        raise _missing(code, scope)
    if found.kind not in ("PACKAGING_UNIT", "FINAL_LOT", "BATCH", "POOL", "PLASMA_UNIT"):
        raise AppError(ErrorCode.VALIDATION_FAILED, f"backward traces start from a product code, not a {found.kind}")
    return found.kind, found.key


async def _lonely_donor(s: AsyncSession, g: Graph, key: int) -> Graph:
    d = (await s.execute(select(Donor.id, Donor.card_number, Donor.status).where(Donor.id == key))).one()
    g.node(Node(nid("DONOR", d.id), "DONOR", d.card_number, "donor", d.status))
    return g


async def _downstream(s: AsyncSession, g: Graph, batch_ids: set[int], scope: TraceScope) -> None:
    if not batch_ids:
        return
    rows = await _rows(s, lambda ids: select(Intermediate.id, Intermediate.code, Intermediate.kind,
                                             Intermediate.batch_id).where(Intermediate.batch_id.in_(ids)), batch_ids)
    inter_ids = set()
    for r in rows:
        g.node(Node(nid("INTERMEDIATE", r.id), "INTERMEDIATE", r.code, r.kind))
        g.edge(nid("BATCH", r.batch_id), nid("INTERMEDIATE", r.id), "MADE")
        inter_ids.add(r.id)
    lot_ids = set()
    if inter_ids:
        rows = await _rows(s, lambda ids: select(FinalLot.id, FinalLot.lot_number, FinalLot.product, FinalLot.status,
                                                 FinalLot.intermediate_id).where(FinalLot.intermediate_id.in_(ids)),
                           inter_ids)
        for r in rows:
            g.node(Node(nid("FINAL_LOT", r.id), "FINAL_LOT", r.lot_number, r.product, r.status))
            g.edge(nid("INTERMEDIATE", r.intermediate_id), nid("FINAL_LOT", r.id), "FILLED")
            lot_ids.add(r.id)
    if lot_ids:
        rows = await _rows(s, lambda ids: select(PackagingUnit.id, PackagingUnit.code, PackagingUnit.level,
                                                 PackagingUnit.parent_id, PackagingUnit.final_lot_id)
                           .where(PackagingUnit.final_lot_id.in_(ids)), lot_ids)
        for r in rows:
            g.node(Node(nid("PACKAGING_UNIT", r.id), "PACKAGING_UNIT", r.code, r.level))
            if r.parent_id is None:
                g.edge(nid("FINAL_LOT", r.final_lot_id), nid("PACKAGING_UNIT", r.id), "PACKED")
            else:
                g.edge(nid("PACKAGING_UNIT", r.id), nid("PACKAGING_UNIT", r.parent_id), "AGGREGATED")


# --- starting points ----------------------------------------------------------------------

class Resolved(NamedTuple):
    kind: str
    key: int
    has_units: bool  # a donor's: whether any unit of theirs is recorded (true for every other kind)


# What a code names, in this order: packaging code, lot, batch, pool, donation number, material code,
# donor card; the first probe that finds it wins. One statement, run by the session or by the driver.
_PROBES = (("PACKAGING_UNIT", "packaging_unit", "code"), ("FINAL_LOT", "final_lot", "lot_number"),
           ("BATCH", "batch", "batch_number"), ("POOL", "pool", "code"),
           ("PLASMA_UNIT", "plasma_unit", "donation_number"), ("PLASMA_UNIT", "plasma_unit", "material_code"),
           ("DONOR", "donor", "card_number"))
_PROBE_SQL = " UNION ALL ".join(
    f"SELECT {rank} AS r, '{kind}' AS kind, (SELECT id FROM {table} WHERE {column} = :code LIMIT 1) AS id"  # noqa: S608
    for rank, (kind, table, column) in enumerate(_PROBES))  # fixed names above; the code is a parameter
RESOLVE_SQL = ("SELECT kind, id, CASE WHEN kind <> 'DONOR' OR EXISTS (SELECT 1 FROM plasma_unit "  # noqa: S608
               f"WHERE donor_id = x.id) THEN 1 ELSE 0 END FROM ({_PROBE_SQL}) x "
               "WHERE id IS NOT NULL ORDER BY r LIMIT 1")


def resolved(row: Sequence[Any] | None) -> Resolved | None:
    return Resolved(str(row[0]), int(row[1]), bool(row[2])) if row is not None else None


async def resolve(s: AsyncSession, code: str) -> Resolved | None:
    """What a code names (RESOLVE_SQL), or None."""
    return resolved((await s.execute(text(RESOLVE_SQL), {"code": code})).first())


async def _resolve(s: AsyncSession, code: str) -> tuple[str, int] | None:
    found = await resolve(s, code)
    return (found.kind, found.key) if found is not None else None


def _missing(code: str, scope: TraceScope) -> AppError:
    # Under a scoped token an unknown code and a forbidden one look the same: nothing leaks.
    if scope.unrestricted:
        return AppError(ErrorCode.NOT_FOUND, f"no product, batch, pool, unit or donor with code {code}")
    return AppError(ErrorCode.OUT_OF_SCOPE, "that code is not within your token's scope")


async def impact_of_units(s: AsyncSession, unit_ids: Iterable[int]) -> Graph:
    """Everything the given units reached downstream: pools, batches, intermediates, lots, packaging."""
    g = Graph()
    rows = await _rows(s, _unit_select(PlasmaUnit.id), unit_ids)
    await _units(s, g, rows, TraceScope(), True)
    pool_ids = {r.pool_id for r in rows if r.pool_id is not None}
    if not pool_ids:
        return g
    batch_ids = await _pooled_into(s, g, pool_ids, rows, TraceScope())
    await _downstream(s, g, batch_ids, TraceScope())
    return g
