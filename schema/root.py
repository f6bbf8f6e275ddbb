"""The Schema: composes the per-domain Query, Mutation and Subscription classes."""

from __future__ import annotations

import functools

import strawberry
from strawberry.extensions import AddValidationRules
from strawberry.schema.config import StrawberryConfig

from schema.admin import AdminMutation, AdminQuery
from schema.alarms import AlarmMutation, AlarmQuery, AlarmSubscription
from schema.attachments import AttachmentMutation, AttachmentQuery
from schema.audit import AuditQuery
from schema.audit_review import AuditReviewMutation, AuditReviewQuery
from schema.batches import BatchMutation
from schema.certificates import CertificateMutation, CertificateQuery
from schema.changes import ChangeMutation, ChangeQuery
from schema.clearance import ClearanceMutation
from schema.configuration import ConfigurationMutation, ConfigurationQuery
from schema.deviations import DeviationMutation
from schema.documents import DocumentMutation, DocumentQuery
from schema.equipment_care import EquipmentCareMutation, EquipmentLogMutation, EquipmentLogQuery
from schema.errors import ErrorCodes
from schema.exchange import ExchangeQuery
from schema.execution import PerEventExecutionContext
from schema.identity import IdentityMutation, IdentityQuery
from schema.instrument_runs import InstrumentRunMutation, InstrumentRunQuery
from schema.intermediates import IntermediateMutation, IntermediateQuery
from schema.layout import LayoutMutation
from schema.limits import limits_rule
from schema.live import BatchEventSubscription, HistoryQuery, LiveSubscription, PlantStateSubscription
from schema.lookback import LookbackMutation, LookbackQuery, StationDonorMutation
from schema.materials import MaterialMutation, MaterialQuery
from schema.node_query import NodeQuery
from schema.nullability import semantic_root
from schema.oos import OosMutation, OosQuery
from schema.packaging import PackagingMutation, PackagingQuery
from schema.packaging_record import PackagingRecordMutation, PackagingRecordQuery
from schema.phases import ExecutionMutation, ExecutionQuery
from schema.picking import PickingMutation, PickingQuery
from schema.plant import EquipmentVerificationMutation, PlantMutation, PlantQuery
from schema.plasma import PlasmaQuery
from schema.plasma_tests import PlasmaTestQuery
from schema.policy_admin import PolicyMutation, PolicyQuery
from schema.pooling import PoolingMutation
from schema.qc_records import TestRecordMutation, TestRecordQuery
from schema.qc_worklist import QcWorklistQuery
from schema.quality_review import QualityReviewQuery
from schema.reagents import ReagentMutation, ReagentQuery, ReagentSubscription
from schema.receipt import LabelQuery, ReceiptCloseMutation, ReceiptMutation
from schema.recipes import RecipeMutation, RecipeQuery
from schema.release import ReleaseMutation, ReleaseQuery
from schema.retest import RetestMutation, RetestQuery, StationResultsMutation
from schema.review import ReviewMutation, ReviewQuery
from schema.shipments import ShipmentFileMutation, ShipmentMutation
from schema.signing import SigningQuery
from schema.specifications import SpecificationMutation, SpecificationQuery
from schema.stations import StationMutation, StationQuery
from schema.tablet import SampleMutation, SampleQuery, TabletMutation, TabletQuery
from schema.test_reports import TestReportMutation, TestReportQuery
from schema.tokens import TokenMutation, TokenQuery
from schema.trace import TraceQuery
from schema.trace_push import TracePushMutation, TracePushQuery
from schema.training import TrainingMutation, TrainingQuery
from schema.video import VideoMutation, VideoQuery


@strawberry.type
class Query(
    IdentityQuery, PlantQuery, AuditQuery, AdminQuery, SigningQuery, TokenQuery, PolicyQuery, PlasmaQuery, TraceQuery,
    ReleaseQuery, LabelQuery, LookbackQuery, RetestQuery, HistoryQuery, PackagingQuery,
    VideoQuery, AlarmQuery, TabletQuery, SampleQuery, CertificateQuery, StationQuery, RecipeQuery,
    ExecutionQuery, EquipmentLogQuery, MaterialQuery, ReviewQuery, ExchangeQuery,
    IntermediateQuery, PackagingRecordQuery, AttachmentQuery, PickingQuery, SpecificationQuery, TestRecordQuery,
    QcWorklistQuery,
    OosQuery,
    TestReportQuery, TracePushQuery, QualityReviewQuery, AuditReviewQuery, ConfigurationQuery, PlasmaTestQuery,
    ReagentQuery, DocumentQuery,
    TrainingQuery, ChangeQuery,
    InstrumentRunQuery, NodeQuery,
):
    pass


semantic_root(Query)  # one refused or failed root field never empties the rest of `data`


@strawberry.type
class Mutation(
    IdentityMutation, AdminMutation, PlantMutation, EquipmentVerificationMutation, TokenMutation, PolicyMutation,
    ReleaseMutation, ShipmentMutation, DeviationMutation, ClearanceMutation, ReceiptMutation,
    LookbackMutation, RetestMutation, ShipmentFileMutation, PoolingMutation, ReceiptCloseMutation,
    PackagingMutation, StationDonorMutation, StationResultsMutation, VideoMutation,
    AlarmMutation, TabletMutation, SampleMutation, CertificateMutation, StationMutation, LayoutMutation,
    RecipeMutation, BatchMutation, ExecutionMutation, EquipmentCareMutation, EquipmentLogMutation,
    MaterialMutation, ReviewMutation, IntermediateMutation, PackagingRecordMutation,
    AttachmentMutation, PickingMutation, SpecificationMutation, TestRecordMutation,
    OosMutation,
    TestReportMutation, TracePushMutation, AuditReviewMutation, ConfigurationMutation,
    ReagentMutation, DocumentMutation,
    TrainingMutation, ChangeMutation,
    InstrumentRunMutation,
):
    pass


@strawberry.type
class Subscription(LiveSubscription, AlarmSubscription, PlantStateSubscription, BatchEventSubscription,
                   ReagentSubscription):
    pass


@functools.cache
def build_schema(max_depth: int = 12, max_cost: int = 100_000) -> strawberry.Schema:
    """The schema, built once per process and limits: it is immutable once built, and building it takes
    0.1-0.2 s (every app, the SDL route and the tests asked for a new one)."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=PerEventExecutionContext,
        extensions=[
            lambda: AddValidationRules([limits_rule(max_depth, max_cost)]),
            ErrorCodes,
        ],
    )
