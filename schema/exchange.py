"""Appendix B data exchange and the whole batch record's export, both audited."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from resolvers import batch_record, exchange
from resolvers.appendix_b import DATASETS
from resolvers.context import Context
from schema.convert import of
from schema.permissions import can


@strawberry.enum
class DatasetFormat(Enum):
    JSON = "JSON"
    CSV = "CSV"


@strawberry.enum
class RecordFormat(Enum):
    JSON = "JSON"
    PDF = "PDF"


@strawberry.input
class DatasetFilter:
    batch_number: str | None = None
    since: datetime | None = strawberry.field(default=None, name="from")
    until: datetime | None = strawberry.field(default=None, name="to")


@strawberry.type(description="A dataset written under its short field names (JSON: an array of objects).")
class DatasetFile:
    dataset: str
    title: str
    format: str
    count: int
    filename: str
    content_type: str
    data: str


@strawberry.type
class DatasetField:
    short: str
    name_en: str
    type: str = strawberry.field(description="string, integer, float, date (YYYYMMDD), datetime (YYYYMMDDThhmmss, "
                                             "UTC), boolean or binary")


@strawberry.type(description="An Appendix B dataset: its fields, and whether PlasmaTwin holds its records.")
class AppendixDataset:
    table: str
    title_en: str
    title_zh: str
    held: bool
    fields: list[DatasetField]


@strawberry.type
class RecordFile:
    batch_number: str
    format: str
    filename: str
    content_type: str
    data: str = strawberry.field(description="The JSON text, or the PDF in base64")


@strawberry.type
class ExchangeQuery:
    @strawberry.field(description="The Appendix B datasets (B.2-B.15) and which of them PlasmaTwin holds.",
                      extensions=can("batch:record", "export"))
    def appendix_b_datasets(self) -> list[AppendixDataset]:
        return [AppendixDataset(table=d.table, title_en=d.title_en, title_zh=d.title_zh,
                                held=d.table in exchange.BUILDERS,
                                fields=[of(DatasetField, f) for f in d.fields]) for d in DATASETS.values()]

    @strawberry.field(description="An Appendix B dataset's records under their short field names, JSON or CSV; "
                                  "audited.", extensions=can("batch:record", "export"))
    async def export_dataset(self, info: Info[Context, None], dataset: str, filter: DatasetFilter | None = None,
                             format: DatasetFormat = DatasetFormat.JSON) -> DatasetFile:
        f = filter or DatasetFilter()
        out = await exchange.export(info.context, dataset, exchange.Filter(f.batch_number, f.since, f.until),
                                    format.value)
        return of(DatasetFile, out)

    @strawberry.field(description="The whole electronic batch record of one batch, JSON or PDF; audited (PR-53).",
                      extensions=can("batch:record", "export"))
    async def export_batch_record(self, info: Info[Context, None], batch_number: str,
                                  format: RecordFormat = RecordFormat.JSON) -> RecordFile:
        return of(RecordFile, await batch_record.export(info.context, batch_number, format.value))
