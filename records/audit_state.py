"""Does every audited row still hold what its audit trail says?

The hash chain proves the events were not altered; it says nothing of a business row edited in the
file behind the application. Here each row of every `__audited__` table is compared with the replay of
its CREATE/UPDATE/DELETE events, through the transforms the trail applies (JSON values, redaction,
digests). Rows of a bulk import have no CREATE event: the import's event carries, per table, a SHA-256
of the imported rows (`stateDigests`); their import-time state is rebuilt by rolling back their later
UPDATE events and hashed again.

Rows are read with Core in primary-key pages, events by the page's ids: memory stays flat whatever the
size of the store. Chain and rows are read in one snapshot (REPEATABLE READ on PostgreSQL).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import rfc8785
from sqlalchemy import Column, Float, Numeric, Table, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement, False_, True_

from records import models
from records.audit import AuditEvent, ChainReport, audited_value, to_json_value, verify_chain
from records.db import Database

ROW_ACTIONS = ("CREATE", "UPDATE", "DELETE")
# Audit actions whose changes may carry {"stateDigests": [None, {table: {...}}]}.
IMPORT_ACTIONS = ("SYNTHETIC_IMPORT",)

Problem = Literal["VALUE_CHANGED", "UNAUDITED_ROW", "DELETED_ROW_PRESENT", "ROW_MISSING", "IMPORT_DIGEST"]
Executor = AsyncSession | AsyncConnection


@dataclass(frozen=True)
class RowMismatch:
    entity: str
    entity_id: str | None
    column: str | None
    audited: Any
    current: Any
    problem: Problem


@dataclass(frozen=True)
class StateReport:
    ok: bool
    rows_checked: int
    mismatch_count: int
    mismatches: tuple[RowMismatch, ...]  # the first ones found, in table then key order


@dataclass(frozen=True)
class StoreReport:
    chain: ChainReport
    state: StateReport

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.state.ok

    @property
    def problem(self) -> str | None:
        if self.chain.problem:
            return self.chain.problem
        if self.state.ok:
            return None
        n = self.state.mismatch_count
        return f"{n} difference{'s' if n != 1 else ''} between the rows and their audit trail"


# --- the audited tables ------------------------------------------------------------------

@dataclass(frozen=True)
class AuditedTable:
    model: type
    table: Table
    keys: tuple[str, ...]  # attribute keys, as the events name them
    columns: tuple[Column[Any], ...]
    pk: tuple[Column[Any], ...]
    pk_at: tuple[int, ...]  # where the key columns are in `columns`
    tolerance: Mapping[str, float]  # Numeric(scale) columns: the trail keeps what was given, the column rounds
    # NOT NULL columns with a server default: a migration that adds one fills rows made before it, which
    # their CREATE events cannot name. Such a column, absent from the events, must hold that default.
    backfill: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.table.name

    def current(self, row: Any) -> dict[str, Any]:
        return {k: audited_value(self.model, k, v) for k, v in zip(self.keys, row, strict=True)}

    def entity_id(self, row: Any) -> str:
        return "/".join("" if row[i] is None else str(row[i]) for i in self.pk_at)

    def parse_id(self, entity_id: str) -> tuple[Any, ...] | None:
        parts = entity_id.split("/")
        if len(parts) != len(self.pk):
            return None
        try:
            return tuple(int(p) if _is_int(c) else p for p, c in zip(parts, self.pk, strict=True))
        except ValueError:
            return None

    def same(self, key: str, audited: Any, current: Any) -> bool:
        if audited == current:
            return True
        tol = self.tolerance.get(key)
        return (tol is not None and _number(audited) and _number(current)
                and abs(float(audited) - float(current)) <= tol * 1.000001)


def _is_int(c: Column[Any]) -> bool:
    try:
        return c.type.python_type is int
    except NotImplementedError:
        return False


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _backfill(c: Column[Any]) -> tuple[bool, Any]:
    """(whether the column has a literal server default and no NULLs, that default as the trail writes it)"""
    arg = getattr(c.server_default, "arg", None)
    if c.nullable or arg is None:
        return False, None
    if isinstance(arg, True_ | False_):
        return True, isinstance(arg, True_)
    if not isinstance(arg, str):
        return False, None
    try:
        kind = c.type.python_type
        return True, (arg.lower() in ("1", "true", "t") if kind is bool else to_json_value(kind(arg)))
    except (NotImplementedError, TypeError, ValueError):
        return False, None


def audited_tables() -> list[AuditedTable]:
    out = []
    for mapper in models.Base.registry.mappers:
        cls = mapper.class_
        if not getattr(cls, "__audited__", False):
            continue
        attrs = list(mapper.column_attrs)
        cols: tuple[Column[Any], ...] = tuple(a.columns[0] for a in attrs)  # type: ignore[misc]
        tol = {a.key: 0.5 * 10 ** -c.type.scale for a, c in zip(attrs, cols, strict=True)
               if isinstance(c.type, Numeric) and not isinstance(c.type, Float) and c.type.scale}
        backfill = {a.key: v for a, c in zip(attrs, cols, strict=True) for has, v in [_backfill(c)] if has}
        table = mapper.local_table
        assert isinstance(table, Table)
        pk = tuple(table.primary_key.columns)
        out.append(AuditedTable(cls, table, tuple(a.key for a in attrs), cols, pk,
                                tuple(_position(cols, c) for c in pk), tol, backfill))
    return sorted(out, key=lambda t: t.name)


def _position(columns: Sequence[Column[Any]], c: Column[Any]) -> int:
    return next(i for i, x in enumerate(columns) if x is c)


def _by_model(model: type) -> AuditedTable:
    return next(t for t in audited_tables() if t.model is model)


# --- digests of bulk imports -------------------------------------------------------------

class TableDigest:
    """SHA-256 of the RFC 8785 JSON array of rows (objects by column) in key order, and one per column
    (the array of its values), so a changed import names its column. Fed row by row."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.rows = 0
        self._keys = tuple(keys)
        self._order = sorted(keys)  # ASCII names: code-point order is RFC 8785's UTF-16 order
        self._names = {k: rfc8785.dumps(k) for k in keys}
        self._all = hashlib.sha256(b"[")
        self._columns = {k: hashlib.sha256(b"[") for k in keys}

    def add(self, row: Mapping[str, Any]) -> None:
        sep = b"," if self.rows else b""
        values = {k: rfc8785.dumps(row.get(k)) for k in self._keys}
        self._all.update(sep + b"{" + b",".join(self._names[k] + b":" + values[k] for k in self._order) + b"}")
        for k, h in self._columns.items():
            h.update(sep + values[k])
        self.rows += 1

    def result(self) -> dict[str, Any]:
        def done(h: Any) -> str:
            h = h.copy()
            h.update(b"]")
            return str(h.hexdigest())

        return {"rows": self.rows, "sha256": done(self._all), "columns": {k: done(h) for k, h in self._columns.items()}}


