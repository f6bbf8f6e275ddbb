"""The domain's value lists, exposed as GraphQL enums: one source, the StrEnum beside its rows.

Each is registered here once (strawberry.enum marks the class itself), and the types annotate
their fields with the domain class, reached through the resolvers that own it. The video ones
are in schema/video/enums.py.
"""

from __future__ import annotations

import strawberry

from resolvers.alarms import AlarmEventKind, AlarmSource, AlarmState, Priority
from resolvers.audit_review import ReviewConclusion as AuditReviewConclusion
from resolvers.audit_review import ReviewContext as AuditReviewContext
from resolvers.batch_events import BatchEventKind
from resolvers.capa import CapaKind, CapaStatus, Effectiveness
from resolvers.changes import ChangeStatus, ChangeTarget
from resolvers.clearance import CheckResult
from resolvers.deviations import DeviationStatus
from resolvers.documents import CopyKind as DocumentCopyKind
from resolvers.documents import CopyStatus as DocumentCopyStatus
from resolvers.documents import DocumentCategory
from resolvers.documents import DocumentStatus as ControlledDocumentStatus
from resolvers.equipment import EquipmentStatus
from resolvers.equipment_care import CareKind
from resolvers.execution import PhaseStatus, ValueSource
from resolvers.instrument_runs import PoolKind, RunKind, RunStatus, WellOutcome
from resolvers.intermediates import LotStatus, MovementKind
from resolvers.layout import RoomGrade
from resolvers.live import Quality
from resolvers.logbook import LogKind
from resolvers.lookback import Deferral, NoticeKind
from resolvers.materials import MaterialKind, MaterialStatus
from resolvers.oos import OosConclusion, OosStatus, OotRule
from resolvers.packaging import PackagingLevel
from resolvers.picking import PickingStatus
from resolvers.plasma import BatchStatus, DonorStatus, UnitStatus
from resolvers.pooling import PoolStatus
from resolvers.qc_records import EntryMethod, TestRecordStatus, TestStage
from resolvers.reagents import ReagentKind, ReagentMovementKind, ReagentStatus, ReminderDue
from resolvers.receipt import ShipmentStatus
from resolvers.recipes import RecipeStatus, RiskClass
from resolvers.release import DocumentStatus
from resolvers.retest import ResultSource, RetestItem, RetestOutcome
from resolvers.review import ReviewKind
from resolvers.sample_life import SampleEventKind
from resolvers.shipments import RowOutcome
from resolvers.specifications import RoundingKind, SpecificationStatus, SubjectKind, Verdict
from resolvers.tablet import SampleKind, SampleStatus, TaskKind
from resolvers.test_reports import Conclusion as ReportConclusion
from resolvers.test_reports import ReportStatus
from resolvers.trace import TraceKind
from resolvers.trace_push import PushStatus as TracePushStatus
from resolvers.training import Assessment as TrainingAssessment
from resolvers.training import TrainingState

strawberry.enum(EquipmentStatus, description="Appendix B.2 YXZT: the operating status of equipment")
strawberry.enum(Quality, description="The quality of a value as OPC UA gives it; STALE: silent past its limit")
strawberry.enum(Priority, description="An alarm's priority (ISA-18.2)")
strawberry.enum(AlarmSource, description="Where an alarm comes from: a tag's limits, video analytics or equipment")
strawberry.enum(AlarmState, description="ISA-18.2: ACTIVE (unacknowledged), ACKED (acknowledged, still active), "
                                        "CLEARED (returned to normal, unacknowledged) or CLOSED")
strawberry.enum(AlarmEventKind, description="What happened to an alarm")
strawberry.enum(DonorStatus, description="Whether a donor may give plasma")
strawberry.enum(Deferral, description="The donor statuses a deferral sets (PL-19)")
strawberry.enum(NoticeKind, description="What a notice to a plasma station is about")
strawberry.enum(UnitStatus, description="A plasma unit's place in its life, from transit to pooling or disposal")
strawberry.enum(ShipmentStatus, description="A station's declared consignment: DECLARED, RECEIVING once the "
                                            "first unit is scanned, RECEIVED when receipt is closed")
strawberry.enum(RowOutcome, description="A declared row: ACCEPTED, DUPLICATE (already declared, same data) "
                                        "or REJECTED")
strawberry.enum(PoolStatus, description="A plasma pool: OPEN while units are added, CLOSED once charged, BLOCKED by "
                                       "a reactive test (it starts no batch)")
strawberry.enum(PickingStatus, description="A picking list: OPEN while picked, PICKED when every unit is, CLOSED "
                                           "once charged into a pool, or CANCELLED")
strawberry.enum(BatchStatus, description="A production batch's status")
strawberry.enum(RetestItem, description="The pharmacopoeia's plasma tests (PL-13)")
strawberry.enum(RetestOutcome, description="A retest's result")
strawberry.enum(ResultSource, description="PLANT (our retest) or STATION (the collecting station's result)")
strawberry.enum(SampleKind, description="Why a sample was taken")
strawberry.enum(SampleStatus, description="TAKEN, RECEIVED in the lab, STORED, RETAINED (kept for its period), its "
                                         "leftover DISPOSED, or DESTROYED after its retention")
