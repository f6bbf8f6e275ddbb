"""The domain's value lists, exposed as GraphQL enums: one source, the StrEnum beside its rows.

Each is registered here once (strawberry.enum marks the class itself), and the types annotate
their fields with the domain class, reached through the resolvers that own it.
"""

from __future__ import annotations

import strawberry

from resolvers.alarms import AlarmEventKind, AlarmSource, AlarmState, Priority
from resolvers.equipment import EquipmentStatus
from resolvers.live import Quality

strawberry.enum(EquipmentStatus, description="Appendix B.2 YXZT: the operating status of equipment")
strawberry.enum(Quality, description="The quality of a value as OPC UA gives it; STALE: silent past its limit")
strawberry.enum(Priority, description="An alarm's priority (ISA-18.2)")
strawberry.enum(AlarmSource, description="Where an alarm comes from: a tag's limits, video analytics or equipment")
strawberry.enum(AlarmState, description="ISA-18.2: ACTIVE (unacknowledged), ACKED (acknowledged, still active), "
                                        "CLEARED (returned to normal, unacknowledged) or CLOSED")
strawberry.enum(AlarmEventKind, description="What happened to an alarm")

__all__ = ["AlarmEventKind", "AlarmSource", "AlarmState", "EquipmentStatus", "Priority", "Quality"]