async def import_digests(conn: Executor, first_ids: Mapping[Any, int], page: int = 2000) -> dict[str, Any]:
    """Digests of the rows just bulk-inserted (ids from first_ids[model] on), read back as stored:
    {table: {"ids": [min, max], "rows": n, "sha256": hex, "columns": {column: hex}}}."""
    out: dict[str, Any] = {}
    for model, first in first_ids.items():
        t = _by_model(model)
        (pk,) = t.pk
        lo, hi = (await conn.execute(select(func.min(pk), func.max(pk)).where(pk >= first))).one()
        if lo is None:
            continue
        digest = TableDigest(t.keys)
        after = lo - 1
        while True:
            rows = (await conn.execute(select(*t.columns).where(pk > after, pk <= hi).order_by(pk).limit(page))).all()
            if not rows:
                break
            for r in rows:
                digest.add(t.current(r))
            after = rows[-1][t.pk_at[0]]
        out[t.name] = {"ids": [lo, hi], **digest.result()}
    return out


@dataclass
class _Import:
    lo: int
    hi: int
    expected: Mapping[str, Any]
    keys: tuple[str, ...]  # the columns the import hashed; any added later are checked like backfills
    digest: TableDigest


async def _imports(s: Executor, tables: Iterable[AuditedTable]) -> dict[str, list[_Import]]:
    tables_by_name = {t.name: t for t in tables}
    out: dict[str, list[_Import]] = defaultdict(list)
    rows = await s.execute(
        select(AuditEvent.changes).where(AuditEvent.action.in_(IMPORT_ACTIONS)).order_by(AuditEvent.id))
    for (changes,) in rows:
        digests = changes.get("stateDigests") if isinstance(changes, dict) else None
        if isinstance(digests, list) and len(digests) == 2:  # [old, new] like every change
            digests = digests[1]
        if not isinstance(digests, dict):
            continue
        for name, d in digests.items():
            ids = d.get("ids") if isinstance(d, dict) else None
            if name in tables_by_name and isinstance(ids, list) and len(ids) == 2 and all(
                    isinstance(i, int) for i in ids):
                hashed = d.get("columns")
                keys = tuple(hashed) if isinstance(hashed, dict) and hashed else tables_by_name[name].keys
                out[name].append(_Import(ids[0], ids[1], d, keys, TableDigest(keys)))
    return out


# --- replay ------------------------------------------------------------------------------

