"""The video monitoring enums of the schema (VM-01..VM-12)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="VM-10: what a key post is.")
class KeyPostCategory(Enum):
    KEY_WORKSTATION = "KEY_WORKSTATION"
    KEY_OPERATION = "KEY_OPERATION"
    MANUAL_INTERVENTION = "MANUAL_INTERVENTION"
    MANUAL_SAMPLING = "MANUAL_SAMPLING"


@strawberry.enum(description="VM-10/VM-11: the operation category a clip is indexed under.")
class VideoCategory(Enum):
    KEY_WORKSTATION = "KEY_WORKSTATION"
    KEY_OPERATION = "KEY_OPERATION"
    MANUAL_INTERVENTION = "MANUAL_INTERVENTION"
    MANUAL_SAMPLING = "MANUAL_SAMPLING"
    WAREHOUSE = "WAREHOUSE"
    GENERAL = "GENERAL"


@strawberry.enum(description="VM-06: the kind of device (pan-tilt-zoom or wide angle where access is hard).")
class CameraDeviceType(Enum):
    FIXED = "FIXED"
    DOME = "DOME"
    PTZ = "PTZ"
    WIDE_ANGLE = "WIDE_ANGLE"
    FISHEYE = "FISHEYE"


@strawberry.enum(description="VM-11: the movement a storage or transport clip shows.")
class StockMovement(Enum):
    STOCK_IN = "STOCK_IN"
    STOCK_OUT = "STOCK_OUT"
    TRANSFER = "TRANSFER"
    SPECIAL_TRANSPORT = "SPECIAL_TRANSPORT"


@strawberry.enum(description="Lowest to highest; a clip's class is only ever raised (VM-02..VM-04).")
class RetentionClass(Enum):
    STANDARD = "STANDARD"
    KEY = "KEY"
    PRODUCT_EXPIRY = "PRODUCT_EXPIRY"
    PERMANENT = "PERMANENT"


@strawberry.enum(description="The record a clip is evidence for (VM-04, VM-07).")
class EvidenceKind(Enum):
    DEVIATION = "DEVIATION"
    CHANGE = "CHANGE"
    VALIDATION = "VALIDATION"


@strawberry.enum(description="VM-12: events a video-analytics source reports.")
class VideoAnalyticsKind(Enum):
    MASK_MISSING = "MASK_MISSING"
    GOWN_MISSING = "GOWN_MISSING"
    OVER_OCCUPANCY = "OVER_OCCUPANCY"
    POST_ABSENT = "POST_ABSENT"


def value_of(e: Enum | None) -> str | None:
    """The plain value a resolver takes."""
    return None if e is None else str(e.value)
