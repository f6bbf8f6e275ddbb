"""Every model, imported in one place so metadata (and Alembic) sees them all."""

from records.alarms import Alarm, AlarmAcknowledgement, AlarmShelf, alarm_unit
from records.attachments import Attachment
from records.audit import AuditEvent
from records.audit_checkpoint import AuditCheckpoint
from records.audit_review import AuditReview
from records.base import Base
from records.capa import Capa
from records.change import ChangeRequest
from records.document import ControlledDocument, DocumentCopy
from records.execution import PhaseRun
from records.genealogy import Distributor, FinalLot, Intermediate, IntermediateMovement, PackagingUnit, Shipment
from records.identity import ApiToken, Role, Setting, User, UserCertificate, UserRole
from records.instrument_run import InstrumentProcessing, InstrumentRun, PoolTestResult
from records.materials import MaterialLot, Weighing
from records.oos import OosRecord, OotAlert
from records.packaging_record import PackagingIssue, PackagingRecord
from records.picking import PickingLine, PickingList
from records.plant import Area, Equipment, EquipmentLog, Plant, Room, Sensor, Site
from records.plasma import (
    Batch,
    CodeCounter,
    Donor,
    PlasmaShipment,
    PlasmaStation,
    PlasmaUnit,
    Pool,
    RetestResult,
    Sample,
    StationNotice,
    batch_pool,
)
from records.qc_record import TestRecord, TestResult
from records.quality import ColdRoomCheck, Deviation, LineClearance
from records.readings import SensorReading
from records.reagent import ReagentLot, ReagentMovement
from records.recipe import Recipe
from records.release import ReleaseDocument
from records.retention import RecordDestruction
from records.review import BatchReview, ReviewedItem
from records.sample_life import SampleEvent
from records.signature import ESignature
from records.specification import Specification
from records.test_report import TestReport
from records.trace_push import TracePush
from records.training import TrainingRecord
from records.video import Camera, CameraKeyPost, KeyPost, VideoClip, VideoEvidence, VideoEvidenceClip, VideoPurge

__all__ = [
    "Alarm",
    "AlarmAcknowledgement",
    "AlarmShelf",
    "ApiToken",
    "Area",
    "Attachment",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditReview",
    "Base",
    "Batch",
    "BatchReview",
    "Camera",
    "CameraKeyPost",
    "Capa",
    "ChangeRequest",
    "CodeCounter",
    "ColdRoomCheck",
    "ControlledDocument",
    "Deviation",
    "Distributor",
    "DocumentCopy",
    "Donor",
    "ESignature",
    "Equipment",
    "EquipmentLog",
    "FinalLot",
    "InstrumentProcessing",
    "InstrumentRun",
    "Intermediate",
    "IntermediateMovement",
    "KeyPost",
    "LineClearance",
    "MaterialLot",
    "OosRecord",
    "OotAlert",
    "PackagingIssue",
    "PackagingRecord",
    "PackagingUnit",
    "PhaseRun",
    "PickingLine",
    "PickingList",
    "Plant",
    "PlasmaShipment",
    "PlasmaStation",
    "PlasmaUnit",
    "Pool",
    "PoolTestResult",
    "ReagentLot",
    "ReagentMovement",
    "Recipe",
    "RecordDestruction",
    "ReleaseDocument",
    "RetestResult",
    "ReviewedItem",
    "Role",
    "Room",
    "Sample",
    "SampleEvent",
    "Sensor",
    "SensorReading",
    "Setting",
    "Shipment",
    "Site",
    "Specification",
    "StationNotice",
    "TestRecord",
    "TestReport",
    "TestResult",
    "TracePush",
    "TrainingRecord",
    "User",
    "UserCertificate",
    "UserRole",
    "VideoClip",
    "VideoEvidence",
    "VideoEvidenceClip",
    "VideoPurge",
    "Weighing",
    "alarm_unit",
    "batch_pool",
]