@dataclass
class Replay:
    """One row's events, split at DELETEs into lives; the last life is the row as it should be now."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def lives(self) -> list[list[tuple[str, dict[str, Any]]]]:
        out: list[list[tuple[str, dict[str, Any]]]] = [[]]
        for ev in self.events:
            out[-1].append(ev)
            if ev[0] == "DELETE":
                out.append([])
        return out


def forward(life: Sequence[tuple[str, dict[str, Any]]]) -> tuple[bool, dict[str, Any]]:
    """(created by an audited CREATE, the audited values: every column if created, else those updated)."""
    created = any(a == "CREATE" for a, _ in life)
    state: dict[str, Any] = {}
    for action, changes in life:
        if action == "CREATE":
            state = {}
        for col, change in changes.items():
            if isinstance(change, list) and len(change) == 2:
                state[col] = change[1]
    return created, state


def _rolled_back(values: Mapping[str, Any], life: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The row before the UPDATE events of this life: each changed column back to its old value."""
    row = dict(values)
    for action, changes in reversed(life):
        if action == "UPDATE":
            for col, change in changes.items():
                if col in row and isinstance(change, list) and len(change) == 2:
                    row[col] = change[0]
    return row


async def _events(s: Executor, entity: str, ids: Sequence[str]) -> dict[str, Replay]:
    out: dict[str, Replay] = defaultdict(Replay)
    if not ids:
        return out
    rows = await s.execute(
        select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.changes)
        .where(AuditEvent.entity == entity, AuditEvent.action.in_(ROW_ACTIONS), AuditEvent.entity_id.in_(ids))
        .order_by(AuditEvent.id))
    for eid, action, changes in rows:
        out[eid].events.append((action, changes if isinstance(changes, dict) else {}))
    return out


# --- the check ---------------------------------------------------------------------------

class _Findings:
    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.count = 0
        self.first: list[RowMismatch] = []

    def add(self, *args: Any) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(RowMismatch(*args))