strawberry.enum(SampleEventKind, description="A step of a sample's life (B.10-B.15)")
strawberry.enum(TaskKind, description="What a tablet task asks for")
strawberry.enum(PackagingLevel, description="The drug traceability code hierarchy: a UNIT in a CARTON in a CASE")
strawberry.enum(DeviationStatus, description="OPEN until closed with independent approval")
strawberry.enum(CheckResult, description="One line-clearance checklist item: PASS, FAIL or NA (not applicable)")
strawberry.enum(DocumentStatus, description="PREPARED (organisation-signed, waiting for the QP) or RELEASED")
strawberry.enum(BatchEventKind, description="What happened to a batch")
strawberry.enum(RoomGrade, description="GMP cleanliness grade; CNC: controlled, not classified")
strawberry.enum(RecipeStatus, description="DRAFT, REVIEWED, APPROVED (the one a batch starts from) or "
                                              "SUPERSEDED by a newer approved version")
strawberry.enum(PhaseStatus, description="A phase of a batch: RUNNING or COMPLETED")
strawberry.enum(ValueSource, description="TWIN (the tag's readings over the phase) or MANUAL (entered by a person)")
strawberry.enum(CareKind, description="What keeps equipment fit for use (B.2): cleaning, sterilisation, calibration")
strawberry.enum(LogKind, description="What an equipment logbook line records")
strawberry.enum(MaterialKind, description="A lot's kind: raw material, excipient or packaging material")
strawberry.enum(MaterialStatus, description="A material lot's quality status: QUARANTINE, RELEASED or REJECTED")
strawberry.enum(ReviewKind, description="What an exception of a batch record is")
strawberry.enum(LotStatus, description="The quality status of a lot or an intermediate")
strawberry.enum(MovementKind, description="B.5: what happened to an intermediate's stock")
strawberry.enum(RiskClass, description="How much a value entered by hand risks the product (PR-04)")
strawberry.enum(SpecificationStatus, description="DRAFT, EFFECTIVE (approved, the one in use for its subject) or "
                                                  "SUPERSEDED by a newer approved version")
strawberry.enum(SubjectKind, description="What a specification is for: a material, an intermediate or a product")
strawberry.enum(RoundingKind, description="A GB/T 8170 rounding rule: to decimal places, significant figures or an "
                                          "interval of 1, 2 or 5 x 10^n")
strawberry.enum(Verdict, description="A judged result: PASS, FAIL (outside the specification) or ACTION (inside it, "
                                     "beyond an internal action limit)")
strawberry.enum(TestStage, description="The stage a batch is tested at: INTERMEDIATE, BULK (the product to be "
                                       "packaged) or FINAL (the finished product)")
strawberry.enum(EntryMethod, description="How a result came in: MANUAL (typed by the analyst) or INSTRUMENT")
strawberry.enum(TestRecordStatus, description="OPEN (results are entered, waiting for review) or REVIEWED")
strawberry.enum(OosStatus, description="An OOS: OPEN, PHASE_1 (laboratory investigation), PHASE_2 (full "
                                       "investigation) or CLOSED with its conclusion")
strawberry.enum(OosConclusion, description="CONFIRMED (the result stands) or INVALIDATED (an assignable cause)")
strawberry.enum(OotRule, description="A Nelson rule an out-of-trend point breaks (records/trend.py, OOT-1)")
strawberry.enum(CapaKind, description="A CAPA's kind: CORRECTIVE or PREVENTIVE")
strawberry.enum(CapaStatus, description="A CAPA: OPEN, DONE (signed done by its owner) or CLOSED (checked effective)")
strawberry.enum(Effectiveness, description="A CAPA's effectiveness check: EFFECTIVE or NOT_EFFECTIVE")
strawberry.enum(ReportStatus, description="A test report version: PREPARED (waiting for its approver), ISSUED, "
                                          "REISSUE_REQUIRED (a result in it was corrected), SUPERSEDED or DISCARDED")
strawberry.enum(AuditReviewContext, name="AuditReviewContext",
                description="Why an audit trail was reviewed: RELEASE (a batch's, with its review by exception), "
                            "PERIODIC, SELF_INSPECTION or INVESTIGATION")
strawberry.enum(AuditReviewConclusion, name="AuditReviewConclusion",
                description="NO_ISSUE, or ISSUE_FOUND (a deviation is opened)")
strawberry.enum(TracePushStatus, name="TracePushStatus", description="A delivery to the traceability system: PENDING "
                                                                   "(not tried), FAILED (retried with backoff) or SENT")
strawberry.enum(ReportConclusion, name="ReportConclusion",
                description="A test report's conclusion: COMPLIES or DOES_NOT_COMPLY with its specification")
