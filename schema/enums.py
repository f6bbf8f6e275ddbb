"""The domain's value lists, exposed as GraphQL enums: one source, the StrEnum beside its rows.

Each is registered here once (strawberry.enum marks the class itself), and the types annotate
their fields with the domain class, reached through the resolvers that own it. The video ones
are in schema/video/enums.py.
"""

from __future__ import annotations

import strawberry

from resolvers.alarms import AlarmEventKind, AlarmSource, AlarmState, Priority
from resolvers.batch_events import BatchEventKind
from resolvers.clearance import CheckResult
from resolvers.deviations import DeviationStatus
from resolvers.equipment import EquipmentStatus
from resolvers.equipment_care import CareKind
from resolvers.execution import PhaseStatus, ValueSource
from resolvers.intermediates import LotStatus, MovementKind
from resolvers.layout import RoomGrade
from resolvers.live import Quality
from resolvers.logbook import LogKind
from resolvers.lookback import Deferral, NoticeKind
from resolvers.materials import MaterialKind, MaterialStatus
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
from resolvers.trace import TraceKind

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
strawberry.enum(PoolStatus, description="A plasma pool: OPEN while units are added, CLOSED once charged")
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
strawberry.enum(ReagentKind, description="A QC laboratory lot: a reagent, a reference standard, a test solution or a "
                                         "plasma test kit")
strawberry.enum(ReagentStatus, description="RECEIVED (quarantine), RELEASED for use, EXHAUSTED (all issued to the "
                                           "bench), EXPIRED (past its expiry date) or DESTROYED")
strawberry.enum(ReagentMovementKind, description="A line of a reagent lot's movement log")
strawberry.enum(ReminderDue, description="What a reagent reminder is about: its EXPIRY or its RETEST date")
strawberry.enum(TraceKind, description="The kinds of a trace's nodes, from the donor to the packaging code")

__all__ = ["AlarmEventKind", "AlarmSource", "AlarmState", "BatchEventKind", "BatchStatus", "CareKind", "CheckResult",
           "Deferral", "DeviationStatus", "DocumentStatus", "DonorStatus", "EntryMethod", "EquipmentStatus", "LogKind",
           "LotStatus", "MaterialKind", "MaterialStatus", "MovementKind", "NoticeKind", "PackagingLevel",
           "PhaseStatus", "PickingStatus", "PoolStatus", "Priority", "Quality", "ReagentKind", "ReagentMovementKind",
           "ReagentStatus", "RecipeStatus", "ReminderDue", "ResultSource",
           "RetestItem", "RetestOutcome", "ReviewKind", "RiskClass", "RoomGrade", "RoundingKind", "RowOutcome",
           "SampleEventKind", "SampleKind", "SampleStatus", "ShipmentStatus", "SpecificationStatus", "SubjectKind",
           "TaskKind",
           "TestRecordStatus", "TestStage", "TraceKind", "UnitStatus", "ValueSource", "Verdict"]