class _TableCheck:
    def __init__(self, s: Executor, t: AuditedTable, imports: list[_Import], found: _Findings, page: int) -> None:
        self.s, self.t, self.imports, self.found, self.page = s, t, imports, found, page
        self.rows = 0
        self._deleted_imports: list[tuple[int, dict[str, Any]]] = []  # (id, import-time row), by id

    def _import_of(self, pk: Any) -> _Import | None:
        if not isinstance(pk, int) or isinstance(pk, bool):
            return None
        return next((i for i in self.imports if i.lo <= pk <= i.hi), None)

    def _feed(self, pk: int, imp: _Import, row: Mapping[str, Any]) -> None:
        """Add an imported row to its import's digest, after the deleted imported rows that precede it."""
        while self._deleted_imports and self._deleted_imports[0][0] < pk:
            self._flush_deleted()
        imp.digest.add(row)

    def _flush_deleted(self) -> None:
        pk, row = self._deleted_imports.pop(0)
        imp = self._import_of(pk)
        assert imp is not None
        imp.digest.add(row)

    async def run(self) -> None:
        if self.imports:
            await self._find_deleted_imports()
        await self._rows()
        while self._deleted_imports:
            self._flush_deleted()
        for imp in self.imports:
            self._compare_import(imp)
        await self._gone()

    async def _find_deleted_imports(self) -> None:
        """Imported rows deleted later through the application: their import-time state is the DELETE
        event's old values rolled back through the UPDATEs before it."""
        eids = (await self.s.execute(select(AuditEvent.entity_id).where(
            AuditEvent.entity == self.t.name, AuditEvent.action == "DELETE"))).scalars().all()
        ids = [e for e in eids if e is not None and (p := self.t.parse_id(e)) and self._import_of(p[0])]
        for eid, replay in (await _events(self.s, self.t.name, sorted(set(ids)))).items():
            first = replay.lives()[0]
            if first and first[-1][0] == "DELETE" and not any(a == "CREATE" for a, _ in first):
                last = {k: (v[0] if isinstance(v, list) and len(v) == 2 else None) for k, v in first[-1][1].items()}
                values = {k: last.get(k) for k in self.t.keys}
                parsed = self.t.parse_id(eid)
                assert parsed is not None
                self._deleted_imports.append((parsed[0], _rolled_back(values, first[:-1])))
        self._deleted_imports.sort(key=lambda x: x[0])

    async def _rows(self) -> None:
        t = self.t
        pk = tuple_(*t.pk) if len(t.pk) > 1 else t.pk[0]
        positions = t.pk_at
        after: tuple[Any, ...] | None = None
        while True:
            stmt = select(*t.columns).order_by(*t.pk).limit(self.page)
            if after is not None:
                stmt = stmt.where(_after(pk, after))
            rows = (await self.s.execute(stmt)).all()
            if not rows:
                return
            ids = [t.entity_id(r) for r in rows]
            events = await _events(self.s, t.name, ids)
            for r, eid in zip(rows, ids, strict=True):
                self._row(eid, r[positions[0]] if len(positions) == 1 else None, t.current(r), events.get(eid))
            self.rows += len(rows)
            after = tuple(rows[-1][i] for i in positions)

    def _row(self, eid: str, pk: Any, current: dict[str, Any], replay: Replay | None) -> None:
        t, add = self.t, self.found.add
        lives = replay.lives() if replay else [[]]
        if len(lives) > 1 and not lives[-1]:
            add(t.name, eid, None, None, current, "DELETED_ROW_PRESENT")
            return
        created, audited = forward(lives[-1])
        imp = None if created or len(lives) > 1 else self._import_of(pk)
        if not created and imp is None:
            add(t.name, eid, None, None, current, "UNAUDITED_ROW")
            return
        for key in t.keys:
            if key in audited:
                expected = audited[key]
            elif imp is not None and key in imp.keys:
                continue  # as imported: the import's digest answers for it
            else:
                expected = t.backfill.get(key)
            if not t.same(key, expected, current[key]):
                add(t.name, eid, key, expected, current[key], "VALUE_CHANGED")
        if imp is not None:
            self._feed(pk, imp, _rolled_back(current, lives[-1]))

    def _compare_import(self, imp: _Import) -> None:
        got, want = imp.digest.result(), imp.expected
        eid = f"{imp.lo}..{imp.hi}"
        if got["rows"] != want.get("rows"):
            self.found.add(self.t.name, eid, None, {"rows": want.get("rows")}, {"rows": got["rows"]}, "IMPORT_DIGEST")
            return
        if got["sha256"] == want.get("sha256"):
            return
        expected = want.get("columns")
        columns: Mapping[str, Any] = expected if isinstance(expected, dict) else {}
        changed: list[str | None] = [k for k in imp.keys if columns.get(k) != got["columns"][k]]
        for k in changed or [None]:
            audited = columns.get(k) if k else want.get("sha256")
            current = got["columns"][k] if k else got["sha256"]
            self.found.add(self.t.name, eid, k, f"sha256:{audited}", f"sha256:{current}", "IMPORT_DIGEST")

    async def _gone(self) -> None:
        """Rows the trail says exist (last event not a DELETE) that are not in the table."""
        t, handled = self.t, set[str]()
        after = 0
        while True:
            page = (await self.s.execute(
                select(AuditEvent.id, AuditEvent.entity_id)
                .where(AuditEvent.entity == t.name, AuditEvent.action.in_(ROW_ACTIONS), AuditEvent.id > after)
                .order_by(AuditEvent.id).limit(self.page))).all()
            if not page:
                return
            after = page[-1][0]
            eids = {e for _, e in page if e is not None and e not in handled}
            parsed = {e: p for e in eids if (p := t.parse_id(e)) is not None}
            present = await self._present(list(parsed.values()))
            missing = sorted(e for e in eids if parsed.get(e) not in present)
            for eid, replay in (await _events(self.s, t.name, missing)).items():
                lives = replay.lives()
                if lives[-1]:
                    self.found.add(t.name, eid, None, forward(lives[-1])[1], None, "ROW_MISSING")
            handled.update(missing)

    async def _present(self, keys: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
        if not keys:
            return set()
        t = self.t
        where = tuple_(*t.pk).in_(keys) if len(t.pk) > 1 else t.pk[0].in_([k[0] for k in keys])
        return {tuple(r) for r in await self.s.execute(select(*t.pk).where(where))}


def _after(pk: Any, last: tuple[Any, ...]) -> ColumnElement[bool]:
    bound: ColumnElement[bool] = pk > (tuple_(*last) if len(last) > 1 else last[0])
    return bound


async def verify_state(s: Executor, *, page: int = 500, keep: int = 1000) -> StateReport:
    """Compare every row of every audited table with its audit trail; keeps the first `keep` findings."""
    tables = audited_tables()
    imports = await _imports(s, tables)
    found = _Findings(keep)
    rows = 0
    for t in tables:
        check = _TableCheck(s, t, imports.get(t.name, []), found, page)
        await check.run()
        rows += check.rows
    return StateReport(found.count == 0, rows, found.count, tuple(found.first))


async def verify_store(db: Database, *, keep: int = 1000) -> StoreReport:
    """The hash chain and the rows against it, read in one snapshot."""
    async with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with AsyncSession(bind=conn) as s:
            chain = await verify_chain(s)
            state = await verify_state(s, keep=keep)
    return StoreReport(chain, state)
