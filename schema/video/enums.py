"""The video monitoring enums of the schema (VM-01..VM-12): the StrEnums beside the video rows,
registered once here."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.video.analytics import VideoAnalyticsKind
from resolvers.video.checks import (
    CameraDeviceType,
    ClipStatus,
    EvidenceKind,
    KeyPostCategory,
    RetentionClass,
    StockMovement,
    TimeSource,
    VideoCategory,
)

strawberry.enum(KeyPostCategory, description="VM-10: what a key post is.")
strawberry.enum(VideoCategory, description="VM-10/VM-11: the operation category a clip is indexed under.")
strawberry.enum(CameraDeviceType,
                description="VM-06: the kind of device (pan-tilt-zoom or wide angle where access is hard).")
strawberry.enum(StockMovement, description="VM-11: the movement a storage or transport clip shows.")
strawberry.enum(RetentionClass, description="Lowest to highest; a clip's class is only ever raised (VM-02..VM-04).")
strawberry.enum(EvidenceKind, description="The record a clip is evidence for (VM-04, VM-07).")
strawberry.enum(VideoAnalyticsKind, description="VM-12: events a video-analytics source reports.")
strawberry.enum(TimeSource, description="VM-09: VMS (times from the VMS), SERVER (end stamped by the plant "
                                        "clock) or CORRECTED (changed afterwards by a signed correction)")
strawberry.enum(ClipStatus, description="AVAILABLE, or PURGED (the footage destroyed by a signed purge)")

__all__ = ["CameraDeviceType", "ClipStatus", "EvidenceKind", "KeyPostCategory", "RetentionClass", "StockMovement",
           "TimeSource", "VideoAnalyticsKind", "VideoCategory", "value_of"]


def value_of(e: Enum | None) -> str | None:
    """The plain value a resolver takes."""
    return None if e is None else str(e.value)
