"""Training (QM-09): signed training records, the training matrix per role and the report of people without
valid training on the effective documents their roles require."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from resolvers import training as res
from resolvers.context import Context
from schema.convert import of
from schema.documents import ControlledDocument, document_of
from schema.enums import TrainingAssessment, TrainingState
from schema.permissions import can
from schema.signing import SignatureInput, signed


@strawberry.type(description="A person's training on a document version (QM-09).")
class TrainingRecord:
    id: int
    username: str
    document_code: str
    document_version: int
    trained_at: datetime
    trainer: str = strawberry.field(description="Who trained and assessed (the signer)")
    assessment: TrainingAssessment
    valid_until: date
    note: str
    recorded_at: datetime


@strawberry.type(description="A role and the effective documents it must be trained on.")
class TrainingRequirement:
    role: str
    documents: list[ControlledDocument]


@strawberry.type(description="A person without valid training on an effective document their role requires.")
class TrainingGap:
    username: str
    role: str
    document: ControlledDocument
    state: TrainingState
    valid_until: date | None = strawberry.field(description="When the last passed training expired, if any")


@strawberry.input
class RecordTrainingInput:
    username: str
    document_code: str
    document_version: int
    trained_at: datetime
    assessment: TrainingAssessment
    valid_until: date
    note: str = ""


@strawberry.type
class TrainingQuery:
    @strawberry.field(description="Training records, newest first.", extensions=can("quality:training", "read"))
    async def training_records(self, info: Info[Context, None], username: str | None = None,
                               document_code: str | None = None) -> list[TrainingRecord]:
        return [of(TrainingRecord, r) for r in await res.records(info.context, username, document_code)]

    @strawberry.field(description="The training matrix: per role, the effective documents it must be trained on.",
                      extensions=can("quality:training", "read"))
    async def training_matrix(self, info: Info[Context, None], role: str | None = None
                              ) -> list[TrainingRequirement]:
        return [TrainingRequirement(role=r, documents=[document_of(d) for d in docs])
                for r, docs in await res.matrix(info.context, role)]

    @strawberry.field(description="People without valid training (missing, expired or failed) on an effective "
                                  "document their role requires.", extensions=can("quality:training", "read"))
    async def training_gaps(self, info: Info[Context, None], role: str | None = None) -> list[TrainingGap]:
        return [of(TrainingGap, g, document=document_of(g.document)) for g in await res.gaps(info.context, role)]


@strawberry.type
class TrainingMutation:
    @strawberry.mutation(description="Record a person's training on an approved or effective version with the "
                                     "assessment's result (not your own); signed PERFORMED by the trainer.",
                         extensions=can("quality:training", "write"))
    async def record_training(self, info: Info[Context, None], input: RecordTrainingInput,
                              signature: SignatureInput) -> TrainingRecord:
        t = res.Training(input.username, input.document_code, input.document_version, input.trained_at,
                         input.assessment.value, input.valid_until, input.note)
        return of(TrainingRecord, await res.record(info.context, signed(info, signature), t))
