"""The DataLoaders of one request (Context.loaders), each named after its key.

A field of an object in a list asks its loader for its key; the loader collects the keys of every
object resolved in the same turn of the event loop and answers them with one batch function (a few
statements with IN over the keys, results in key order). The loaders batch but keep no cache: a
subscription's context lives as long as the subscription, and a cache would answer its later events
with rows read for the first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from policies.errors import AppError
from records.db import Database
from records.document import ControlledDocument
from records.plasma import PlasmaUnit
from resolvers import alarms, documents, history, plasma, storage

K = TypeVar("K")
V = TypeVar("V")

# Keys per batch: within SQLite's 500 UNION ALL terms (resolvers.history) and the drivers' bind limits.
MAX_BATCH = 250


class Loaders:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Batches still running: a field whose result was dropped (an error elsewhere nulled its
        # parent) leaves its batch behind; the request waits for it so no query outlives the request.
        self.running: set[asyncio.Task[object]] = set()
        self.units_by_alarm_id: DataLoader[int, list[str]] = self._loader(alarms.units_by_alarm_ids)
        self.units_by_donor_id: DataLoader[int, list[PlasmaUnit]] = self._loader(plasma.units_by_donor_ids)
        self.storage_by_unit_id: DataLoader[int, storage.Storage] = self._loader(storage.storage_by_unit_ids)
        self.history_by_window: DataLoader[history.Window, list[history.Point]] = self._loader(history.histories)
        self.effective_document_by_code: DataLoader[str, ControlledDocument | None] = self._loader(
            documents.effective_by_codes)

    def _loader(self, batch: Callable[[AsyncSession, list[K]], Awaitable[Sequence[V | AppError]]]
                ) -> DataLoader[K, V]:
        async def load(keys: list[K]) -> Sequence[V | AppError]:
            task = asyncio.current_task()
            if task is not None:
                self.running.add(task)
            try:
                async with self.db.read() as s:
                    return await batch(s, keys)
            finally:
                self.running.discard(task)

        return DataLoader(load, max_batch_size=MAX_BATCH, cache=False)

    async def settle(self) -> None:
        """Wait for batches still running (their results are unused; their errors are not raised)."""
        while self.running:
            await asyncio.gather(*tuple(self.running), return_exceptions=True)