strawberry.enum(ReagentKind, description="A QC laboratory lot: a reagent, a reference standard, a test solution or a "
                                         "plasma test kit")
strawberry.enum(ReagentStatus, description="RECEIVED (quarantine), RELEASED for use, EXHAUSTED (all issued to the "
                                           "bench), EXPIRED (past its expiry date) or DESTROYED")
strawberry.enum(ReagentMovementKind, description="A line of a reagent lot's movement log")
strawberry.enum(ReminderDue, description="What a reagent reminder is about: its EXPIRY or its RETEST date")
strawberry.enum(TraceKind, description="The kinds of a trace's nodes, from the donor to the packaging code")
strawberry.enum(DocumentCategory, description="What a controlled document is: SOP, specification, method, policy, "
                                              "form or record")
strawberry.enum(ControlledDocumentStatus, name="ControlledDocumentStatus",
                description="A controlled document version: DRAFT, IN_REVIEW, APPROVED, EFFECTIVE (the one in "
                            "force), SUPERSEDED by a newer effective version, or WITHDRAWN")
strawberry.enum(DocumentCopyKind, name="DocumentCopyKind", description="A copy of a document: PRINTOUT or EXPORT")
strawberry.enum(DocumentCopyStatus, name="DocumentCopyStatus",
                description="A copy: ISSUED, WITHDRAWN (taken back) or DESTROYED (a printout)")
strawberry.enum(TrainingAssessment, name="TrainingAssessment", description="A training's assessment: PASSED or FAILED")
strawberry.enum(TrainingState, description="A person's training on a document version today: VALID, EXPIRED, "
                                           "FAILED (assessment failed) or MISSING")
strawberry.enum(ChangeStatus, description="A change request: OPEN, APPROVED or REJECTED by QA, IMPLEMENTED, CLOSED")
strawberry.enum(ChangeTarget, description="What a change request changes: a controlled DOCUMENT, a SPECIFICATION "
                                          "or a master RECIPE")

strawberry.enum(RunKind, name="InstrumentRunKind", description="An instrument run: ELISA (plate reader) or PCR")
strawberry.enum(RunStatus, name="InstrumentRunStatus", description="IMPORTED (results written, waiting for review), "
                                                                    "REVIEWED, or INVALID (its controls failed)")
strawberry.enum(WellOutcome, description="A sample's outcome in a run: NEGATIVE, GREY_ZONE (counts as reactive), "
                                         "REACTIVE, or INVALID (to be tested again)")
strawberry.enum(PoolKind, description="A tested pool: a MINI_POOL of unit samples or a PRODUCTION_POOL")

__all__ = [
                                        "AlarmEventKind",
                                        "AlarmSource",
                                        "AlarmState",
                                        "AuditReviewConclusion",
                                        "AuditReviewContext",
                                        "BatchEventKind",
                                        "BatchStatus",
                                        "CapaKind",
                                        "CapaStatus",
                                        "CareKind",
                                        "ChangeStatus",
                                        "ChangeTarget",
                                        "CheckResult",
                                        "ControlledDocumentStatus",
                                        "Deferral",
                                        "DeviationStatus",
                                        "DocumentCategory",
                                        "DocumentCopyKind",
                                        "DocumentCopyStatus",
                                        "DocumentStatus",
                                        "DonorStatus",
                                        "Effectiveness",
                                        "EntryMethod",
                                        "EquipmentStatus",
                                        "LogKind",
                                        "LotStatus",
                                        "MaterialKind",
                                        "MaterialStatus",
                                        "MovementKind",
                                        "NoticeKind",
                                        "OosConclusion",
                                        "OosStatus",
                                        "OotRule",
                                        "PackagingLevel",
                                        "PhaseStatus",
                                        "PickingStatus",
                                        "PoolKind",
                                        "PoolStatus",
                                        "Priority",
                                        "Quality",
                                        "ReagentKind",
                                        "ReagentMovementKind",
                                        "ReagentStatus",
                                        "RecipeStatus",
                                        "ReminderDue",
                                        "ReportConclusion",
                                        "ReportStatus",
                                        "ResultSource",
                                        "RetestItem",
                                        "RetestOutcome",
                                        "ReviewKind",
                                        "RiskClass",
                                        "RoomGrade",
                                        "RoundingKind",
                                        "RowOutcome",
                                        "RunKind",
                                        "RunStatus",
                                        "SampleEventKind",
                                        "SampleKind",
                                        "SampleStatus",
                                        "ShipmentStatus",
                                        "SpecificationStatus",
                                        "SubjectKind",
                                        "TaskKind",
                                        "TestRecordStatus",
                                        "TestStage",
                                        "TraceKind",
                                        "TracePushStatus",
                                        "TrainingAssessment",
                                        "TrainingState",
                                        "UnitStatus",
                                        "ValueSource",
                                        "Verdict",
                                        "WellOutcome",
]
